// Package blobtest is the conformance suite that every blob.Store backend
// passes. A backend's test calls TestStore with a constructor for empty
// stores:
//
//	func TestStore(t *testing.T) {
//		blobtest.TestStore(t, func(t *testing.T) blob.Store { … })
//	}
//
// Every subtest gets a store of its own from newStore and runs in parallel
// with the others, so newStore must return an empty store that is
// independent of every other one (a fresh directory, a fresh bucket prefix).
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/roost-mail/roost/internal/blob"
)

// Well-known SHA-256 values (FIPS 180-2 appendix B.1 for "abc").
const (
	emptyID = blob.ID("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	abcID   = blob.ID("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
)

// TestStore runs the conformance suite against stores made by newStore.
func TestStore(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"KnownIDs", testKnownIDs},
		{"Empty", testEmpty},
		{"ReaderShapes", testReaderShapes},
		{"Large", testLarge},
		{"Dedupe", testDedupe},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"WalkDelete", testWalkDelete},
		{"InvalidID", testInvalidID},
		{"ConcurrentSame", testConcurrentSame},
		{"ConcurrentDistinct", testConcurrentDistinct},
		{"CancelBefore", testCancelBefore},
		{"CancelDuring", testCancelDuring},
		{"ReaderError", testReaderError},
		{"Stage", testStage},
		{"StageDiscard", testStageDiscard},
		{"StageCancel", testStageCancel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	contents := map[string][]byte{
		"text":       []byte("Subject: hello\r\n\r\nworld\r\n.\r\n"),
		"all bytes":  all,
		"one byte":   {0},
		"odd length": content(1, 100<<10+1), // not a multiple of any chunk size
	}
	for name, b := range contents {
		id := put(t, s, bytes.NewReader(b), b)
		if got := read(t, s, id); !bytes.Equal(got, b) {
			t.Errorf("%s: read back %d bytes, differing from the %d put", name, len(got), len(b))
		}
		if n, err := s.Stat(t.Context(), id); err != nil || n != int64(len(b)) {
			t.Errorf("%s: Stat = %d, %v; want %d", name, n, err, len(b))
		}
	}

	// Two readers of one blob are independent.
	b := contents["all bytes"]
	id := sum(b)
	r1, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(r1, head); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r2); err != nil || !bytes.Equal(got, b) {
		t.Errorf("second reader: %d bytes, %v; want all %d", len(got), err, len(b))
	}
	if rest, err := io.ReadAll(r1); err != nil || !bytes.Equal(append(head, rest...), b) {
		t.Errorf("first reader after second: %v; content differs", err)
	}
}

