// Package fs stores blobs as files in a local directory.
//
// Layout, under the store's root directory:
//
//	<root>/ab/cd/abcd…    a blob, named by its full 64-hex-digit ID and fanned
//	                      out by the ID's first two and next two hex digits
//	<root>/tmp/put-*      uploads in progress (Put, or Stage until Commit or
//	                      Discard); renamed into place when committed
//
// Invariants:
//   - A file under a fan-out directory is complete: Put writes to tmp/,
//     fsyncs, and only then renames into place, so a reader never sees a
//     partial blob under its final name.
//   - Put returns only after the file, its directory entry and any fan-out
//     directory it created are fsynced. Stage writes the temp file without
//     an fsync; Commit then does what Put does, and for content stored
//     already only touches the existing file (no fsync).
//   - A Put of content that is already stored keeps the existing file and
//     sets its modification time to now, so a concurrent garbage sweep that
//     spares recent files does not delete a blob a caller is about to
//     reference.
//   - Delete removes only the blob's file; fan-out directories stay.
//   - Temp files older than an hour are left over from a crash and are
//     removed by New.
//   - IDs are checked with blob.Valid before any path is built from them.
//
// Blob files are created with mode 0600 and directories with 0700: message
// content is private to the server's user.
package fs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/blob"
)

const (
	tmpDir = "tmp"
	// staleTemp is the age past which New treats a temp file as left over
	// from a crash rather than as an upload in progress in another process.
	staleTemp = time.Hour
	chunkSize = 64 << 10
)

// Store is a blob.Store on the local file system. It is safe for concurrent
// use, also by several processes sharing one directory.
type Store struct {
	dir string
	tmp string

	// durable holds fan-out directories known to exist with their entry in
	// the parent fsynced, so Put does not fsync the parents on every call.
	durable sync.Map // string → struct{}
}

var _ blob.Store = (*Store)(nil)

var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// New opens the store rooted at dir, creating it if needed, and removes temp
// files older than an hour.
func New(dir string) (*Store, error) {
	s := &Store{dir: dir, tmp: filepath.Join(dir, tmpDir)}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	if err := s.removeStaleTemps(time.Now().Add(-staleTemp)); err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	return s, nil
}

func (s *Store) removeStaleTemps(before time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // finished or removed meanwhile
		}
		if err != nil {
			return err
		}
		if info.ModTime().Before(before) {
			if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove stale temp: %w", err)
			}
		}
	}
	return nil
}

// path returns the file name of a valid ID.
func (s *Store) path(id blob.ID) string {
	return filepath.Join(s.dir, string(id[0:2]), string(id[2:4]), string(id))
}

func checkID(id blob.ID) error {
	if !blob.Valid(string(id)) {
		return fmt.Errorf("blob %q: %w", id, blob.ErrInvalidID)
	}
	return nil
}

// Put implements blob.Store. The context is checked between chunks read from
// r; a Read that blocks is not interrupted.
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

// Stage implements blob.Store: the content is written to a temp file and
// hashed, but not fsynced until Commit.
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
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return nil, err
	}
	st := &staged{s: s, f: f, tmp: f.Name()}
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
	st.id = blob.ID(hex.EncodeToString(h.Sum(nil)))
	ok = true
	return st, nil
}

// staged is a temp file holding content that Commit moves into place.
type staged struct {
	s    *Store
	f    *os.File // nil once closed
	tmp  string   // "" once committed or discarded
	id   blob.ID
	size int64
}

func (st *staged) ID() blob.ID { return st.id }
func (st *staged) Size() int64 { return st.size }

// Discard implements blob.Staged.
func (st *staged) Discard() {
	if st.f != nil {
		st.f.Close()
		st.f = nil
	}
	if st.tmp != "" {
		os.Remove(st.tmp)
		st.tmp = ""
	}
}

