package backup

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// A backup in S3 (s3://BUCKET/PREFIX) has the directory's layout under
// PREFIX/ in BUCKET, and its properties:
//   - Every file and object is written with one PUT carrying its length
//     and SHA-256 (x-amz-checksum-sha256), which the object store checks
//     before it stores anything: an object is there whole or not at all.
//     A PUT that returned is durable, so flush has nothing to do.
//   - The manifest is PUT last: a run without one never happened, as in
//     a directory.
//   - Content is spooled to a local temp file while hashed (memory does
//     not grow with the size); content whose hash is stored already is
//     not sent. Objects are uploaded by s3Uploaders PUTs at a time (at
//     most s3Queue spooled files waiting), and flush waits for them all
//     and returns the first failure: a store file is only written once
//     every object it names is stored. The objects stored are learnt with one listing of
//     PREFIX/objects/ once a run has looked up more than s3HeadLookups
//     of them (before, one HEAD each: an incremental run of a few changes
//     does not list the whole backup).

// S3Config says how to reach the object store of an s3:// location.
type S3Config struct {
	Endpoint  string `json:"endpoint,omitempty"` // host:port of the S3 API
	Region    string `json:"region,omitempty"`   // "" is us-east-1
	AccessKey string `json:"access_key,omitempty"`
	SecretKey string `json:"secret_key,omitempty"`
	// NoTLS talks plain HTTP to Endpoint (HTTPS is the default).
	NoTLS bool `json:"no_tls,omitempty"`
	// CAFile is a PEM file of the authorities the endpoint's certificate
	// is checked against, on the host that opens the location; "" is
	// the system's.
	CAFile string `json:"ca_file,omitempty"`
	// TempDir spools uploads; "" is the system's temp directory.
	TempDir string `json:"-"`
}

// s3HeadLookups is how many objects a run looks up one by one (HEAD)
// before it lists them all.
const s3HeadLookups = 256

// s3Uploaders is how many objects are uploaded at once; s3Queue how many
// spooled ones may wait for an uploader.
const (
	s3Uploaders = 8
	s3Queue     = 16
)

// ParseS3 splits s3://BUCKET/PREFIX into the bucket and the key prefix
// ("" or ending in "/").
func ParseS3(loc string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(loc, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET/PREFIX location", loc)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if len(bucket) < 3 || len(bucket) > 63 || strings.Trim(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return "", "", fmt.Errorf("%q: %q is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", loc, bucket)
	}
	prefix = strings.Trim(prefix, "/")
	for _, p := range strings.Split(prefix, "/") {
		if prefix != "" && (p == "" || p == "." || p == "..") {
			return "", "", fmt.Errorf("%q: the key prefix has an empty, '.' or '..' part", loc)
		}
	}
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

type s3Repo struct {
	c      *minio.Client
	bucket string
	prefix string
	loc    string
	tmp    string

	mu      sync.Mutex
	lookups int
	index   map[[32]byte]int64 // hash → size of the objects stored, once listed
	queued  map[[32]byte]int64 // objects handed to the uploaders (stored or being stored)
	upErr   error              // the first upload that failed

	uploads chan s3Upload  // nil until the first upload
	pending sync.WaitGroup // uploads queued and not finished
	workers sync.WaitGroup
}

// s3Upload is a spooled object for an uploader.
type s3Upload struct {
	ctx  context.Context
	f    *os.File
	size int64
	sum  []byte
}

func openS3Repo(ctx context.Context, loc string, cfg S3Config) (*s3Repo, error) {
	bucket, prefix, err := ParseS3(loc)
	if err != nil {
		return nil, err
	}
	if cfg.Endpoint == "" {
		return nil, fmt.Errorf("%s: no S3 endpoint: give --s3-endpoint (or ROOST_S3_ENDPOINT), or set s3_endpoint in the server's configuration", loc)
	}
	if strings.Contains(cfg.Endpoint, "/") {
		return nil, fmt.Errorf("S3 endpoint %q: want host or host:port, without a scheme or path", cfg.Endpoint)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("%s: no S3 credentials: set ROOST_S3_ACCESS_KEY and ROOST_S3_SECRET_KEY (or --s3-secret-key-file), or s3_access_key and s3_secret_key(_file) in the server's configuration", loc)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	if !cfg.NoTLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("S3 CA file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("S3 CA file %s holds no PEM certificate", cfg.CAFile)
			}
		}
		tr.TLSClientConfig = tc
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:           credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:          !cfg.NoTLS,
		Region:          cfg.Region,
		Transport:       tr,
		MaxRetries:      5,
		TrailingHeaders: true,
		BucketLookup:    minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %s: %w", cfg.Endpoint, err)
	}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("%s: bucket %s at %s: %w", loc, bucket, cfg.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: bucket %s does not exist at %s (create it first)", loc, bucket, cfg.Endpoint)
	}
	tmp := cfg.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("S3 upload temp directory: %w", err)
	}
	return &s3Repo{c: c, bucket: bucket, prefix: prefix, loc: "s3://" + bucket + "/" + prefix, tmp: tmp}, nil
}

