package jmapserver_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// newEnvOn is newEnv on a testenv backend (SQLite or PostgreSQL); plain
// is a second handler over the same store, without the search index.
func newEnvOn(t *testing.T, backend string) (indexed, plain *env) {
	t.Helper()
	hub := events.NewHub()
	s := testenv.Open(t, testenv.Options{Backend: backend, BlobGrace: -1, OnChange: hub.Publish})
	s.Tenants(t, "acme", "globex")
	for _, u := range []struct{ tenant, login string }{{"acme", "alice"}, {"acme", "bob"}, {"globex", "eve"}} {
		s.User(t, u.tenant, store.User{Login: u.login, Active: true}, password(u.login))
	}
	start := func(index bool) *env {
		h := jmapserver.New(jmapserver.Options{Store: s.DB, Blobs: s.Blobs, Hub: hub, Logger: testLogger(),
			Authenticate: testenv.Authenticator(s.DB, false), SearchIndex: index})
		t.Cleanup(func() { h.Close() })
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return &env{t: t, db: s.DB, hub: hub, url: srv.URL}
	}
	return start(true), start(false)
}

// appendRaw appends a message with CRLF line ends as they are.
func (e *env) appendRaw(folderID int64, msg string, at time.Time) *store.Item {
	e.t.Helper()
	it, err := e.db.AppendItem(e.as("alice"), folderID, store.NewItem{Content: strings.NewReader(msg), InternalDate: at})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// indexStore runs the indexer over a store until it is current.
func indexStore(t *testing.T, db search.Backend, storeID int64) {
	t.Helper()
	ix := search.NewIndexer(search.IndexerOptions{Backend: db, Batch: 500})
	for {
		more, err := ix.Step(sys, storeID)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			return
		}
	}
}

func queryIDs(t *testing.T, e *env, args map[string]any) []string {
	t.Helper()
	res := e.must("alice", "Email/query", args)
	var out []string
	for _, id := range res["ids"].([]any) {
		out = append(out, id.(string))
	}
	return out
}

