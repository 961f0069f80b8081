package imapserver

import (
	"strconv"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// MESSAGELIMIT (RFC 9738): the most messages one FETCH, STORE, COPY,
// MOVE (and their UID forms), UID EXPUNGE or MULTIAPPEND acts on,
// announced as MESSAGELIMIT=n. The
// store calls are chunked anyway (maxUIDsPerCall); the limit bounds what
// one command can make the server read and write. A UID command over more
// messages is done for the lowest UIDs and completes with OK [LIMIT], so
// the client can go on after the last UID it saw (RFC 9738 §3.1); a
// command by sequence numbers is refused with NO [LIMIT] before anything
// is done.
const defaultMessageLimit = 1000000

// messageLimit is the limit in force.
func (s *session) messageLimit() int {
	if n := s.srv.messageLimit.Load(); n > 0 {
		return int(n)
	}
	return defaultMessageLimit
}

func (s *session) messageLimitCap() string {
	return "MESSAGELIMIT=" + strconv.Itoa(s.messageLimit())
}

// capMessages applies the limit to the view indexes a command resolved
// (ascending, so the first ones have the lowest UIDs). The code is
// LIMIT when the list was cut.
func (s *session) capMessages(idx []int, uid bool) ([]int, imap.Code, error) {
	lim := s.messageLimit()
	if len(idx) <= lim {
		return idx, "", nil
	}
	if !uid {
		return nil, "", no(imap.CodeLimit, "Too many messages in one command; the MESSAGELIMIT is "+strconv.Itoa(lim))
	}
	return idx[:lim], imap.CodeLimit, nil
}
