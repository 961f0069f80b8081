// Package s3 stores blobs as objects in an S3-compatible object store
// (Amazon S3, MinIO, Ceph RGW, versitygw, …), so that every node of a
// cluster reads and writes the same content (docs/cluster.md).
//
// Layout, in the bucket, under an optional key prefix:
//
//	<prefix>ab/cd/abcd…    a blob, named by its full 64-hex-digit ID and
//	                       fanned out like the file store (blob/fs)
//
// Invariants:
//   - An object is complete: it is written with one PUT whose length and
//     SHA-256 (x-amz-checksum-sha256, the blob's ID) the server checks
//     before it stores anything, so a truncated or corrupted upload is
//     refused rather than stored under the content's name.
//   - Put and Stage spool the content to a local temp file while hashing
//     it (memory does not grow with the size); Commit uploads that file.
//     The ID is known before the upload, so content stored already costs
//     one HEAD and no upload (single instance storage across nodes).
//   - Reads are checked too: a reader returned by Open fails at EOF when
//     the bytes it returned do not have the blob's length and SHA-256. A
//     connection broken in the middle of a read is resumed from the
//     offset reached (HTTP Range), with backoff.
//   - The reader Open returns is also an io.ReaderAt, as the file store's
//     is: MIME parsing and IMAP partial fetches read sections in place,
//     with ranged GETs of readAtBlock bytes, the last readAtBlocks of them
//     kept (bounded memory per reader). Sections read that way are not
//     hash-checked (only a whole read can be).
//   - Requests are retried with jittered exponential backoff on network
//     errors, throttling and 5xx answers (minio-go, MaxRetries), within
//     the caller's context.
//   - Delete of a missing object succeeds; Walk lists only keys that are a
//     valid ID in its own fan-out position under the prefix.
//   - IDs are checked with blob.Valid before any key is built from them.
//   - Temp files older than an hour are left over from a crash and are
//     removed by New.
package s3

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/roost-mail/roost/internal/blob"
)

const (
	chunkSize = 64 << 10
	staleTemp = time.Hour
	// readAtBlock and readAtBlocks size the ranged reads of ReadAt.
	readAtBlock  = 256 << 10
	readAtBlocks = 4
	// maxResume bounds how often one read of a blob reconnects after the
	// connection broke in the middle of the content.
	maxResume = 5
)

// Options configure New.
type Options struct {
	// Endpoint is host:port of the S3 API.
	Endpoint string
	Bucket   string
	// Region is the bucket's region; empty is "us-east-1".
	Region    string
	AccessKey string
	SecretKey string
	// TLS selects https; RootCAs, if set, replaces the system roots.
	TLS     bool
	RootCAs *x509.CertPool
	// Prefix is put before every key ("roost/" keeps several
	// installations, or test runs, apart in one bucket).
	Prefix string
	// TempDir holds content being staged (a directory on local disk);
	// created if needed.
	TempDir string
	// MaxRetries is how often one request is tried at most; 0 is 5.
	MaxRetries int
	Logger     *slog.Logger
}

// Store is a blob.Store on S3. It is safe for concurrent use, also by
// several nodes sharing one bucket.
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
	tmp    string
	log    *slog.Logger
}

var _ blob.Store = (*Store)(nil)

var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// New connects to the object store, checks that the bucket exists and
// removes stale temp files.
func New(ctx context.Context, o Options) (*Store, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, errors.New("s3 blob store: endpoint and bucket are required")
	}
	if o.TempDir == "" {
		return nil, errors.New("s3 blob store: no temp directory")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 5
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if o.TLS {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs}
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:     o.TLS,
		Region:     o.Region,
		Transport:  tr,
		MaxRetries: o.MaxRetries,
		// Checksums of uploads (x-amz-checksum-sha256) need them.
		TrailingHeaders: true,
		// Path-style requests (endpoint/bucket/key): what self-hosted
		// object stores answer without wildcard DNS.
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 blob store %s: %w", o.Endpoint, err)
	}
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store %s: bucket %s: %w", o.Endpoint, o.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3 blob store %s: bucket %s does not exist (create it first)", o.Endpoint, o.Bucket)
	}
	if err := os.MkdirAll(o.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("s3 blob store temp directory: %w", err)
	}
	s := &Store{c: c, bucket: o.Bucket, prefix: o.Prefix, tmp: o.TempDir, log: o.Logger}
	if err := s.removeStaleTemps(time.Now().Add(-staleTemp)); err != nil {
		return nil, fmt.Errorf("s3 blob store temp directory: %w", err)
	}
	return s, nil
}

func (s *Store) removeStaleTemps(before time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), "s3put-") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if info.ModTime().Before(before) {
			os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
	return nil
}

// key returns the object name of a valid ID.
func (s *Store) key(id blob.ID) string {
	return s.prefix + string(id[0:2]) + "/" + string(id[2:4]) + "/" + string(id)
}

