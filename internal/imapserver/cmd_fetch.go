package imapserver

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// setsSeen reports whether fetching it sets \Seen (RFC 9051 §6.4.5).
func setsSeen(it imap.FetchItem) bool {
	switch it.Attr {
	case imap.FetchBodySection, imap.FetchBinary:
		return !it.Peek
	case imap.FetchRFC822, imap.FetchRFC822Text:
		return true
	}
	return false
}

// needsContent reports whether it needs the message bytes.
func needsContent(it imap.FetchItem) bool {
	switch it.Attr {
	case imap.FetchFlags, imap.FetchUID, imap.FetchRFC822Size, imap.FetchModSeq, imap.FetchInternalDate:
		return false
	}
	if isExtItem(it) {
		return false
	}
	return true
}

// FETCH and UID FETCH, RFC 9051 §6.4.5 and §6.4.9, with CONDSTORE
// CHANGEDSINCE and QRESYNC VANISHED (RFC 7162 §3.1.4, §3.2.6) and BINARY
// (RFC 3516).
func (s *session) cmdFetch(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.FetchCmd)
	sel := s.sel
	idx, err := sel.indexes(a.Seq, c.UID)
	if err != nil {
		return "", err
	}
	if a.Partial != nil {
		idx = s.partialIndexes(idx, *a.Partial) // RFC 9394 §3.2
	}
	idx, code, err := s.capMessages(idx, c.UID) // MESSAGELIMIT
	if err != nil {
		return "", err
	}
	if a.Vanished && !s.qresync {
		return "", bad(imap.CodeClientBug, "VANISHED needs QRESYNC enabled")
	}
	if a.ChangedSince > 0 || slices.ContainsFunc(a.Items, func(it imap.FetchItem) bool { return it.Attr == imap.FetchModSeq }) {
		s.enableCondStore() // RFC 7162 §3.1
	}
	if a.Vanished {
		known := a.Seq
		if known.Saved {
			known = imap.SeqSetOf(sel.saved...)
		}
		gone, err := s.expungedSince(a.ChangedSince, known)
		if err != nil {
			return "", err
		}
		if len(gone) > 0 {
			s.w.Vanished(true, imap.SeqSetOf(gone...))
		}
	}
	changedOK := func(m *msg) bool { return a.ChangedSince == 0 || m.modseq > a.ChangedSince }

	// Set \Seen before answering, so the answers show it.
	seenNow := map[int]bool{}
	if !sel.readOnly && strings.ContainsRune(sel.rights, store.RightSeen) && slices.ContainsFunc(a.Items, setsSeen) {
		var uids []uint32
		for _, i := range idx {
			m := &sel.msgs[i]
			if !m.expunged && changedOK(m) && !slices.Contains(m.flags, `\Seen`) {
				uids = append(uids, m.uid)
			}
		}
		for len(uids) > 0 {
			chunk := uids[:min(len(uids), maxUIDsPerCall)]
			uids = uids[len(chunk):]
			res, err := s.o.Store.UpdateFlags(s.ctx, sel.folderID, chunk, store.FlagsAdd, []string{`\Seen`})
			if err != nil {
				if errors.Is(err, store.ErrPermission) {
					break
				}
				return "", wrap(opMailbox, err)
			}
			for _, it := range res {
				if i := sel.find(it.UID); i >= 0 && !slices.Equal(sel.msgs[i].flags, it.Flags) {
					sel.msgs[i].flags, sel.msgs[i].modseq = it.Flags, it.ModSeq
					seenNow[i] = true
				}
			}
		}
		// Setting \Seen returns the whole flag set, which may hold
		// keywords another session added meanwhile: announce them first.
		flagsDue := false
		for i := range seenNow {
			if sel.learnKeywords(sel.msgs[i].flags) {
				flagsDue = true
			}
		}
		if flagsDue {
			s.w.Flags(sel.flagsList()...)
		}
	}

	op := s.newOpener()
	fx, err := s.prepareFetchExt(op, a.Items, idx)
	if err != nil {
		return "", err
	}
	s.fx = fx
	defer func() { s.fx = nil }()

	var sums *summaries
	if wantsSummaries(a.Items) {
		sums = &summaries{s: s, idx: idx, want: changedOK}
	}
	pg := s.startProgress(len(idx)) // RFC 9585
	for p, i := range idx {
		pg.at(p)
		m := &sel.msgs[i]
		if m.expunged {
			// RFC 9051 §7.1 EXPUNGEISSUED: the client learns at the next
			// command that allows EXPUNGE.
			code = imap.CodeExpungeIssued
			continue
		}
		if !changedOK(m) {
			continue
		}
		var sum *mime.Summary
		if sums != nil {
			var ok bool
			if sum, ok, err = sums.get(p); err != nil {
				return "", err
			} else if !ok {
				code = imap.CodeExpungeIssued // removed since the last sync
				continue
			}
		}
		err := s.fetchOne(op, i, a, c.UID, seenNow[i], sum)
		if err != nil {
			var se *storeError
			if errors.As(err, &se) && errors.Is(err, store.ErrNotFound) {
				code = imap.CodeExpungeIssued // removed since the last sync
				continue
			}
			return "", err
		}
	}
	return code, nil
}