func testKnownIDs(t *testing.T, s blob.Store) {
	for in, want := range map[string]blob.ID{"": emptyID, "abc": abcID} {
		id, _, err := s.Put(t.Context(), strings.NewReader(in))
		if err != nil {
			t.Fatalf("Put(%q): %v", in, err)
		}
		if id != want {
			t.Errorf("Put(%q) = %s, want %s", in, id, want)
		}
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	id := put(t, s, strings.NewReader(""), nil)
	if id != emptyID {
		t.Errorf("empty blob ID = %s, want %s", id, emptyID)
	}
	if got := read(t, s, id); len(got) != 0 {
		t.Errorf("empty blob reads %d bytes", len(got))
	}
	if n, err := s.Stat(t.Context(), id); err != nil || n != 0 {
		t.Errorf("Stat = %d, %v; want 0", n, err)
	}
	if got := list(t, s); !slices.Equal(got, []blob.ID{emptyID}) {
		t.Errorf("Walk = %v, want the empty blob", got)
	}
}

// testReaderShapes feeds Put readers that are legal but awkward: one byte at
// a time, data returned together with io.EOF, short reads.
func testReaderShapes(t *testing.T, s blob.Store) {
	b := content(2, 10<<10+7)
	want := sum(b)
	readers := map[string]io.Reader{
		"OneByteReader": iotest.OneByteReader(bytes.NewReader(b)),
		"DataErrReader": iotest.DataErrReader(bytes.NewReader(b)),
		"HalfReader":    iotest.HalfReader(bytes.NewReader(b)),
	}
	for name, r := range readers {
		id, n, err := s.Put(t.Context(), r)
		if err != nil || id != want || n != int64(len(b)) {
			t.Errorf("%s: Put = %s, %d, %v; want %s, %d", name, id, n, err, want, len(b))
		}
	}
	if got := list(t, s); !slices.Equal(got, []blob.ID{want}) {
		t.Errorf("Walk = %v, want [%s]", got, want)
	}
}

// testLarge streams a 20 MB blob from a generator. Neither the test nor a
// conforming backend holds the whole content in memory.
func testLarge(t *testing.T, s blob.Store) {
	const size = 20 << 20
	h := sha256.New()
	if _, err := io.Copy(h, generate(3, size)); err != nil {
		t.Fatal(err)
	}
	want := blob.ID(hex.EncodeToString(h.Sum(nil)))

	id, n, err := s.Put(t.Context(), generate(3, size))
	if err != nil {
		t.Fatal(err)
	}
	if id != want || n != size {
		t.Fatalf("Put = %s, %d; want %s, %d", id, n, want, size)
	}
	if n, err := s.Stat(t.Context(), id); err != nil || n != size {
		t.Errorf("Stat = %d, %v; want %d", n, err, size)
	}
	rc, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.Reset()
	n, err = io.Copy(h, rc)
	if err != nil {
		t.Fatal(err)
	}
	if got := blob.ID(hex.EncodeToString(h.Sum(nil))); got != want || n != size {
		t.Errorf("read back %d bytes hashing to %s; want %d, %s", n, got, size, want)
	}
}

func testDedupe(t *testing.T, s blob.Store) {
	b := content(4, 5000)
	id1 := put(t, s, bytes.NewReader(b), b)
	id2 := put(t, s, iotest.HalfReader(bytes.NewReader(b)), b)
	if id1 != id2 {
		t.Fatalf("same content, different IDs: %s, %s", id1, id2)
	}
	if got := list(t, s); !slices.Equal(got, []blob.ID{id1}) {
		t.Fatalf("Walk = %v, want one blob %s", got, id1)
	}
	if got := read(t, s, id1); !bytes.Equal(got, b) {
		t.Error("content changed by the second Put")
	}
	// Single instance: one Delete removes the content.
	if err := s.Delete(t.Context(), id1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(t.Context(), id1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
	}
}

func testMissing(t *testing.T, s blob.Store) {
	put(t, s, strings.NewReader("something else"), []byte("something else"))
	id := sum([]byte("never stored"))
	if n, err := s.Stat(t.Context(), id); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(missing) = %d, %v; want ErrNotFound", n, err)
	}
	rc, err := s.Open(t.Context(), id)
	if !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open(missing): %v, want ErrNotFound", err)
	}
	if rc != nil {
		rc.Close()
		t.Error("Open(missing) returned a reader")
	}
}

func testDelete(t *testing.T, s blob.Store) {
	a, b := []byte("blob a"), []byte("blob b")
	ida := put(t, s, bytes.NewReader(a), a)
	idb := put(t, s, bytes.NewReader(b), b)
	for i := range 2 { // the second Delete finds nothing and still succeeds
		if err := s.Delete(t.Context(), ida); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if err := s.Delete(t.Context(), sum([]byte("never stored"))); err != nil {
		t.Errorf("Delete(never stored): %v", err)
	}
	if _, err := s.Stat(t.Context(), ida); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(deleted): %v, want ErrNotFound", err)
	}
	if _, err := s.Open(t.Context(), ida); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open(deleted): %v, want ErrNotFound", err)
	}
	if got := read(t, s, idb); !bytes.Equal(got, b) {
		t.Error("Delete of one blob changed another")
	}
	if got := list(t, s); !slices.Equal(got, []blob.ID{idb}) {
		t.Errorf("Walk = %v, want [%s]", got, idb)
	}
	// A deleted blob can be stored again.
	put(t, s, bytes.NewReader(a), a)
	if got := read(t, s, ida); !bytes.Equal(got, a) {
		t.Error("blob stored again after Delete reads back wrong")
	}
}

func testWalk(t *testing.T, s blob.Store) {
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("empty store: Walk = %v", got)
	}
	var want []blob.ID
	for i := range 50 {
		b := fmt.Appendf(nil, "blob %d", i)
		want = append(want, put(t, s, bytes.NewReader(b), b))
		if i%5 == 0 { // duplicates must not be listed twice
			put(t, s, bytes.NewReader(b), b)
		}
	}
	slices.Sort(want)
	if got := list(t, s); !slices.Equal(got, want) {
		t.Errorf("Walk = %d IDs %v\nwant %d IDs %v", len(got), got, len(want), want)
	}
}

