package pop3server_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAuthCachePOP3: the shared credential cache over POP3 USER/PASS, with
// each invalidating event (issue 10).
func TestAuthCachePOP3(t *testing.T) {
	var c *testenv.AuthCounter
	e := start(t, true, func(o *pop3server.Options) {
		c = testenv.NewAuthCounter(o.Store.(store.Directory))
		o.Authenticate = c.Authenticate("pop3")
	})
	testenv.AuthCacheScenario(t, c, func(user, pw string) bool {
		cl := dial(t, e.addr)
		defer cl.c.Close()
		cl.cmd("USER " + user)
		if l := cl.cmd("PASS " + pw); !strings.HasPrefix(l, "+OK") {
			return false
		}
		// QUIT releases the maildrop before the next login.
		if l := cl.cmd("QUIT"); !strings.HasPrefix(l, "+OK") {
			t.Fatalf("QUIT: %s", l)
		}
		return true
	}, "alice", "secret")
}
