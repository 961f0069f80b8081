package imapserver_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

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

var searchResp = regexp.MustCompile(`^\* SEARCH((?: \d+)*)$`)

func searchUIDs(t *testing.T, c *client, keys string) []string {
	t.Helper()
	lines := c.ok("UID SEARCH %s", keys)
	for _, l := range lines {
		if m := searchResp.FindStringSubmatch(l); m != nil {
			return strings.Fields(m[1])
		}
	}
	t.Fatalf("UID SEARCH %s: no SEARCH response in %q", keys, lines)
	return nil
}

// TestSearchIndexDifferential: on the same mailbox, SEARCH answered from
// the index (with an unindexed tail) returns what reading every message
// returns, on every backend.
func TestSearchIndexDifferential(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, backend, func(o *imapserver.Options) { o.SearchIndex = true })
			// The same store without the index.
			plainOpts := e.opts
			plainOpts.SearchIndex = false
			plain := imapserver.New(plainOpts)
			ln := testenv.Listen(t)
			go plain.Serve(ln, false)
			t.Cleanup(func() { plain.Close() })
			pe := *e
			pe.addr = ln.Addr().String()

			words := testenv.SearchWords()
			if len(words) < 60 {
				t.Fatalf("only %d words left of the vocabulary", len(words))
			}
			r := rand.New(rand.NewPCG(7, 11))
			inbox := e.folder("alice", store.SpecialInbox)
			// More than the store's listing cache takes (1,000 items), so
			// that a large folder's path (the hits intersected with the
			// cached listing) is the one compared.
			n := 1000
			if testing.Short() {
				n = 150
			}
			for i := range n {
				e.deliver(inbox.ID, testenv.SearchMessage(r, i, words))
			}
			indexStore(t, e.db, inbox.StoreID)
			// An unindexed tail, and a message moved after indexing.
			for i := n; i < n+15; i++ {
				e.deliver(inbox.ID, testenv.SearchMessage(r, i, words))
			}
			ic, pc := e.selectBox("alice", "INBOX"), pe.selectBox("alice", "INBOX")
			if !has(ic.ok("CAPABILITY"), "SEARCH=FUZZY") || has(pc.ok("CAPABILITY"), "SEARCH=FUZZY") {
				t.Fatal("SEARCH=FUZZY must be announced with the index only")
			}
			ic.ok("UID STORE 1:20 +FLAGS (\\Seen)") // newer MODSEQs on indexed messages
			queries := []string{"TEXT user7@example.org", "FROM user12", "FROM user12@example.org", "TO team", "CC someone3", "BCC anyone",
				`SUBJECT ""`, `TEXT "Team <team"`}
			for k := range 40 {
				w := words[r.IntN(len(words))]
				v := words[r.IntN(len(words))]
				switch k % 8 {
				case 0:
					queries = append(queries, "TEXT "+w)
				case 1:
					queries = append(queries, "BODY "+strings.ToUpper(w))
				case 2:
					queries = append(queries, "SUBJECT "+w)
				case 3:
					queries = append(queries, "OR BODY "+w+" SUBJECT "+v)
				case 4:
					queries = append(queries, "NOT TEXT "+w+" SEEN")
				case 5:
					if p := w[:3]; !slices.ContainsFunc(words, func(o string) bool { return strings.Contains(o[1:], p) }) {
						queries = append(queries, "BODY "+p) // a prefix
					}
				case 6:
					queries = append(queries, "TEXT "+w+" BODY "+v+" UNSEEN")
				case 7:
					queries = append(queries, fmt.Sprintf("BODY %q", w+" "+v))
				}
			}
			// Phrases that occur: two adjacent words of some bodies.
			for i := 0; i < 30; i++ {
				body := strings.Fields(strings.SplitN(testenv.SearchMessage(rand.New(rand.NewPCG(7, 11)), 0, words), "\r\n\r\n", 2)[1])
				if len(body) > 3 {
					queries = append(queries, fmt.Sprintf("BODY %q", body[1]+" "+body[2]))
					break
				}
			}
			nonEmpty := 0
			for _, q := range queries {
				got, want := searchUIDs(t, ic, q), searchUIDs(t, pc, q)
				if !slices.Equal(got, want) {
					t.Errorf("UID SEARCH %s: index %d UIDs %v, reading %d UIDs %v", q, len(got), short(strings.Join(got, " ")), len(want), short(strings.Join(want, " ")))
				}
				if len(want) > 0 {
					nonEmpty++
				}
			}
			if nonEmpty < len(queries)/2 {
				t.Fatalf("only %d of %d queries found anything: the test proves little", nonEmpty, len(queries))
			}
		})
	}
}

// TestSearchFuzzy: FUZZY keys are stemmed and RELEVANCY returns a score
// per match; syntax characters and huge keys from clients are bounded.
func TestSearchFuzzy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *imapserver.Options) { o.SearchIndex = true })
	inbox := e.folder("alice", store.SpecialInbox)
	for i, body := range []string{"the meeting is at noon", "meetings meetings meetings all day", "lunch only", "Häuser am See"} {
		e.deliver(inbox.ID, fmt.Sprintf("From: a@example.org\r\nSubject: s%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", i, body))
	}
	indexStore(t, e.db, inbox.StoreID)
	c := e.selectBox("alice", "INBOX")
	mustHave(t, c.ok(`SEARCH FUZZY BODY "meeting"`), "* SEARCH 1 2")
	mustHave(t, c.ok(`SEARCH FUZZY TEXT haus`), "* SEARCH 4")
	mustHave(t, c.ok(`SEARCH BODY haus`), "* SEARCH")
	lines := c.ok(`SEARCH RETURN (ALL RELEVANCY) FUZZY TEXT "meetings"`)
	re := regexp.MustCompile(`ALL 1:2 RELEVANCY \((\d+) (\d+)\)`)
	var m []string
	for _, l := range lines {
		if m = re.FindStringSubmatch(l); m != nil {
			break
		}
	}
	if m == nil {
		t.Fatalf("no RELEVANCY: %q", lines)
	}
	for _, v := range m[1:] {
		if n, _ := strconv.Atoi(v); n < 1 || n > 100 {
			t.Fatalf("relevancy %s out of 1..100", v)
		}
	}
	if m[2] != "100" {
		t.Errorf("the message with the word three times is not the best: %v", m)
	}
	// FTS syntax from clients is text; a 10,000-word key is read the old
	// way; the session keeps serving.
	for _, q := range []string{`"\""`, `"'"`, `"*"`, `"NEAR(a b)"`, `"{f_body}:x"`, `"a'':* & !b"`, `"(("`, `"-"`} {
		c.ok("SEARCH TEXT %s", q)
	}
	huge := strings.TrimSpace(strings.Repeat("m ", 10000)) // 10,000 words
	c.ok("SEARCH BODY {%d+}\r\n%s", len(huge), huge)
	keys := strings.TrimSpace(strings.Repeat("BODY meeting ", 200)) // more keys than maxIndexLookups
	c.ok("SEARCH %s", keys)
	mustHave(t, c.ok(`SEARCH BODY meeting`), "* SEARCH 1 2")
	// Without the index RELEVANCY is refused.
	p := newEnv(t)
	pin := p.folder("alice", store.SpecialInbox)
	p.deliver(pin.ID, "Subject: x\r\n\r\ny\r\n")
	pc := p.selectBox("alice", "INBOX")
	pc.fail("BAD", `SEARCH RETURN (RELEVANCY) FUZZY TEXT "x"`)
	_ = context.Background
	_ = time.Second
}
