package imapserver

import (
	"errors"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// asTarget turns "no such mailbox" into TRYCREATE, the answer for the
// destination of APPEND, COPY and MOVE (RFC 9051 §6.3.12, §6.4.7).
func asTarget(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &storeError{op: opTarget, err: store.ErrNotFound}
	}
	return err
}

// COPY and MOVE (RFC 9051 §6.4.7, §6.4.8; RFC 6851), with COPYUID (RFC
// 4315). MOVE announces the removed messages itself.
func (s *session) cmdCopy(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.CopyCmd)
	sel := s.sel
	move := c.Name == "MOVE"
	if move && sel.readOnly {
		return "", no(imap.CodeReadOnly, "Mailbox is read-only")
	}
	idx, err := sel.indexes(a.Seq, c.UID)
	if err != nil {
		return "", err
	}
	dst, err := s.resolve(a.Mailbox)
	if err != nil {
		return "", asTarget(err)
	}
	var uids []uint32
	for _, i := range idx {
		if !sel.msgs[i].expunged {
			uids = append(uids, sel.msgs[i].uid)
		}
	}
	if len(uids) == 0 {
		return "", nil
	}
	if move && dst.f.ID == sel.folderID {
		return "", no(imap.CodeCannot, "Source and destination are the same mailbox")
	}
	var from, to []uint32
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), maxUIDsPerCall)]
		uids = uids[len(chunk):]
		var maps []store.UIDMap
		if move {
			maps, err = s.o.Store.MoveItems(s.ctx, sel.folderID, chunk, dst.f.ID)
		} else {
			maps, err = s.o.Store.CopyItems(s.ctx, sel.folderID, chunk, dst.f.ID)
		}
		if err != nil {
			if len(from) > 0 && move {
				// Earlier chunks moved: tell the client before failing.
				s.expungeNow(from)
			}
			return "", asTarget(wrap(opTarget, err))
		}
		for _, m := range maps {
			from = append(from, m.From)
			to = append(to, m.To)
		}
	}
	if len(from) == 0 {
		return "", nil
	}
	code := imap.CodeCopyUID(dst.f.UIDValidity, imap.SeqSetOf(from...), imap.SeqSetOf(to...))
	if !move {
		return code, nil
	}
	// RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
	s.w.Untagged(imap.OK, code, "Moved")
	s.expungeNow(from)
	return "", nil
}