func (s *s3Repo) String() string { return strings.TrimSuffix(s.loc, "/") }

func s3NotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket"
}

// notExist turns S3's "no such key" into fs.ErrNotExist.
func (s *s3Repo) notExist(name string, err error) error {
	if s3NotFound(err) {
		return fmt.Errorf("%s/%s: %w", s, name, fs.ErrNotExist)
	}
	return fmt.Errorf("%s/%s: %w", s, name, err)
}

func (s *s3Repo) runNames(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir := s.prefix + "runs/"
	var out []string
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: dir}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s/runs/: %w", s, o.Err)
		}
		if name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, dir), "/"); ok && name != "" && !strings.Contains(name, "/") {
			out = append(out, name)
		}
		if len(out) > maxRuns {
			return nil, fmt.Errorf("%s holds more than %d runs", s, maxRuns)
		}
	}
	return out, nil
}

func (s *s3Repo) stat(ctx context.Context, name string) (int64, error) {
	info, err := s.c.StatObject(ctx, s.bucket, s.prefix+name, minio.StatObjectOptions{})
	if err != nil {
		return 0, s.notExist(name, err)
	}
	return info.Size, nil
}

func (s *s3Repo) open(ctx context.Context, name string) (io.ReadCloser, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.notExist(name, err)
	}
	if _, err := obj.Stat(); err != nil { // sends the request
		obj.Close()
		return nil, s.notExist(name, err)
	}
	return obj, nil
}

func (s *s3Repo) beginRun(context.Context, int) error { return nil }

// s3File spools to a temp file, hashing, and is PUT at commit.
type s3File struct {
	s    *s3Repo
	name string
	f    *os.File
	h    hashWriter
	n    int64
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func (s *s3Repo) create(_ context.Context, name string) (repoFile, error) {
	f, err := os.CreateTemp(s.tmp, "roost-backup-")
	if err != nil {
		return nil, fmt.Errorf("S3 upload temp file: %w", err)
	}
	return &s3File{s: s, name: name, f: f, h: sha256.New()}, nil
}

func (f *s3File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.h.Write(p[:n])
	f.n += int64(n)
	return n, err
}

func (f *s3File) commit(ctx context.Context) error {
	defer f.abort()
	return f.s.upload(ctx, f.name, f.f, f.n, f.h.Sum(nil))
}

func (f *s3File) abort() {
	if f.f != nil {
		f.f.Close()
		os.Remove(f.f.Name())
		f.f = nil
	}
}

// upload PUTs size bytes of f as name, the object store checking their
// SHA-256 before it stores them.
func (s *s3Repo) upload(ctx context.Context, name string, f *os.File, size int64, sum []byte) error {
	want := base64.StdEncoding.EncodeToString(sum)
	info, err := s.c.PutObject(ctx, s.bucket, s.prefix+name, io.NewSectionReader(f, 0, size), size, minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		DisableMultipart: true, // one PUT: the server checks the whole content's SHA-256
		UserMetadata:     map[string]string{"x-amz-checksum-sha256": want},
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("upload %s/%s: %w", s, name, cerr)
		}
		return fmt.Errorf("upload %s/%s: %w", s, name, err)
	}
	if info.ChecksumSHA256 != "" && info.ChecksumSHA256 != want || info.Size != size {
		s.c.RemoveObject(context.WithoutCancel(ctx), s.bucket, s.prefix+name, minio.RemoveObjectOptions{})
		return fmt.Errorf("upload %s/%s: the object store stored %d bytes with SHA-256 %s, not %d bytes with %s",
			s, name, info.Size, info.ChecksumSHA256, size, want)
	}
	return nil
}

