package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

var sys = store.SystemContext(context.Background())

type benchEnv struct {
	db    *sqlstore.DB
	alice context.Context
	store int64
	inbox int64
}

func benchSetup(b *testing.B, db *sqlstore.DB) *benchEnv {
	b.Helper()
	if _, err := db.CreateTenant(sys, "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateUser(sys, "bench", store.User{Login: "alice", Active: true}); err != nil {
		b.Fatal(err)
	}
	p, err := db.Principal(sys, "alice")
	if err != nil {
		b.Fatal(err)
	}
	ctx := store.WithPrincipal(context.Background(), p)
	st, err := db.UserStore(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	fs, err := db.ListFolders(ctx, st.ID)
	if err != nil {
		b.Fatal(err)
	}
	var inbox int64
	for _, f := range fs {
		if f.Special == store.SpecialInbox {
			inbox = f.ID
		}
	}
	return &benchEnv{db: db, alice: ctx, store: st.ID, inbox: inbox}
}

func sqliteBench(b *testing.B) *sqlstore.DB {
	dir := b.TempDir()
	db := openSQLite(b, dir, newBlobs(b, dir))
	b.Cleanup(func() { db.Close() })
	return db
}

func postgresBench(b *testing.B) *sqlstore.DB {
	dir := b.TempDir()
	db := openPostgres(b, newPostgresDB(b), newBlobs(b, dir))
	b.Cleanup(func() { db.Close() })
	return db
}

// benchAppend appends distinct 10 KB messages from 8 concurrent writers;
// every append is durable when it returns (blob fsynced, row committed).
func benchAppend(b *testing.B, db *sqlstore.DB) {
	env := benchSetup(b, db)
	body := make([]byte, 10*1024)
	rand.Read(body)
	var n atomic.Int64
	b.SetParallelism((8 + testingProcs() - 1) / testingProcs())
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		msg := bytes.Clone(body)
		for pb.Next() {
			// Distinct content per message, as real mail is.
			copy(msg, fmt.Sprintf("Message-ID: <%d@bench>\r\n", n.Add(1)))
			if _, err := db.AppendItem(env.alice, env.inbox, store.NewItem{Content: bytes.NewReader(msg)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

func BenchmarkAppend10KB8Writers(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchAppend(b, sqliteBench(b)) })
	b.Run("postgres", func(b *testing.B) { postgresDSN(b); benchAppend(b, postgresBench(b)) })
}

// benchList lists UID, flags, size and MODSEQ of a 100,000-message folder:
// "cold" reads the rows (a flag change before each listing invalidates the
// listing cache; the change is not timed), "warm" is served by the cache.
func benchList(b *testing.B, db *sqlstore.DB) {
	env := benchSetup(b, db)
	const n = 100000
	if err := db.BulkFill(sys, env.store, env.inbox, n); err != nil {
		b.Fatal(err)
	}
	list := func(b *testing.B) {
		l, err := db.ListItems(env.alice, env.inbox, 1, 0)
		if err != nil {
			b.Fatal(err)
		}
		if len(l) != n {
			b.Fatalf("listed %d", len(l))
		}
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			op := store.FlagsAdd
			if i%2 == 1 {
				op = store.FlagsRemove
			}
			if _, err := db.UpdateFlags(env.alice, env.inbox, []uint32{1}, op, []string{"$bench"}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			list(b)
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/list")
	})
	b.Run("warm", func(b *testing.B) {
		list(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			list(b)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/list")
	})
}

func BenchmarkList100k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchList(b, sqliteBench(b)) })
	b.Run("postgres", func(b *testing.B) { postgresDSN(b); benchList(b, postgresBench(b)) })
}

// BenchmarkQueryNewest50 is JMAP's Email/query of the newest 50 of a
// mailbox (sorted by receivedAt, threads collapsed or not), paged in the
// database by QueryItems, against reading every summary (ListItems, what
// a query sorted in memory reads). Allocations must not grow with the
// mailbox.
func BenchmarkQueryNewest50(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("sqlite/%d", n), func(b *testing.B) { benchQuery(b, sqliteBench(b), n) })
		b.Run(fmt.Sprintf("postgres/%d", n), func(b *testing.B) { postgresDSN(b); benchQuery(b, postgresBench(b), n) })
	}
}

