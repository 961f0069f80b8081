package imapserver

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// CATENATE (RFC 4469): APPEND builds the message from TEXT literals and
// IMAP URLs (RFC 5092) of messages or body parts the user may read, on
// this server:
//
//	/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=section][/;PARTIAL=o[.l]]
//
// URL parts are read into memory; the whole message is bounded by the
// APPENDLIMIT, and its URLs by maxURLs (each may open and parse a whole
// message, even for a few bytes of it).

// catenate returns the content of a CATENATE message.
func (s *session) catenate(parts []imap.CatPart) (io.Reader, error) {
	urls := 0
	for _, p := range parts {
		if p.URL != "" {
			urls++
		}
	}
	if err := tooManyURLs(urls); err != nil {
		return nil, err
	}
	readers := make([]io.Reader, 0, len(parts))
	var total int64
	for _, p := range parts {
		data := p.Text
		if p.URL != "" {
			var err error
			if data, err = s.urlData(p.URL); err != nil {
				return nil, err
			}
		}
		total += int64(len(data))
		if total > s.o.MaxMessageBytes {
			return nil, no(imap.CodeTooBig, "Message exceeds the APPENDLIMIT")
		}
		readers = append(readers, bytes.NewReader(data))
	}
	return io.MultiReader(readers...), nil
}

// imapURL is a parsed relative IMAP URL.
type imapURL struct {
	mailbox     string
	uidValidity uint32 // 0: not given
	uid         uint32
	section     string
	partial     *imap.Partial
}

// parseIMAPURL parses the relative IMAP URL forms CATENATE takes (RFC
// 5092 §3 "/" enc-mailbox [uidvalidity] iuid [isection] [ipartial]).
func parseIMAPURL(raw string) (*imapURL, bool) {
	if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
		return nil, false
	}
	segs := strings.Split(raw[1:], "/;")
	if len(segs) < 2 {
		return nil, false
	}
	u := &imapURL{}
	box := segs[0]
	if i := strings.Index(strings.ToUpper(box), ";UIDVALIDITY="); i >= 0 {
		n, err := strconv.ParseUint(box[i+len(";UIDVALIDITY="):], 10, 32)
		if err != nil || n == 0 {
			return nil, false
		}
		u.uidValidity, box = uint32(n), box[:i]
	}
	name, err := url.PathUnescape(box)
	if err != nil || name == "" {
		return nil, false
	}
	u.mailbox = name
	for i, seg := range segs[1:] {
		key, val, ok := strings.Cut(seg, "=")
		if !ok {
			return nil, false
		}
		switch strings.ToUpper(key) {
		case "UID":
			if i != 0 {
				return nil, false
			}
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || n == 0 {
				return nil, false
			}
			u.uid = uint32(n)
		case "SECTION":
			if i != 1 {
				return nil, false
			}
			if u.section, err = url.PathUnescape(val); err != nil {
				return nil, false
			}
		case "PARTIAL":
			off, l, hasLen := strings.Cut(val, ".")
			o, err := strconv.ParseUint(off, 10, 63)
			if err != nil {
				return nil, false
			}
			p := &imap.Partial{Offset: o, Count: 1<<63 - 1}
			if hasLen {
				if p.Count, err = strconv.ParseUint(l, 10, 63); err != nil || p.Count == 0 {
					return nil, false
				}
			}
			u.partial = p
		default:
			return nil, false
		}
	}
	return u, u.uid != 0
}

// sectionOf parses a URL's section: part numbers, then HEADER, TEXT or
// MIME (MIME only after a part number).
func sectionOf(sec string) ([]int, mime.Spec, bool) {
	if sec == "" {
		return nil, mime.SpecBody, true
	}
	var path []int
	toks := strings.Split(sec, ".")
	i := 0
	for ; i < len(toks); i++ {
		n, err := strconv.Atoi(toks[i])
		if err != nil {
			break
		}
		if n <= 0 {
			return nil, 0, false
		}
		path = append(path, n)
	}
	switch rest := strings.ToUpper(strings.Join(toks[i:], ".")); {
	case rest == "":
		return path, mime.SpecBody, len(path) > 0
	case rest == "HEADER":
		return path, mime.SpecHeader, true
	case rest == "TEXT":
		return path, mime.SpecText, true
	case rest == "MIME" && len(path) > 0:
		return path, mime.SpecMIME, true
	}
	return nil, 0, false
}

// urlData returns the bytes an IMAP URL of CATENATE names. A URL that does
// not parse, or names nothing the user may read, is NO [BADURL] (RFC 4469
// §5); a store failure is a temporary failure.
func (s *session) urlData(raw string) ([]byte, error) {
	badURL := no(imap.CodeBadURL(raw), "Bad or inaccessible URL")
	u, ok := parseIMAPURL(raw)
	if !ok {
		return nil, badURL
	}
	path, spec, ok := sectionOf(u.section)
	if !ok {
		return nil, badURL
	}
	m, err := s.resolve(u.mailbox)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, badURL
		}
		return nil, err
	}
	if u.uidValidity != 0 && u.uidValidity != m.f.UIDValidity {
		return nil, badURL
	}
	it, err := s.o.Store.ItemByUID(s.ctx, m.f.ID, u.uid)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
		return nil, badURL
	}
	if err != nil {
		return nil, wrap(opMessage, err)
	}
	if it.Size > s.o.MaxMessageBytes {
		return nil, no(imap.CodeTooBig, "Message exceeds the APPENDLIMIT")
	}
	ct, err := s.openContent(&msg{id: it.ID, size: it.Size})
	if err != nil {
		return nil, err
	}
	defer ct.close()
	start, end := int64(0), ct.size
	if u.section != "" {
		if start, end, ok = ct.parse().SectionRange(path, spec); !ok {
			return nil, badURL
		}
	}
	if p := u.partial; p != nil {
		start = min(start+int64(min(p.Offset, uint64(end-start))), end)
		end = min(end, start+int64(min(p.Count, uint64(end-start))))
	}
	data := make([]byte, end-start)
	if _, err := ct.ra.ReadAt(data, start); err != nil && !(errors.Is(err, io.EOF) && len(data) == 0) {
		if errors.Is(err, io.EOF) {
			return nil, badURL
		}
		return nil, wrap(opMessage, err)
	}
	return data, nil
}
