package search

import (
	"context"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/search/extract"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// indexed is a store with the corpus appended to alice's inbox.
type indexed struct {
	db     *testenv.Store
	ctx    context.Context // alice
	inbox  *store.Folder
	store  int64
	msgs   []corpusMsg
	ids    []int64          // item id of msgs[i]
	byName map[string]int64 // item ids of the attachment messages
}

func setupCorpus(t *testing.T, backend string, n int) *indexed {
	t.Helper()
	db := testenv.Open(t, testenv.Options{Backend: backend})
	db.Tenants(t, "acme")
	db.User(t, "acme", store.User{Login: "alice", Active: true}, "")
	db.User(t, "acme", store.User{Login: "bob", Active: true}, "")
	ctx := testenv.As(t, db, "alice")
	in := &indexed{db: db, ctx: ctx, inbox: testenv.Folder(t, ctx, db, "alice", store.SpecialInbox), msgs: buildCorpus(n, 42),
		byName: map[string]int64{}}
	in.store = in.inbox.StoreID
	in.ids = make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				it, err := db.AppendItem(ctx, in.inbox.ID, store.NewItem{Content: strings.NewReader(in.msgs[i].raw)})
				if err != nil {
					errs <- err
					return
				}
				in.ids[i] = it.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	atts := map[string]string{
		"docx": withAttachment("quarterly figures", "figures.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", testDOCX(t, "zeppelin overview")),
		"odt":  withAttachment("minutes", "minutes.odt", "application/octet-stream", testODT(t, "xylophone Übersetzung")),
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		atts["pdf"] = withAttachment("scan", "scan.pdf", "application/pdf", testPDF("quokka habitat study"))
	}
	for name, raw := range atts {
		it, err := db.AppendItem(ctx, in.inbox.ID, store.NewItem{Content: strings.NewReader(raw)})
		if err != nil {
			t.Fatal(err)
		}
		in.byName[name] = it.ID
	}
	return in
}

// indexAll runs the indexer's steps until the store is current.
func (in *indexed) indexAll(t *testing.T, ix *Indexer) {
	t.Helper()
	sys := store.SystemContext(context.Background())
	for range 100000 {
		more, err := ix.Step(sys, in.store)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			st, err := in.db.IndexStatuses(sys, in.store, false)
			if err != nil {
				t.Fatal(err)
			}
			if st[0].Backlog != 0 {
				t.Fatalf("indexer done with a backlog: %+v", st[0])
			}
			return
		}
	}
	t.Fatal("indexer did not finish")
}

func (in *indexed) want(pred func(m corpusMsg) bool) []int64 {
	var out []int64
	for i, m := range in.msgs {
		if pred(m) {
			out = append(out, in.ids[i])
		}
	}
	slices.Sort(out)
	return out
}

func hasWord(m corpusMsg, w string) bool {
	eq := func(x string) bool { return fold(x) == fold(w) }
	return slices.ContainsFunc(m.subject, eq) || slices.ContainsFunc(m.body, eq)
}

func hasCJK(m corpusMsg, s string) bool {
	return strings.Contains(strings.Join(m.subject, " "), s) || strings.Contains(strings.Join(m.body, ""), s)
}

