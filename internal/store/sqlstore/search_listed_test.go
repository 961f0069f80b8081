package sqlstore_test

import (
	"context"
	"maps"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestSearchIndexListed: an unranked search of a large folder whose
// listing is cached is answered from the listing (no join with items)
// and finds exactly what the join finds: through flag changes, which
// keep the listing's membership, and after expunges, moves out and in,
// copies and restores, which end it until the folder is listed again.
// Another user's and another folder's matching documents are never
// found. On every backend.
func TestSearchIndexListed(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := testenv.Open(t, testenv.Options{Backend: backend})
			db.Tenants(t, "acme")
			db.User(t, "acme", store.User{Login: "alice", Active: true}, "")
			db.User(t, "acme", store.User{Login: "bob", Active: true}, "")
			alice, bob := testenv.As(t, db, "alice"), testenv.As(t, db, "bob")
			inbox := testenv.Folder(t, alice, db, "alice", store.SpecialInbox)
			bobInbox := testenv.Folder(t, bob, db, "bob", store.SpecialInbox)
			arch, err := db.CreateFolder(alice, inbox.StoreID, 0, "Arch", store.FolderMail)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				store, folder int64
				n             int
			}{{inbox.StoreID, inbox.ID, 1200}, {bobInbox.StoreID, bobInbox.ID, 300}, {inbox.StoreID, arch.ID, 300}} {
				if err := db.BulkFill(sys, f.store, f.folder, f.n); err != nil {
					t.Fatal(err)
				}
			}
			// Documents for every item: "common" in all, "alpha" in even
			// ids, "beta" in multiples of 3, "gamma…" in multiples of 5,
			// "delta" in multiples of 97.
			for _, f := range []struct {
				ctx    context.Context
				folder *store.Folder
			}{{alice, inbox}, {bob, bobInbox}} {
				st, err := db.IndexStatuses(sys, f.folder.StoreID, false)
				if err != nil {
					t.Fatal(err)
				}
				var docs []store.IndexDoc
				for _, fid := range []int64{f.folder.ID, arch.ID} {
					if fid == arch.ID && f.folder.StoreID != inbox.StoreID {
						continue
					}
					items, err := db.ListItems(f.ctx, fid, 0, 0)
					if err != nil {
						t.Fatal(err)
					}
					for _, it := range items {
						toks := []string{"common"}
						if it.ID%2 == 0 {
							toks = append(toks, "alpha")
						}
						if it.ID%3 == 0 {
							toks = append(toks, "beta")
						}
						if it.ID%5 == 0 {
							toks = append(toks, "gammas")
						}
						if it.ID%97 == 0 {
							toks = append(toks, "delta") // few: searched one by one
						}
						docs = append(docs, store.IndexDoc{ItemID: it.ID, Fields: map[store.IndexField][]string{store.FieldBody: toks}})
					}
				}
				for from := uint64(0); len(docs) > 0; from = st[0].ModSeq {
					k := min(len(docs), store.MaxIndexBatch)
					if err := db.WriteIndex(sys, f.folder.StoreID, from, st[0].ModSeq, docs[:k]); err != nil {
						t.Fatal(err)
					}
					docs = docs[k:]
				}
			}
			db.ForgetListings() // the listings read for the documents
			body := []store.IndexField{store.FieldBody}
			queries := [][]store.IndexTerm{
				{{Fields: body, Tokens: []string{"common"}}},
				{{Fields: body, Tokens: []string{"alpha"}}},
				{{Fields: body, Tokens: []string{"gam"}, Prefix: true}},
				{{Fields: body, Tokens: []string{"alpha"}}, {Fields: body, Tokens: []string{"beta"}, Not: true}},
				{{Fields: body, Tokens: []string{"delta"}}},
				{{Fields: body, Tokens: []string{"nowhere"}}},
			}
			check := func(step string, wantListed bool) {
				t.Helper()
				found := 0
				for _, terms := range queries {
					joined, _, err := db.SearchIndex(alice, inbox.ID, store.IndexQuery{Terms: terms})
					if err != nil {
						t.Fatal(err)
					}
					want := map[int64]uint32{}
					for _, h := range joined {
						want[h.ItemID] = h.UID
					}
					listed, ok, err := db.SearchIndexListed(alice, inbox.ID, store.IndexQuery{Terms: terms, Unranked: true})
					if err != nil {
						t.Fatal(err)
					}
					if ok != wantListed {
						t.Fatalf("%s: answered from the listing: %v, want %v", step, ok, wantListed)
					}
					plain, _, err := db.SearchIndex(alice, inbox.ID, store.IndexQuery{Terms: terms, Unranked: true})
					if err != nil {
						t.Fatal(err)
					}
					for name, hits := range map[string][]store.IndexHit{"listing": listed, "SearchIndex unranked": plain} {
						if name == "listing" && !ok {
							continue
						}
						got := map[int64]uint32{}
						for _, h := range hits {
							got[h.ItemID] = h.UID
						}
						if len(got) != len(hits) || !maps.Equal(got, want) {
							t.Fatalf("%s: %v: %s found %d hits, the join %d", step, terms, name, len(hits), len(want))
						}
					}
					found += len(want)
				}
				if found == 0 {
					t.Fatalf("%s: nothing found: the comparison proves nothing", step)
				}
			}
			relist := func() {
				t.Helper()
				if _, err := db.ListItems(alice, inbox.ID, 0, 0); err != nil {
					t.Fatal(err)
				}
			}
			check("not listed", false)
			relist()
			check("listed", true)
			uids := func(lo, hi uint32) []uint32 {
				var u []uint32
				for i := lo; i <= hi; i++ {
					u = append(u, i)
				}
				return u
			}
			if _, err := db.UpdateFlags(alice, inbox.ID, uids(1, 400), store.FlagsAdd, []string{`\Seen`}); err != nil {
				t.Fatal(err)
			}
			check("after a flag change", true)
			if _, err := db.DeleteItems(alice, inbox.ID, uids(10, 30)); err != nil {
				t.Fatal(err)
			}
			check("after an expunge", false)
			relist()
			check("listed after the expunge", true)
			if _, err := db.MoveItems(alice, inbox.ID, uids(100, 150), arch.ID); err != nil {
				t.Fatal(err)
			}
			check("after a move out", false)
			relist()
			check("listed after the move out", true)
			archItems, err := db.ListItems(alice, arch.ID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.MoveItems(alice, arch.ID, []uint32{archItems[0].UID, archItems[1].UID, archItems[2].UID}, inbox.ID); err != nil {
				t.Fatal(err)
			}
			check("after a move in", false)
			relist()
			check("listed after the move in", true)
			// One out and one in: the same number of messages.
			if _, err := db.DeleteItems(alice, inbox.ID, uids(200, 200)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.MoveItems(alice, arch.ID, []uint32{archItems[3].UID}, inbox.ID); err != nil {
				t.Fatal(err)
			}
			check("after an expunge and a move in", false)
			relist()
			check("listed after the expunge and the move in", true)
			if _, err := db.CopyItems(alice, arch.ID, []uint32{archItems[5].UID}, inbox.ID); err != nil {
				t.Fatal(err)
			}
			check("after a copy in", false)
			relist()
			deleted, err := db.ListDeletedItems(alice, inbox.ID)
			if err != nil || len(deleted) == 0 {
				t.Fatalf("deleted items: %d, %v", len(deleted), err)
			}
			if err := db.RestoreItems(alice, []int64{deleted[0].ID}); err != nil {
				t.Fatal(err)
			}
			check("after a restore", false)
			relist()
			check("listed after the restore", true)
			// Bob may not search alice's folder this way either.
			if _, _, err := db.SearchIndexListed(bob, inbox.ID, store.IndexQuery{Terms: queries[0], Unranked: true}); err == nil {
				t.Fatal("bob searched alice's inbox")
			}
		})
	}
}