func testWalkStops(t *testing.T, s blob.Store) {
	for i := range 10 {
		b := fmt.Appendf(nil, "blob %d", i)
		put(t, s, bytes.NewReader(b), b)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Walk(t.Context(), func(blob.ID) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("Walk = %v, want fn's error", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times after returning an error, want 1", calls)
	}
}

// testWalkDelete deletes each blob from inside Walk, as a garbage sweep does.
func testWalkDelete(t *testing.T, s blob.Store) {
	for i := range 20 {
		b := fmt.Appendf(nil, "blob %d", i)
		put(t, s, bytes.NewReader(b), b)
	}
	seen := 0
	err := s.Walk(t.Context(), func(id blob.ID) error {
		seen++
		return s.Delete(t.Context(), id)
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != 20 {
		t.Errorf("Walk saw %d blobs, want 20", seen)
	}
	if got := list(t, s); len(got) != 0 {
		t.Errorf("after deleting all: Walk = %v", got)
	}
}

func testInvalidID(t *testing.T, s blob.Store) {
	b := []byte("keep me")
	stored := put(t, s, bytes.NewReader(b), b)
	bad := []blob.ID{
		"",
		".",
		"..",
		"/",
		"../../etc/passwd",
		"../" + stored[3:],            // 64 characters, escapes upwards
		stored[:2] + "/" + stored[3:], // 64 characters, a path
		blob.ID(strings.Repeat("..//", 16)),
		stored[:63],
		stored + "0",
		blob.ID(strings.ToUpper(string(stored))), // the same file on a case-insensitive file system
		stored[:63] + "g",
		stored[:63] + "\x00",
		" " + stored[1:],
		stored[:63] + "\n",
	}
	for _, id := range bad {
		rc, err := s.Open(t.Context(), id)
		if rc != nil {
			rc.Close()
			t.Errorf("Open(%q) returned a reader", id)
		}
		checkInvalid(t, "Open", id, err)
		_, err = s.Stat(t.Context(), id)
		checkInvalid(t, "Stat", id, err)
		checkInvalid(t, "Delete", id, s.Delete(t.Context(), id))
	}
	if got := read(t, s, stored); !bytes.Equal(got, b) {
		t.Error("stored blob changed by operations on invalid IDs")
	}
	if got := list(t, s); !slices.Equal(got, []blob.ID{stored}) {
		t.Errorf("Walk = %v, want [%s]", got, stored)
	}
}

func checkInvalid(t *testing.T, op string, id blob.ID, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s(%q) succeeded, want ErrInvalidID", op, id)
	case errors.Is(err, blob.ErrNotFound):
		t.Errorf("%s(%q) = %v: an invalid ID must not look like a missing blob", op, id, err)
	case !errors.Is(err, blob.ErrInvalidID):
		t.Errorf("%s(%q) = %v, want ErrInvalidID", op, id, err)
	}
}

func testConcurrentSame(t *testing.T, s blob.Store) {
	const n = 8
	b := content(5, 300<<10)
	ids := make([]blob.ID, n)
	sizes := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], sizes[i], errs[i] = s.Put(t.Context(), bytes.NewReader(b))
		})
	}
	wg.Wait()
	want := sum(b)
	for i := range n {
		if errs[i] != nil || ids[i] != want || sizes[i] != int64(len(b)) {
			t.Errorf("Put #%d = %s, %d, %v; want %s, %d", i, ids[i], sizes[i], errs[i], want, len(b))
		}
	}
	if got := list(t, s); !slices.Equal(got, []blob.ID{want}) {
		t.Errorf("Walk = %v, want one blob %s", got, want)
	}
	if got := read(t, s, want); !bytes.Equal(got, b) {
		t.Error("content differs after concurrent Puts")
	}
}

