package main

import (
	"os"
	"testing"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestKillDuringWritesPostgres is TestKillDuringWrites with the metadata in
// PostgreSQL (issue 19): an acknowledged delivery is one PostgreSQL has
// committed, so none is lost when roost serve is killed.
func TestKillDuringWritesPostgres(t *testing.T) {
	testenv.PostgresDSN(t) // skips (or fails under ROOST_REQUIRE_POSTGRES) without a cluster
	roostBinary(t)         // skips in -short before a database is made
	killDuringWrites(t, testenv.NewPostgresDB(t))
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
