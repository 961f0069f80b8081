package imapserver

import (
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// STORE and UID STORE, RFC 9051 §6.4.6, with UNCHANGEDSINCE (RFC 7162
// §3.1.3).
func (s *session) cmdStore(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.StoreCmd)
	sel := s.sel
	if sel.readOnly {
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
	if a.UnchangedSince != nil {
		s.enableCondStore() // RFC 7162 §3.1
	}
	// \Recent cannot be stored (RFC 3501 §2.3.2) and is gone in IMAP4rev2.
	flags := slices.DeleteFunc(slices.Clone(a.Flags), func(f string) bool { return strings.EqualFold(f, `\Recent`) })
	var uids []uint32
	for _, i := range idx {
		if !sel.msgs[i].expunged {
			uids = append(uids, sel.msgs[i].uid)
		}
	}
	// UNCHANGEDSINCE: messages changed after the given MODSEQ are left
	// alone and reported in MODIFIED.
	var modified []uint32
	if a.UnchangedSince != nil && len(uids) > 0 {
		want := map[uint32]bool{}
		for _, u := range uids {
			want[u] = true
		}
		cur, err := s.currentState(sel, want)
		if err != nil {
			return "", wrap(opMailbox, err)
		}
		mod := map[uint32]bool{}
		for _, it := range cur {
			if it.ModSeq > *a.UnchangedSince {
				mod[it.UID] = true
			}
		}
		uids = slices.DeleteFunc(uids, func(u uint32) bool { return mod[u] })
		for _, i := range idx {
			if m := &sel.msgs[i]; mod[m.uid] {
				if c.UID {
					modified = append(modified, m.uid)
				} else {
					modified = append(modified, uint32(i+1))
				}
			}
		}
	}
	op := store.FlagsReplace
	switch a.Op {
	case imap.StoreAdd:
		op = store.FlagsAdd
	case imap.StoreRemove:
		op = store.FlagsRemove
	}
	changed := map[int]bool{}
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), maxUIDsPerCall)]
		uids = uids[len(chunk):]
		res, err := s.o.Store.UpdateFlags(s.ctx, sel.folderID, chunk, op, flags)
		if err != nil {
			return "", wrap(opMailbox, err)
		}
		for _, it := range res {
			i := sel.find(it.UID)
			if i < 0 {
				continue
			}
			m := &sel.msgs[i]
			if m.modseq != it.ModSeq || !slices.Equal(m.flags, it.Flags) {
				changed[i] = true
			}
			m.flags, m.modseq = it.Flags, it.ModSeq
		}
	}
	// The answers show each message's whole flag set, which may hold
	// keywords another session added since this one last looked: FLAGS
	// names them first (RFC 9051 §7.3.5; imaptest's stress run checks it).
	flagsDue := sel.learnKeywords(flags)
	for i := range changed {
		if sel.learnKeywords(sel.msgs[i].flags) {
			flagsDue = true
		}
	}
	if flagsDue {
		s.w.Flags(sel.flagsList()...)
	}
	skip := map[uint32]bool{}
	for _, u := range modified {
		skip[u] = true
	}
	for _, i := range idx {
		m := &sel.msgs[i]
		key := uint32(i + 1)
		if c.UID {
			key = m.uid
		}
		if m.expunged || skip[key] {
			continue
		}
		switch {
		case !a.Silent:
			s.writeFlags(i, c.UID, false)
		case s.condstore && changed[i]:
			// RFC 7162 §3.1.3: even .SILENT reports the new MODSEQ.
			s.writeFlags(i, c.UID, true)
		}
	}
	if len(modified) > 0 {
		return imap.CodeModified(imap.SeqSetOf(modified...)), nil
	}
	return limCode, nil
}
