// Package backup is Roost's brick-level backup and restore (kopano-backup's
// job, SPEC §4.12): per store, the folders (with UIDVALIDITY, special-use
// role, the owner's subscriptions, properties and ACLs), the items (flags,
// keywords, internal dates, object index, content), the store's settings
// (Sieve scripts, out-of-office, METADATA) and the deleted-but-not-purged
// items, written to a directory or to a key prefix of an S3 bucket
// (s3://BUCKET/PREFIX, repo_s3.go), under the same names:
//
//	DIR/objects/ab/<sha256>          content, named by its SHA-256 (stored once)
//	DIR/runs/000001/manifest.json    one per run: the stores, their journal
//	DIR/runs/000001/manifest.sha256  positions and their files' checksums
//	DIR/runs/000001/<n>.jsonl        one per store: records, one a line
//
// Invariants:
//   - An object is written (and fsynced) before any file that names it, and
//     a run's manifest is written last, by rename (on S3: by the last PUT,
//     each PUT whole or not at all): a run without a manifest
//     never happened, and every object a valid manifest's files name exists
//     unless it was damaged afterwards (Verify finds it).
//   - A store's records in a run are complete (Parent 0, a full backup) or
//     hold only what changed after the parent run's journal position,
//     items that changed and ids of items that are gone; folders, ACLs and
//     settings are always complete (they are small).
//   - Objects are never rewritten: content with a known hash costs no read
//     of the server's content and no write.
//   - Everything is read and written through store.Mail acting as the
//     store's owner, so tenancy, access rights, quota and the change
//     journal apply to a restore as to any client.
package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FormatVersion names the layout in every manifest.
const FormatVersion = "roost-backup/1"

// ErrDamaged marks a backup that fails its checks (a missing, truncated or
// corrupted object, a bad manifest or store file).
var ErrDamaged = errors.New("backup damaged")

// Manifest describes one run.
type Manifest struct {
	Format   string       `json:"format"`
	Run      int          `json:"run"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Stores   []StoreEntry `json:"stores"`
	// Objects and ObjectBytes count the objects this run wrote.
	Objects     int64 `json:"objects_written"`
	ObjectBytes int64 `json:"object_bytes_written"`
}

// StoreEntry is one store of a run.
type StoreEntry struct {
	Login   string `json:"login"`
	Tenant  string `json:"tenant"`
	StoreID int64  `json:"store_id"`
	// Seq is the store's change journal position the records reflect:
	// every change up to Seq is in them (later ones may be too).
	Seq uint64 `json:"seq"`
	// Parent is the run this one's records add to (0: a full backup).
	Parent int    `json:"parent"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Items counts the item records in File; Folders the folder records.
	Items   int `json:"items"`
	Folders int `json:"folders"`
}

