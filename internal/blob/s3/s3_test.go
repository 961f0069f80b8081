package s3_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/blob/blobtest"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/blob/s3"
	"github.com/roost-mail/roost/internal/testenv"
)

func newStore(tb testing.TB, srv *testenv.S3, bucket, prefix string) *s3.Store {
	tb.Helper()
	s, err := s3.New(context.Background(), s3.Options{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, Prefix: prefix, TempDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestStore runs the blob conformance suite against a real S3 server
// (versitygw), one key prefix per subtest in one bucket.
func TestStore(t *testing.T) {
	t.Parallel()
	srv := testenv.StartS3(t)
	bucket := srv.Bucket(t)
	var n atomic.Int64
	blobtest.TestStore(t, func(t *testing.T) blob.Store {
		return newStore(t, srv, bucket, fmt.Sprintf("t%d/", n.Add(1)))
	})
}

// TestLayout: objects sit at <prefix>ab/cd/<id>, readable by any S3
// client (here: the posix backend's files); a stray key in the prefix is
// not listed, and a missing bucket is refused by New.
func TestLayout(t *testing.T) {
	t.Parallel()
	srv := testenv.StartS3(t)
	bucket := srv.Bucket(t)
	s := newStore(t, srv, bucket, "roost/")
	id, _, err := s.Put(t.Context(), bytes.NewReader([]byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(srv.Dir, bucket, "roost", "ba", "78", string(id))
	if b, err := os.ReadFile(file); err != nil || string(b) != "abc" {
		t.Fatalf("object file %s: %q, %v", file, b, err)
	}
	// A key that is no blob of this layout.
	if err := os.WriteFile(filepath.Join(srv.Dir, bucket, "roost", "ba", "78", "stray"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []blob.ID
	if err := s.Walk(t.Context(), func(id blob.ID) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != id {
		t.Errorf("Walk = %v, want [%s]", got, id)
	}
	if _, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: "no-such-bucket", AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, TempDir: t.TempDir()}); err == nil {
		t.Error("New with a missing bucket succeeded")
	}
	if _, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey,
		SecretKey: "wrong", TempDir: t.TempDir()}); err == nil {
		t.Error("New with a wrong secret key succeeded")
	}
}

// TestCorruptObject: content changed behind the store's back (bit rot,
// an operator's mistake) is reported when read, not returned as the blob.
func TestCorruptObject(t *testing.T) {
	t.Parallel()
	srv := testenv.StartS3(t)
	bucket := srv.Bucket(t)
	s := newStore(t, srv, bucket, "")
	b := bytes.Repeat([]byte("roost "), 20000)
	id, _, err := s.Put(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(srv.Dir, bucket, string(id[:2]), string(id[2:4]), string(id))
	bad := bytes.Clone(b)
	bad[1000] ^= 1
	if err := os.WriteFile(file, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("reading corrupted content succeeded")
	}
	// Truncated content is an error too.
	if err := os.WriteFile(file, b[:len(b)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	rc2, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	if _, err := io.ReadAll(rc2); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("reading truncated content = %v, want an error", err)
	}
}

// BenchmarkBlob compares put and get latency of the S3 store (versitygw
// on loopback, posix backend) with the file store, on the same disk:
//
//	go test -run '^$' -bench Blob -benchtime 200x ./internal/blob/s3/
func BenchmarkBlob(b *testing.B) {
	srv := testenv.StartS3(b)
	bucket := srv.Bucket(b)
	stores := []struct {
		name string
		s    blob.Store
	}{
		{"fs", newFS(b)},
		{"s3", newStore(b, srv, bucket, "bench/")},
	}
	for _, size := range []int{100 << 10, 1 << 20} {
		for _, st := range stores {
			b.Run(fmt.Sprintf("%s/put/%dKiB", st.name, size>>10), func(b *testing.B) {
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				for i := 0; b.Loop(); i++ {
					binary.LittleEndian.PutUint64(buf, uint64(i)) // new content each time
					binary.LittleEndian.PutUint64(buf[8:], uint64(size))
					if _, _, err := st.s.Put(b.Context(), bytes.NewReader(buf)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/get/%dKiB", st.name, size>>10), func(b *testing.B) {
				buf := make([]byte, size)
				buf[0] = 0xff
				id, _, err := st.s.Put(b.Context(), bytes.NewReader(buf))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				for b.Loop() {
					rc, err := st.s.Open(b.Context(), id)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, rc); err != nil {
						b.Fatal(err)
					}
					rc.Close()
				}
			})
		}
	}
}

func newFS(tb testing.TB) blob.Store {
	s, err := fs.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestReadAt: the reader is an io.ReaderAt (MIME parsing and IMAP partial
// fetches read sections in place), across block boundaries and at the
// end, without disturbing Read.
func TestReadAt(t *testing.T) {
	t.Parallel()
	srv := testenv.StartS3(t)
	s := newStore(t, srv, srv.Bucket(t), "")
	b := make([]byte, 1<<20+12345)
	for i := range b {
		b[i] = byte(i*7 + i>>10)
	}
	id, _, err := s.Put(t.Context(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		t.Fatalf("Open returned %T, not an io.ReaderAt", rc)
	}
	head := make([]byte, 100)
	if _, err := io.ReadFull(rc, head); err != nil || !bytes.Equal(head, b[:100]) {
		t.Fatalf("Read: %v", err)
	}
	for _, c := range []struct{ off, n int }{{0, 10}, {256<<10 - 5, 10}, {700 << 10, 300 << 10}, {len(b) - 7, 7}, {5, 1}} {
		got := make([]byte, c.n)
		n, err := ra.ReadAt(got, int64(c.off))
		if n != c.n || (err != nil && err != io.EOF) || !bytes.Equal(got, b[c.off:c.off+c.n]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v; content equal %v", c.off, c.n, n, err, bytes.Equal(got, b[c.off:c.off+c.n]))
		}
	}
	if n, err := ra.ReadAt(make([]byte, 10), int64(len(b)-3)); n != 3 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v; want 3, EOF", n, err)
	}
	rest, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(append(head, rest...), b) {
		t.Errorf("Read after ReadAt: %v; content differs", err)
	}
}
