package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// The purge forgets autoresponder records older than the keep period, so
// they do not accumulate without end.
func TestPurgeForgetsRecords(t *testing.T) {
	dir := t.TempDir()
	db := openSQLite(t, dir, newBlobs(t, dir))
	sys := store.SystemContext(context.Background())
	if first, err := db.RecordOnce(sys, 1, "oof:a@example.test", time.Hour); err != nil || !first {
		t.Fatalf("first record: %v %v", first, err)
	}
	if _, err := db.PurgeDeleted(sys, 0); err != nil {
		t.Fatal(err)
	}
	if first, _ := db.RecordOnce(sys, 1, "oof:a@example.test", time.Hour); first {
		t.Fatal("a fresh record was forgotten by the purge")
	}
	db.ForgetRecordsBefore(func() time.Time { return time.Now().Add(time.Minute) })
	if _, err := db.PurgeDeleted(sys, 0); err != nil {
		t.Fatal(err)
	}
	if first, _ := db.RecordOnce(sys, 1, "oof:a@example.test", time.Hour); !first {
		t.Fatal("an old record survived the purge")
	}
}
