package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAuthCacheIMAP: the shared credential cache over IMAP LOGIN, with
// each invalidating event (issue 10).
func TestAuthCacheIMAP(t *testing.T) {
	var c *testenv.AuthCounter
	e := newEnv(t, func(o *imapserver.Options) {
		c = testenv.NewAuthCounter(o.Store)
		o.Authenticate = c.Authenticate("imap")
	})
	testenv.AuthCacheScenario(t, c, func(user, pw string) bool {
		cl := e.dial()
		defer cl.conn.Close()
		_, st := cl.cmd("LOGIN %s %s", user, quote(pw))
		if strings.HasPrefix(st, "OK") {
			cl.ok("LOGOUT")
			return true
		}
		return false
	}, "alice", password("alice"))
}