func checkID(id blob.ID) error {
	if !blob.Valid(string(id)) {
		return fmt.Errorf("blob %q: %w", id, blob.ErrInvalidID)
	}
	return nil
}

// notFound reports whether err is S3's answer for a missing object.
func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket"
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, r io.Reader) (blob.ID, int64, error) {
	st, err := s.stage(ctx, r)
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	defer st.Discard()
	if err := st.Commit(ctx); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	return st.id, st.size, nil
}

// Stage implements blob.Store: the content goes to a local temp file and
// is hashed; nothing is sent to the object store until Commit.
func (s *Store) Stage(ctx context.Context, r io.Reader) (blob.Staged, error) {
	st, err := s.stage(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("stage blob: %w", err)
	}
	return st, nil
}

func (s *Store) stage(ctx context.Context, r io.Reader) (*staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.tmp, "s3put-*")
	if err != nil {
		return nil, err
	}
	st := &staged{s: s, f: f}
	ok := false
	defer func() {
		if !ok {
			st.Discard()
		}
	}()
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				return nil, err
			}
			st.size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("read: %w", rerr)
		}
	}
	st.sum = h.Sum(nil)
	st.id = blob.ID(hex.EncodeToString(st.sum))
	ok = true
	return st, nil
}

// staged is a local temp file that Commit uploads.
type staged struct {
	s    *Store
	f    *os.File // nil once committed or discarded
	id   blob.ID
	sum  []byte
	size int64
}

func (st *staged) ID() blob.ID { return st.id }
func (st *staged) Size() int64 { return st.size }

// Discard implements blob.Staged.
func (st *staged) Discard() {
	if st.f != nil {
		name := st.f.Name()
		st.f.Close()
		os.Remove(name)
		st.f = nil
	}
}

// Commit implements blob.Staged: content stored already is not sent
// again; otherwise one PUT with the length and SHA-256 for the server to
// check.
func (st *staged) Commit(ctx context.Context) error {
	if st.f == nil {
		return fmt.Errorf("blob %s: commit after discard", st.id)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := st.s
	key := s.key(st.id)
	if info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); err == nil && info.Size == st.size {
		st.Discard()
		return nil
	} else if err != nil && !notFound(err) {
		return fmt.Errorf("blob %s: %w", st.id, err)
	}
	// The file is an io.ReaderAt: minio-go retries the PUT from offset 0.
	sr := io.NewSectionReader(st.f, 0, st.size)
	info, err := s.c.PutObject(ctx, s.bucket, key, sr, st.size, minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		DisableMultipart: true, // one PUT, so the server checks the whole content's SHA-256
		// The server checks the content against it before storing.
		UserMetadata: map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(st.sum)},
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("blob %s: %w", st.id, cerr)
		}
		return fmt.Errorf("blob %s: upload: %w", st.id, err)
	}
	// The server computed the SHA-256 of what it stored and checked it
	// against the one sent; it must also be the ID.
	if want := base64.StdEncoding.EncodeToString(st.sum); info.ChecksumSHA256 != "" && info.ChecksumSHA256 != want || info.Size != st.size {
		s.c.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
		return fmt.Errorf("blob %s: the object store stored %d bytes with SHA-256 %s, not %d bytes with %s",
			st.id, info.Size, info.ChecksumSHA256, st.size, want)
	}
	st.Discard()
	return nil
}

// Open implements blob.Store. The reader checks the content's length and
// SHA-256 at EOF and resumes a broken transfer where it stopped.
func (s *Store) Open(ctx context.Context, id blob.ID) (io.ReadCloser, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", id, err)
	}
	r := &reader{s: s, ctx: ctx, id: id, h: sha256.New()}
	if err := r.open(0); err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("open blob %s: %w", id, blob.ErrNotFound)
		}
		return nil, fmt.Errorf("open blob %s: %w", id, err)
	}
	return r, nil
}

// reader reads one blob, verifying it as it goes.
type reader struct {
	// blocks cache ranged reads for ReadAt (oldest first).
	blocks  []atBlock
	s       *Store
	ctx     context.Context
	id      blob.ID
	obj     *minio.Object
	size    int64 // from the first answer
	off     int64
	h       hash.Hash
	resumes int
	err     error // sticky
}

