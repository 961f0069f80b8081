package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// TestSchemaNewerThanBinary: a database upgraded by a newer Roost is
// refused at start with a message naming both versions and the way back.
func TestSchemaNewerThanBinary(t *testing.T) {
	dir := t.TempDir()
	blobs := newBlobs(t, dir)
	path := filepath.Join(dir, "roost.db")
	newer := sqlstore.SchemaVersion() + 1
	// A "newer roost" upgrades the database.
	sqlstore.WithExtraMigration(`CREATE TABLE from_the_future (x BIGINT)`, func() {
		db := openSQLite(t, dir, blobs) // fresh: no backup
		db.Close()
	})
	if v := sqliteVersion(t, path); v != newer {
		t.Fatalf("version after the newer roost: %d, want %d", v, newer)
	}
	_, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: path, Blobs: blobs})
	if !errors.Is(err, sqlstore.ErrSchemaNewer) {
		t.Fatalf("open by an older roost: %v, want ErrSchemaNewer", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"schema version " + strconv.Itoa(newer),
		"up to " + strconv.Itoa(sqlstore.SchemaVersion()),
		path + ".before-v" + strconv.Itoa(newer) + ".bak",
		"Rollback",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
}

// TestFailedMigrationLeavesOldVersion: a migration that fails half-way
// leaves the database exactly at the previous version, usable by the
// previous build, with the copy taken before the attempt.
func TestFailedMigrationLeavesOldVersion(t *testing.T) {
	dir := t.TempDir()
	blobs := newBlobs(t, dir)
	path := filepath.Join(dir, "roost.db")
	openSQLite(t, dir, blobs).Close()
	cur := sqlstore.SchemaVersion()
	// The first statement succeeds, the second fails: both must be undone.
	sqlstore.WithExtraMigration("CREATE TABLE half_done (x BIGINT);\nINSERT INTO no_such_table VALUES (1)", func() {
		_, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: path, Blobs: blobs})
		if err == nil || !strings.Contains(err.Error(), "migrate "+strconv.Itoa(cur+1)) {
			t.Fatalf("open with a failing migration: %v", err)
		}
	})
	if v := sqliteVersion(t, path); v != cur {
		t.Fatalf("version after the failed migration: %d, want %d", v, cur)
	}
	d, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("half_done table left behind: n=%d err=%v", n, err)
	}
	if v := sqliteVersion(t, path+".before-v"+strconv.Itoa(cur+1)+".bak"); v != cur {
		t.Fatalf("backup version %d, want %d", v, cur)
	}
	// The current build still opens it.
	openSQLite(t, dir, blobs).Close()
}

// TestPostgresConcurrentMigration: nodes starting at once on a new
// PostgreSQL database apply each migration once and all come up.
func TestPostgresConcurrentMigration(t *testing.T) {
	dsn := newPostgresDB(t)
	blobs := newBlobs(t, t.TempDir())
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn, Blobs: blobs})
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestPostgresSchemaNewerThanBinary: the same refusal on PostgreSQL,
// pointing to the rollback procedure (there is no automatic copy).
func TestPostgresSchemaNewerThanBinary(t *testing.T) {
	dsn := newPostgresDB(t)
	blobs := newBlobs(t, t.TempDir())
	sqlstore.WithExtraMigration(`CREATE TABLE from_the_future (x BIGINT)`, func() {
		db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn, Blobs: blobs})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
	_, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn, Blobs: blobs})
	if !errors.Is(err, sqlstore.ErrSchemaNewer) {
		t.Fatalf("open by an older roost: %v, want ErrSchemaNewer", err)
	}
	for _, want := range []string{"schema version " + strconv.Itoa(sqlstore.SchemaVersion()+1), "up to " + strconv.Itoa(sqlstore.SchemaVersion()), "Rollback"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
}