func testConcurrentDistinct(t *testing.T, s blob.Store) {
	const workers, each = 8, 25
	ids := make([]blob.ID, workers*each)
	errs := make([]error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range each {
				k := w*each + j
				ids[k], _, errs[k] = s.Put(t.Context(), generate(uint64(100+k), 1000))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if got := list(t, s); !slices.Equal(got, ids) {
		t.Errorf("Walk lists %d blobs, want %d", len(got), len(ids))
	}
}

func testCancelBefore(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	id, _, err := s.Put(ctx, strings.NewReader("cancelled"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put with cancelled context = %s, %v; want context.Canceled", id, err)
	}
	if got := list(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want no blobs", got)
	}
}

func testCancelDuring(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const size = 64 << 20
	r := &hookReader{r: generate(6, size), after: 1 << 20, hook: cancel}
	id, _, err := s.Put(ctx, r)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put cancelled while reading = %s, %v; want context.Canceled", id, err)
	}
	// Put notices the cancellation while reading, not only at the end. The
	// bound leaves room for a backend that buffers a multipart chunk.
	if r.n >= size {
		t.Errorf("Put read all %d bytes after its context was cancelled at %d", r.n, r.after)
	}
	if got := list(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want no blobs", got)
	}
}

func testReaderError(t *testing.T, s blob.Store) {
	boom := errors.New("boom")
	r := &hookReader{r: generate(7, 1<<20), after: 100 << 10, err: boom}
	if _, _, err := s.Put(t.Context(), r); !errors.Is(err, boom) {
		t.Errorf("Put from a failing reader = %v, want its error", err)
	}
	if _, _, err := s.Put(t.Context(), iotest.TimeoutReader(generate(8, 1<<20))); !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("Put from a timing-out reader = %v, want its error", err)
	}
	if got := list(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want no blobs", got)
	}
}

// testStage stages content, which is invisible until committed, and
// commits it; staging content that is stored already and committing it
// again keeps it.
func testStage(t *testing.T, s blob.Store) {
	b := content(9, 200<<10+3)
	want := sum(b)
	st, err := s.Stage(t.Context(), iotest.HalfReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	if st.ID() != want || st.Size() != int64(len(b)) {
		t.Fatalf("Stage = %s, %d; want %s, %d", st.ID(), st.Size(), want, len(b))
	}
	if got := list(t, s); len(got) != 0 {
		t.Errorf("before Commit: Walk = %v, want no blobs", got)
	}
	if _, err := s.Stat(t.Context(), want); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("before Commit: Stat = %v, want ErrNotFound", err)
	}
	if err := st.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	st.Discard() // a no-op after Commit
	if got := read(t, s, want); !bytes.Equal(got, b) {
		t.Fatal("committed blob reads back wrong")
	}
	again, err := s.Stage(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	again.Discard()
	if got := list(t, s); !slices.Equal(got, []blob.ID{want}) {
		t.Errorf("Walk = %v, want [%s]", got, want)
	}
	if got := read(t, s, want); !bytes.Equal(got, b) {
		t.Error("content changed by committing it again")
	}
}

// testStageDiscard discards staged content: nothing is stored, and
// discarding a copy of a stored blob leaves the blob alone.
func testStageDiscard(t *testing.T, s blob.Store) {
	b := []byte("kept")
	id := put(t, s, bytes.NewReader(b), b)
	for _, c := range [][]byte{b, []byte("dropped")} {
		st, err := s.Stage(t.Context(), bytes.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		if st.ID() != sum(c) {
			t.Errorf("Stage(%q) = %s, want %s", c, st.ID(), sum(c))
		}
		st.Discard()
		st.Discard()
	}
	if got := list(t, s); !slices.Equal(got, []blob.ID{id}) {
		t.Errorf("Walk = %v, want [%s]", got, id)
	}
	if got := read(t, s, id); !bytes.Equal(got, b) {
		t.Error("stored blob changed by a discarded stage of the same content")
	}
}

// testStageCancel: a Commit with a cancelled context stores nothing.
func testStageCancel(t *testing.T, s blob.Store) {
	st, err := s.Stage(t.Context(), strings.NewReader("cancelled"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := st.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context = %v, want context.Canceled", err)
	}
	if got := list(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want no blobs", got)
	}
}

// hookReader reads from r; once more than after bytes have been read, it
// calls hook (once) and, if err is set, fails with err.
type hookReader struct {
	r     io.Reader
	after int64
	hook  func()
	err   error
	n     int64
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.n > h.after {
		if h.hook != nil {
			h.hook()
			h.hook = nil
		}
		if h.err != nil {
			return 0, h.err
		}
	}
	n, err := h.r.Read(p)
	h.n += int64(n)
	return n, err
}

// put stores r, which must yield want, and checks the ID and size.
func put(t *testing.T, s blob.Store, r io.Reader, want []byte) blob.ID {
	t.Helper()
	id, n, err := s.Put(t.Context(), r)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if wantID := sum(want); id != wantID {
		t.Fatalf("Put = ID %s, want SHA-256 %s", id, wantID)
	}
	if n != int64(len(want)) {
		t.Fatalf("Put = size %d, want %d", n, len(want))
	}
	return id
}

func read(t *testing.T, s blob.Store, id blob.ID) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatalf("Open(%s): %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return b
}

// list returns the IDs Walk reports, sorted; an ID reported twice appears
// twice.
func list(t *testing.T, s blob.Store) []blob.ID {
	t.Helper()
	var ids []blob.ID
	if err := s.Walk(t.Context(), func(id blob.ID) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	slices.Sort(ids)
	return ids
}

func sum(b []byte) blob.ID {
	h := sha256.Sum256(b)
	return blob.ID(hex.EncodeToString(h[:]))
}

// generate returns n deterministic pseudo-random bytes, produced as they are
// read.
func generate(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func content(seed uint64, n int) []byte {
	b, err := io.ReadAll(generate(seed, int64(n)))
	if err != nil {
		panic(err)
	}
	return b
}
