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
	"os"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Options configure a backup run.
type Options struct {
	Dir string // the backup directory (created if missing), or s3://BUCKET/PREFIX
	// S3 reaches the object store when Dir is an s3:// location.
	S3     S3Config
	Logins []string // the stores of these users; none: every user's
	Tenant string   // with no Logins: only this tenant's users ("" every tenant)
	// Progress, when set, is told about the work as it goes (from the
	// calling goroutine).
	Progress func(Progress)
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Progress reports a backup's or a restore's advance.
type Progress struct {
	Login      string `json:"login"`
	Stores     int    `json:"stores"`     // stores done
	StoresAll  int    `json:"stores_all"` // stores to do
	Items      int64  `json:"items"`      // items of this store done
	ItemsAll   int64  `json:"items_all"`  // items of this store to do
	Bytes      int64  `json:"bytes"`      // content bytes read or written so far (all stores)
	Objects    int64  `json:"objects"`    // objects written (backup) or items created (restore)
	StoreDone  bool   `json:"store_done"` // this report ends a store
	Incomplete string `json:"incomplete,omitempty"`
}

// Summary is what a run did.
type Summary struct {
	Run         int           `json:"run"`
	Dir         string        `json:"dir"`
	Stores      []StoreEntry  `json:"stores"`
	Items       int64         `json:"items"`   // item records written
	Objects     int64         `json:"objects"` // objects written
	ObjectBytes int64         `json:"object_bytes"`
	Duration    time.Duration `json:"duration_ns"`
}

// Run takes a backup of the stores of opts.Logins (every user's when
// empty) into opts.Dir: incremental for each store the directory's latest
// run holds, full for the others. Consistency while the server runs:
// each store's journal position is read first, then its folders and
// items; changes made during the scan are then read from the journal and
// the folders they touch listed again, so the records hold every change
// up to the position recorded, and the next run starts there.
func Run(ctx context.Context, b store.Backend, opts Options) (*Summary, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	sys := store.SystemContext(ctx)
	logins := opts.Logins
	if len(logins) == 0 {
		tenants, err := b.ListTenants(sys)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		found := false
		for _, t := range tenants {
			if opts.Tenant != "" && t.Name != opts.Tenant {
				continue
			}
			found = true
			us, err := b.ListUsers(sys, t.Name)
			if err != nil {
				return nil, fmt.Errorf("list users of %s: %w", t.Name, err)
			}
			for _, u := range us {
				logins = append(logins, u.Login)
			}
			if t.PublicStoreID != 0 {
				logins = append(logins, PublicPrefix+t.Name)
			}
			archives, err := b.ListArchives(sys, t.Name)
			if err != nil {
				return nil, fmt.Errorf("list archive stores of %s: %w", t.Name, err)
			}
			for _, a := range archives {
				logins = append(logins, ArchivePrefix+a.Owner)
			}
		}
		if opts.Tenant != "" && !found {
			return nil, fmt.Errorf("tenant %q: %w", opts.Tenant, store.ErrNotFound)
		}
	} else if opts.Tenant != "" {
		return nil, fmt.Errorf("name users or a tenant, not both: %w", store.ErrInvalid)
	}
	r, err := openRepo(ctx, Location{Path: opts.Dir, S3: opts.S3}, true)
	if err != nil {
		return nil, err
	}
	defer r.close()
	runs, err := listRuns(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("backup location: %w", err)
	}
	// Each store's latest entry over the earlier runs: an incremental
	// builds on it. A damaged manifest stops the backup (a run would
	// build on what cannot be read back).
	type latest struct {
		e   StoreEntry
		run int
	}
	prev := map[string]latest{}
	for _, n := range runs {
		if ok, err := hasManifest(ctx, r, n); err != nil {
			return nil, fmt.Errorf("the backup in %s: %w", r, err)
		} else if !ok {
			continue
		}
		pm, err := readManifest(ctx, r, n)
		if err != nil {
			return nil, fmt.Errorf("the backup in %s: %w (take a full backup into a new location)", r, err)
		}
		for _, e := range pm.Stores {
			prev[e.Login] = latest{e, n}
		}
	}
	run := 1
	if len(runs) > 0 {
		run = runs[len(runs)-1] + 1
	}
	if err := r.beginRun(ctx, run); err != nil {
		return nil, fmt.Errorf("backup location: %w", err)
	}
	rd := runName(run)
	w := &writer{r: r, progress: opts.Progress}
	m := &Manifest{Format: FormatVersion, Run: run, Started: start.UTC()}
	sum := &Summary{Run: run, Dir: opts.Dir}
	for i, login := range logins {
		var base *StoreEntry
		var baseRun int
		if l, ok := prev[login]; ok {
			base, baseRun = &l.e, l.run
		}
		w.prog = Progress{Login: login, Stores: i, StoresAll: len(logins), Bytes: w.prog.Bytes, Objects: w.prog.Objects}
		e, err := w.backupStore(ctx, b, login, rd, i+1, base, baseRun)
		if err != nil {
			return nil, fmt.Errorf("store of %s: %w", login, err)
		}
		m.Stores = append(m.Stores, *e)
		sum.Items += int64(e.Items)
		w.prog.Stores, w.prog.StoreDone = i+1, true
		w.report()
		w.prog.StoreDone = false
	}
	m.Finished = now().UTC()
	m.Objects, m.ObjectBytes = w.objects, w.objectBytes
	if err := writeManifest(ctx, r, rd, m); err != nil {
		return nil, err
	}
	sum.Stores, sum.Objects, sum.ObjectBytes = m.Stores, w.objects, w.objectBytes
	sum.Duration = now().Sub(start)
	return sum, nil
}

func writeManifest(ctx context.Context, r repo, rd string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	h := sha256.Sum256(data)
	if err := writeRepoFile(ctx, r, rd+"/manifest.sha256", []byte(hex.EncodeToString(h[:])+"\n")); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	// The manifest last (by rename, or one PUT): the run counts once it
	// is there.
	if err := writeRepoFile(ctx, r, rd+"/manifest.json", data); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// writeRepoFile writes name whole and durably.
func writeRepoFile(ctx context.Context, r repo, name string, data []byte) error {
	f, err := r.create(ctx, name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.abort()
		return err
	}
	return f.commit(ctx)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writer writes one run's objects and store files.
type writer struct {
	r           repo
	progress    func(Progress)
	prog        Progress
	objects     int64
	objectBytes int64
	lastReport  time.Time
}

func (w *writer) report() {
	if w.progress != nil {
		w.progress(w.prog)
	}
}

// tick reports at most ten times a second.
func (w *writer) tick() {
	if t := time.Now(); t.Sub(w.lastReport) >= 100*time.Millisecond {
		w.lastReport = t
		w.report()
	}
}

// backupStore writes one store's records into rd/<n>.jsonl.
func (w *writer) backupStore(ctx context.Context, b store.Backend, login, rd string, n int, base *StoreEntry, baseRun int) (*StoreEntry, error) {
	octx, st, tenant, err := openStore(ctx, b, login, false)
	if err != nil {
		return nil, err
	}
	pos := st.ModSeq
	if base != nil && (base.StoreID != st.ID || base.Seq > pos) {
		// Another store now (the user deleted and made again), or a
		// journal behind the backup (the database was put back from an
		// older copy): a full backup, not one built on what is not there.
		base, baseRun = nil, 0
	}
	folders, err := listAllFolders(octx, b, st.ID)
	if err != nil {
		return nil, err
	}
	// Which folders to list: every one for a full backup; for an
	// incremental, those the journal names since the base's position.
	items := map[int64]Record{}
	touched := map[int64]bool{}
	changedItems := map[int64]int64{} // item id → the folder the journal last names
	full := base == nil
	if full {
		for id := range folders {
			touched[id] = true
		}
	} else {
		if err := journalSince(octx, b, st.ID, base.Seq, pos, touched, changedItems); err != nil {
			return nil, err
		}
	}
	var total int64
	for id := range touched {
		if f := folders[id]; f != nil {
			total += f.Messages
		}
	}
	if !full {
		total = int64(len(changedItems))
	}
	w.prog.ItemsAll = total
	// An incremental run looks only at the items the journal names: the
	// others are in the base already.
	var only map[int64]int64
	if !full {
		only = changedItems
	}
	if !full && len(changedItems) <= maxFetchChanged {
		// Few changes: read those items, not their folders' listings.
		if err := w.fetchChanged(octx, b, changedItems, items); err != nil {
			return nil, err
		}
	} else if err := w.listFolders(octx, b, folders, touched, items, only); err != nil {
		return nil, err
	}
	// Changes made while the folders were listed: list the folders they
	// touched again, so that an item moved from a folder not yet listed
	// into one listed before is not missed. The records then hold every
	// change up to the new position.
	for round := 0; round < 3; round++ {
		st2, err := b.GetStore(octx, st.ID)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if st2.ModSeq == pos {
			break
		}
		again := map[int64]bool{}
		if err := journalSince(octx, b, st.ID, pos, st2.ModSeq, again, changedItems); err != nil {
			return nil, err
		}
		if folders, err = listAllFolders(octx, b, st.ID); err != nil {
			return nil, err
		}
		for id := range again {
			touched[id] = true
		}
		if err := w.listFolders(octx, b, folders, again, items, only); err != nil {
			return nil, err
		}
		pos = st2.ModSeq
	}
	// Write the records, once the objects they name are durable.
	if err := w.r.flush(octx); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%d.jsonl", n)
	f, err := w.r.create(octx, rd+"/"+name)
	if err != nil {
		return nil, fmt.Errorf("store file: %w", err)
	}
	defer f.abort()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	bw := bufio.NewWriterSize(cw, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	e := &StoreEntry{Login: login, Tenant: tenant, StoreID: st.ID, Seq: pos, Parent: baseRun, File: name}
	ids := make([]int64, 0, len(folders))
	for id := range folders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fr, err := folderRecord(octx, b, folders[id])
		if err != nil {
			return nil, err
		}
		if err := enc.Encode(fr); err != nil {
			return nil, err
		}
		e.Folders++
	}
	props, err := b.StoreProps(octx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("store properties: %w", err)
	}
	if err := enc.Encode(Record{T: "props", Props: props}); err != nil {
		return nil, err
	}
	itemIDs := make([]int64, 0, len(items))
	for id := range items {
		// An incremental writes the items the journal names (those of a
		// touched folder that did not change are in the base already).
		if _, changed := changedItems[id]; full || changed {
			itemIDs = append(itemIDs, id)
		}
	}
	slices.Sort(itemIDs)
	for _, id := range itemIDs {
		if err := enc.Encode(items[id]); err != nil {
			return nil, err
		}
		e.Items++
	}
	if !full {
		// Items the journal names that no touched folder holds any more
		// (purged, or in a folder purged since).
		var gone []int64
		for id := range changedItems {
			if _, ok := items[id]; !ok {
				gone = append(gone, id)
			}
		}
		// Purges are not in the journal: items of the base that were
		// deleted and are no longer among the deleted ones, or whose
		// folder no longer exists, are gone too.
		purged, err := w.purgedSince(octx, b, login, baseRun, folders, changedItems)
		if err != nil {
			return nil, err
		}
		gone = append(gone, purged...)
		slices.Sort(gone)
		for _, id := range gone {
			if err := enc.Encode(Record{T: "gone", ID: id}); err != nil {
				return nil, err
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := f.commit(octx); err != nil {
		return nil, fmt.Errorf("store file: %w", err)
	}
	e.Size, e.SHA256 = cw.n, hex.EncodeToString(h.Sum(nil))
	return e, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// PublicPrefix names a tenant's public store where a login names a
// user's: "public:acme" (roost backup public:acme, roost restore … public:acme).
const PublicPrefix = "public:"

// ArchivePrefix names a user's archive store (store.Archives):
// "archive:alice" (roost backup archive:alice, roost restore …
// archive:alice). A backup of everything includes every attached archive.
const ArchivePrefix = "archive:"

// openStore opens the store login names and returns the context to act
// in: a user's private store as its owner (subscriptions and "/private/"
// properties are the owner's, and no right beyond the owner's is used), a
// tenant's public store ("public:TENANT") or a user's archive store
// ("archive:LOGIN", which only the system writes) as the system. For a
// restore (create), a tenant without a public store gets one, and a user
// without an archive store gets one attached.
func openStore(ctx context.Context, b store.Backend, login string, create bool) (context.Context, *store.Store, string, error) {
	sys := store.SystemContext(ctx)
	if name, ok := strings.CutPrefix(login, ArchivePrefix); ok {
		u, err := b.GetUser(sys, name)
		if err != nil {
			return nil, nil, "", err
		}
		st, err := b.UserArchive(sys, name)
		if errors.Is(err, store.ErrNotFound) && create {
			st, err = b.AttachArchive(sys, name, "")
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("archive store: %w", err)
		}
		return sys, st, u.Tenant, nil
	}
	if name, ok := strings.CutPrefix(login, PublicPrefix); ok {
		t, err := b.GetTenant(sys, name)
		if err != nil {
			return nil, nil, "", fmt.Errorf("tenant: %w", err)
		}
		if t.PublicStoreID == 0 {
			if !create {
				return nil, nil, "", fmt.Errorf("tenant %q has no public store: %w", name, store.ErrNotFound)
			}
			st, err := b.CreatePublicStore(sys, name)
			if err != nil {
				return nil, nil, "", fmt.Errorf("create the public store: %w", err)
			}
			return sys, st, name, nil
		}
		st, err := b.GetStore(sys, t.PublicStoreID)
		if err != nil {
			return nil, nil, "", fmt.Errorf("open the public store: %w", err)
		}
		return sys, st, name, nil
	}
	u, err := b.GetUser(sys, login)
	if err != nil {
		return nil, nil, "", err // already `user "LOGIN": not found`
	}
	p, err := b.Principal(sys, login)
	if err != nil {
		return nil, nil, "", fmt.Errorf("principal: %w", err)
	}
	octx := store.WithPrincipal(ctx, p)
	st, err := b.UserStore(octx, login)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open store: %w", err)
	}
	return octx, st, u.Tenant, nil
}

// listAllFolders returns a store's live and soft-deleted folders by id.
func listAllFolders(ctx context.Context, b store.Backend, storeID int64) (map[int64]*store.Folder, error) {
	live, err := b.ListFolders(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	del, err := b.ListDeletedFolders(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("list deleted folders: %w", err)
	}
	out := make(map[int64]*store.Folder, len(live)+len(del))
	for _, f := range append(live, del...) {
		out[f.ID] = f
	}
	return out, nil
}

// journalSince reads a store's journal in (since, until] and notes the
// folders and items it names.
func journalSince(ctx context.Context, b store.Backend, storeID int64, since, until uint64, folders map[int64]bool, items map[int64]int64) error {
	for since < until {
		cs, err := b.Changes(ctx, storeID, since, 10000)
		if err != nil {
			return fmt.Errorf("change journal: %w", err)
		}
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			if c.FolderID != 0 {
				folders[c.FolderID] = true
			}
			if c.ItemID != 0 {
				items[c.ItemID] = c.FolderID // the latest folder named
			}
			since = c.Seq
		}
	}
	return nil
}

// listFolders lists the items (live and soft-deleted) of the folders in
// which, storing their content, and records them in items (only those
// in only, unless it is nil).
func (w *writer) listFolders(ctx context.Context, b store.Backend, folders map[int64]*store.Folder, which map[int64]bool, items map[int64]Record, only map[int64]int64) error {
	ids := make([]int64, 0, len(which))
	for id := range which {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		f := folders[id]
		if f == nil {
			continue // purged since
		}
		// Items of this folder from an earlier pass: those no longer in
		// it moved (the pass over their new folder records them) or are
		// gone.
		for iid, r := range items {
			if r.Folder == id {
				delete(items, iid)
			}
		}
		var live []*store.Item
		var open store.ItemOpener
		var err error
		if !f.Deleted {
			// One access check for the folder's content, not one per item.
			open, err = b.OpenItems(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("open items of %q: %w", f.Name, err)
			}
			live, err = b.ListObjects(ctx, id, store.ObjectQuery{})
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted or purged meanwhile
			}
			if err != nil {
				return fmt.Errorf("list items of %q: %w", f.Name, err)
			}
		}
		del, err := b.ListDeletedItems(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("list deleted items of %q: %w", f.Name, err)
		}
		for _, it := range append(live, del...) {
			if _, ok := only[it.ID]; only != nil && !ok {
				continue
			}
			r, err := w.item(ctx, b, it, open)
			if err != nil {
				return err
			}
			if r == nil {
				continue
			}
			items[it.ID] = *r
			w.prog.Items++
			w.tick()
		}
	}
	return nil
}

// purgedSince returns the items of login's store as of baseRun that the
// purge removed since: deleted then and not among the deleted items now
// (a restored item is in the journal, so in changed), or in a folder that
// no longer exists.
func (w *writer) purgedSince(ctx context.Context, b store.Backend, login string, baseRun int, folders map[int64]*store.Folder, changed map[int64]int64) ([]int64, error) {
	base, err := loadStore(ctx, w.r, login, baseRun)
	if err != nil {
		return nil, fmt.Errorf("the run this one builds on: %w", err)
	}
	deleted := map[int64]bool{}
	full := map[int64]bool{} // folders whose deleted list may be cut
	for id := range folders {
		del, err := b.ListDeletedItems(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("deleted items of folder %d: %w", id, err)
		}
		for _, it := range del {
			deleted[it.ID] = true
		}
		if len(del) >= maxDeletedListed {
			full[id] = true
		}
	}
	var out []int64
	for id, r := range base.Items {
		if _, ok := changed[id]; ok {
			continue
		}
		if folders[r.Folder] == nil || (r.Deleted && !deleted[id] && !full[r.Folder]) {
			out = append(out, id)
		}
	}
	return out, nil
}

// maxDeletedListed is where store.Mail.ListDeletedItems cuts its list (the
// SQL backend's LIMIT): a folder with that many is not trusted to list
// every deleted item.
const maxDeletedListed = 10000

// maxFetchChanged is the most changed items an incremental run reads one
// by one; more, and it lists the folders they are in.
const maxFetchChanged = 5000

// fetchChanged records the items the journal named: live ones read by id,
// deleted ones from their folder's deleted items; those in neither are
// gone (purged).
func (w *writer) fetchChanged(ctx context.Context, b store.Backend, changed map[int64]int64, items map[int64]Record) error {
	ids := make([]int64, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	missing := map[int64]map[int64]bool{} // folder → item ids not live
	for _, id := range ids {
		it, err := b.GetItem(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			f := changed[id]
			if missing[f] == nil {
				missing[f] = map[int64]bool{}
			}
			missing[f][id] = true
			continue
		}
		if err != nil {
			return fmt.Errorf("item %d: %w", id, err)
		}
		r, err := w.item(ctx, b, it, nil)
		if err != nil {
			return err
		}
		if r != nil {
			items[id] = *r
		}
		w.prog.Items++
		w.tick()
	}
	for folderID, want := range missing {
		del, err := b.ListDeletedItems(ctx, folderID)
		if errors.Is(err, store.ErrNotFound) {
			continue // the folder is purged
		}
		if err != nil {
			return fmt.Errorf("deleted items of folder %d: %w", folderID, err)
		}
		for _, it := range del {
			if !want[it.ID] {
				continue
			}
			r, err := w.item(ctx, b, it, nil)
			if err != nil {
				return err
			}
			if r != nil {
				items[it.ID] = *r
			}
			w.prog.Items++
		}
	}
	return nil
}

// item stores an item's content unless an object with its hash exists,
// and returns its record (nil when the item vanished meanwhile).
func (w *writer) item(ctx context.Context, b store.Backend, it *store.Item, open store.ItemOpener) (*Record, error) {
	h := string(it.Blob)
	r := &Record{T: "item", ID: it.ID, Folder: it.FolderID, UID: it.UID, Flags: it.Flags, InternalDate: it.InternalDate.UTC(),
		Size: it.Size, Hash: h, ObjectName: it.Name, ObjectUID: it.ObjectUID, Start: it.Start.UTC(), End: it.End.UTC(),
		Deleted: it.Deleted, DeletedAt: it.DeletedAt.UTC()}
	if it.Start.IsZero() {
		r.Start = time.Time{}
	}
	if it.End.IsZero() {
		r.End = time.Time{}
	}
	if it.DeletedAt.IsZero() {
		r.DeletedAt = time.Time{}
	}
	if validHash(h) {
		if ok, err := w.r.hasObject(ctx, h, it.Size); err != nil {
			return nil, fmt.Errorf("backup object %s: %w", h, err)
		} else if ok {
			return r, nil
		}
	}
	var rc io.ReadCloser
	var err error
	switch {
	case it.Deleted:
		rc, err = openDeleted(ctx, b, it)
	case open != nil:
		rc, err = open(ctx, it.ID)
	default:
		rc, err = b.OpenItem(ctx, it.ID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", it.ID, err)
	}
	defer rc.Close()
	got, n, err := w.putObject(ctx, rc)
	if err != nil {
		return nil, fmt.Errorf("item %d: %w", it.ID, err)
	}
	r.Hash, r.Size = got, n
	return r, nil
}

// openDeleted reads a soft-deleted item's content.
func openDeleted(ctx context.Context, b store.Backend, it *store.Item) (io.ReadCloser, error) {
	return b.OpenDeletedItem(ctx, it.ID)
}

// putObject copies r into a new object (unless one with its hash exists)
// and returns the hash and size.
func (w *writer) putObject(ctx context.Context, r io.Reader) (string, int64, error) {
	sum, n, wrote, err := w.r.putObject(ctx, r)
	if err != nil {
		return "", 0, err
	}
	if wrote {
		w.objects++
		w.objectBytes += n
		w.prog.Objects, w.prog.Bytes = w.objects, w.prog.Bytes+n
	}
	return sum, n, nil
}

// folderRecord is a folder with its ACL and properties.
func folderRecord(ctx context.Context, b store.Backend, f *store.Folder) (Record, error) {
	r := Record{T: "folder", ID: f.ID, Parent: f.ParentID, Name: f.Name, Type: string(f.Type), Special: f.Special,
		UIDValidity: f.UIDValidity, Subscribed: f.Subscribed, Deleted: f.Deleted}
	if f.Deleted {
		r.DeletedAt = f.DeletedAt.UTC()
		return r, nil // a deleted folder's ACL and properties are not readable
	}
	acl, err := b.GetACL(ctx, f.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return r, fmt.Errorf("ACL of %q: %w", f.Name, err)
	}
	for _, a := range acl {
		r.ACL = append(r.ACL, ACL{Subject: a.Subject, Rights: a.Rights})
	}
	props, err := b.FolderProps(ctx, f.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return r, fmt.Errorf("properties of %q: %w", f.Name, err)
	}
	if len(props) > 0 {
		r.Props = props
	}
	return r, nil
}