// open starts a GET from off; the first one also learns the size.
func (r *reader) open(off int64) error {
	opts := minio.GetObjectOptions{}
	if off > 0 {
		if err := opts.SetRange(off, 0); err != nil {
			return err
		}
	}
	obj, err := r.s.c.GetObject(r.ctx, r.s.bucket, r.s.key(r.id), opts)
	if err != nil {
		return err
	}
	info, err := obj.Stat() // sends the request
	if err != nil {
		obj.Close()
		return err
	}
	if off == 0 {
		r.size = info.Size
	}
	r.obj = obj
	return nil
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		n, err := r.obj.Read(p)
		if n > 0 {
			r.h.Write(p[:n])
			r.off += int64(n)
			if r.off > r.size {
				r.err = fmt.Errorf("read blob %s: more than its %d bytes", r.id, r.size)
				return 0, r.err
			}
		}
		switch {
		case err == io.EOF:
			if r.off != r.size {
				err = io.ErrUnexpectedEOF
				break
			}
			if got := hex.EncodeToString(r.h.Sum(nil)); got != string(r.id) {
				r.err = fmt.Errorf("read blob %s: content hashes to %s: the object store returned corrupted data", r.id, got)
				return n, r.err
			}
			r.err = io.EOF
			return n, io.EOF
		case err == nil:
			return n, nil
		}
		// A broken transfer: resume from where it stopped.
		if cerr := r.ctx.Err(); cerr != nil {
			r.err = cerr
			return n, r.err
		}
		if r.resumes >= maxResume {
			r.err = fmt.Errorf("read blob %s at %d: %w", r.id, r.off, err)
			return n, r.err
		}
		r.resumes++
		r.s.log.Warn("s3 read broke; resuming", "blob", r.id, "offset", r.off, "err", err)
		r.obj.Close()
		if werr := sleep(r.ctx, backoff(r.resumes)); werr != nil {
			r.err = werr
			return n, r.err
		}
		if oerr := r.open(r.off); oerr != nil {
			r.err = fmt.Errorf("read blob %s: resume at %d: %w", r.id, r.off, oerr)
			return n, r.err
		}
		if n > 0 {
			return n, nil
		}
	}
}

type atBlock struct {
	off  int64
	data []byte
}

var _ io.ReaderAt = (*reader)(nil)

// ReadAt implements io.ReaderAt with ranged GETs of whole blocks. It does
// not move the position Read reads from.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read blob %s: negative offset", r.id)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		b, err := r.block(pos / readAtBlock * readAtBlock)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b.data[pos-b.off:])
	}
	return n, nil
}

// block returns the block at off, from the cache or the object store.
func (r *reader) block(off int64) (*atBlock, error) {
	for i := range r.blocks {
		if r.blocks[i].off == off {
			return &r.blocks[i], nil
		}
	}
	length := min(int64(readAtBlock), r.size-off)
	data := make([]byte, length)
	var err error
	for attempt := 0; attempt <= maxResume; attempt++ {
		if attempt > 0 {
			if werr := sleep(r.ctx, backoff(attempt)); werr != nil {
				return nil, werr
			}
		}
		err = r.fetch(off, data)
		if err == nil || r.ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s at %d: %w", r.id, off, err)
	}
	if len(r.blocks) == readAtBlocks {
		r.blocks = r.blocks[1:]
	}
	r.blocks = append(r.blocks, atBlock{off: off, data: data})
	return &r.blocks[len(r.blocks)-1], nil
}

func (r *reader) fetch(off int64, data []byte) error {
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(off, off+int64(len(data))-1); err != nil {
		return err
	}
	obj, err := r.s.c.GetObject(r.ctx, r.s.bucket, r.s.key(r.id), opts)
	if err != nil {
		return err
	}
	defer obj.Close()
	_, err = io.ReadFull(obj, data)
	return err
}

func (r *reader) Close() error {
	if r.obj != nil {
		return r.obj.Close()
	}
	return nil
}

// backoff is the wait before the attempt-th retry: exponential from
// 100 ms, at most 5 s, with full jitter.
func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 6)
	d = min(d, 5*time.Second)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, id blob.ID) (int64, error) {
	if err := checkID(id); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", id, err)
	}
	info, err := s.c.StatObject(ctx, s.bucket, s.key(id), minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return 0, fmt.Errorf("stat blob %s: %w", id, blob.ErrNotFound)
		}
		return 0, fmt.Errorf("stat blob %s: %w", id, err)
	}
	return info.Size, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, id blob.ID) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", id, err)
	}
	if err := s.c.RemoveObject(ctx, s.bucket, s.key(id), minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("delete blob %s: %w", id, err)
	}
	return nil
}

// Walk implements blob.Store by listing the prefix. Keys that are not a
// valid ID in their fan-out position are skipped. An error from fn stops
// the walk and is returned as is.
func (s *Store) Walk(ctx context.Context, fn func(blob.ID) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister when fn fails
	for obj := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("walk blobs: %w", obj.Err)
		}
		rest, ok := strings.CutPrefix(obj.Key, s.prefix)
		if !ok || len(rest) != 70 || rest[2] != '/' || rest[5] != '/' {
			continue
		}
		name := rest[6:]
		if !blob.Valid(name) || name[:2] != rest[:2] || name[2:4] != rest[3:5] {
			continue
		}
		if err := fn(blob.ID(name)); err != nil {
			return err
		}
	}
	return nil
}