// Commit implements blob.Staged. Content that is stored already keeps its
// file: the temp file is dropped without an fsync.
func (st *staged) Commit(ctx context.Context) error {
	if st.tmp == "" {
		return fmt.Errorf("blob %s: commit after discard", st.id)
	}
	// Last chance to give up: past this point the blob becomes visible.
	if err := ctx.Err(); err != nil {
		return err
	}
	final := st.s.path(st.id)
	// Dedupe. Touching the existing file tells a garbage sweep it is in use.
	now := time.Now()
	if err := os.Chtimes(final, now, now); err == nil {
		st.Discard()
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", st.id, err)
	}
	if err := st.f.Sync(); err != nil {
		return fmt.Errorf("blob %s: %w", st.id, err)
	}
	err := st.f.Close()
	st.f = nil
	if err != nil {
		return fmt.Errorf("blob %s: %w", st.id, err)
	}
	if err := st.s.commit(st.tmp, final); err != nil {
		return fmt.Errorf("blob %s: %w", st.id, err)
	}
	st.tmp = ""
	return nil
}

// commit renames the complete temp file to final and makes the rename
// durable.
func (s *Store) commit(tmp, final string) error {
	d2 := filepath.Dir(final)
	d1 := filepath.Dir(d2)
	for attempt := 0; ; attempt++ {
		if err := s.mkdirDurable(d1); err != nil {
			return err
		}
		if err := s.mkdirDurable(d2); err != nil {
			return err
		}
		err := os.Rename(tmp, final)
		if err == nil {
			break
		}
		if attempt == 0 && errors.Is(err, os.ErrNotExist) {
			// A fan-out directory was removed behind our back (by an
			// operator, or a restore): forget it and create it again.
			s.durable.Delete(d1)
			s.durable.Delete(d2)
			continue
		}
		return err
	}
	return syncDir(d2)
}

// mkdirDurable makes sure dir exists and its entry in the parent directory
// is on disk. A directory that another goroutine or process is creating may
// not be fsynced yet, so the parent is fsynced whenever dir is not known to
// this Store, not only when this call created it.
func (s *Store) mkdirDurable(dir string) error {
	if _, ok := s.durable.Load(dir); ok {
		return nil
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	s.durable.Store(dir, struct{}{})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Open implements blob.Store. The returned value is an *os.File.
func (s *Store) Open(ctx context.Context, id blob.ID) (io.ReadCloser, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", id, err)
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", id, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", id, err)
	}
	return f, nil
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, id blob.ID) (int64, error) {
	if err := checkID(id); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", id, err)
	}
	info, err := os.Stat(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("stat blob %s: %w", id, blob.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", id, err)
	}
	return info.Size(), nil
}

// Delete implements blob.Store. It removes only the blob's file. The removal
// is not fsynced: a blob that reappears after a crash is garbage that the
// next sweep collects again.
func (s *Store) Delete(ctx context.Context, id blob.ID) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", id, err)
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", id, err)
	}
	return nil
}

// Walk implements blob.Store. It lists only regular files that are named by
// a valid ID and sit in that ID's fan-out directory; anything else (tmp/,
// lost+found, stray files) is skipped. An error from fn stops the walk and
// is returned as is.
func (s *Store) Walk(ctx context.Context, fn func(blob.ID) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	l1, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	for _, e1 := range l1 {
		if !e1.IsDir() || !fanout(e1.Name()) {
			continue
		}
		p1 := filepath.Join(s.dir, e1.Name())
		l2, err := readDir(p1)
		if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
		for _, e2 := range l2 {
			if !e2.IsDir() || !fanout(e2.Name()) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("walk blobs: %w", err)
			}
			prefix := e1.Name() + e2.Name()
			files, err := readDir(filepath.Join(p1, e2.Name()))
			if err != nil {
				return fmt.Errorf("walk blobs: %w", err)
			}
			for _, f := range files {
				name := f.Name()
				if !f.Type().IsRegular() || !blob.Valid(name) || name[:4] != prefix {
					continue
				}
				if err := fn(blob.ID(name)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readDir is os.ReadDir that treats a directory removed meanwhile as empty.
func readDir(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

// fanout reports whether name is a fan-out directory name: two lowercase hex
// digits.
func fanout(name string) bool {
	return len(name) == 2 && ishex(name[0]) && ishex(name[1])
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
}