// TestConformance runs the same corpus and queries with known answers
// against every backend (SQLite FTS5; PostgreSQL with ROOST_TEST_POSTGRES).
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			n := 2000
			if testing.Short() {
				n = 300
			}
			in := setupCorpus(t, backend, n)
			ix := NewIndexer(IndexerOptions{Backend: in.db})
			in.indexAll(t, ix)
			s := NewSearcher(in.db, nil)
			check := func(q string, fuzzy bool, want []int64) {
				t.Helper()
				res, err := s.Search(in.ctx, []int64{in.inbox.ID}, Query{Text: q, Fuzzy: fuzzy})
				if err != nil {
					t.Fatalf("%q: %v", q, err)
				}
				if !res.Complete {
					t.Errorf("%q: result not complete", q)
				}
				var got []int64
				for _, h := range res.Hits {
					got = append(got, h.ItemID)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%q (fuzzy %v): %d hits, want %d", q, fuzzy, len(got), len(want))
				}
			}
			for _, w := range []string{"budget", "meeting", "invoice", "roadmap", "warehouse"} {
				check(w, false, in.want(func(m corpusMsg) bool { return hasWord(m, w) }))
				check(strings.ToUpper(w), false, in.want(func(m corpusMsg) bool { return hasWord(m, w) }))
			}
			// Case and accent folding, ß.
			for _, c := range [][2]string{{"grusse", "Grüße"}, {"STRASSE", "Straße"}, {"muller", "Müller"}, {"ubersicht", "Übersicht"}, {"Büro", "Büro"}} {
				check(c[0], false, in.want(func(m corpusMsg) bool { return hasWord(m, c[1]) }))
			}
			// CJK: words, single characters, longer strings.
			for _, q := range []string{"東京", "会議", "京", "项目计划", "销售"} {
				check(q, false, in.want(func(m corpusMsg) bool { return hasCJK(m, q) }))
			}
			// Two words, a phrase, a negation, a field.
			check("budget meeting", false, in.want(func(m corpusMsg) bool { return hasWord(m, "budget") && hasWord(m, "meeting") }))
			m0 := in.msgs[0]
			phrase := m0.body[3] + " " + m0.body[4]
			check(`"`+phrase+`"`, false, in.want(func(m corpusMsg) bool {
				return strings.Contains(" "+strings.Join(m.body, " ")+" ", " "+phrase+" ") ||
					strings.Contains(" "+strings.Join(m.subject, " ")+" ", " "+phrase+" ")
			}))
			check("budget -meeting", false, in.want(func(m corpusMsg) bool { return hasWord(m, "budget") && !hasWord(m, "meeting") }))
			check("subject:budget", false, in.want(func(m corpusMsg) bool { return slices.Contains(m.subject, "budget") }))
			check("from:user7", false, in.want(func(m corpusMsg) bool { return m.from == "user7" }))
			check("from:user7@example.org", false, in.want(func(m corpusMsg) bool { return m.from == "user7" }))
			check("budg*", false, in.want(func(m corpusMsg) bool { return hasWord(m, "budget") }))
			// Stemming (fuzzy): English plural, German plural.
			check("meetings", true, in.want(func(m corpusMsg) bool { return hasWord(m, "meeting") }))
			check("Haus", true, in.want(func(m corpusMsg) bool { return hasWord(m, "Häuser") }))
			check("meetings", false, nil)
			// Attachments: DOCX, ODT (by extension), PDF.
			check("zeppelin", false, []int64{in.byName["docx"]})
			check("xylophone", false, []int64{in.byName["odt"]})
			check("ubersetzung", false, []int64{in.byName["odt"]})
			check("body:zeppelin", false, []int64{in.byName["docx"]})
			if id, ok := in.byName["pdf"]; ok {
				check(`"quokka habitat"`, false, []int64{id})
			}
			// Client syntax characters are text.
			for _, q := range []string{`"`, `'`, `*`, `(budget)`, `budget AND`, `NEAR(a b)`, `{f_body}:budget`, `budget'':*`, `\`, `"a" OR "b"`} {
				if _, err := s.Search(in.ctx, []int64{in.inbox.ID}, Query{Text: q}); err != nil && !IsQueryError(err) {
					t.Errorf("%q: %v", q, err)
				}
			}
			// A 10,000-term query is refused as a query error.
			if _, err := s.Search(in.ctx, []int64{in.inbox.ID}, Query{Text: strings.Repeat("budget ", 10000)}); !IsQueryError(err) {
				t.Errorf("10,000 terms: %v", err)
			}
			// Scores order the hits; Limit keeps the best.
			res, err := s.Search(in.ctx, []int64{in.inbox.ID}, Query{Text: "budget", Limit: 5})
			if err != nil || len(res.Hits) != 5 {
				t.Fatalf("limit 5: %+v %v", res, err)
			}
			for i := 1; i < len(res.Hits); i++ {
				if res.Hits[i].Score > res.Hits[i-1].Score {
					t.Errorf("hits not best first: %+v", res.Hits)
				}
			}
			// Snippets mark the words.
			sn, err := s.Snippet(in.ctx, in.byName["docx"], Query{Text: "zeppelin quarterly"})
			if err != nil || sn.Subject != "<mark>quarterly</mark> figures" || !strings.Contains(sn.Preview, "<mark>zeppelin</mark> overview") {
				t.Errorf("snippet: %+v %v", sn, err)
			}
			// Bob may not search alice's inbox.
			bob := testenv.As(t, in.db, "bob")
			if _, err := s.Search(bob, []int64{in.inbox.ID}, Query{Text: "budget"}); err == nil {
				t.Error("bob searched alice's inbox")
			}
			// A new message is not indexed yet: the result says so.
			if _, err := in.db.AppendItem(in.ctx, in.inbox.ID, store.NewItem{Content: strings.NewReader("Subject: late budget\r\n\r\nx\r\n")}); err != nil {
				t.Fatal(err)
			}
			res, err = s.Search(in.ctx, []int64{in.inbox.ID}, Query{Text: "budget"})
			if err != nil || res.Complete {
				t.Fatalf("after a new message: complete %v, %v", res.Complete, err)
			}
		})
	}
}

// TestResume: an indexer that stops midway (here: its process is gone,
// as after kill -9; what it committed is all that is left) is resumed
// by a new one from the store's cursor, and a reset reindexes.
func TestResume(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			in := setupCorpus(t, backend, 300)
			sys := store.SystemContext(context.Background())
			ix := NewIndexer(IndexerOptions{Backend: in.db, Batch: 40})
			for range 3 {
				if _, err := ix.Step(sys, in.store); err != nil {
					t.Fatal(err)
				}
			}
			st, _ := in.db.IndexStatuses(sys, in.store, false)
			if st[0].IndexedTo == 0 || st[0].Backlog == 0 || st[0].Docs == 0 {
				t.Fatalf("midway: %+v", st[0])
			}
			mid := st[0].IndexedTo
			// A new indexer with no state of its own.
			ix2 := NewIndexer(IndexerOptions{Backend: in.db, Batch: 1000})
			if _, err := ix2.Step(sys, in.store); err != nil {
				t.Fatal(err)
			}
			st, _ = in.db.IndexStatuses(sys, in.store, false)
			if st[0].IndexedTo <= mid || st[0].Backlog != 0 || st[0].Docs != int64(len(in.msgs)+len(in.byName)) {
				t.Fatalf("resumed: %+v (midway at %d)", st[0], mid)
			}
			// The Run loop catches up too, after a reset.
			if err := in.db.ResetIndex(sys, in.store); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			ix3 := NewIndexer(IndexerOptions{Backend: in.db, Workers: 2})
			go func() { ix3.Run(ctx); close(done) }()
			waitFor(t, func() bool {
				st, err := in.db.IndexStatuses(sys, in.store, false)
				return err == nil && st[0].Backlog == 0 && st[0].Docs > 0
			})
			cancel()
			<-done
		})
	}
}

// TestFailingDocument: a document whose extraction fails is logged and
// skipped: the cursor moves past it, and it is not retried.
func TestFailingDocument(t *testing.T) {
	t.Parallel()
	db := testenv.Open(t, testenv.Options{})
	db.Tenants(t, "acme")
	db.User(t, "acme", store.User{Login: "alice", Active: true}, "")
	ctx := testenv.As(t, db, "alice")
	inbox := testenv.Folder(t, ctx, db, "alice", store.SpecialInbox)
	bad := withAttachment("broken attachment", "x.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", []byte("PK garbage"))
	if _, err := db.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(bad)}); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	ix := NewIndexer(IndexerOptions{Backend: db, Logger: log, Extractor: extract.New(extract.Limits{}, log)})
	sys := store.SystemContext(context.Background())
	for range 3 {
		if _, err := ix.Step(sys, inbox.StoreID); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	n := strings.Count(logs.String(), "attachment text not extracted")
	mu.Unlock()
	if n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs.String())
	}
	res, err := NewSearcher(db, nil).Search(ctx, []int64{inbox.ID}, Query{Text: "broken"})
	if err != nil || len(res.Hits) != 1 || !res.Complete {
		t.Fatalf("the message is still found by its subject: %+v %v", res, err)
	}
}

type lockedWriter struct {
	w  *strings.Builder
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 6000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within a minute")
}

// TestObjectsIndexed: events and contacts are indexed by their
// properties and found by the same API.
func TestObjectsIndexed(t *testing.T) {
	t.Parallel()
	db := testenv.Open(t, testenv.Options{})
	db.Tenants(t, "acme")
	db.User(t, "acme", store.User{Login: "alice", Active: true}, "")
	ctx := testenv.As(t, db, "alice")
	cal := testenv.Folder(t, ctx, db, "alice", store.SpecialCalendar)
	ics := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nSUMMARY:Zeppelin launch\r\nLOCATION:Friedrichshafen\r\n" +
		"ATTENDEE;CN=Bob Builder:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := db.AppendItem(ctx, cal.ID, store.NewItem{Content: strings.NewReader(ics), Name: "e1.ics", ObjectUID: "e1"}); err != nil {
		t.Fatal(err)
	}
	ix := NewIndexer(IndexerOptions{Backend: db})
	if _, err := ix.Step(store.SystemContext(context.Background()), cal.StoreID); err != nil {
		t.Fatal(err)
	}
	s := NewSearcher(db, nil)
	for _, q := range []string{"zeppelin", "friedrichshafen", "to:builder", "subject:launch", "bob@example.org"} {
		res, err := s.Search(ctx, []int64{cal.ID}, Query{Text: q})
		if err != nil || len(res.Hits) != 1 {
			t.Errorf("%q: %+v %v", q, res, err)
		}
	}
}

// TestIndexClaims: two indexers (two nodes with the jobs role) on one
// database, each asking its lease per store (Claim) before each batch:
// the store is indexed by one of them only, not once by each; when the
// holder stops and gives its leases up, the other indexes the store.
func TestIndexClaims(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			in := setupCorpus(t, backend, 200)
			sys := store.SystemContext(context.Background())
			var mu sync.Mutex
			got := map[string]int{} // claims of alice's store granted, by holder
			claim := func(holder string) func(ctx context.Context, id int64) (bool, error) {
				return func(ctx context.Context, id int64) (bool, error) {
					ok, err := in.db.AcquireLease(ctx, "index:"+strconv.FormatInt(id, 10), holder, time.Minute)
					if ok && id == in.store { // bob's store is another matter
						mu.Lock()
						got[holder]++
						mu.Unlock()
					}
					return ok, err
				}
			}
			run := func(holder string) (stop func()) {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				ix := NewIndexer(IndexerOptions{Backend: in.db, Batch: 20, Poll: 50 * time.Millisecond, Claim: claim(holder)})
				go func() { ix.Run(ctx); close(done) }()
				return func() { cancel(); <-done }
			}
			caughtUp := func() bool {
				st, err := in.db.IndexStatuses(sys, in.store, false)
				return err == nil && st[0].Backlog == 0 && st[0].Docs > 0
			}
			stopA, stopB := run("node-a"), run("node-b")
			waitFor(t, caughtUp)
			mu.Lock()
			a, b := got["node-a"], got["node-b"]
			mu.Unlock()
			if a+b < 5 || a > 0 && b > 0 {
				t.Fatalf("claims granted: node-a %d, node-b %d; want one node only, for every batch", a, b)
			}
			holder, stopHolder, other, stopOther := "node-a", stopA, "node-b", stopB
			if b > 0 {
				holder, stopHolder, other, stopOther = "node-b", stopB, "node-a", stopA
			}
			defer stopOther()
			// The holder shuts down (its leases given up, as roost serve
			// does); a reindex is then the other's.
			stopHolder()
			if err := in.db.ReleaseLeases(sys, holder); err != nil {
				t.Fatal(err)
			}
			if err := in.db.ResetIndex(sys, in.store); err != nil {
				t.Fatal(err)
			}
			waitFor(t, caughtUp)
			mu.Lock()
			defer mu.Unlock()
			if got[other] == 0 {
				t.Fatalf("%s never indexed the store after %s stopped", other, holder)
			}
		})
	}
}
