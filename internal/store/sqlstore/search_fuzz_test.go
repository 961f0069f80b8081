package sqlstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// FuzzSearchIndexQuery sends arbitrary tokens through the translation
// into FTS5 MATCH syntax (and, with ROOST_TEST_BACKEND=postgres, tsquery)
// and runs them: every token is quoted, so the engine never reports a
// syntax error, and a token matches only itself.
func FuzzSearchIndexQuery(f *testing.F) {
	for _, s := range []string{`"`, `'`, `*`, `:`, `(`, `NEAR`, `AND OR NOT`, `{f_body}`, `'':*`, `\`, `a" OR "b`, "\x00", `^x`, "東京"} {
		f.Add(s, "plain", false, false)
	}
	db := testenv.Open(f, testenv.Options{})
	db.Tenants(f, "acme")
	db.User(f, "acme", store.User{Login: "alice", Active: true}, "")
	ctx := testenv.As(f, db, "alice")
	inbox := testenv.Folder(f, ctx, db, "alice", store.SpecialInbox)
	it, err := db.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader("Subject: x\r\n\r\ny\r\n")})
	if err != nil {
		f.Fatal(err)
	}
	st, err := db.IndexStatuses(testenv.Sys, inbox.StoreID, false)
	if err != nil {
		f.Fatal(err)
	}
	doc := store.IndexDoc{ItemID: it.ID, Fields: map[store.IndexField][]string{store.FieldBody: {"plain", "text"}}}
	if err := db.WriteIndex(testenv.Sys, inbox.StoreID, 0, st[0].ModSeq, []store.IndexDoc{doc}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string, prefix, not bool) {
		terms := []store.IndexTerm{{Fields: []store.IndexField{store.FieldBody, store.FieldSubject}, Tokens: []string{a}, Prefix: prefix}}
		if b != "" {
			terms = append(terms, store.IndexTerm{Fields: []store.IndexField{store.FieldBody}, Tokens: []string{a, b}, Not: not})
		}
		hits, _, err := db.SearchIndex(ctx, inbox.ID, store.IndexQuery{Terms: terms})
		if errors.Is(err, store.ErrInvalid) {
			return
		}
		if err != nil {
			t.Fatalf("tokens %q %q: %v", a, b, err)
		}
		la := strings.ToLower(a)
		if len(hits) > 0 && !(strings.HasPrefix("plain", la) && prefix || la == "plain" || la == "text" || strings.HasPrefix("text", la) && prefix) {
			t.Fatalf("tokens %q %q matched %v", a, b, hits)
		}
	})
}
