package easserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/store"
)

// bigMsg is a plain message whose body is about size bytes.
func bigMsg(subject string, size int) string {
	line := strings.Repeat("abcdefghij", 7) + "\n"
	return "From: bob@acme.test\nTo: alice@acme.test\nSubject: " + subject + "\n\n" + strings.Repeat(line, size/len(line))
}

// TestSyncByteBudget: a Sync response carries at most
// easserver.DefaultMaxSyncBytes of server changes (8 MiB) whatever the
// WindowSize; large messages that would pass it wait for the next Sync,
// announced by MoreAvailable, in the initial load and in the journal
// alike. Every message reaches the device exactly once.
func TestSyncByteBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("tens of MiB of mail")
	}
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "BUDGETPHONE")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	coll := id(inbox)
	const size = 2500 << 10 // four of them pass 8 MiB
	// What the encoding adds around the items: the Sync, Collection and
	// key elements.
	const slack = 4 << 10
	for i := range 4 {
		e.deliver("alice", store.SpecialInbox, bigMsg(fmt.Sprintf("load %d", i), size))
	}
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	seen := map[string]bool{}
	drain := func(phase string, want int) {
		t.Helper()
		got, rounds := 0, 0
		for {
			rounds++
			if rounds > 10 {
				t.Fatalf("%s: does not end", phase)
			}
			r := d.sync(coll, key, "<WindowSize>100</WindowSize>")
			if len(r.raw) > easserver.DefaultMaxSyncBytes+slack {
				t.Fatalf("%s: a Sync response of %d bytes, budget %d", phase, len(r.raw), easserver.DefaultMaxSyncBytes)
			}
			c := collection(r)
			if c.ChildText("Status") != "1" {
				t.Fatalf("%s: status %s", phase, c.ChildText("Status"))
			}
			for _, a := range c.Child("Commands").All("Add") {
				sid := a.ChildText("ServerId")
				if seen[sid] {
					t.Fatalf("%s: %s sent twice", phase, sid)
				}
				if n := len(a.Child("ApplicationData").Child("Body").ChildText("Data")); n < size*9/10 {
					t.Fatalf("%s: %s came with %d bytes of body", phase, sid, n)
				}
				seen[sid] = true
				got++
			}
			key = c.ChildText("SyncKey")
			if c.Child("MoreAvailable") == nil {
				break
			}
		}
		if got != want || rounds < 2 {
			t.Fatalf("%s: %d messages in %d responses, want %d in more than one", phase, got, rounds, want)
		}
	}
	drain("initial load", 4)
	// New mail, read from the journal, with a flag change among it.
	first := e.deliver("alice", store.SpecialInbox, bigMsg("new 0", size))
	for i := 1; i < 4; i++ {
		e.deliver("alice", store.SpecialInbox, bigMsg(fmt.Sprintf("new %d", i), size))
	}
	if _, err := e.db.UpdateFlags(e.as("alice"), inbox.ID, []uint32{first.UID}, store.FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	drain("journal", 4)
}

// A message larger than the budget still goes, alone, so that the device
// makes progress.
func TestSyncByteBudgetLargeItem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *easserver.Options) { o.MaxSyncBytes = 100 << 10 })
	d := e.device("alice", "BUDGETPHONE2")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	coll := id(inbox)
	for i := range 3 {
		e.deliver("alice", store.SpecialInbox, bigMsg(fmt.Sprintf("huge %d", i), 150<<10))
	}
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	for round := range 3 {
		c := collection(d.sync(coll, key, "<WindowSize>100</WindowSize>"))
		if n := len(c.Child("Commands").All("Add")); n != 1 {
			t.Fatalf("round %d: %d messages of 150 KiB under a budget of 100 KiB, want 1", round, n)
		}
		if more := c.Child("MoreAvailable") != nil; more != (round < 2) {
			t.Fatalf("round %d: MoreAvailable %v", round, more)
		}
		key = c.ChildText("SyncKey")
	}
}
