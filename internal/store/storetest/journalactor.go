package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// testJournalActors: every journal entry names the user whose request
// made it (Change.Actor): the principal, a delegate writing into another
// user's folder, the user the system principal acts for
// (SystemContext of a user's context), and nobody for system work; and
// FolderChanges reads one folder's entries, with the lookup right only.
func testJournalActors(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	cal := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Cal", store.FolderCalendar))
	other := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Other", store.FolderMail))
	start := must(b.GetStore(f.alice, f.aliceStore.ID)).ModSeq

	appendMsg(t, b, f.alice, cal.ID, msg(1))                                         // alice
	appendMsg(t, b, store.SystemContext(f.alice), cal.ID, msg(2))                    // the system, for alice
	appendMsg(t, b, store.SystemContext(context.Background()), cal.ID, msg(3))       // the system alone
	appendMsg(t, b, store.SystemContext(store.SystemContext(f.bob)), cal.ID, msg(4)) // nested: still bob
	appendMsg(t, b, f.alice, other.ID, msg(5))
	// A delegate's changes are its own.
	check(b.SetACL(f.alice, cal.ID, "user:bob", "lrswitex"))
	it := appendMsg(t, b, f.bob, cal.ID, msg(6))
	must(b.UpdateFlags(f.bob, cal.ID, []uint32{it.UID}, store.FlagsAdd, []string{`\Seen`}))
	must(b.DeleteItems(f.bob, cal.ID, []uint32{it.UID}))

	type entry struct {
		kind  store.ChangeKind
		actor string
	}
	var got []entry
	for _, c := range must(b.FolderChanges(f.alice, cal.ID, start, 0)) {
		if c.FolderID != cal.ID || c.StoreID != f.aliceStore.ID || c.Seq <= start {
			t.Fatalf("entry of another folder or too old: %+v", c)
		}
		got = append(got, entry{c.Kind, c.Actor})
	}
	want := []entry{{store.ChangeItemCreated, "alice"}, {store.ChangeItemCreated, "alice"}, {store.ChangeItemCreated, ""},
		{store.ChangeItemCreated, "bob"}, {store.ChangeFolderUpdated, "alice"}, {store.ChangeItemCreated, "bob"}, {store.ChangeItemUpdated, "bob"}, {store.ChangeItemDeleted, "bob"}}
	if !slices.Equal(got, want) {
		t.Fatalf("calendar journal %v\nwant %v", got, want)
	}
	// Changes of the whole store carry the same actors.
	var actors []string
	for _, c := range must(b.Changes(f.alice, f.aliceStore.ID, start, 0)) {
		actors = append(actors, c.Actor)
	}
	if !slices.Equal(actors, []string{"alice", "alice", "", "bob", "alice", "alice", "bob", "bob", "bob"}) {
		t.Fatalf("store journal actors %v", actors)
	}
	// Paging by since and limit.
	page := must(b.FolderChanges(f.alice, cal.ID, start, 2))
	if len(page) != 2 {
		t.Fatalf("limit 2: %d", len(page))
	}
	if rest := must(b.FolderChanges(f.alice, cal.ID, page[1].Seq, 0)); len(rest) != 6 {
		t.Fatalf("after the page: %d", len(rest))
	}
	// Without the lookup right the folder is not found; eve is in
	// another tenant.
	check(b.DeleteACL(f.alice, cal.ID, "user:bob"))
	_, err := b.FolderChanges(f.bob, cal.ID, 0, 0)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.FolderChanges(f.eve, cal.ID, 0, 0)
	wantErr(t, err, store.ErrNotFound)
}
