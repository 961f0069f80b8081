package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
)

// TestKillDuringWritesPostgres is TestKillDuringWrites with the metadata in
// PostgreSQL (issue 19): an acknowledged delivery is one PostgreSQL has
// committed, so none is lost when roost serve is killed.
func TestKillDuringWritesPostgres(t *testing.T) {
	admin := os.Getenv("ROOST_TEST_POSTGRES")
	if admin == "" {
		if os.Getenv("ROOST_REQUIRE_POSTGRES") != "" {
			t.Fatal("ROOST_TEST_POSTGRES is not set but ROOST_REQUIRE_POSTGRES is: run scripts/test.sh")
		}
		t.Skip("ROOST_TEST_POSTGRES not set; scripts/test.sh starts PostgreSQL and sets it")
	}
	roostBinary(t) // skips in -short before a database is made
	killDuringWrites(t, newPostgresDatabase(t, admin))
}

// newPostgresDatabase creates an empty database, dropped after the test,
// and returns its URL.
func newPostgresDatabase(t *testing.T, admin string) string {
	t.Helper()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("roost_crash_%d", os.Getpid())
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", admin); err == nil {
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

// appendConfig adds lines to a configuration file.
func appendConfig(t *testing.T, path, lines string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(lines); err != nil {
		t.Fatal(err)
	}
}
