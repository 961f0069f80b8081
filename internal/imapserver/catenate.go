package imapserver

import (
	"bytes"
	"errors"
	"io"

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
// APPENDLIMIT, and the URLs of one command (all the messages of a
// MULTIAPPEND) by maxURLs: each may open and parse a whole message, even
// for a few bytes of it.

// catenate returns the content of a CATENATE message. urls counts the
// URLs of the command so far.
func (s *session) catenate(parts []imap.CatPart, urls *int) (io.Reader, error) {
	for _, p := range parts {
		if p.URL != "" {
			*urls++
		}
	}
	if err := tooManyURLs(*urls); err != nil {
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

// urlData returns the bytes an IMAP URL of CATENATE names. A URL that does
// not parse, or names nothing the user may read, is NO [BADURL] (RFC 4469
// §5); a store failure is a temporary failure.
func (s *session) urlData(raw string) ([]byte, error) {
	badURL := no(imap.CodeBadURL(raw), "Bad or inaccessible URL")
	u, err := imap.ParseRelativeURL(raw)
	if err != nil {
		return nil, badURL
	}
	path, spec, ok := mime.ParseSection(u.Section)
	if !ok {
		return nil, badURL
	}
	m, err := s.resolve(u.Mailbox)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, badURL
		}
		return nil, err
	}
	if u.UIDValidity != 0 && u.UIDValidity != m.f.UIDValidity {
		return nil, badURL
	}
	it, err := s.o.Store.ItemByUID(s.ctx, m.f.ID, u.UID)
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
	if u.Section != "" {
		if start, end, ok = ct.parse().SectionRange(path, spec); !ok {
			return nil, badURL
		}
	}
	if p := u.Partial; p != nil {
		start = min(start+int64(min(p[0], uint64(end-start))), end)
		end = min(end, start+int64(min(p[1], uint64(end-start))))
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
