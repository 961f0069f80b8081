package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// repo is where a backup is kept: a directory, or a key prefix in an S3
// bucket (s3://BUCKET/PREFIX), holding the same layout under the same
// names (slash-separated, relative: "objects/ab/<sha256>",
// "runs/000001/manifest.json"). A directory copied into a bucket with any
// S3 tool is a valid S3 backup, and back.
type repo interface {
	// String names the location in messages.
	String() string
	// runNames returns the names of the entries under runs/, any order.
	runNames(ctx context.Context) ([]string, error)
	// stat returns the size of name; an error wrapping fs.ErrNotExist
	// when there is none.
	stat(ctx context.Context, name string) (int64, error)
	// open reads name; an error wrapping fs.ErrNotExist when there is
	// none.
	open(ctx context.Context, name string) (io.ReadCloser, error)
	// create writes name: what is written becomes visible, whole and
	// durable, only when commit returns (by rename, or one PUT).
	create(ctx context.Context, name string) (repoFile, error)
	// beginRun reserves run's number (a directory makes runs/NNNNNN; on
	// S3 the run's first file does).
	beginRun(ctx context.Context, run int) error
	// hasObject reports whether an object of hash h and size bytes is
	// stored.
	hasObject(ctx context.Context, h string, size int64) (bool, error)
	// putObject stores r's content as an object unless one of its hash
	// and size exists; it returns the hash, the size and whether it wrote.
	putObject(ctx context.Context, r io.Reader) (string, int64, bool, error)
	// flush makes the objects written so far durable (before a file
	// that names them is committed).
	flush(ctx context.Context) error
	// close ends the use of the repo (waits for background work).
	close() error
	// readers is how many objects are best read at once (a local disk:
	// one; an object store: several requests in flight).
	readers() int
}

// repoFile is a file being written; abort after commit is a no-op.
type repoFile interface {
	io.Writer
	commit(ctx context.Context) error
	abort()
}

// Location is where a backup is: a directory on the host that opens it,
// or s3://BUCKET/PREFIX with the settings to reach the object store.
type Location struct {
	Path string
	S3   S3Config
}

// IsS3 reports whether loc names an S3 location (s3://…).
func IsS3(loc string) bool { return strings.HasPrefix(loc, "s3://") }

// openRepo opens a location for reading, or for writing (a directory is
// then created if missing).
func openRepo(ctx context.Context, loc Location, write bool) (repo, error) {
	if IsS3(loc.Path) {
		return openS3Repo(ctx, loc.Path, loc.S3)
	}
	if loc.Path == "" {
		return nil, errors.New("no backup location given")
	}
	d := &dirRepo{dir: loc.Path}
	if write {
		if err := os.MkdirAll(filepath.Join(loc.Path, "objects"), 0o700); err != nil {
			return nil, fmt.Errorf("backup directory: %w", err)
		}
	}
	return d, nil
}

func runName(run int) string { return fmt.Sprintf("runs/%06d", run) }

// objectName is the name of the object holding content with hash h.
func objectName(h string) string { return "objects/" + h[:2] + "/" + h }

// dirRepo is a backup directory.
type dirRepo struct {
	dir      string
	unsynced []string        // objects written and not yet made durable
	dirs     map[string]bool // directories known to exist
}

func (d *dirRepo) String() string { return d.dir }

func (d *dirRepo) path(name string) string { return filepath.Join(d.dir, filepath.FromSlash(name)) }

func (d *dirRepo) runNames(context.Context) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(d.dir, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (d *dirRepo) stat(_ context.Context, name string) (int64, error) {
	fi, err := os.Stat(d.path(name))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (d *dirRepo) open(_ context.Context, name string) (io.ReadCloser, error) {
	return os.Open(d.path(name))
}

func (d *dirRepo) mkdir(dir string) error {
	if d.dirs[dir] {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if d.dirs == nil {
		d.dirs = map[string]bool{}
	}
	d.dirs[dir] = true
	return nil
}

func (d *dirRepo) beginRun(_ context.Context, run int) error {
	return d.mkdir(d.path(runName(run)))
}

// dirFile is written under a temporary name and renamed at commit.
type dirFile struct {
	*os.File
	final string
	done  bool
}

func (d *dirRepo) create(_ context.Context, name string) (repoFile, error) {
	p := d.path(name)
	if err := d.mkdir(filepath.Dir(p)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &dirFile{File: f, final: p}, nil
}

func (f *dirFile) commit(context.Context) error {
	if err := f.Sync(); err != nil {
		f.abort()
		return err
	}
	if err := f.Close(); err != nil {
		f.abort()
		return err
	}
	if err := os.Rename(f.Name(), f.final); err != nil {
		f.abort()
		return err
	}
	f.done = true
	return syncDir(filepath.Dir(f.final))
}

func (f *dirFile) abort() {
	if !f.done {
		f.Close()
		os.Remove(f.Name())
		f.done = true
	}
}

func (d *dirRepo) hasObject(_ context.Context, h string, size int64) (bool, error) {
	fi, err := os.Stat(d.path(objectName(h)))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Size() == size, nil
}

func (d *dirRepo) putObject(_ context.Context, r io.Reader) (string, int64, bool, error) {
	tmpDir := filepath.Join(d.dir, "objects", "tmp")
	if err := d.mkdir(tmpDir); err != nil {
		return "", 0, false, err
	}
	f, err := os.CreateTemp(tmpDir, "obj-")
	if err != nil {
		return "", 0, false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		f.Close()
		return "", 0, false, fmt.Errorf("copy content: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, false, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := d.path(objectName(sum))
	if fi, err := os.Stat(dst); err == nil && fi.Size() == n {
		return sum, n, false, nil
	}
	if err := d.mkdir(filepath.Dir(dst)); err != nil {
		return "", 0, false, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", 0, false, err
	}
	// Made durable together before the run's files name them (flush).
	d.unsynced = append(d.unsynced, dst)
	return sum, n, true, nil
}

func (d *dirRepo) close() error { return nil }

func (d *dirRepo) readers() int { return 1 }

// flush makes the objects written so far durable (syncObjects: one
// syncfs on Linux, else an fsync per file and directory).
func (d *dirRepo) flush(context.Context) error {
	if len(d.unsynced) == 0 {
		return nil
	}
	if err := syncObjects(d.dir, d.unsynced); err != nil {
		return fmt.Errorf("make objects durable: %w", err)
	}
	d.unsynced = d.unsynced[:0]
	return nil
}
