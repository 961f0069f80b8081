package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// countingBlobs is the real file system blob store, counting the writes
// that make content durable (Put, and Commit of staged content) and the
// blobs opened for reading.
type countingBlobs struct {
	blob.Store
	durable atomic.Int64
	opens   atomic.Int64
	walks   atomic.Int64
}

func (c *countingBlobs) Walk(ctx context.Context, fn func(blob.ID) error) error {
	c.walks.Add(1)
	return c.Store.Walk(ctx, fn)
}

func (c *countingBlobs) Open(ctx context.Context, id blob.ID) (io.ReadCloser, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, id)
}

func (c *countingBlobs) Put(ctx context.Context, r io.Reader) (blob.ID, int64, error) {
	c.durable.Add(1)
	return c.Store.Put(ctx, r)
}

func (c *countingBlobs) Stage(ctx context.Context, r io.Reader) (blob.Staged, error) {
	st, err := c.Store.Stage(ctx, r)
	if err != nil {
		return nil, err
	}
	return &countingStaged{Staged: st, c: c}, nil
}

type countingStaged struct {
	blob.Staged
	c *countingBlobs
}

func (s *countingStaged) Commit(ctx context.Context) error {
	s.c.durable.Add(1)
	return s.Staged.Commit(ctx)
}

// backends runs fn against SQLite and, when it is available, PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, driver string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) {
		postgresDSN(t)
		fn(t, "postgres")
	})
}

// contentEnv is a store with n users on counted blobs.
func contentEnv(t *testing.T, driver string, n int) (*sqlstore.DB, *countingBlobs, []int64) {
	t.Helper()
	return contentEnvOn(t, driver, n, newBlobs(t, t.TempDir()))
}

// contentEnvOn is contentEnv on the blob store b.
func contentEnvOn(t *testing.T, driver string, n int, b blob.Store) (*sqlstore.DB, *countingBlobs, []int64) {
	t.Helper()
	dir := t.TempDir()
	cb := &countingBlobs{Store: b}
	dsn := filepath.Join(dir, "roost.db")
	if driver == "postgres" {
		dsn = newPostgresDB(t)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: driver, DSN: dsn, Blobs: cb, BlobGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sys := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	var inboxes []int64
	for i := range n {
		login := fmt.Sprintf("u%d", i)
		if _, err := db.CreateUser(sys, "acme", store.User{Login: login, Email: login + "@acme.test", Active: true}); err != nil {
			t.Fatal(err)
		}
		inbox, err := mail.Inbox(sys, db, login)
		if err != nil {
			t.Fatal(err)
		}
		inboxes = append(inboxes, inbox)
	}
	return db, cb, inboxes
}

func largeMessages() map[string][]byte {
	r := rand.New(rand.NewPCG(9, 9))
	raw := make([]byte, 300<<10)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	text := "Subject: plain\r\n\r\n" + strings.Repeat("a line of a long plain text message\r\n", 5000)
	att := "Subject: attachment\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(raw) + "\r\n--b--\r\n"
	return map[string][]byte{"plain": []byte(text), "attachment": []byte(att)}
}

// Large content delivered again, to another user or the same one, is
// looked up before it is written: only the first delivery makes blobs
// durable (hardening 9.17: every recipient used to cost a written and
// fsynced copy of the message, deleted again when it was stored as parts).
func TestLargeContentWrittenOnce(t *testing.T) {
	backends(t, testLargeContentWrittenOnce)
}

func testLargeContentWrittenOnce(t *testing.T, driver string) {
	for name, msg := range largeMessages() {
		t.Run(name, func(t *testing.T) {
			db, cb, inboxes := contentEnv(t, driver, 3)
			sys := store.SystemContext(context.Background())
			var items []*store.Item
			var afterFirst int64
			for i, folder := range append(inboxes, inboxes[0]) {
				// Not a seekable reader: the store cannot hash first and
				// read again.
				it, err := db.AppendItem(sys, folder, store.NewItem{Content: io.MultiReader(bytes.NewReader(msg))})
				if err != nil {
					t.Fatal(err)
				}
				items = append(items, it)
				if i == 0 {
					afterFirst = cb.durable.Load()
					if afterFirst == 0 {
						t.Fatal("the first delivery wrote no blob")
					}
				}
			}
			if got := cb.durable.Load(); got != afterFirst {
				t.Errorf("durable blob writes: %d after the first delivery, %d after four: content rewritten", afterFirst, got)
			}
			for _, it := range items {
				checkContent(t, db, it.ID, msg)
			}
		})
	}
}

// The recipients of one delivery store the same new content concurrently:
// it is still made durable once.
func TestLargeContentConcurrentOnce(t *testing.T) {
	backends(t, testLargeContentConcurrentOnce)
}

func testLargeContentConcurrentOnce(t *testing.T, driver string) {
	for name, msg := range largeMessages() {
		t.Run(name, func(t *testing.T) {
			db, cb, inboxes := contentEnv(t, driver, 1)
			sys := store.SystemContext(context.Background())
			const n = 12
			var wg sync.WaitGroup
			ids := make([]int64, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					it, err := db.AppendItem(sys, inboxes[0], store.NewItem{Content: bytes.NewReader(msg)})
					errs[i] = err
					if err == nil {
						ids[i] = it.ID
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			// What one delivery alone makes durable (the message, or its
			// parts once split).
			one, onecb, oneInbox := contentEnv(t, driver, 1)
			if _, err := one.AppendItem(sys, oneInbox[0], store.NewItem{Content: bytes.NewReader(msg)}); err != nil {
				t.Fatal(err)
			}
			want := onecb.durable.Load()
			if got := cb.durable.Load(); got != want {
				t.Errorf("%d concurrent deliveries made %d blob writes durable, want %d", n, got, want)
			}
			// The message is read back once, to split and summarize it
			// together, by one delivery for all of them.
			if got := onecb.opens.Load(); got != 1 {
				t.Errorf("one delivery read the message back %d times, want once", got)
			}
			if got := cb.opens.Load(); got != 1 {
				t.Errorf("%d concurrent deliveries read the message back %d times, want once", n, got)
			}
			for _, id := range ids {
				checkContent(t, db, id, msg)
			}
		})
	}
}

func checkContent(t *testing.T, db *sqlstore.DB, itemID int64, want []byte) {
	t.Helper()
	rc, err := db.OpenItem(store.SystemContext(context.Background()), itemID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("item %d reads back %d bytes, differing from the %d stored", itemID, len(got), len(want))
	}
}