// TestEmailQueryIndexDifferential: Email/query's text filters answered
// from the index return what reading every message returns, for whole
// words, on both backends, with an unindexed tail and changes after
// indexing, combined with other filters, operators and sorts.
func TestEmailQueryIndexDifferential(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e, pe := newEnvOn(t, backend)
			words := testenv.SearchWords()
			r := rand.New(rand.NewPCG(7, 11))
			inbox, archive := e.folder("alice", store.SpecialInbox), e.folder("alice", store.SpecialArchive)
			n := 300
			if testing.Short() {
				n = 120
			}
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range n {
				f := inbox
				if i%3 == 0 {
					f = archive
				}
				e.appendRaw(f.ID, testenv.SearchMessage(r, i, words), at.Add(time.Duration(i%37)*time.Hour))
			}
			indexStore(t, e.db, inbox.StoreID)
			// The unindexed tail: new messages in both folders, one of
			// them with a word only a substring search finds.
			for i := n; i < n+12; i++ {
				f := inbox
				if i%2 == 0 {
					f = archive
				}
				e.appendRaw(f.ID, testenv.SearchMessage(r, i, words), at.Add(time.Duration(i%37)*time.Hour))
			}
			inboxID, archiveID := "M"+fmt.Sprint(inbox.ID), "M"+fmt.Sprint(archive.ID)
			// Keyword changes after indexing give indexed messages newer
			// MODSEQs (they are read again, and must agree).
			ids := queryIDs(t, e, map[string]any{"accountId": e.acct("alice"), "filter": map[string]any{"inMailbox": inboxID}, "limit": 20})
			upd := map[string]any{}
			for _, id := range ids {
				upd[id] = map[string]any{"keywords/$seen": true}
			}
			e.must("alice", "Email/set", map[string]any{"accountId": e.acct("alice"), "update": upd})

			type q = map[string]any
			filters := []q{{"text": "user7@example.org"}, {"from": "user12"}, {"from": "user12@example.org"}, {"to": "team"},
				{"cc": "someone3"}, {"bcc": "anyone"}, {"subject": ""}, {"text": "Team <team"}}
			for k := range 48 {
				w, v := words[r.IntN(len(words))], words[r.IntN(len(words))]
				switch k % 8 {
				case 0:
					filters = append(filters, q{"text": w})
				case 1:
					filters = append(filters, q{"body": strings.ToUpper(w), "inMailbox": inboxID})
				case 2:
					filters = append(filters, q{"subject": w})
				case 3:
					filters = append(filters, q{"operator": "OR", "conditions": []q{{"body": w}, {"subject": v}}})
				case 4:
					filters = append(filters, q{"operator": "AND", "conditions": []q{
						{"operator": "NOT", "conditions": []q{{"text": w}}}, {"hasKeyword": "$seen"}}})
				case 5:
					filters = append(filters, q{"text": w, "body": v, "notKeyword": "$seen"})
				case 6:
					filters = append(filters, q{"body": w + " " + v})
				case 7:
					filters = append(filters, q{"inMailbox": archiveID, "operator": "OR", "conditions": []q{{"from": "user3"}, {"text": w}}})
				}
			}
			sorts := [][]q{nil, {{"property": "subject", "isAscending": true}}, {{"property": "size"}, {"property": "receivedAt", "isAscending": false}},
				{{"property": "from", "isAscending": false}}}
			nonEmpty := 0
			for i, f := range filters {
				args := map[string]any{"accountId": e.acct("alice"), "filter": f, "limit": 1000}
				if s := sorts[i%len(sorts)]; s != nil {
					args["sort"] = s
				}
				got, want := queryIDs(t, e, args), queryIDs(t, pe, args)
				if !slices.Equal(got, want) {
					t.Errorf("Email/query %s: index %d ids %v, reading %d ids %v", mustJSON(args), len(got), got, len(want), want)
				}
				if len(want) > 0 {
					nonEmpty++
				}
			}
			if nonEmpty < len(filters)/2 {
				t.Errorf("only %d of %d queries matched anything: the test proves little", nonEmpty, len(filters))
			}

			// The index is what answered: a substring inside a word is
			// found by reading only, in indexed messages; in the tail
			// it is read, so both find the tail message.
			word := ""
			for _, w := range words {
				if strings.Contains(testenv.SearchMessage(rand.New(rand.NewPCG(1, 1)), 0, []string{w}), w) {
					word = w
					break
				}
			}
			sub := word[1:]
			e.appendRaw(inbox.ID, testenv.SearchMessage(r, 1, []string{word}), at)
			args := map[string]any{"accountId": e.acct("alice"), "filter": q{"body": sub}, "limit": 1000}
			got, want := queryIDs(t, e, args), queryIDs(t, pe, args)
			if len(got) == 0 || len(got) >= len(want) {
				t.Errorf("body %q (inside %q): index %d ids, reading %d: want the tail message only from the index, more from reading", sub, word, len(got), len(want))
			}
		})
	}
}

func snippetOf(t *testing.T, e *env, filter any, id string) map[string]any {
	t.Helper()
	res := e.must("alice", "SearchSnippet/get", map[string]any{"accountId": e.acct("alice"), "filter": filter, "emailIds": []string{id}})
	list := res["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("SearchSnippet/get: %v", res)
	}
	return list[0].(map[string]any)
}

// TestSearchSnippetIndex: with the index, an indexed message's snippet
// marks whole words of the indexed text (HTML as text, escaped); a
// message newer than the index, and every message without the index,
// get the substring highlighter.
func TestSearchSnippetIndex(t *testing.T) {
	t.Parallel()
	e, pe := newEnvOn(t, "")
	inbox := e.folder("alice", store.SpecialInbox)
	msg := "From: Bob <bob@acme.test>\r\nTo: alice@acme.test\r\nSubject: Quarterly <budget> review\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><head><style>p{}</style><script>budget()</script></head><body><p>Our budgets &amp; the forecast:</p>" +
		"<p>the budget   grows</p></body></html>\r\n"
	old := e.appendRaw(inbox.ID, msg, time.Now())
	indexStore(t, e.db, inbox.StoreID)
	tail := e.appendRaw(inbox.ID, msg, time.Now())
	oldID, tailID := "E"+fmt.Sprint(old.ID), "E"+fmt.Sprint(tail.ID)
	filter := map[string]any{"operator": "AND", "conditions": []any{
		map[string]any{"text": "budg"},
		map[string]any{"operator": "NOT", "conditions": []any{map[string]any{"body": "forecast"}}}}}

	sn := snippetOf(t, e, filter, oldID)
	if got, want := sn["subject"], "Quarterly &lt;<mark>budget</mark>&gt; review"; got != want {
		t.Errorf("indexed subject %q, want %q", got, want)
	}
	p, _ := sn["preview"].(string)
	if !strings.Contains(p, "Our <mark>budgets</mark> &amp; the forecast: the <mark>budget</mark> grows") ||
		strings.Contains(p, "script") || strings.Contains(p, "()") || strings.Contains(p, "<mark>forecast") {
		t.Errorf("indexed preview %q: want whole words marked in the HTML's text, escaped, no script, NOT terms unmarked", p)
	}
	// The tail, and the server without the index: substrings.
	for name, c := range map[string]struct {
		e  *env
		id string
	}{"tail": {e, tailID}, "no index": {pe, oldID}} {
		sn := snippetOf(t, c.e, filter, c.id)
		if s, _ := sn["subject"].(string); !strings.Contains(s, "<mark>budg</mark>et") {
			t.Errorf("%s: subject %q, want the substring marked", name, s)
		}
	}
	// No match in the subject: null; a term the index has no word for
	// is left to the substring highlighter.
	sn = snippetOf(t, e, map[string]any{"body": "grows"}, oldID)
	if sn["subject"] != nil || !strings.Contains(fmt.Sprint(sn["preview"]), "<mark>grows</mark>") {
		t.Errorf("body grows: %v", sn)
	}
	sn = snippetOf(t, e, map[string]any{"text": "&"}, oldID)
	if sn["subject"] != nil {
		t.Errorf("text &: subject %v, want null", sn["subject"])
	}
}

