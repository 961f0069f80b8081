package storetest

import (
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// testShareNotifications: SetACL of a user's entry writes a share
// notification into that user's store, journaled there; group, anyone
// and unchanged entries write none; only the store's owner reads and
// destroys them; destroyed ones stay visible to a /changes reader until
// the purge; concurrent shares between two users (locking both stores
// in opposite roles) all land.
func testShareNotifications(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	before := must(b.GetStore(f.bob, f.bobStore.ID)).ModSeq
	check(b.SetACL(f.alice, f.aliceInbox.ID, "user:BOB", "lr"))
	after := must(b.GetStore(f.bob, f.bobStore.ID))
	if after.ModSeq != before+1 {
		t.Fatalf("bob's journal moved %d -> %d, want one step", before, after.ModSeq)
	}
	chs := must(b.Changes(f.bob, f.bobStore.ID, before, 10))
	if len(chs) != 1 || chs[0].Kind != store.ChangeShareNotification || chs[0].FolderID != 0 || chs[0].ItemID != 0 {
		t.Fatalf("bob's journal: %+v", chs)
	}
	ns := must(b.ShareNotifications(f.bob, f.bobStore.ID, 0))
	if len(ns) != 1 {
		t.Fatalf("bob's notifications: %+v", ns)
	}
	n := ns[0]
	if n.ChangedBy != "alice" || n.ObjectStoreID != f.aliceStore.ID || n.FolderID != f.aliceInbox.ID || n.FolderType != store.FolderMail ||
		n.Name != f.aliceInbox.Name || n.OldRights != "" || n.NewRights != "lr" || n.Seq != after.ModSeq || n.DeletedSeq != 0 ||
		n.StoreID != f.bobStore.ID || n.Created.IsZero() {
		t.Fatalf("notification %+v", n)
	}
	// The same rights again, a group, anyone: no notification.
	check(b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "rl"))
	check(b.SetACL(f.alice, f.aliceInbox.ID, store.SubjectAnyone, "l"))
	must(b.CreateGroup(sys, "acme", store.Group{Name: "team", Kind: store.GroupSecurity}))
	check(b.SetACL(f.alice, f.aliceInbox.ID, "group:team", "l"))
	if got := must(b.ShareNotifications(f.bob, f.bobStore.ID, 0)); len(got) != 1 {
		t.Fatalf("notifications after unchanged, anyone and group entries: %+v", got)
	}
	// A change and a removal: old and new rights.
	check(b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "lrsw"))
	check(b.DeleteACL(f.alice, f.aliceInbox.ID, "user:bob"))
	ns = must(b.ShareNotifications(f.bob, f.bobStore.ID, 0))
	if len(ns) != 3 || ns[1].OldRights != "lr" || ns[1].NewRights != "lrsw" || ns[2].OldRights != "lrsw" || ns[2].NewRights != "" {
		t.Fatalf("notifications after change and removal: %+v", ns)
	}
	// The owner gets none for her own store; alice has none at all.
	if got := must(b.ShareNotifications(f.alice, f.aliceStore.ID, 0)); len(got) != 0 {
		t.Fatalf("alice's notifications: %+v", got)
	}
	// Only bob (full access) reads and destroys his.
	_, err := b.ShareNotifications(f.alice, f.bobStore.ID, 0)
	wantErr(t, err, store.ErrPermission)
	_, err = b.ShareNotifications(f.eve, f.bobStore.ID, 0)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.DeleteShareNotifications(f.alice, f.bobStore.ID, []int64{ns[0].ID})
	wantErr(t, err, store.ErrPermission)
	mark := must(b.GetStore(f.bob, f.bobStore.ID)).ModSeq
	gone := must(b.DeleteShareNotifications(f.bob, f.bobStore.ID, []int64{ns[0].ID, ns[0].ID, 999999999}))
	if len(gone) != 1 || gone[0] != ns[0].ID {
		t.Fatalf("destroyed %v", gone)
	}
	if again := must(b.DeleteShareNotifications(f.bob, f.bobStore.ID, []int64{ns[0].ID})); len(again) != 0 {
		t.Fatalf("destroyed twice: %v", again)
	}
	if live := must(b.ShareNotifications(f.bob, f.bobStore.ID, 0)); len(live) != 2 {
		t.Fatalf("live after destroy: %+v", live)
	}
	since := must(b.ShareNotifications(f.bob, f.bobStore.ID, mark))
	if len(since) != 3 || since[0].ID != ns[0].ID || since[0].DeletedSeq != mark+1 {
		t.Fatalf("since %d: %+v", mark, since)
	}
	if got := must(b.Changes(f.bob, f.bobStore.ID, mark, 10)); len(got) != 1 || got[0].Kind != store.ChangeShareNotification {
		t.Fatalf("journal of the destroy: %+v", got)
	}
	// The purge forgets destroyed ones.
	must(b.PurgeDeleted(sys, 0))
	if got := must(b.ShareNotifications(f.bob, f.bobStore.ID, mark)); len(got) != 2 {
		t.Fatalf("after the purge: %+v", got)
	}
	// Alice and bob share with each other at once, many times.
	bobFolder := must(b.CreateFolder(f.bob, f.bobStore.ID, 0, "Shared", store.FolderMail))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		rights := []string{"lr", "lrs"}[i%2]
		wg.Add(2)
		go func() { defer wg.Done(); errs <- b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", rights) }()
		go func() { defer wg.Done(); errs <- b.SetACL(f.bob, bobFolder.ID, "user:alice", rights) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		check(err)
	}
	if got := must(b.ShareNotifications(f.alice, f.aliceStore.ID, 0)); len(got) == 0 {
		t.Fatal("no notification for alice after bob's shares")
	}
}
