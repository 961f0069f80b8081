package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// testShareNotificationFanout: a "group:" entry notifies its members,
// "anyone" every user of the tenant (not another tenant's, not the
// owner), each with the effective rights before and after, and only
// when those change.
func testShareNotificationFanout(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	must(b.CreateUser(sys, "acme", store.User{Login: "carol", Email: "carol@acme.test", Active: true}))
	carol := as(t, b, "carol")
	carolStore := must(b.UserStore(carol, "carol"))
	must(b.CreateGroup(sys, "acme", store.Group{Name: "Crew", Kind: store.GroupSecurity}))
	check(b.AddGroupMember(sys, "acme", "crew", "bob"))
	notes := func(ctx context.Context, storeID int64) []store.ShareNotification {
		t.Helper()
		return must(b.ShareNotifications(ctx, storeID, 0))
	}
	rights := func(ns []store.ShareNotification) string {
		var out []string
		for _, n := range ns {
			out = append(out, n.OldRights+">"+n.NewRights)
		}
		return strings.Join(out, " ")
	}
	// The group: bob, its member, hears of it; carol does not.
	check(b.SetACL(f.alice, f.aliceInbox.ID, "group:CREW", "lr"))
	ns := notes(f.bob, f.bobStore.ID)
	if rights(ns) != ">lr" || ns[0].ChangedBy != "alice" || ns[0].FolderID != f.aliceInbox.ID || ns[0].ObjectStoreID != f.aliceStore.ID {
		t.Fatalf("bob after the group entry: %+v", ns)
	}
	if got := notes(carol, carolStore.ID); len(got) != 0 {
		t.Fatalf("carol after the group entry: %+v", got)
	}
	// Anyone: carol gets "l"; bob keeps "lr" (the union), so hears
	// nothing; alice (the owner) and eve (another tenant) neither.
	check(b.SetACL(f.alice, f.aliceInbox.ID, store.SubjectAnyone, "l"))
	if got := rights(notes(carol, carolStore.ID)); got != ">l" {
		t.Fatalf("carol after anyone: %s", got)
	}
	if got := rights(notes(f.bob, f.bobStore.ID)); got != ">lr" {
		t.Fatalf("bob after anyone: %s", got)
	}
	if len(notes(f.alice, f.aliceStore.ID)) != 0 || len(notes(f.eve, f.eveStore.ID)) != 0 {
		t.Fatal("the owner or another tenant's user was notified")
	}
	// The Everyone group works as anyone; unchanged rights notify no one.
	check(b.SetACL(f.alice, f.aliceInbox.ID, "group:everyone", "lrs"))
	check(b.SetACL(f.alice, f.aliceInbox.ID, "group:everyone", "lrs"))
	if got := rights(notes(carol, carolStore.ID)); got != ">l l>lrs" {
		t.Fatalf("carol after Everyone: %s", got)
	}
	if got := rights(notes(f.bob, f.bobStore.ID)); got != ">lr lr>lrs" {
		t.Fatalf("bob after Everyone: %s", got)
	}
	// Removals: bob's rights fall back to what remains.
	check(b.DeleteACL(f.alice, f.aliceInbox.ID, "group:everyone"))
	check(b.DeleteACL(f.alice, f.aliceInbox.ID, "group:crew"))
	check(b.DeleteACL(f.alice, f.aliceInbox.ID, store.SubjectAnyone))
	if got := rights(notes(f.bob, f.bobStore.ID)); got != ">lr lr>lrs lrs>lr lr>l l>" {
		t.Fatalf("bob after the removals: %s", got)
	}
	if got := rights(notes(carol, carolStore.ID)); got != ">l l>lrs lrs>l l>" {
		t.Fatalf("carol after the removals: %s", got)
	}
	// Beyond store.MaxShareFanout users "anyone" notifies none of them
	// (the ACL changes all the same).
	for i := range store.MaxShareFanout - 1 {
		must(b.CreateUser(sys, "acme", store.User{Login: fmt.Sprintf("fan%03d", i), Active: true}))
	}
	check(b.SetACL(f.alice, f.aliceInbox.ID, store.SubjectAnyone, "l"))
	if got := rights(notes(carol, carolStore.ID)); got != ">l l>lrs lrs>l l>" {
		t.Fatalf("carol beyond the fan-out bound: %s", got)
	}
	if acl := must(b.GetACL(f.alice, f.aliceInbox.ID)); !slices.ContainsFunc(acl, func(e store.ACLEntry) bool { return e.Subject == store.SubjectAnyone }) {
		t.Fatalf("ACL beyond the bound: %v", acl)
	}
}
