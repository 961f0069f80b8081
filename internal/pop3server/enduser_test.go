package pop3server_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
)

// TestEndUser: after Server.EndUser the user's session answers its next
// command with -ERR [SYS/TEMP] and closes without the UPDATE state (a
// message marked for deletion stays); a session that sends QUIT instead
// is carried out. Watch hears of the login and of the session's end.
func TestEndUser(t *testing.T) {
	var watched atomic.Int64
	e := start(t, true, func(o *pop3server.Options) {
		o.Watch = func(p *store.Principal, storeID int64) func() {
			if p.Login == "alice" && storeID != 0 {
				watched.Add(1)
			}
			return func() { watched.Add(-1) }
		}
	})
	e.add(t, "Subject: one\r\n\r\nbody\r\n")
	e.add(t, "Subject: two\r\n\r\nbody\r\n")
	login := func() *client {
		c := dial(t, e.addr)
		c.cmd("USER alice")
		if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK") {
			t.Fatalf("PASS: %q", l)
		}
		return c
	}
	a, b := login(), login()
	if l := a.cmd("DELE 1"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	if l := b.cmd("DELE 2"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	if n := watched.Load(); n != 2 {
		t.Errorf("watched %d sessions, want 2", n)
	}
	if n := e.srv.EndUser("alice", "mailbox moved to another server, reconnect"); n != 2 {
		t.Errorf("EndUser = %d, want 2", n)
	}
	if l := a.cmd("STAT"); l != "-ERR [SYS/TEMP] mailbox moved to another server, reconnect" {
		t.Errorf("STAT after EndUser: %q", l)
	}
	if l := b.cmd("QUIT"); !strings.HasPrefix(l, "+OK") {
		t.Errorf("QUIT after EndUser: %q", l)
	}
	// Message 1 (marked by the ended session) stays; 2 (QUIT) is gone.
	c := login()
	if l := c.cmd("STAT"); !strings.HasPrefix(l, "+OK 1 ") {
		t.Errorf("STAT afterwards: %q", l)
	}
	if l := c.cmd("TOP 1 0"); !strings.HasPrefix(l, "+OK") || !strings.Contains(strings.Join(c.multi(), "\n"), "Subject: one") {
		t.Errorf("the message the ended session marked is gone")
	}
}
