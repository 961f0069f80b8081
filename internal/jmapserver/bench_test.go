package jmapserver_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// BenchmarkEmailQueryNewest50 is the request: Email/query sorted
// by receivedAt with collapseThreads, and Email/get of the newest 50 by
// back-reference, over HTTP, in a mailbox of 10,000 and of 100,000
// messages (appended by 8 writers, conversations of four); and
// Email/changes after 100 changes. Time and bytes per request must not
// grow with the mailbox.
//
//	go test -run '^$' -bench EmailQueryNewest50 -benchmem -benchtime 50x ./internal/jmapserver/
func BenchmarkEmailQueryNewest50(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e := newEnv(b)
			inbox := e.folder("alice", store.SpecialInbox)
			ctx := e.as("alice")
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 8 {
						root := i - i%4
						msg := fmt.Sprintf("From: x@example.com\r\nSubject: Re: topic %d\r\nMessage-ID: <m%d@x>\r\nReferences: <m%d@x>\r\n\r\nbody %d\r\n", root, i, root, i)
						if i%4 == 0 {
							msg = fmt.Sprintf("From: x@example.com\r\nSubject: topic %d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n", i, i, i)
						}
						if _, err := e.db.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(msg), InternalDate: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			acct := e.acct("alice")
			calls := fmt.Sprintf(`[["Email/query",{"accountId":%q,"filter":{"inMailbox":"M%d"},"sort":[{"property":"receivedAt","isAscending":false}],"collapseThreads":true,"limit":50},"q"],
				["Email/get",{"accountId":%q,"#ids":{"resultOf":"q","name":"Email/query","path":"/ids"},"properties":["subject","from","receivedAt","keywords","threadId"]},"g"]]`, acct, inbox.ID, acct)
			e.login("alice")
			b.Run("query+get", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					out := e.call("alice", calls)
					if got := len(out[1].([]any)[1].(map[string]any)["list"].([]any)); got != 50 {
						b.Fatalf("%d emails", got)
					}
				}
			})
			// Email/changes after 100 changes (flags set over the store,
			// as IMAP STORE does).
			state := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)
			for uid := uint32(1); uid <= 100; uid++ {
				if _, err := e.db.UpdateFlags(ctx, inbox.ID, []uint32{uid * 7}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
					b.Fatal(err)
				}
			}
			changes := fmt.Sprintf(`[["Email/changes",{"accountId":%q,"sinceState":%q},"c"]]`, acct, state)
			b.Run("changes-after-100", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					out := e.call("alice", changes)
					if got := len(out[0].([]any)[1].(map[string]any)["updated"].([]any)); got != 100 {
						b.Fatalf("%d updated", got)
					}
				}
			})
		})
	}
}

// BenchmarkEmailQueryText is Email/query {text: "word"} over a mailbox
// of 10,000 messages (the differential test's generator: ~30 words of
// text each, 1 in 5 HTML), answered from the full-text index and by
// reading every message, on the same store.
//
//	go test -run '^$' -bench EmailQueryText -benchtime 20x ./internal/jmapserver/
func BenchmarkEmailQueryText(b *testing.B) {
	const n = 10000
	hub := events.NewHub()
	s := testenv.Open(b, testenv.Options{BlobGrace: -1, OnChange: hub.Publish})
	s.Tenants(b, "acme")
	s.User(b, "acme", store.User{Login: "alice", Active: true}, password("alice"))
	start := func(index bool) *env {
		h := jmapserver.New(jmapserver.Options{Store: s.DB, Blobs: s.Blobs, Hub: hub, Logger: testLogger(),
			Authenticate: testenv.Authenticator(s.DB, false), SearchIndex: index})
		b.Cleanup(func() { h.Close() })
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		return &env{t: b, db: s.DB, hub: hub, url: srv.URL}
	}
	ie, pe := start(true), start(false)
	inbox := ie.folder("alice", store.SpecialInbox)
	ctx := ie.as("alice")
	words := testenv.SearchWords()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if _, err := s.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(testenv.SearchMessage(r, i, words)),
			InternalDate: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
			b.Fatal(err)
		}
	}
	ix := search.NewIndexer(search.IndexerOptions{Backend: s.DB, Batch: 500})
	for {
		more, err := ix.Step(sys, inbox.StoreID)
		if err != nil {
			b.Fatal(err)
		}
		if !more {
			break
		}
	}
	word := words[len(words)/2]
	args := map[string]any{"accountId": ie.acct("alice"), "filter": map[string]any{"text": word}, "limit": 50}
	for name, e := range map[string]*env{"index": ie, "read": pe} {
		e.login("alice")
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				res := e.must("alice", "Email/query", args)
				if len(res["ids"].([]any)) != 50 {
					b.Fatalf("%v", res)
				}
			}
		})
	}
}
