package imapserver

import (
	"bytes"
	"errors"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// The fetches clients make for every new message (ENVELOPE,
// BODYSTRUCTURE, header fields: Thunderbird's, Apple Mail's, mbsync's) are
// answered from the view and the message summaries the store keeps
// (mime.Summary), read for a batch of messages with one access check and
// one query, instead of reading, opening and parsing each message (issue
// 10 item 2). Any other item needs the content and takes the per-message
// path.

// summaryBatch is how many messages' summaries one store call reads.
const summaryBatch = 500

// fromSummary reports whether fi is answered from a summary, and whether
// it needs the summary's header for that.
func fromSummary(fi imap.FetchItem) (ok, header bool) {
	switch fi.Attr {
	case imap.FetchEnvelope, imap.FetchBody, imap.FetchBodyStructure:
		return true, false
	case imap.FetchRFC822Header:
		return true, true
	case imap.FetchBodySection:
		if len(fi.Section.Part) > 0 {
			return false, false
		}
		switch fi.Section.Specifier {
		case "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			return true, true
		}
	}
	return false, false
}

// wantsSummaries reports whether a FETCH is answered from the view and
// summaries alone, and needs the summaries for at least one item.
func wantsSummaries(items []imap.FetchItem) bool {
	want := false
	for _, fi := range items {
		if !needsContent(fi) {
			continue
		}
		ok, _ := fromSummary(fi)
		if !ok {
			return false
		}
		want = true
	}
	return want
}

// serves reports whether sum answers fi (its header may be too large to
// have been kept).
func serves(sum *mime.Summary, fi imap.FetchItem) bool {
	if sum == nil {
		return false
	}
	ok, header := fromSummary(fi)
	return ok && (!header || sum.Header != nil)
}

// summaries reads the summaries of the messages a FETCH covers, a batch
// at a time, as the command walks idx in order (nil idx: every message of
// the view, for SEARCH, SORT and THREAD).
type summaries struct {
	s     *session
	idx   []int
	want  func(m *msg) bool // the message will be answered
	end   int               // idx[:end] was loaded
	metas []store.MessageMeta
	k     int
}

// get returns the summary of the message at idx[p]; ok is false when the
// store no longer has the message (expunged by another session).
func (b *summaries) get(p int) (sum *mime.Summary, ok bool, err error) {
	sel := b.s.sel
	at := func(p int) int {
		if b.idx == nil {
			return p
		}
		return b.idx[p]
	}
	if p >= b.end {
		n := len(b.idx)
		if b.idx == nil {
			n = len(sel.msgs)
		}
		b.end = min(p+summaryBatch, n)
		uids := make([]uint32, 0, b.end-p)
		for q := p; q < b.end; q++ {
			if m := &sel.msgs[at(q)]; !m.expunged && b.want(m) {
				uids = append(uids, m.uid)
			}
		}
		b.metas, b.k = nil, 0
		if len(uids) > 0 {
			metas, err := b.s.o.Store.MessageMetas(b.s.ctx, sel.folderID, uids)
			switch {
			case errors.Is(err, store.ErrNotFound):
				// The mailbox is gone: so are its messages, as when
				// each is opened (EXPUNGEISSUED); sync says BYE next.
			case err != nil:
				return nil, false, wrap(opMessage, err)
			}
			b.metas = metas
		}
	}
	uid := sel.msgs[at(p)].uid
	for b.k < len(b.metas) && b.metas[b.k].UID < uid {
		b.k++
	}
	if b.k == len(b.metas) || b.metas[b.k].UID != uid {
		return nil, false, nil
	}
	return b.metas[b.k].Summary, true, nil
}

// writeHeaderSection writes BODY[HEADER], BODY[HEADER.FIELDS (...)] or
// BODY[HEADER.FIELDS.NOT (...)] of the top-level message from its stored
// header: the same bytes writeSection cuts from the message.
func (s *session) writeHeaderSection(fw *imap.FetchWriter, hdr []byte, fi imap.FetchItem) error {
	name := fi.ResponseName()
	switch fi.Section.Specifier {
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		fw.Section(name, cut(mime.FilterHeader(hdr, fi.Section.Fields, fi.Section.Specifier == "HEADER.FIELDS.NOT"), fi.Partial))
		return nil
	}
	hc := headerContent(hdr)
	return s.writeRange(fw, name, hc, 0, hc.size, fi.Partial)
}

// headerContent is a message's stored header as content of its own.
func headerContent(hdr []byte) *content {
	return &content{ra: bytes.NewReader(hdr), size: int64(len(hdr)), data: hdr, close: func() error { return nil }}
}

// summaryHeader is the stored header of the message the evaluator is at,
// parsed: SEARCH, SORT and THREAD read headers a batch at a time instead
// of opening each message. nil when there is none (larger than kept, or
// the store failed): the message is then read.
func (ev *evaluator) summaryHeader() *mime.Header {
	if ev.sums == nil {
		ev.sums = &summaries{s: ev.s, want: func(*msg) bool { return true }}
	}
	sum, ok, err := ev.sums.get(ev.i)
	if err != nil || !ok || sum == nil || sum.Header == nil {
		return nil
	}
	h, _ := mime.ParseHeader(sum.Header, 0)
	return &h
}
