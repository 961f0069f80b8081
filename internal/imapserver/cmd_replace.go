package imapserver

import (
	"io"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// REPLACE and UID REPLACE, RFC 8508: APPEND a message to a mailbox and
// expunge one message of the selected mailbox, as one command. The store
// has no transaction spanning both, so the new message is appended first
// and removed again if the command cannot complete: the client is left
// with either both changes or neither (RFC 8508 §3.1 asks for no half
// state).
func (s *session) cmdReplace(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.ReplaceCmd)
	sel := s.sel
	i := -1
	if c.UID {
		i = sel.find(a.Num)
	} else if int(a.Num) <= len(sel.msgs) {
		i = int(a.Num) - 1
	} else {
		return "", bad(imap.CodeClientBug, "Invalid message sequence number")
	}
	if i < 0 || sel.msgs[i].expunged {
		return "", no(imap.CodeNonExistent, "No such message")
	}
	if sel.readOnly {
		return "", no(imap.CodeReadOnly, "Mailbox is read-only")
	}
	// RFC 8508 §3.3: the source needs the rights of an expunge.
	if !strings.ContainsRune(sel.rights, store.RightDeleteMsg) || !strings.ContainsRune(sel.rights, store.RightExpunge) {
		return "", wrap(opMailbox, store.ErrPermission)
	}
	src := sel.msgs[i]
	dst, err := s.resolve(a.Mailbox)
	if err != nil {
		return "", asTarget(err)
	}
	flags := slices.DeleteFunc(slices.Clone(a.Message.Flags), func(f string) bool { return strings.EqualFold(f, `\Recent`) })
	body := &bodyReader{r: a.Message.Body}
	var content io.Reader = body
	if a.Message.Catenate != nil {
		urls := 0
		if content, err = s.catenate(a.Message.Catenate, &urls); err != nil { // RFC 8508 §4
			return "", err
		}
	}
	it, err := s.o.Store.AppendItem(s.ctx, dst.f.ID, store.NewItem{Content: content, Flags: flags, InternalDate: a.Message.Date})
	undo := func() {
		if it == nil {
			return
		}
		if _, err := s.o.Store.DeleteItems(s.ctx, dst.f.ID, []uint32{it.UID}); err != nil {
			s.log.Warn("replace: undo append", "err", err)
		}
	}
	if body.err != nil {
		undo()
		return "", s.readErr(body.err)
	}
	if err != nil {
		return "", asTarget(wrap(opTarget, err))
	}
	if m, err := s.r.NextAppendMessage(); err != nil || m != nil {
		undo()
		if err == nil {
			return "", bad(imap.CodeClientBug, "REPLACE takes one message") // the parser refuses it first
		}
		return "", s.readErr(err)
	}
	if _, err := s.o.Store.DeleteItems(s.ctx, sel.folderID, []uint32{src.uid}); err != nil {
		undo()
		return "", wrap(opMessage, err)
	}
	// RFC 8508 §3.2: APPENDUID in an untagged OK, then the expunge.
	s.w.Untagged(imap.OK, imap.CodeAppendUID(dst.f.UIDValidity, imap.SeqSetOf(it.UID)), "Replacement Message ID assigned")
	s.expungeNow([]uint32{src.uid})
	return "", nil
}
