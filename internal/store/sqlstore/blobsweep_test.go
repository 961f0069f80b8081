package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/blob/s3"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// Blob files that no database row describes are freed by the purge, one
// grace period after a purge first finds them; files in use survive, and a
// file found without a row that a write then references is kept
// (hardening 9.18: such files were never removed).
func TestPurgeFreesOrphanFiles(t *testing.T) {
	backends(t, testPurgeFreesOrphanFiles)
}

// TestPurgeFreesOrphanObjects is TestPurgeFreesOrphanFiles with the
// blobs in S3 (versitygw): the sweep lists the bucket prefix.
func TestPurgeFreesOrphanObjects(t *testing.T) {
	srv := testenv.StartS3(t)
	bucket := srv.Bucket(t)
	backends(t, func(t *testing.T, driver string) {
		b, err := s3.New(context.Background(), s3.Options{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey,
			SecretKey: srv.SecretKey, Prefix: driver + "/", TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		testPurgeFreesOrphansOn(t, driver, b)
	})
}

func testPurgeFreesOrphanFiles(t *testing.T, driver string) {
	testPurgeFreesOrphansOn(t, driver, newBlobs(t, t.TempDir()))
}

func testPurgeFreesOrphansOn(t *testing.T, driver string, b blob.Store) {
	db, cb, inboxes := contentEnvOn(t, driver, 1, b)
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
	// Another one (a message too large for a row with no part worth its
	// own blob: stored whole if a write referenced it).
	lateID := put([]byte(strings.Repeat("X-Pad: 0123456789012345678901234567890123456789\r\n", 2000) + "Subject: late\r\n\r\nshort\r\n"))

	// With the default grace (an hour), a file found without a row
	// survives purges until then.
	walked := cb.walks.Load()
	purge()
	purge()
	if exists(leftover) {
		t.Error("the file of a message stored as parts survived a purge")
	}
	if !exists(orphan) || !exists(lateID) {
		t.Fatal("a file without a row was removed within an hour of being found")
	}
	// The hourly purge lists the whole blob store once a day, not
	// every time.
	if got := cb.walks.Load() - walked; got != 1 {
		t.Errorf("two purges listed the blob store %d times, want once", got)
	}
	// Without a grace period (tests only): a file found without a row is
	// freed by the next purge, unless a write referenced it meanwhile.
	db.SetOrphanGrace(-1)
	orphan2 := put(bytes.Repeat([]byte("another orphan "), 20000))
	late2 := []byte(strings.Repeat("X-Pad: 9876543210987654321098765432109876543210\r\n", 2000) + "Subject: late\r\n\r\nshort\r\n")
	late2ID := put(late2)
	purge()
	if !exists(orphan2) {
		t.Fatal("a file without a row was removed by the purge that found it")
	}
	it2, err := db.AppendItem(sys, inboxes[0], store.NewItem{Content: bytes.NewReader(late2)})
	if err != nil {
		t.Fatal(err)
	}
	purge()
	if exists(orphan2) {
		t.Error("an orphan blob file survived the purge after the one that found it")
	}
	if !exists(late2ID) {
		t.Error("a file referenced after the purge found it without a row was removed")
	}
	if !exists(orphan) {
		t.Error("a file found without a row less than an hour ago was removed")
	}
	for _, id := range inUse {
		if !exists(id) {
			t.Errorf("blob %s in use was removed", id)
		}
	}
	checkContent(t, db, it.ID, kept)
	checkContent(t, db, it2.ID, late2)
}
