package imapserver

import (
	"io"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// bodyReader remembers whether reading the message from the client failed,
// which ends the session, as opposed to a store error.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// APPEND, RFC 9051 §6.3.12, with MULTIAPPEND (RFC 3502), UIDPLUS APPENDUID
// (RFC 4315) and BINARY literal8 (RFC 3516). Messages stream from the
// connection into the store. The store has no multi-item transaction, so a
// MULTIAPPEND that fails part-way deletes the messages it had appended.
func (s *session) cmdAppend(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.AppendCmd)
	m, err := s.resolve(a.Mailbox)
	if err != nil {
		// The rest of the command is skipped by the next ReadCommand.
		return "", asTarget(err)
	}
	var uids []uint32
	urls := 0 // CATENATE URLs of the command
	rollback := func() {
		if len(uids) > 0 {
			if _, err := s.o.Store.DeleteItems(s.ctx, m.f.ID, uids); err != nil {
				s.log.Warn("append: undo", "err", err)
			}
		}
	}
	for msg := a.Message; msg != nil; {
		if len(uids) >= s.messageLimit() { // MESSAGELIMIT (RFC 9738)
			rollback()
			return "", no(imap.CodeLimit, "Too many messages in one APPEND")
		}
		flags := slices.DeleteFunc(slices.Clone(msg.Flags), func(f string) bool { return strings.EqualFold(f, `\Recent`) })
		body := &bodyReader{r: msg.Body}
		var content io.Reader = body
		if msg.Catenate != nil {
			if content, err = s.catenate(msg.Catenate, &urls); err != nil { // RFC 4469
				rollback()
				return "", err
			}
		}
		it, err := s.o.Store.AppendItem(s.ctx, m.f.ID, store.NewItem{Content: content, Flags: flags, InternalDate: msg.Date})
		if body.err != nil {
			rollback()
			return "", s.readErr(body.err)
		}
		if err != nil {
			rollback()
			return "", wrap(opMailbox, err)
		}
		uids = append(uids, it.UID)
		if msg, err = s.r.NextAppendMessage(); err != nil {
			rollback()
			return "", s.readErr(err)
		}
	}
	return imap.CodeAppendUID(m.f.UIDValidity, imap.SeqSetOf(uids...)), nil
}
