package imapserver

import (
	"errors"

	"github.com/roost-mail/roost/internal/store"
)

// listMyRights answers the MYRIGHTS return option of LIST (RFC 8440 §3)
// for one listed mailbox: "* MYRIGHTS mailbox rights" after its LIST
// response. A mailbox whose rights are not visible (it went away, or lost
// its lookup right since the listing was read) gets none, as LIST-STATUS
// leaves out STATUS (RFC 8440 §3 follows RFC 5819 there); a store failure
// fails the command.
func (s *session) listMyRights(e *listEntry) error {
	rights, err := s.o.Store.MyRights(s.ctx, e.f.ID)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
		return nil
	}
	if err != nil {
		return wrap(opMailbox, err)
	}
	s.w.MyRights(e.name, rights)
	return nil
}
