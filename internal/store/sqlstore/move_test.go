package sqlstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestMoveHome: a store move on both backends switches the home node in
// one journaled transaction and refuses a target that cannot serve: not
// registered, not a backend, draining, dead, or the current home. A
// change of home_node through UpdateUser is journaled too; the entries
// change no folder, so UIDVALIDITY, UIDs and MODSEQs of the messages are
// those of before.
func TestMoveHome(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := testenv.Open(t, testenv.Options{Backend: backend})
			sys := testenv.Sys
			db.Tenants(t, "acme")
			db.User(t, "acme", store.User{Login: "alice", Active: true, HomeNode: "node-a"}, "pw")
			alice := testenv.As(t, db, "alice")
			st, err := db.UserStore(alice, "alice")
			if err != nil {
				t.Fatal(err)
			}
			inbox := testenv.Folder(t, alice, db, "alice", "inbox")
			for range 3 {
				if _, err := db.AppendItem(alice, inbox.ID, store.NewItem{Content: strings.NewReader("Subject: x\r\n\r\nbody\r\n")}); err != nil {
					t.Fatal(err)
				}
			}
			before, err := db.ListItems(alice, inbox.ID, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []store.Node{
				{Name: "node-a", Roles: []string{"all", "backend"}, Instance: "a"},
				{Name: "node-b", Roles: []string{"all", "backend"}, Instance: "b"},
				{Name: "node-c", Roles: []string{"all", "frontend"}, Instance: "c"},
				{Name: "node-d", Roles: []string{"all", "backend"}, Instance: "d"},
				{Name: "node-e", Roles: []string{"all", "backend"}, Instance: "e"},
			} {
				if _, err := db.Heartbeat(sys, n, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.SetDraining(sys, "node-d", true); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // node-e's heartbeat grows older than the stale bound below
			if _, err := db.Heartbeat(sys, store.Node{Name: "node-b", Roles: []string{"all", "backend"}, Instance: "b"}, time.Minute); err != nil {
				t.Fatal(err)
			}
			const stale = 10 * time.Millisecond
			for _, c := range []struct {
				to   string
				want error
			}{
				{"node-x", store.ErrNotFound},
				{"node-c", store.ErrInvalid}, // a frontend
				{"node-d", store.ErrInvalid}, // draining
				{"node-e", store.ErrInvalid}, // its heartbeat is older than stale
				{"node-a", store.ErrInvalid}, // home already
			} {
				if _, err := db.MoveHome(sys, "alice", c.to, stale); !errors.Is(err, c.want) {
					t.Errorf("MoveHome(alice, %s) = %v, want %v", c.to, err, c.want)
				}
			}
			if _, err := db.MoveHome(alice, "alice", "node-b", time.Minute); !errors.Is(err, store.ErrPermission) {
				t.Errorf("MoveHome as the user = %v, want ErrPermission", err)
			}
			if _, err := db.MoveHome(sys, "nobody", "node-b", time.Minute); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("MoveHome(nobody) = %v, want ErrNotFound", err)
			}
			head := st.ModSeq
			if s, err := db.GetStore(alice, st.ID); err == nil {
				head = s.ModSeq
			}
			m, err := db.MoveHome(sys, "alice", "node-b", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if m.From != "node-a" || m.To != "node-b" || m.Login != "alice" || m.StoreID != st.ID || m.Messages != 3 || m.Seq != head+1 {
				t.Errorf("move = %+v (head before %d)", m, head)
			}
			if u, err := db.GetUser(sys, "alice"); err != nil || u.HomeNode != "node-b" {
				t.Errorf("home node after the move: %v, %v", u, err)
			}
			chs, err := db.Changes(alice, st.ID, head, 10)
			if err != nil || len(chs) != 1 || chs[0].Kind != store.ChangeHomeNode || chs[0].FolderID != 0 || chs[0].Seq != m.Seq {
				t.Errorf("journal after the move: %+v, %v", chs, err)
			}
			after, err := db.ListItems(alice, inbox.ID, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			f2 := testenv.Folder(t, alice, db, "alice", "inbox")
			if len(after) != len(before) || f2.UIDValidity != inbox.UIDValidity {
				t.Fatalf("items after the move: %d, UIDVALIDITY %d (before %d, %d)", len(after), f2.UIDValidity, len(before), inbox.UIDValidity)
			}
			for i := range after {
				if after[i].UID != before[i].UID || after[i].ModSeq != before[i].ModSeq {
					t.Errorf("item %d: UID %d MODSEQ %d, before %d %d", i, after[i].UID, after[i].ModSeq, before[i].UID, before[i].ModSeq)
				}
			}
			// An administrator's change of home_node is journaled too.
			home := "node-a"
			if _, err := db.UpdateUser(sys, "alice", store.UserUpdate{HomeNode: &home}); err != nil {
				t.Fatal(err)
			}
			chs, err = db.Changes(alice, st.ID, m.Seq, 10)
			if err != nil || len(chs) != 1 || chs[0].Kind != store.ChangeHomeNode {
				t.Errorf("journal after UpdateUser(home_node): %+v, %v", chs, err)
			}
			// The same value again changes nothing and journals nothing.
			if _, err := db.UpdateUser(sys, "alice", store.UserUpdate{HomeNode: &home}); err != nil {
				t.Fatal(err)
			}
			if chs, _ := db.Changes(alice, st.ID, m.Seq+1, 10); len(chs) != 0 {
				t.Errorf("an unchanged home_node was journaled: %+v", chs)
			}
		})
	}
}
