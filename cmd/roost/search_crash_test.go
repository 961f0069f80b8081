package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func searchStatusOf(t *testing.T, c *http.Client, login string) searchView {
	t.Helper()
	var v searchView
	resp, err := c.Get("http://roost/v1/search/status?login=" + login)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Stores) != 1 {
		t.Fatalf("search status: %+v %v", v, err)
	}
	return v
}

// TestSearchKillDuringIndexing kills `roost serve` with SIGKILL while its
// indexer rebuilds a store's index, restarts it, and checks that the
// indexer resumes from the committed cursor (not from the start) and
// finishes with every message indexed.
func TestSearchKillDuringIndexing(t *testing.T) {
	t.Parallel()
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	srv := startServer(t, bin, cfg, dir)
	adminCLI(t, bin, dir, "user", "create", "alice", "--email", "alice@example.test", "--name", "Alice")
	client := unixClient(filepath.Join(dir, "admin.sock"))
	const n = 1500
	for i := range n {
		var b bytes.Buffer
		fmt.Fprintf(&b, "From: s%d@example.test\r\nSubject: report %d\r\n\r\n", i, i)
		for b.Len() < 3000 {
			fmt.Fprintf(&b, "quarterly figures of message %d with words to index\r\n", i)
		}
		if _, err := deliver(client, "alice@example.test", b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for the first indexing, then start a rebuild and kill the
	// server in its middle.
	deadline := time.Now().Add(2 * time.Minute)
	for v := searchStatusOf(t, client, "alice"); v.Backlog != 0; v = searchStatusOf(t, client, "alice") {
		if time.Now().After(deadline) {
			t.Fatalf("not indexed: %+v\n%s", v, srv.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	adminCLI(t, bin, dir, "search", "reindex", "alice", "--no-wait")
	var at uint64
	for {
		v := searchStatusOf(t, client, "alice")
		s := v.Stores[0]
		if s.IndexedTo > 0 && s.IndexedTo < s.ModSeq {
			at = s.IndexedTo
			break
		}
		if s.IndexedTo == s.ModSeq {
			t.Skip("the rebuild finished before it could be interrupted")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rebuild did not start: %+v", v)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()

	srv = startServer(t, bin, cfg, dir)
	v := searchStatusOf(t, client, "alice")
	if v.Stores[0].IndexedTo < at {
		t.Fatalf("after the restart the cursor is at %d, before the kill it was at %d", v.Stores[0].IndexedTo, at)
	}
	for v.Backlog != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not caught up after the restart: %+v\n%s", v, srv.out)
		}
		time.Sleep(50 * time.Millisecond)
		v = searchStatusOf(t, client, "alice")
	}
	if v.Docs != n {
		t.Fatalf("%d documents after catching up, want %d", v.Docs, n)
	}
	t.Logf("killed at cursor %d of %d; resumed and finished", at, v.Stores[0].ModSeq)
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()
}
