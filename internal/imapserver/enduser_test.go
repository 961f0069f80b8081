package imapserver_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// TestEndUser: Server.EndUser ends one user's sessions only. A session
// waiting for a command and one in IDLE are told BYE [UNAVAILABLE] at
// once; an APPEND whose literal is still arriving completes and is
// answered OK first; another user's session goes on. Watch hears of each
// authenticated session with the user's store and of its end.
func TestEndUser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	watched := map[string]int{}
	stores := map[string]int64{}
	e := newEnv(t, func(o *imapserver.Options) {
		o.Watch = func(p *store.Principal, storeID int64) func() {
			mu.Lock()
			watched[p.Login]++
			stores[p.Login] = storeID
			mu.Unlock()
			return func() {
				mu.Lock()
				watched[p.Login]--
				mu.Unlock()
			}
		}
	})
	waiting := e.selectBox("alice", "INBOX")
	idling := e.selectBox("alice", "INBOX")
	idling.send("i1 IDLE\r\n")
	if l := idling.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	appending := e.selectBox("alice", "INBOX")
	msg := testMsg(1)
	appending.send("p1 APPEND INBOX {" + strconv.Itoa(len(msg)) + "}\r\n")
	if l := appending.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("APPEND: %q", l)
	}
	appending.send(msg[:10])
	bob := e.selectBox("bob", "INBOX")
	mu.Lock()
	if watched["alice"] != 3 || watched["bob"] != 1 || stores["alice"] == 0 || stores["alice"] == stores["bob"] {
		t.Errorf("watched %v, stores %v", watched, stores)
	}
	mu.Unlock()

	if n := e.srv.EndUser("alice", imap.CodeUnavailable, "Mailbox moved to another server; reconnect"); n != 3 {
		t.Errorf("EndUser = %d, want 3", n)
	}
	for _, c := range []*client{waiting, idling} {
		if l := c.line(); l != "* BYE [UNAVAILABLE] Mailbox moved to another server; reconnect" {
			t.Errorf("after EndUser: %q", l)
		}
		c.expectClosed()
	}
	// The APPEND in progress completes, then the session ends.
	appending.send(msg[10:] + "\r\n")
	_, st := appending.until("p1")
	if !strings.HasPrefix(st, "OK") {
		t.Errorf("APPEND in progress during EndUser: %q", st)
	}
	if l := appending.line(); !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
		t.Errorf("after the APPEND: %q", l)
	}
	appending.expectClosed()
	if its, err := e.db.ListItems(e.as("alice"), e.folder("alice", "inbox").ID, 1, 0); err != nil || len(its) != 1 {
		t.Errorf("%d messages after the APPEND (%v), want 1", len(its), err)
	}
	bob.ok("NOOP")
	if n := e.srv.EndUser("nobody", imap.CodeUnavailable, "x"); n != 0 {
		t.Errorf("EndUser(nobody) = %d", n)
	}
	for i := 0; ; i++ {
		mu.Lock()
		done := watched["alice"] == 0 && watched["bob"] == 1
		mu.Unlock()
		if done {
			break
		}
		if i == 200 {
			t.Fatalf("watched after the sessions ended: %v", watched)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
