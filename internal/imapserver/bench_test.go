package imapserver_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// Benchmarks of the targets: SELECT of a 100,000-message folder
// under 50 ms and a full UID FETCH 1:* (FLAGS) of it under 300 ms.
//
//	go test -run XXX -bench Large ./internal/imapserver/

const largeFolder = 100000

func fillLarge(b *testing.B, e *env) {
	inbox := e.folder("alice", store.SpecialInbox)
	var wg sync.WaitGroup
	per := largeFolder / 16
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				var flags []string
				if i%3 == 0 {
					flags = []string{`\Seen`}
				}
				if _, err := e.db.AppendItem(sys, inbox.ID, store.NewItem{Content: strings.NewReader(testMsg(w*per + i)), Flags: flags}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkLargeSelect(b *testing.B) {
	e := newEnv(b)
	fillLarge(b, e)
	c := e.login("alice")
	b.ResetTimer()
	for b.Loop() {
		c.ok("SELECT INBOX")
	}
}

func BenchmarkLargeUIDFetchFlags(b *testing.B) {
	e := newEnv(b)
	fillLarge(b, e)
	c := e.selectBox("alice", "INBOX")
	b.ResetTimer()
	for b.Loop() {
		if lines := c.ok("UID FETCH 1:* (FLAGS)"); len(lines) != largeFolder {
			b.Fatalf("%d lines", len(lines))
		}
	}
}