// hasObject looks the object up: with a HEAD while few were, then in the
// listing of every object.
func (s *s3Repo) hasObject(ctx context.Context, h string, size int64) (bool, error) {
	key, err := hex.DecodeString(h)
	if err != nil || len(key) != 32 {
		return false, nil
	}
	s.mu.Lock()
	if n, ok := s.queued[[32]byte(key)]; ok {
		s.mu.Unlock()
		return n == size, nil
	}
	idx := s.index
	s.lookups++
	many := s.lookups > s3HeadLookups
	s.mu.Unlock()
	if idx == nil && many {
		if idx, err = s.listObjects(ctx); err != nil {
			return false, err
		}
	}
	if idx != nil {
		s.mu.Lock()
		n, ok := idx[[32]byte(key)]
		s.mu.Unlock()
		return ok && n == size, nil
	}
	n, err := s.stat(ctx, objectName(h))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return n == size, nil
}

// listObjects lists PREFIX/objects/ into the index.
func (s *s3Repo) listObjects(ctx context.Context) (map[[32]byte]int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idx := map[[32]byte]int64{}
	dir := s.prefix + "objects/"
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s/objects/: %w", s, o.Err)
		}
		rest := strings.TrimPrefix(o.Key, dir)
		if len(rest) != 67 || rest[2] != '/' || rest[:2] != rest[3:5] || !validHash(rest[3:]) {
			continue
		}
		k, _ := hex.DecodeString(rest[3:])
		idx[[32]byte(k)] = o.Size
	}
	s.mu.Lock()
	s.index = idx
	s.mu.Unlock()
	return idx, nil
}

func (s *s3Repo) putObject(ctx context.Context, r io.Reader) (string, int64, bool, error) {
	if err := s.failed(); err != nil {
		return "", 0, false, err
	}
	f, err := os.CreateTemp(s.tmp, "roost-backup-obj-")
	if err != nil {
		return "", 0, false, fmt.Errorf("S3 upload temp file: %w", err)
	}
	queued := false
	defer func() {
		if !queued {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return "", 0, false, fmt.Errorf("copy content: %w", err)
	}
	sum := h.Sum(nil)
	hs := hex.EncodeToString(sum)
	if ok, err := s.hasObject(ctx, hs, n); err != nil {
		return "", 0, false, err
	} else if ok {
		return hs, n, false, nil
	}
	s.mu.Lock()
	if s.queued == nil {
		s.queued = map[[32]byte]int64{}
	}
	s.queued[[32]byte(sum)] = n
	if s.uploads == nil {
		s.uploads = make(chan s3Upload, s3Queue)
		for range s3Uploaders {
			s.workers.Add(1)
			go s.uploader(s.uploads)
		}
	}
	ch := s.uploads
	s.mu.Unlock()
	s.pending.Add(1)
	select {
	case ch <- s3Upload{ctx: ctx, f: f, size: n, sum: sum}:
		queued = true
	case <-ctx.Done():
		s.pending.Done()
		return "", 0, false, ctx.Err()
	}
	return hs, n, true, nil
}

// uploader PUTs the spooled objects it is handed, until close.
func (s *s3Repo) uploader(ch <-chan s3Upload) {
	defer s.workers.Done()
	for u := range ch {
		if s.failed() == nil {
			err := s.upload(u.ctx, objectName(hex.EncodeToString(u.sum)), u.f, u.size, u.sum)
			s.mu.Lock()
			if err != nil && s.upErr == nil {
				s.upErr = err
			}
			if err == nil && s.index != nil {
				s.index[[32]byte(u.sum)] = u.size
			}
			s.mu.Unlock()
		}
		u.f.Close()
		os.Remove(u.f.Name())
		s.pending.Done()
	}
}

func (s *s3Repo) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upErr
}

// flush waits for the uploads queued so far: they are stored, or the
// first failure is returned.
func (s *s3Repo) flush(context.Context) error {
	s.pending.Wait()
	return s.failed()
}

func (s *s3Repo) readers() int { return s3Uploaders }

// close waits for the uploads and stops the uploaders.
func (s *s3Repo) close() error {
	s.pending.Wait()
	s.mu.Lock()
	ch := s.uploads
	s.uploads = nil
	s.mu.Unlock()
	if ch != nil {
		close(ch)
		s.workers.Wait()
	}
	return s.failed()
}
