package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// testSaveDates: when an item was saved into its folder (IMAP SAVEDATE):
// set by append, copy and move, not the internal date, and readable only
// with the read right.
func testSaveDates(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	old := time.Date(2001, 1, 1, 10, 0, 0, 0, time.UTC)
	before := time.Now().Add(-time.Minute)
	it := must(b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(msg(1)), InternalDate: old}))
	got := must(b.SaveDates(f.alice, f.aliceInbox.ID, []int64{it.ID, 999999}))
	if len(got) != 1 || got[it.ID].Before(before) {
		t.Fatalf("save dates %v: want only item %d, saved after %v", got, it.ID, before)
	}
	archive := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Archive2", store.FolderMail))
	must(b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{it.UID}, archive.ID))
	copies := must(b.ListItems(f.alice, archive.ID, 0, 0))
	if len(copies) != 1 {
		t.Fatalf("%d copies", len(copies))
	}
	got = must(b.SaveDates(f.alice, archive.ID, []int64{copies[0].ID, it.ID}))
	if len(got) != 1 || got[copies[0].ID].IsZero() {
		t.Fatalf("save dates of the copy: %v", got)
	}
	// MOVE keeps the item (and its EMAILID) but it is saved anew.
	moved := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Moved", store.FolderMail))
	must(b.MoveItems(f.alice, f.aliceInbox.ID, []uint32{it.UID}, moved.ID))
	got = must(b.SaveDates(f.alice, moved.ID, []int64{it.ID}))
	if got[it.ID].IsZero() {
		t.Fatalf("no save date after MOVE: %v", got)
	}
	if got := must(b.SaveDates(f.alice, f.aliceInbox.ID, []int64{it.ID})); len(got) != 0 {
		t.Fatalf("the source folder still has a save date for the moved item: %v", got)
	}
	// Others: no read right, no dates (the folder does not exist for them).
	_, err := b.SaveDates(f.bob, moved.ID, []int64{it.ID})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.SaveDates(f.eve, moved.ID, []int64{it.ID})
	wantErr(t, err, store.ErrNotFound)
}
