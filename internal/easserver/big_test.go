package easserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// A backlog of 100,000 journal changes is worked through in bounded
// windows: each Sync reads a bounded part of the journal and answers with
// MoreAvailable until the device has every item, added once, in its
// final state.
func TestSync100kChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 journal entries")
	}
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "BIGPHONE")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	coll := id(inbox)
	key := collection(d.sync(coll, "0", "")).ChildText("SyncKey")
	key = collection(d.sync(coll, key, "")).ChildText("SyncKey") // empty inbox: loaded
	ctx := e.as("alice")
	const n = 2000
	var uids []uint32
	for i := 0; i < n; i++ {
		it, err := e.db.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(fmt.Sprintf("Subject: m%d\r\n\r\nx\r\n", i))})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, it.UID)
	}
	// 49 flag flips of every message: 98,000 more entries.
	for round := 0; round < 49; round++ {
		op := store.FlagsAdd
		if round%2 == 1 {
			op = store.FlagsRemove
		}
		if _, err := e.db.UpdateFlags(ctx, inbox.ID, uids, op, []string{`\Seen`}); err != nil {
			t.Fatal(err)
		}
	}
	adds, changes, rounds := 0, 0, 0
	seen := map[string]bool{}
	for {
		rounds++
		// Flags flipped round-robin over 2,000 items fill a window of 512
		// every 512 entries: about 200 requests, each reading a bounded
		// part of the journal.
		if rounds > 300 {
			t.Fatal("the backlog does not end")
		}
		r := d.sync(coll, key, "<WindowSize>512</WindowSize>")
		c := collection(r)
		cmds := c.Child("Commands")
		if n := len(cmds.Children); n > 512 {
			t.Fatalf("window of 512 got %d", n)
		}
		for _, a := range cmds.All("Add") {
			sid := a.ChildText("ServerId")
			if seen[sid] {
				t.Fatalf("%s added twice", sid)
			}
			seen[sid] = true
			// 49 flips end with \\Seen set.
			if a.Child("ApplicationData").ChildText("Read") != "1" {
				t.Fatalf("%s not in its final state", sid)
			}
			adds++
		}
		changes += len(cmds.All("Change"))
		key = c.ChildText("SyncKey")
		if c.Child("MoreAvailable") == nil {
			break
		}
	}
	if adds != n {
		t.Fatalf("%d adds of %d (and %d changes) in %d rounds", adds, n, changes, rounds)
	}
	t.Logf("100,000 journal entries: %d adds, %d changes, %d Sync requests", adds, changes, rounds)
}
