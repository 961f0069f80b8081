package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/store/storetest"
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

var pgSeq atomic.Int64

// postgresDSN returns the admin DSN of the throwaway PostgreSQL cluster the
// test script starts (ROOST_TEST_POSTGRES). Without it the test is skipped,
// unless ROOST_REQUIRE_POSTGRES is set (as in CI), where it fails.
func postgresDSN(t testing.TB) string {
	dsn := os.Getenv("ROOST_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("ROOST_REQUIRE_POSTGRES") != "" {
			t.Fatal("ROOST_TEST_POSTGRES is not set but ROOST_REQUIRE_POSTGRES is: run scripts/test.sh")
		}
		t.Skip("ROOST_TEST_POSTGRES not set; scripts/test.sh starts PostgreSQL and sets it")
	}
	return dsn
}

// newPostgresDB creates a fresh database and returns its DSN.
func newPostgresDB(t testing.TB) string {
	admin := postgresDSN(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("roost_test_%d_%d", os.Getpid(), pgSeq.Add(1))
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

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
