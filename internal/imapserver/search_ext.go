package imapserver

import "github.com/roost-mail/roost/internal/proto/imap"

// Search keys of OBJECTID (RFC 8474 §6) and SAVEDATE (RFC 8514 §4.1).

// prepareExt loads what the extension keys need for the whole mailbox
// before the search starts, so a store failure is the command's failure
// and not a silent "no match".
func (ev *evaluator) prepareExt(keys []imap.SearchKey) error {
	need := false
	for i := range keys {
		for _, op := range []string{"SAVEDBEFORE", "SAVEDON", "SAVEDSINCE"} {
			if hasKey(&keys[i], op) {
				need = true
			}
		}
	}
	if !need {
		return nil
	}
	ids := make([]int64, 0, len(ev.sel.msgs))
	for _, m := range ev.sel.msgs {
		if !m.expunged {
			ids = append(ids, m.id)
		}
	}
	saved, err := ev.s.o.Store.SaveDates(ev.s.ctx, ev.sel.folderID, ids)
	if err != nil {
		return wrap(opMailbox, err)
	}
	ev.saveDates = saved
	return nil
}

// matchExt evaluates an extension key; ok is false for other keys.
func (ev *evaluator) matchExt(k *imap.SearchKey) (match, ok bool) {
	m := ev.msg()
	switch k.Op {
	case "EMAILID":
		return emailID(m.id) == k.Str, true
	case "THREADID":
		return false, true // no message has a THREADID (objectid.go)
	case "SAVEDATESUPPORTED":
		return true, true // every mailbox keeps save dates
	case "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		t, found := ev.saveDates[m.id]
		if !found {
			return false, true
		}
		// As for INTERNALDATE: the date in UTC, without time (RFC 8514
		// §4.1 refers to BEFORE, ON and SINCE).
		return compareDate(k.Op[len("SAVED"):], t.UTC(), k.Date), true
	}
	return false, false
}
