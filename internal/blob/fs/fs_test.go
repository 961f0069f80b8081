package fs_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/blob/blobtest"
	"github.com/roost-mail/roost/internal/blob/fs"
)

func TestStore(t *testing.T) {
	t.Parallel()
	blobtest.TestStore(t, func(t *testing.T) blob.Store { return newStore(t, t.TempDir()) })
}

func newStore(tb testing.TB, dir string) *fs.Store {
	tb.Helper()
	s, err := fs.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newStore(t, dir)
	id, _, err := s.Put(t.Context(), bytes.NewReader([]byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "ba", "78", string(id))
	info, err := os.Stat(want)
	if err != nil {
		t.Fatalf("blob not at %s: %v", want, err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm() != 0o600 {
		t.Errorf("blob file mode = %v, want a regular file with mode 0600", info.Mode())
	}
	rc, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File", rc)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "tmp")); err != nil || len(entries) != 0 {
		t.Errorf("tmp/ after Put: %d entries, %v; want empty", len(entries), err)
	}
}

func TestNewRemovesStaleTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(tmp, "put-stale")
	fresh := filepath.Join(tmp, "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-61 * time.Minute)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	newStore(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file older than an hour still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temp file (an upload in progress) removed: %v", err)
	}
}

// TestDedupeTouches checks that storing existing content refreshes the
// file's modification time, which a garbage sweep reads as "in use".
func TestDedupeTouches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newStore(t, dir)
	id, _, err := s.Put(t.Context(), bytes.NewReader([]byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, string(id[:2]), string(id[2:4]), string(id))
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(t.Context(), bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(info.ModTime()); age > time.Hour {
		t.Errorf("mtime after dedupe is %v old, want fresh", age)
	}
}

func TestWalkSkipsForeignFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newStore(t, dir)
	id, _, err := s.Put(t.Context(), bytes.NewReader([]byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	// A valid ID in the wrong fan-out directory cannot be opened by ID, so
	// Walk must not report it either.
	misplaced := "00" + string(id[2:])
	for _, p := range []string{
		"README",
		"lost+found/x",
		"tmp/" + string(id),
		"ba/junk",
		"ba/78/not-an-id",
		"ba/78/" + string(id) + ".bak",
		"BA/78/" + string(id),
		"ff/ff/" + misplaced,
		"00/" + misplaced,
	} {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "ba", "78", "ba78"+string(id[4:])+"0"), 0o700); err != nil {
		t.Fatal(err)
	}
	var got []blob.ID
	if err := s.Walk(t.Context(), func(id blob.ID) error {
		got = append(got, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []blob.ID{id}) {
		t.Errorf("Walk = %v, want [%s]", got, id)
	}
}

// TestFailedPutLeavesNoTemp checks that a Put that fails removes its temp
// file at once rather than leaving it for the next start.
func TestFailedPutLeavesNoTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	r := &cancelReader{n: 1 << 20, cancel: cancel}
	if _, _, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	boom := errors.New("boom")
	if _, _, err := s.Put(t.Context(), io.MultiReader(bytes.NewReader(make([]byte, 1000)), errReader{boom})); !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want %v", err, boom)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in tmp/: %s", e.Name())
	}
}

// TestPutStreams checks that Put's memory use does not grow with the blob.
// It measures allocation by the whole process, so it does not run in
// parallel with other tests.
func TestPutStreams(t *testing.T) {
	const size = 20 << 20
	s := newStore(t, t.TempDir())
	r := io.LimitReader(zeros{}, size)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, n, err := s.Put(t.Context(), r)
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("Put = %d, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("Put of %d bytes allocated %d bytes", size, alloc)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// cancelReader yields n zero bytes, cancelling its context half way.
type cancelReader struct {
	n      int
	cancel func()
}

func (r *cancelReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if r.n < 1<<19 {
		r.cancel()
	}
	p = p[:min(len(p), r.n)]
	clear(p)
	r.n -= len(p)
	return len(p), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func BenchmarkPut10KB(b *testing.B) {
	s := newStore(b, b.TempDir())
	var seq atomic.Uint64
	b.SetBytes(10 << 10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 10<<10)
		r := bytes.NewReader(nil)
		for pb.Next() {
			// Distinct content per op, so every Put writes a new blob.
			binary.LittleEndian.PutUint64(buf, seq.Add(1))
			r.Reset(buf)
			if _, _, err := s.Put(b.Context(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	s := newStore(b, b.TempDir())
	buf := make([]byte, 10<<10)
	id, _, err := s.Put(b.Context(), bytes.NewReader(buf))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		rc, err := s.Open(b.Context(), id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(rc, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
