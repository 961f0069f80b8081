package easserver_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/store"
)

// TestEndUser: EndUser (the sharded mode's store move) answers alice's
// parked Ping at once with status 1 (expired: the device asks again)
// and leaves bob's parked; Options.Watch hears of each parked Ping with
// its user's store and of its end.
func TestEndUser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	watched := map[string]int{}
	e := newEnv(t, func(o *easserver.Options) {
		o.Watch = func(p *store.Principal, storeID int64) func() {
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
	watching := func(login string, want int) {
		t.Helper()
		for i := 0; ; i++ {
			mu.Lock()
			n := watched[login]
			mu.Unlock()
			if n == want {
				return
			}
			if i > 1000 {
				t.Fatalf("%s's parked Pings watched: %d, want %d", login, n, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	park := func(login string) <-chan reply {
		d := e.device(login, "PHONE"+strings.ToUpper(login))
		d.provision()
		coll := id(e.folder(login, store.SpecialInbox))
		r := d.sync(coll, "0", "")
		d.sync(coll, collection(r).ChildText("SyncKey"), "")
		done := make(chan reply, 1)
		go func() {
			done <- d.do("Ping", `<Ping xmlns="Ping:"><HeartbeatInterval>300</HeartbeatInterval><Folders><Folder><Id>`+coll+
				`</Id><Class>Email</Class></Folder></Folders></Ping>`)
		}()
		return done
	}
	alice, bob := park("alice"), park("bob")
	watching("alice", 1)
	watching("bob", 1)
	if n := e.h.EndUser("alice"); n != 1 {
		t.Errorf("EndUser answered %d Pings, want 1", n)
	}
	select {
	case r := <-alice:
		if r.status() != "1" {
			t.Errorf("alice's ended Ping: %s", r.xml)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("EndUser did not answer alice's Ping")
	}
	watching("alice", 0)
	select {
	case r := <-bob:
		t.Fatalf("bob's Ping answered: %s", r.xml)
	case <-time.After(100 * time.Millisecond):
	}
	e.deliver("bob", store.SpecialInbox, msg("for bob", "hi"))
	select {
	case r := <-bob:
		if r.status() != "2" || !strings.Contains(r.xml, "<Folder>") {
			t.Errorf("bob's Ping: %s", r.xml)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bob's Ping was not woken")
	}
	watching("bob", 0)
}
