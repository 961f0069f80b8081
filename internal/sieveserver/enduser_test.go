package sieveserver_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
)

// TestEndUser: EndUser (the sharded mode's store move) ends alice's
// sessions with BYE (TRYLATER): one waiting for a command at once, one
// in the middle of a PUTSCRIPT after it has been answered OK (the script
// is stored); bob's session goes on. Options.Watch hears of each
// logged-in session with its user's store and of its end.
func TestEndUser(t *testing.T) {
	var mu sync.Mutex
	watched := map[string]int{}
	var srv *sieveserver.Server
	e := newEnv(t, func(o *sieveserver.Options) {
		o.AllowPlaintextAuth = true
		o.Watch = func(p *store.Principal, storeID int64) func() {
			if storeID == 0 {
				t.Errorf("Watch of %s without a store", p.Login)
			}
			mu.Lock()
			watched[p.Login]++
			mu.Unlock()
			return func() {
				mu.Lock()
				watched[p.Login]--
				mu.Unlock()
			}
		}
	})
	srv = e.srv
	idle := e.dial()
	idle.login("alice")
	busy := e.dial()
	busy.login("alice")
	bob := e.dial()
	bob.login("bob")
	mu.Lock()
	if watched["alice"] != 2 || watched["bob"] != 1 {
		t.Errorf("watched sessions: %v", watched)
	}
	mu.Unlock()

	// busy starts a PUTSCRIPT whose literal is still on its way.
	script := "keep;\r\n"
	busy.c.Write([]byte("PUTSCRIPT \"moved\" {" + strconv.Itoa(len(script)) + "+}\r\n" + script[:2]))
	time.Sleep(100 * time.Millisecond) // the command has begun
	if n := srv.EndUser("alice", "Mailbox moved to another server; please reconnect"); n != 2 {
		t.Errorf("EndUser ended %d sessions, want 2", n)
	}
	if l := idle.line(); l != `BYE (TRYLATER) "Mailbox moved to another server; please reconnect"` {
		t.Errorf("the waiting session was told %q", l)
	}
	busy.c.Write([]byte(script[2:] + "\r\n"))
	if _, l := busy.untilDone(); !strings.HasPrefix(l, "OK") {
		t.Errorf("PUTSCRIPT in progress: %q", l)
	}
	if l := busy.line(); !strings.HasPrefix(l, "BYE (TRYLATER)") {
		t.Errorf("the busy session after its command: %q", l)
	}
	if lines := bob.cmd("LISTSCRIPTS", "OK"); len(lines) != 0 {
		t.Errorf("bob's LISTSCRIPTS: %q", lines)
	}
	// The script of the interrupted PUTSCRIPT is stored.
	again := e.dial()
	again.login("alice")
	if lines := again.cmd("LISTSCRIPTS", "OK"); len(lines) != 1 || !strings.Contains(lines[0], `"moved"`) {
		t.Errorf("alice's scripts: %q", lines)
	}
	again.cmd("LOGOUT", "OK")
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := watched["alice"]
		mu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			if n != 0 {
				t.Errorf("alice's sessions still watched: %d", n)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}
