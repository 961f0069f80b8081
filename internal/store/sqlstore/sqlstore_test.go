package sqlstore_test

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/store/storetest"
	"github.com/roost-mail/roost/internal/testenv"
)

func openSQLite(t testing.TB, dir string, b *fs.Store) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: b, BlobGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newBlobs(t testing.TB, dir string) *fs.Store {
	t.Helper()
	b, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *storetest.Instance {
		dir := t.TempDir()
		blobs := newBlobs(t, dir)
		db := openSQLite(t, dir, blobs)
		in := &storetest.Instance{Backend: db, Blobs: blobs}
		cur := db
		t.Cleanup(func() { cur.Close() })
		in.Reopen = func(t *testing.T) store.Backend {
			cur.Close()
			cur = openSQLite(t, dir, blobs)
			return cur
		}
		return in
	})
}

// postgresDSN returns the admin DSN of the throwaway PostgreSQL cluster
// (testenv.PostgresDSN: skipped without one, failed under
// ROOST_REQUIRE_POSTGRES).
func postgresDSN(t testing.TB) string { return testenv.PostgresDSN(t) }

// newPostgresDB creates a fresh database and returns its DSN.
func newPostgresDB(t testing.TB) string { return testenv.NewPostgresDB(t) }

func openPostgres(t testing.TB, dsn string, b *fs.Store) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn, Blobs: b, BlobGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestPostgres(t *testing.T) {
	postgresDSN(t)
	storetest.Run(t, func(t *testing.T) *storetest.Instance {
		dir := t.TempDir()
		blobs := newBlobs(t, dir)
		dsn := newPostgresDB(t)
		db := openPostgres(t, dsn, blobs)
		in := &storetest.Instance{Backend: db, Blobs: blobs}
		cur := db
		t.Cleanup(func() { cur.Close() })
		in.Reopen = func(t *testing.T) store.Backend {
			cur.Close()
			cur = openPostgres(t, dsn, blobs)
			return cur
		}
		return in
	})
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
