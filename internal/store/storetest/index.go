package storetest

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// testIndex checks the full-text index's storage (store.Index): the
// cursor moves only from where it is, documents follow their items
// through moves, expunges, restores and purges, phrases, prefixes,
// negations and fields, access checks, and that query tokens are data,
// never engine syntax.
func testIndex(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	a1 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	a2 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(2))
	a3 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(3))
	st := must(b.IndexStatuses(f.alice, f.aliceStore.ID, false))
	if len(st) != 1 || st[0].IndexedTo != 0 || st[0].Backlog == 0 || st[0].ModSeq == 0 || st[0].Owner != "alice" {
		t.Fatalf("status before indexing: %+v", st)
	}
	doc := func(id int64, subject, body string) store.IndexDoc {
		return store.IndexDoc{ItemID: id, Bytes: int64(len(body)), Fields: map[store.IndexField][]string{
			store.FieldFrom: {"alice", "example", "test"}, store.FieldSubject: strings.Fields(subject),
			store.FieldBody: strings.Fields(body), store.FieldStem: strings.Fields(body)}}
	}
	docs := []store.IndexDoc{
		doc(a1.ID, "quarterly report", "the quick brown fox jumps"),
		doc(a2.ID, "lunch", "quick lunch with the team 東京 京都 都"),
		doc(a3.ID, "report draft", "brown paper \" ' : * ( ) NEAR AND OR NOT"),
		doc(f.eU.ID+1_000_000, "ghost", "no such item is ignored"),
	}
	// Only the system principal writes; the cursor moves from where it is.
	wantErr(t, b.WriteIndex(f.alice, f.aliceStore.ID, 0, st[0].ModSeq, docs), store.ErrPermission)
	wantErr(t, b.WriteIndex(sys, f.aliceStore.ID, 5, st[0].ModSeq, docs), store.ErrConflict)
	must(0, b.WriteIndex(sys, f.aliceStore.ID, 0, st[0].ModSeq, docs))
	wantErr(t, b.WriteIndex(sys, f.aliceStore.ID, 0, st[0].ModSeq, nil), store.ErrConflict)
	st = must(b.IndexStatuses(f.alice, f.aliceStore.ID, false))
	if st[0].IndexedTo != st[0].ModSeq || st[0].Backlog != 0 || st[0].Docs != 3 {
		t.Fatalf("status after indexing: %+v", st[0])
	}
	if p := must(b.IndexStatuses(sys, 0, true)); len(p) != 0 && p[0].StoreID == f.aliceStore.ID {
		t.Fatalf("alice's store still pending: %+v", p)
	}
	body := []store.IndexField{store.FieldBody}
	search := func(ctx any, folderID int64, terms ...store.IndexTerm) []uint32 {
		t.Helper()
		hits, cur := must2(b.SearchIndex(f.alice, folderID, store.IndexQuery{Terms: terms}))
		if cur != st[0].ModSeq {
			t.Fatalf("cursor %d, want %d", cur, st[0].ModSeq)
		}
		var uids []uint32
		for _, h := range hits {
			uids = append(uids, h.UID)
		}
		// Without ranking: the same set.
		plain, _ := must2(b.SearchIndex(f.alice, folderID, store.IndexQuery{Terms: terms, Unranked: true}))
		if len(plain) != len(hits) {
			t.Fatalf("unranked: %d hits, ranked %d", len(plain), len(hits))
		}
		return sortU(uids)
	}
	eq := func(got []uint32, want ...uint32) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("got UIDs %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("got UIDs %v, want %v", got, want)
			}
		}
	}
	in1 := f.aliceInbox.ID
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"quick"}}), a1.UID, a2.UID)
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"quick", "brown"}}), a1.UID)
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"brown", "quick"}}))
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"jum"}, Prefix: true}), a1.UID)
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"jum"}}))
	eq(search(nil, in1, store.IndexTerm{Fields: []store.IndexField{store.FieldSubject}, Tokens: []string{"report"}}), a1.UID, a3.UID)
	eq(search(nil, in1, store.IndexTerm{Fields: []store.IndexField{store.FieldSubject}, Tokens: []string{"report"}},
		store.IndexTerm{Fields: body, Tokens: []string{"fox"}, Not: true}), a3.UID)
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"東京", "京都"}}), a2.UID)
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"京"}, Prefix: true}), a2.UID)
	// Tokens are words: engine syntax, spaces and control characters are
	// refused before any engine sees them; engine keywords are words.
	for _, tok := range []string{`"`, `'`, `:`, `*`, `(`, `)`, `\`, `'':*`, `" OR "`, `{f_body}`, "a\x00", "a b", "x-y"} {
		_, _, err := b.SearchIndex(f.alice, in1, store.IndexQuery{Terms: []store.IndexTerm{{Fields: body, Tokens: []string{tok}}}})
		wantErr(t, err, store.ErrInvalid)
	}
	for _, tok := range []string{"NEAR", "AND", "OR", "NOT"} {
		eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{tok}}), a3.UID)
	}
	// Limits.
	_, _, err := b.SearchIndex(f.alice, in1, store.IndexQuery{})
	wantErr(t, err, store.ErrInvalid)
	_, _, err = b.SearchIndex(f.alice, in1, store.IndexQuery{Terms: []store.IndexTerm{{Fields: body, Tokens: []string{"x"}, Not: true}}})
	wantErr(t, err, store.ErrInvalid)
	_, _, err = b.SearchIndex(f.alice, in1, store.IndexQuery{Terms: []store.IndexTerm{{Fields: body, Tokens: []string{strings.Repeat("x", store.MaxIndexToken+1)}}}})
	wantErr(t, err, store.ErrInvalid)
	_, _, err = b.SearchIndex(f.alice, in1, store.IndexQuery{Terms: []store.IndexTerm{{Fields: []store.IndexField{"nope"}, Tokens: []string{"x"}}}})
	wantErr(t, err, store.ErrInvalid)
	// Others may not search alice's folder, nor read her status.
	_, _, err = b.SearchIndex(f.bob, in1, store.IndexQuery{Terms: []store.IndexTerm{{Fields: body, Tokens: []string{"quick"}}}})
	wantErr(t, err, store.ErrNotFound)
	_, _, err = b.SearchIndex(f.eve, in1, store.IndexQuery{Terms: []store.IndexTerm{{Fields: body, Tokens: []string{"quick"}}}})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.IndexStatuses(f.bob, f.aliceStore.ID, false)
	if err == nil {
		t.Fatal("bob read alice's index status")
	}
	_, err = b.IndexStatuses(f.bob, 0, false)
	wantErr(t, err, store.ErrPermission)
	// Moves take the document along; expunged items are not found; a
	// restore finds them again; a purge drops the document.
	arch := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Arch", store.FolderMail))
	moved := must(b.MoveItems(f.alice, in1, []uint32{a1.UID}, arch.ID))
	eq(search(nil, arch.ID, store.IndexTerm{Fields: body, Tokens: []string{"quick"}}), moved[0].To)
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"quick"}}), a2.UID)
	must(b.DeleteItems(f.alice, in1, []uint32{a2.UID}))
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"quick"}}))
	must(0, b.RestoreItems(f.alice, []int64{a2.ID}))
	restored := must(b.ListItems(f.alice, in1, 0, 0))
	var ru uint32
	for _, it := range restored {
		if it.ID == a2.ID {
			ru = it.UID
		}
	}
	eq(search(nil, in1, store.IndexTerm{Fields: body, Tokens: []string{"quick"}}), ru)
	must(b.DeleteItems(f.alice, in1, []uint32{ru}))
	must(b.PurgeDeleted(sys, 0))
	if st := must(b.IndexStatuses(f.alice, f.aliceStore.ID, false)); st[0].Docs != 2 {
		t.Fatalf("after the purge %d documents, want 2", st[0].Docs)
	}
	if n := must(b.IndexSize(sys)); n <= 0 {
		t.Fatalf("index size %d", n)
	}
	// A reset empties the store's index and rewinds its cursor.
	wantErr(t, b.ResetIndex(f.bob, f.aliceStore.ID), store.ErrPermission)
	must(0, b.ResetIndex(sys, f.aliceStore.ID))
	st = must(b.IndexStatuses(f.alice, f.aliceStore.ID, false))
	if st[0].IndexedTo != 0 || st[0].Docs != 0 {
		t.Fatalf("after reset: %+v", st[0])
	}
	hits, _ := must2(b.SearchIndex(f.alice, arch.ID, store.IndexQuery{Terms: []store.IndexTerm{{Fields: body, Tokens: []string{"quick"}}}}))
	if len(hits) != 0 {
		t.Fatalf("hits after reset: %v", hits)
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(failure{err, ""})
	}
	return a, b
}

func sortU(u []uint32) []uint32 {
	for i := 1; i < len(u); i++ {
		for j := i; j > 0 && u[j] < u[j-1]; j-- {
			u[j], u[j-1] = u[j-1], u[j]
		}
	}
	return u
}
