package imapserver

import "github.com/roost-mail/roost/internal/proto/imap"

// enableCondStore turns CONDSTORE on for a CONDSTORE enabling command
// (RFC 7162 §3.1: FETCH with MODSEQ or CHANGEDSINCE, STORE with
// UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ). When that happens
// with a mailbox selected, the client learns the mailbox's HIGHESTMODSEQ
// at once (RFC 7162 §3.1.2.1; Dovecot does the same), since its SELECT
// may have been answered before it cared.
func (s *session) enableCondStore() {
	if s.condstore {
		return
	}
	s.condstore = true
	if s.sel != nil {
		s.w.Untagged(imap.OK, imap.CodeHighestModSeq(s.sel.highestModSeq), "Highest")
	}
}