// fetchOne writes the FETCH response of the message at index i, from its
// summary sum where one is given and answers an item. Everything that can
// fail is loaded before the response starts: once started it must be
// completed.
func (s *session) fetchOne(op *opener, i int, a *imap.FetchCmd, uidCmd, seenChanged bool, sum *mime.Summary) error {
	m := &s.sel.msgs[i]
	var ct *content
	for _, fi := range a.Items {
		if needsContent(fi) && ct == nil && !serves(sum, fi) {
			var err error
			if ct, err = op.content(m); err != nil {
				return err
			}
			defer ct.close()
		}
	}
	// BINARY needs a decodable transfer encoding (RFC 3516 §4.3); find out
	// before writing anything.
	bins := map[int]*binData{}
	for k, fi := range a.Items {
		if fi.Attr == imap.FetchBinary || fi.Attr == imap.FetchBinarySize {
			bd, err := binaryOf(ct, fi.Section.Part)
			if err != nil {
				return err
			}
			bins[k] = bd
		}
	}

	fw := s.fetchAt(i)
	wroteUID, wroteFlags, wroteModSeq := false, false, false
	// UID FETCH always reports UIDs; so does every FETCH once QRESYNC is
	// on, as the client tracks messages by UID, and one that sets \Seen
	// once CONDSTORE is on (RFC 7162 §3.1).
	// A UIDFETCH has the UID item only when asked for (RFC 9586 §3.3).
	if (uidCmd || s.qresync || (s.condstore && seenChanged)) && !s.uidonly && !slices.ContainsFunc(a.Items, func(fi imap.FetchItem) bool { return fi.Attr == imap.FetchUID }) {
		fw.UID(m.uid)
		wroteUID = true
	}
	for k, fi := range a.Items {
		switch fi.Attr {
		case imap.FetchUID:
			if !wroteUID {
				fw.UID(m.uid)
				wroteUID = true
			}
		case imap.FetchFlags:
			fw.Flags(s.flagsOf(m)...)
			wroteFlags = true
		case imap.FetchModSeq:
			fw.ModSeq(m.modseq)
			wroteModSeq = true
		case imap.FetchInternalDate:
			fw.InternalDate(m.internalDate())
		case imap.FetchRFC822Size:
			fw.RFC822Size(m.size)
		case imap.FetchEnvelope:
			if sum != nil {
				fw.RawBytes("ENVELOPE", sum.EnvelopeText(s.utf8))
				break
			}
			fw.RawBytes("ENVELOPE", mime.AppendValue(nil, mime.Envelope(ct.parse()).List(), s.utf8))
		case imap.FetchBody:
			if sum != nil {
				fw.RawBytes("BODY", sum.BodyText(s.utf8))
				break
			}
			fw.RawBytes("BODY", mime.AppendBodyStructure(nil, ct.parse(), false, s.utf8))
		case imap.FetchBodyStructure:
			if sum != nil {
				fw.RawBytes("BODYSTRUCTURE", sum.BodyStructureText(s.utf8))
				break
			}
			fw.RawBytes("BODYSTRUCTURE", mime.AppendBodyStructure(nil, ct.parse(), true, s.utf8))
		case imap.FetchRFC822:
			if err := fw.Literal("RFC822", ct.size, io.NewSectionReader(ct.ra, 0, ct.size), false); err != nil {
				return &ioError{err}
			}
		case imap.FetchRFC822Header:
			if serves(sum, fi) {
				hc := headerContent(sum.Header)
				if err := s.writeRange(fw, "RFC822.HEADER", hc, 0, hc.size, nil); err != nil {
					return err
				}
				break
			}
			root := ct.parse()
			if err := s.writeRange(fw, "RFC822.HEADER", ct, root.HeaderStart, root.HeaderEnd, nil); err != nil {
				return err
			}
		case imap.FetchRFC822Text:
			root := ct.parse()
			if err := s.writeRange(fw, "RFC822.TEXT", ct, root.BodyStart, root.BodyEnd, nil); err != nil {
				return err
			}
		case imap.FetchBodySection:
			if serves(sum, fi) {
				if err := s.writeHeaderSection(fw, sum.Header, fi); err != nil {
					return err
				}
				break
			}
			if err := s.writeSection(fw, ct, fi); err != nil {
				return err
			}
		case imap.FetchBinary:
			if err := bins[k].write(fw, fi); err != nil {
				return err
			}
		case imap.FetchBinarySize:
			bd := bins[k]
			if bd.isNil {
				fw.Raw(fi.ResponseName(), "NIL")
			} else {
				fw.BinarySize(fi.ResponseName(), bd.size)
			}
		case imap.FetchEmailID, imap.FetchThreadID, imap.FetchSaveDate, imap.FetchPreview:
			s.writeFetchExt(fw, s.fx, m, fi)
		}
	}
	if seenChanged && !wroteFlags {
		fw.Flags(s.flagsOf(m)...)
		wroteFlags = true
	}
	if s.condstore && !wroteModSeq && (wroteFlags || a.ChangedSince > 0) {
		fw.ModSeq(m.modseq)
	}
	if err := fw.Close(); err != nil {
		return &ioError{err}
	}
	return nil
}