func benchQuery(b *testing.B, db *sqlstore.DB, n int) {
	env := benchSetup(b, db)
	if err := db.BulkFill(sys, env.store, env.inbox, n); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		collapse bool
		folders  []int64
	}{{"page", false, []int64{env.inbox}}, {"page-collapsed", true, []int64{env.inbox}}, {"page-all-mailboxes-collapsed", true, nil}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p, err := db.QueryItems(env.alice, store.ItemQuery{StoreID: env.store, FolderIDs: tc.folders, CollapseThreads: tc.collapse, Limit: 50})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Items) != 50 {
					b.Fatalf("%d items", len(p.Items))
				}
			}
		})
	}
	b.Run("list-all", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			// a flag change, untimed, so the listing cache does not answer
			op := store.FlagsAdd
			if i%2 == 1 {
				op = store.FlagsRemove
			}
			if _, err := db.UpdateFlags(env.alice, env.inbox, []uint32{1}, op, []string{"$bench"}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			l, err := db.ListItems(env.alice, env.inbox, 1, 0)
			if err != nil || len(l) != n {
				b.Fatalf("listed %d: %v", len(l), err)
			}
		}
	})
}

// BenchmarkSearchIndex100k is the store's part of IMAP SEARCH TEXT
// "word" and BODY "two words" over a 100,000-message folder (unranked
// lookups, as IMAP makes them): documents of 30 words from a vocabulary
// of 150, so a word is in about a fifth of them. "listed" is the path
// for a folder whose listing is cached (IMAP SELECT reads it), "joined"
// the join with items taken without one (the listing is dropped before
// each search, untimed).
func BenchmarkSearchIndex100k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSearchIndex(b, sqliteBench(b)) })
	b.Run("postgres", func(b *testing.B) { postgresDSN(b); benchSearchIndex(b, postgresBench(b)) })
}

func benchSearchIndex(b *testing.B, db *sqlstore.DB) {
	env := benchSetup(b, db)
	const n = 100000
	if err := db.BulkFill(sys, env.store, env.inbox, n); err != nil {
		b.Fatal(err)
	}
	items, err := db.ListItems(env.alice, env.inbox, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	st, err := db.IndexStatuses(sys, env.store, false)
	if err != nil {
		b.Fatal(err)
	}
	vocab := make([]string, 150)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%03dword", i)
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	var docs []store.IndexDoc
	from := uint64(0)
	for i, it := range items {
		toks := make([]string, 30)
		for j := range toks {
			toks[j] = vocab[r.IntN(len(vocab))]
		}
		docs = append(docs, store.IndexDoc{ItemID: it.ID, Fields: map[store.IndexField][]string{store.FieldBody: toks}})
		if len(docs) == store.MaxIndexBatch || i == len(items)-1 {
			if err := db.WriteIndex(sys, env.store, from, st[0].ModSeq, docs); err != nil {
				b.Fatal(err)
			}
			from, docs = st[0].ModSeq, docs[:0]
		}
	}
	if err := db.Analyze(sys); err != nil {
		b.Fatal(err)
	}
	body := []store.IndexField{store.FieldBody}
	for _, q := range []struct {
		name   string
		tokens []string
	}{{"word", []string{"w007word"}}, {"two-words", []string{"w007word", "w008word"}}} {
		query := store.IndexQuery{Terms: []store.IndexTerm{{Fields: body, Tokens: q.tokens, Prefix: true}}, Unranked: true}
		for _, path := range []string{"listed", "joined"} {
			b.Run(q.name+"/"+path, func(b *testing.B) {
				hits := 0
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					if path == "joined" {
						db.ForgetListings()
					} else if _, err := db.ListItems(env.alice, env.inbox, 0, 0); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					h, _, err := db.SearchIndex(env.alice, env.inbox, query)
					if err != nil {
						b.Fatal(err)
					}
					hits = len(h)
				}
				b.ReportMetric(float64(hits), "hits")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/search")
			})
		}
	}
}
