package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// Blob files that no database row describes are freed by the purge, one
// grace period after a purge first finds them; files in use survive, and a
// file found without a row that a write then references is kept
// (hardening 9.18: such files were never removed).
func TestPurgeFreesOrphanFiles(t *testing.T) {
	backends(t, testPurgeFreesOrphanFiles)
}

func testPurgeFreesOrphanFiles(t *testing.T, driver string) {
	db, cb, inboxes := contentEnv(t, driver, 1)
	sys := store.SystemContext(context.Background())
	purge := func() {
		t.Helper()
		if _, err := db.PurgeDeleted(sys, 0); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(id blob.ID) bool {
		t.Helper()
		_, err := cb.Stat(context.Background(), id)
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	put := func(b []byte) blob.ID {
		t.Helper()
		id, _, err := cb.Store.Put(context.Background(), bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	msgs := largeMessages()

	// In use: a delivered message split into parts.
	kept := msgs["attachment"]
	it, err := db.AppendItem(sys, inboxes[0], store.NewItem{Content: bytes.NewReader(kept)})
	if err != nil {
		t.Fatal(err)
	}
	var inUse []blob.ID
	if err := cb.Walk(context.Background(), func(id blob.ID) error { inUse = append(inUse, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(inUse) == 0 {
		t.Fatal("the delivered message left no blob file")
	}
	// An orphan: content whose write never committed.
	orphan := put(bytes.Repeat([]byte("orphan "), 20000))
	// The message file of a message stored as parts, left behind (its
	// removal after the commit did not happen).
	leftover := put(kept)
	// A file found without a row, then referenced by a write (a message
	// too large for a row with no part worth its own blob: stored whole).
	late := []byte(strings.Repeat("X-Pad: 0123456789012345678901234567890123456789\r\n", 2000) + "Subject: late\r\n\r\nshort\r\n")
	lateID := put(late)

	purge()
	if exists(leftover) {
		t.Error("the file of a message stored as parts survived a purge")
	}
	if !exists(orphan) || !exists(lateID) {
		t.Fatal("a file without a row was removed at its first purge, without a grace period")
	}
	it2, err := db.AppendItem(sys, inboxes[0], store.NewItem{Content: bytes.NewReader(late)})
	if err != nil {
		t.Fatal(err)
	}
	purge()
	purge()
	if exists(orphan) {
		t.Error("an orphan blob file survived two purges")
	}
	if !exists(lateID) {
		t.Error("a file referenced after the purge found it without a row was removed")
	}
	for _, id := range inUse {
		if !exists(id) {
			t.Errorf("blob %s in use was removed", id)
		}
	}
	checkContent(t, db, it.ID, kept)
	checkContent(t, db, it2.ID, late)
}
