package imapserver

import (
	"slices"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// deletedUIDs returns the UIDs of messages flagged \Deleted among the
// view's indexes idx (all messages when idx is nil).
func (s *session) deletedUIDs(idx []int) []uint32 {
	sel := s.sel
	var out []uint32
	check := func(i int) {
		m := &sel.msgs[i]
		if !m.expunged && slices.Contains(m.flags, `\Deleted`) {
			out = append(out, m.uid)
		}
	}
	if idx == nil {
		for i := range sel.msgs {
			check(i)
		}
	} else {
		for _, i := range idx {
			check(i)
		}
	}
	return out
}

// EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).
func (s *session) cmdExpunge(c *imap.Command) (imap.Code, error) {
	sel := s.sel
	if sel.readOnly {
		return "", no(imap.CodeReadOnly, "Mailbox is read-only")
	}
	// Bring flags up to date first: \Deleted may have been set elsewhere.
	if err := s.sync(true); err != nil {
		return "", err
	}
	if s.sel == nil {
		return "", nil
	}
	var idx []int
	var limCode imap.Code
	if c.UID {
		var err error
		if idx, err = sel.indexes(c.Args.(*imap.ExpungeCmd).UIDs, true); err != nil {
			return "", err
		}
		if idx, limCode, err = s.capMessages(idx, true); err != nil { // MESSAGELIMIT
			return "", err
		}
		if idx == nil {
			idx = []int{}
		}
	}
	uids := s.deletedUIDs(idx)
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), maxUIDsPerCall)]
		uids = uids[len(chunk):]
		done, err := s.o.Store.DeleteItems(s.ctx, sel.folderID, chunk)
		if err != nil {
			return "", wrap(opMailbox, err)
		}
		s.expungeNow(done)
	}
	return limCode, nil
}

// maxUIDsPerCall bounds the UIDs of one store call (the store takes at
// most 100,000).
const maxUIDsPerCall = 50000