// Record is one line of a store file. T says which fields are set.
type Record struct {
	T string `json:"t"` // "folder", "item", "gone", "props"

	// folder
	ID          int64             `json:"id,omitempty"`
	Parent      int64             `json:"parent,omitempty"`
	Name        string            `json:"name,omitempty"`
	Type        string            `json:"type,omitempty"`
	Special     string            `json:"special,omitempty"`
	UIDValidity uint32            `json:"uidvalidity,omitempty"`
	Subscribed  bool              `json:"subscribed,omitempty"`
	ACL         []ACL             `json:"acl,omitempty"`
	Props       map[string]string `json:"props,omitempty"` // folder or (T "props") store properties

	// item (ID is the item id, Folder its folder's id)
	Folder       int64     `json:"folder,omitempty"`
	UID          uint32    `json:"uid,omitempty"`
	Flags        []string  `json:"flags,omitempty"`
	InternalDate time.Time `json:"date,omitzero"`
	Size         int64     `json:"size,omitempty"`
	Hash         string    `json:"hash,omitempty"`
	ObjectName   string    `json:"object_name,omitempty"`
	ObjectUID    string    `json:"object_uid,omitempty"`
	Start        time.Time `json:"start,omitzero"`
	End          time.Time `json:"end,omitzero"`

	// folder and item
	Deleted   bool      `json:"deleted,omitempty"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

// ACL is a folder ACL entry.
type ACL struct {
	Subject string `json:"subject"`
	Rights  string `json:"rights"`
}

// Limits on what a backup directory may hold, so that a damaged or hostile
// one cannot make a restore read without end.
const (
	maxManifest   = 64 << 20
	maxRecordLine = 4 << 20
	maxRuns       = 1 << 20
)

// validHash reports whether h is a lowercase hex SHA-256.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}

// listRuns returns the run numbers present in r, ascending (with or
// without a manifest).
func listRuns(ctx context.Context, r repo) ([]int, error) {
	names, err := r.runNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, name := range names {
		n, err := strconv.Atoi(name)
		if err != nil || n <= 0 || n > maxRuns || name != fmt.Sprintf("%06d", n) {
			continue
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

// hasManifest reports whether run has a manifest file at all (a run
// without one was interrupted and never counted).
func hasManifest(ctx context.Context, r repo, run int) (bool, error) {
	_, err := r.stat(ctx, runName(run)+"/manifest.json")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// readManifest reads and checks a run's manifest against its checksum.
func readManifest(ctx context.Context, r repo, run int) (*Manifest, error) {
	rd := runName(run)
	data, err := readBounded(ctx, r, rd+"/manifest.json", maxManifest)
	if err != nil {
		return nil, fmt.Errorf("run %d: manifest: %w: %w", run, ErrDamaged, err)
	}
	sum, err := readBounded(ctx, r, rd+"/manifest.sha256", 1024)
	if err != nil {
		return nil, fmt.Errorf("run %d: manifest checksum: %w: %w", run, ErrDamaged, err)
	}
	got := sha256.Sum256(data)
	if strings.TrimSpace(string(sum)) != hex.EncodeToString(got[:]) {
		return nil, fmt.Errorf("run %d: manifest.json does not match manifest.sha256: %w", run, ErrDamaged)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("run %d: manifest: %w: %w", run, ErrDamaged, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("run %d: manifest format %q, want %q: %w", run, m.Format, FormatVersion, ErrDamaged)
	}
	if m.Run != run {
		return nil, fmt.Errorf("run %d: manifest says run %d: %w", run, m.Run, ErrDamaged)
	}
	for _, s := range m.Stores {
		if s.File == "" || s.File != filepath.Base(s.File) || strings.HasPrefix(s.File, ".") || !validHash(s.SHA256) {
			return nil, fmt.Errorf("run %d: store %q: bad file entry: %w", run, s.Login, ErrDamaged)
		}
		if s.Parent < 0 || s.Parent >= run {
			return nil, fmt.Errorf("run %d: store %q: parent run %d: %w", run, s.Login, s.Parent, ErrDamaged)
		}
	}
	return &m, nil
}

func readBounded(ctx context.Context, r repo, path string, limit int64) ([]byte, error) {
	f, err := r.open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// readStoreFile reads a store's records, checking the file's checksum
// and size against the manifest entry.
func readStoreFile(ctx context.Context, r repo, run int, e StoreEntry) ([]Record, error) {
	f, err := r.open(ctx, runName(run)+"/"+e.File)
	if err != nil {
		return nil, fmt.Errorf("run %d: store %q: %w: %w", run, e.Login, ErrDamaged, err)
	}
	defer f.Close()
	h := sha256.New()
	var n int64
	br := bufio.NewReaderSize(io.TeeReader(f, h), 64<<10)
	var out []Record
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line (a large Sieve script): collect it.
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(buf) <= maxRecordLine {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			if len(buf) > maxRecordLine {
				return nil, fmt.Errorf("run %d: store %q: a record longer than %d bytes: %w", run, e.Login, maxRecordLine, ErrDamaged)
			}
			line = buf
		}
		n += int64(len(line))
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				return nil, fmt.Errorf("run %d: store %q: %s is truncated: %w", run, e.Login, e.File, ErrDamaged)
			}
			var r Record
			if err := json.Unmarshal(line, &r); err != nil {
				return nil, fmt.Errorf("run %d: store %q: record %d: %w: %w", run, e.Login, len(out)+1, ErrDamaged, err)
			}
			if r.T == "item" && !validHash(r.Hash) {
				return nil, fmt.Errorf("run %d: store %q: item %d has no valid content hash: %w", run, e.Login, r.ID, ErrDamaged)
			}
			out = append(out, r)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("run %d: store %q: %w", run, e.Login, err)
		}
	}
	if n != e.Size || hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
		return nil, fmt.Errorf("run %d: store %q: %s does not match its checksum in the manifest (%d bytes, manifest says %d): %w",
			run, e.Login, e.File, n, e.Size, ErrDamaged)
	}
	return out, nil
}

// checkObject reads an object whole and checks its size and hash.
func checkObject(ctx context.Context, r repo, h string, size int64) error {
	f, err := r.open(ctx, objectName(h))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("object %s is missing: %w", h, ErrDamaged)
	}
	if err != nil {
		return fmt.Errorf("object %s: %w", h, err)
	}
	defer f.Close()
	sum := sha256.New()
	n, err := io.Copy(sum, f)
	if err != nil {
		return fmt.Errorf("object %s: %w", h, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("object %s is truncated or padded: %d bytes, want %d: %w", h, n, size, ErrDamaged)
	}
	if hex.EncodeToString(sum.Sum(nil)) != h {
		return fmt.Errorf("object %s is corrupted: its content does not match its hash: %w", h, ErrDamaged)
	}
	return nil
}

// checkAll checks the objects (hash → size) with checkObject, r.readers()
// at a time, and calls done for each from the calling goroutine; done
// returning false stops the check. The error is the context's.
func checkAll(parent context.Context, r repo, objects map[string]int64, done func(h string, size int64, err error) bool) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	type result struct {
		h    string
		size int64
		err  error
	}
	jobs := make(chan string)
	results := make(chan result)
	n := max(1, r.readers())
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range jobs {
				size := objects[h]
				err := checkObject(ctx, r, h, size)
				select {
				case results <- result{h, size, err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for h := range objects {
			select {
			case jobs <- h:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	for res := range results {
		if !done(res.h, res.size, res.err) {
			cancel()
			break
		}
	}
	// Drain, so that the workers end before the objects map is reused.
	for range results {
	}
	return parent.Err()
}

// chain returns a store's records as of run: the full run's, then each
// later incremental's applied in order (a later record of an item
// replaces an earlier one, "gone" removes it; folders and properties come
// from run itself).
type state struct {
	Entry   StoreEntry
	Run     int
	Folders []Record
	Props   map[string]string
	Items   map[int64]Record
}

// loadStore rebuilds the state of login's store at the latest run that
// holds it (or at run, when > 0).
func loadStore(ctx context.Context, r repo, login string, run int) (*state, error) {
	runs, err := listRuns(ctx, r)
	if err != nil {
		return nil, err
	}
	latest := 0
	var m *Manifest
	manifests := 0
	for i := len(runs) - 1; i >= 0; i-- {
		if run > 0 && runs[i] != run {
			continue
		}
		if ok, err := hasManifest(ctx, r, runs[i]); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		manifests++
		mm, err := readManifest(ctx, r, runs[i])
		if err != nil {
			return nil, err
		}
		if _, ok := findStore(mm, login); ok {
			latest, m = runs[i], mm
			break
		}
	}
	if m == nil && manifests == 0 && run == 0 {
		return nil, fmt.Errorf("%s holds no backup (no backup run with a manifest): give the --to location of roost backup", r)
	}
	if m == nil {
		return nil, fmt.Errorf("the backup in %s holds no store of %q", r, login)
	}
	// Walk back to the full run.
	type step struct {
		run int
		e   StoreEntry
	}
	var steps []step
	cur, curM := latest, m
	for {
		e, _ := findStore(curM, login)
		steps = append(steps, step{cur, e})
		if e.Parent == 0 {
			break
		}
		pm, err := readManifest(ctx, r, e.Parent)
		if err != nil {
			return nil, fmt.Errorf("store %q: the run %d it builds on: %w", login, e.Parent, err)
		}
		pe, ok := findStore(pm, login)
		if !ok || pe.StoreID != e.StoreID {
			return nil, fmt.Errorf("store %q: run %d builds on run %d, which does not hold it: %w", login, cur, e.Parent, ErrDamaged)
		}
		cur, curM = e.Parent, pm
	}
	st := &state{Entry: steps[0].e, Run: latest, Items: map[int64]Record{}}
	for i := len(steps) - 1; i >= 0; i-- {
		recs, err := readStoreFile(ctx, r, steps[i].run, steps[i].e)
		if err != nil {
			return nil, err
		}
		last := i == 0
		for _, rec := range recs {
			switch rec.T {
			case "item":
				st.Items[rec.ID] = rec
			case "gone":
				delete(st.Items, rec.ID)
			case "folder":
				if last {
					st.Folders = append(st.Folders, rec)
				}
			case "props":
				if last {
					st.Props = rec.Props
				}
			}
		}
	}
	return st, nil
}

func findStore(m *Manifest, login string) (StoreEntry, bool) {
	for _, s := range m.Stores {
		if s.Login == login {
			return s, true
		}
	}
	return StoreEntry{}, false
}
