package imapserver

import (
	"errors"
	"strings"

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
	idx, limCode, err := s.capMessages(idx, c.UID) // MESSAGELIMIT
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
		if code, err := s.moveWithin(uids); err != nil || code != "" {
			return code, err
		}
		return limCode, nil
	}
	var from, to []uint32
	pg := s.startProgress(len(uids)) // RFC 9585
	for len(uids) > 0 {
		pg.at(len(from))
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
		if limCode != "" {
			// MESSAGELIMIT: COPYUID says which were copied (RFC 9738 §3.1).
			s.w.Untagged(imap.OK, code, "Copied")
			return limCode, nil
		}
		return code, nil
	}
	// RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
	s.w.Untagged(imap.OK, code, "Moved")
	s.expungeNow(from)
	return limCode, nil
}

// moveWithin is MOVE into the selected mailbox itself. RFC 6851 does not
// forbid it and Dovecot does it: the messages get new UIDs and the old ones
// are expunged. The store moves only between folders, so this is COPY and
// then EXPUNGE of the sources, with COPYUID in an untagged OK before the
// expunges (RFC 6851 §4.3); the new messages are announced by the sync
// after the command (EXISTS). If expunging the sources of a chunk fails,
// its copies are removed again, so the client is left with no duplicate.
func (s *session) moveWithin(uids []uint32) (imap.Code, error) {
	sel := s.sel
	// The rights of a MOVE's source (RFC 6851 §3.3, RFC 4314): checked
	// before copying, so that no copy is made that cannot be undone.
	if !strings.ContainsRune(sel.rights, store.RightDeleteMsg) || !strings.ContainsRune(sel.rights, store.RightExpunge) {
		return "", wrap(opMailbox, store.ErrPermission)
	}
	var from, to []uint32
	fail := func(err error) (imap.Code, error) {
		if len(from) > 0 {
			// Earlier chunks moved: tell the client before failing.
			s.expungeNow(from)
		}
		return "", wrap(opMailbox, err)
	}
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), maxUIDsPerCall)]
		uids = uids[len(chunk):]
		maps, err := s.o.Store.CopyItems(s.ctx, sel.folderID, chunk, sel.folderID)
		if err != nil {
			return fail(err)
		}
		var src, dst []uint32
		for _, m := range maps {
			src = append(src, m.From)
			dst = append(dst, m.To)
		}
		if len(src) == 0 {
			continue
		}
		if _, err := s.o.Store.DeleteItems(s.ctx, sel.folderID, src); err != nil {
			if _, uerr := s.o.Store.DeleteItems(s.ctx, sel.folderID, dst); uerr != nil {
				s.log.Warn("move: undo copy", "err", uerr)
			}
			return fail(err)
		}
		from = append(from, src...)
		to = append(to, dst...)
	}
	if len(from) == 0 {
		return "", nil
	}
	s.w.Untagged(imap.OK, imap.CodeCopyUID(sel.uidValidity, imap.SeqSetOf(from...), imap.SeqSetOf(to...)), "Moved")
	s.expungeNow(from)
	return "", nil
}