// writeRange writes bytes [start, end) of the message, cut by partial.
func (s *session) writeRange(fw *imap.FetchWriter, name string, ct *content, start, end int64, p *imap.Partial) error {
	start, end = max(start, 0), min(end, ct.size)
	if end < start {
		end = start
	}
	if p != nil {
		start = min(start+int64(min(p.Offset, uint64(end-start))), end)
		end = min(end, start+int64(min(p.Count, uint64(end-start))))
	}
	// A literal cannot carry NUL (RFC 9051 §4.3) and BODY[] has no
	// literal8 (RFC 3516 §4.3 keeps that for BINARY[]): NULs of a message
	// appended as binary are sent as 0x80, as Dovecot does, keeping sizes.
	r := nonul{io.NewSectionReader(ct.ra, start, end-start)}
	if err := fw.Literal(name, end-start, r, false); err != nil {
		return &ioError{err}
	}
	return nil
}

// nonul reads r with every NUL byte replaced by 0x80.
type nonul struct{ r io.Reader }

func (n nonul) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	for i, c := range p[:k] {
		if c == 0 {
			p[i] = 0x80
		}
	}
	return k, err
}

// writeSection writes BODY[section]<partial> (RFC 9051 §6.4.5). A section
// that does not exist is NIL.
func (s *session) writeSection(fw *imap.FetchWriter, ct *content, fi imap.FetchItem) error {
	name := fi.ResponseName()
	sec := fi.Section
	path := partPath(sec.Part)
	if len(path) == 0 && sec.Specifier == "" {
		// The whole message: no need to parse it.
		return s.writeRange(fw, name, ct, 0, ct.size, fi.Partial)
	}
	root := ct.parse()
	switch sec.Specifier {
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		h, ok := root.SectionHeader(path)
		if !ok {
			fw.Section(name, nil)
			return nil
		}
		data := h.Filter(sec.Fields, sec.Specifier == "HEADER.FIELDS.NOT")
		fw.Section(name, cut(data, fi.Partial))
		return nil
	}
	spec := mime.SpecBody
	switch sec.Specifier {
	case "HEADER":
		spec = mime.SpecHeader
	case "TEXT":
		spec = mime.SpecText
	case "MIME":
		spec = mime.SpecMIME
	}
	start, end, ok := root.SectionRange(path, spec)
	if !ok {
		fw.Section(name, nil)
		return nil
	}
	return s.writeRange(fw, name, ct, start, end, fi.Partial)
}