// TestEmailQueryTextBounds: what clients may send in text filters —
// thousands of words, FTS5 and tsquery syntax, thousands of conditions —
// gets a result or an RFC 8620 error, never serverFail.
func TestEmailQueryTextBounds(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e, _ := newEnvOn(t, backend)
			inbox := e.folder("alice", store.SpecialInbox)
			for i := range 5 {
				e.appendRaw(inbox.ID, testenv.SearchMessage(rand.New(rand.NewPCG(uint64(i), 3)), i, testenv.SearchWords()), time.Now())
			}
			indexStore(t, e.db, inbox.StoreID)
			long := strings.Repeat("budget ", 10000)
			syntax := []string{`"`, `budget"`, `*`, `budget*`, `NEAR(budget review)`, `budget AND review OR -x`, `subject:budget`,
				`(budget`, `budget & !review | x:*`, `'budget' <-> review`, `\"\\`, `^budget`, `{budget}`, "\x00budget", `budget:*A`}
			acct := e.acct("alice")
			check := func(what string, filter any) {
				t.Helper()
				name, res := e.call1("alice", "Email/query", map[string]any{"accountId": acct, "filter": filter})
				switch name {
				case "Email/query":
				case "error":
					if tp := res["type"]; tp == "serverFail" || tp == "serverUnavailable" {
						t.Errorf("%s: %v", what, res)
					}
				default:
					t.Errorf("%s: %s %v", what, name, res)
				}
				name, res = e.call1("alice", "SearchSnippet/get", map[string]any{"accountId": acct, "filter": filter, "emailIds": []string{"E1"}})
				if name == "error" && (res["type"] == "serverFail" || res["type"] == "serverUnavailable") {
					t.Errorf("snippet %s: %v", what, res)
				}
			}
			for _, f := range []string{"text", "body", "subject", "from", "to", "cc", "bcc"} {
				check(f+" of 10,000 words", map[string]any{f: long})
				for _, s := range syntax {
					check(f+" "+s, map[string]any{f: s})
				}
			}
			var conds []any
			for i := range 5000 {
				conds = append(conds, map[string]any{"text": fmt.Sprintf("w%d", i)})
			}
			name, res := e.call1("alice", "Email/query", map[string]any{"accountId": acct, "filter": map[string]any{"operator": "OR", "conditions": conds}})
			if name != "error" || res["type"] != "unsupportedFilter" {
				t.Errorf("5,000 conditions: %s %v, want unsupportedFilter", name, res)
			}
			// 900 conditions: within the limit; the first MaxKeyLookups from
			// the index, the rest read; the answer is right.
			conds = conds[:900]
			conds = append(conds, map[string]any{"text": "user1@example.org"})
			ids := queryIDs(t, e, map[string]any{"accountId": acct, "filter": map[string]any{"operator": "OR", "conditions": conds}})
			if len(ids) != 1 {
				t.Errorf("900 conditions: %v, want the one message from user1", ids)
			}
		})
	}
}
