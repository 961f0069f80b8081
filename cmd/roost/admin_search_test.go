package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
)

func TestAdminSearch(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("user", "create", "ann", "--tenant", "acme")
	e.ok("user", "create", "bob", "--tenant", "acme")
	st, err := e.db.UserStore(sysCtx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := e.db.ListFolders(sysCtx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		if _, err := e.db.AppendItem(sysCtx, fs[0].ID, store.NewItem{Content: strings.NewReader(fmt.Sprintf("Subject: note %d\r\n\r\nword%d\r\n", i, i))}); err != nil {
			t.Fatal(err)
		}
	}
	var v searchView
	e.okJSON(&v, "search", "status", "ann")
	if v.Backlog == 0 || len(v.Stores) != 1 || v.Stores[0].IndexedTo != 0 || v.Stores[0].Owner != "ann" {
		t.Fatalf("status before indexing: %+v", v)
	}
	// The indexer, as `roost serve` runs it.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ix := search.NewIndexer(search.IndexerOptions{Backend: e.db, Batch: 10})
	go func() { ix.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	out := e.ok("search", "reindex", "ann")
	if !strings.Contains(out, "100%") || !strings.Contains(out, "Reindexed 1 store(s): 120 documents") {
		t.Fatalf("reindex ann:\n%s", out)
	}
	e.okJSON(&v, "search", "status", "ann")
	if v.Backlog != 0 || v.Docs != 120 || v.Stores[0].IndexedTo != v.Stores[0].ModSeq {
		t.Fatalf("status after reindex: %+v", v)
	}
	e.okJSON(&v, "search", "reindex", "--all")
	if v.Backlog != 0 || v.IndexBytes == nil || *v.IndexBytes <= 0 || len(v.Stores) < 2 {
		t.Fatalf("reindex --all --json: %+v", v)
	}
	out = e.ok("search", "status")
	if !strings.Contains(out, "Index: current; 120 documents") || !strings.Contains(out, "on disk") || !strings.Contains(out, "ann") {
		t.Fatalf("status:\n%s", out)
	}
	e.fails(2, "name a LOGIN or give --all", "search", "reindex")
	e.fails(2, "name a LOGIN or give --all", "search", "reindex", "ann", "--all")
	e.fails(2, "unexpected argument", "search", "status", "ann", "bob")
	e.fails(1, "not found", "search", "status", "nobody")
}
