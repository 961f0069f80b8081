package imapserver

import "github.com/roost-mail/roost/internal/proto/imap"

// UIDONLY (RFC 9586): once enabled, the client and the server name
// messages by UID only. Commands that take message sequence numbers are
// refused with BAD [UIDREQUIRED] (§3), FETCH responses become UIDFETCH
// responses numbered by UID (§3.3) and expunges are told as VANISHED
// (§3.4). EXISTS still counts the messages.

// seqCommands take message sequence numbers unless prefixed with UID.
var seqCommands = map[string]bool{
	"FETCH": true, "STORE": true, "SEARCH": true, "COPY": true, "MOVE": true,
	"SORT": true, "THREAD": true, "REPLACE": true,
}

// checkUIDOnly refuses a command that names messages by sequence number
// in a UIDONLY session.
func (s *session) checkUIDOnly(c *imap.Command) error {
	if !s.uidonly {
		return nil
	}
	if !c.UID && seqCommands[c.Name] {
		return bad(imap.CodeUIDRequired, "Message sequence numbers are not allowed with UIDONLY")
	}
	var keys []imap.SearchKey
	switch a := c.Args.(type) {
	case *imap.SearchCmd:
		keys = a.Keys
	case *imap.SortCmd:
		keys = a.Keys
	case *imap.ThreadCmd:
		keys = a.Keys
	case *imap.SelectCmd:
		// RFC 9586 §3.6: no sequence match data in QRESYNC.
		if q := a.QResync; q != nil && !q.KnownSeqs.IsEmpty() {
			return bad(imap.CodeUIDRequired, "QRESYNC sequence match data is not allowed with UIDONLY")
		}
	}
	if imap.HasSeqNumbers(keys) {
		return bad(imap.CodeUIDRequired, "Message sequence numbers are not allowed with UIDONLY")
	}
	return nil
}

// fetchAt starts the FETCH response of the message at index i: a
// UIDFETCH in a UIDONLY session.
func (s *session) fetchAt(i int) *imap.FetchWriter {
	if s.uidonly {
		return s.w.UIDFetch(s.sel.msgs[i].uid)
	}
	return s.w.Fetch(uint32(i + 1))
}