// cut applies a partial to data held in memory.
func cut(data []byte, p *imap.Partial) []byte {
	if p == nil {
		return data
	}
	n := uint64(len(data))
	off := min(p.Offset, n)
	end := off + min(p.Count, n-off)
	return data[off:end]
}

func partPath(p []uint32) []int {
	out := make([]int, len(p))
	for i, n := range p {
		out[i] = int(min(n, 1<<30))
	}
	return out
}

// binData is a part to be sent with its transfer encoding undone (RFC
// 3516): BINARY[] is the whole message as stored.
type binData struct {
	ct     *content
	part   *mime.Part // nil for the whole message
	isNil  bool       // no such part
	size   int64      // decoded size
	hasNUL bool
}

func binaryOf(ct *content, path []uint32) (*binData, error) {
	bd := &binData{ct: ct}
	if len(path) == 0 {
		bd.size = ct.size
		bd.hasNUL = hasNUL(io.NewSectionReader(ct.ra, 0, ct.size))
		return bd, nil
	}
	p, ok := ct.parse().Section(partPath(path))
	if !ok {
		bd.isNil = true
		return bd, nil
	}
	if !p.CanDecode() {
		return nil, no(imap.CodeUnknownCTE, "Unknown Content-Transfer-Encoding")
	}
	bd.part = p
	cr := &countReader{r: p.DecodedBody(ct.ra)}
	bd.hasNUL = hasNUL(cr)
	bd.size = cr.n
	return bd, nil
}

func (bd *binData) reader() io.Reader {
	if bd.part == nil {
		return io.NewSectionReader(bd.ct.ra, 0, bd.ct.size)
	}
	return bd.part.DecodedBody(bd.ct.ra)
}

func (bd *binData) write(fw *imap.FetchWriter, fi imap.FetchItem) error {
	name := fi.ResponseName()
	if bd.isNil {
		fw.Section(name, nil)
		return nil
	}
	r := bd.reader()
	start, n := int64(0), bd.size
	if p := fi.Partial; p != nil {
		start = int64(min(p.Offset, uint64(bd.size)))
		n = int64(min(p.Count, uint64(bd.size-start)))
		if _, err := io.CopyN(io.Discard, r, start); err != nil {
			return &ioError{err}
		}
	}
	if err := fw.Literal(name, n, io.LimitReader(r, n), bd.hasNUL); err != nil {
		return &ioError{err}
	}
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// hasNUL reads r to its end and reports whether it holds a NUL byte.
func hasNUL(r io.Reader) bool {
	buf := make([]byte, 32<<10)
	found := false
	for {
		n, err := r.Read(buf)
		if !found && bytes.IndexByte(buf[:n], 0) >= 0 {
			found = true
		}
		if err != nil {
			return found
		}
	}
}
