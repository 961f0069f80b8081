package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// RestoreOptions say what to restore and where.
type RestoreOptions struct {
	Dir string // the backup directory, or s3://BUCKET/PREFIX
	// S3 reaches the object store when Dir is an s3:// location.
	S3    S3Config
	Login string // whose store (the backup's and the target's)
	// Folder restores only this folder (a path such as "Projects/2026",
	// or a special-use role such as "inbox") and its subfolders; "" is
	// the whole store.
	Folder string
	// Since and Until restrict items to internal dates in [Since, Until);
	// zero is unbounded.
	Since, Until time.Time
	// Into restores into this folder (a path, created if missing) instead
	// of the original places: the restored folder, or each top-level
	// folder of the store, becomes a subfolder of it.
	Into     string
	Progress func(Progress)
}

// RestoreSummary counts what a restore did.
type RestoreSummary struct {
	Run            int      `json:"run"` // the backup run restored from
	Folders        int      `json:"folders"`
	FoldersCreated int      `json:"folders_created"`
	Items          int64    `json:"items"`   // items selected
	Created        int64    `json:"created"` // items stored
	Present        int64    `json:"present"` // already there (same content, folder and date)
	Conflicts      int64    `json:"conflicts"`
	Bytes          int64    `json:"bytes"`
	ACLs           int      `json:"acls"`
	Props          int      `json:"props"`
	Warnings       []string `json:"warnings,omitempty"`
}

const maxWarnings = 200

// Restore puts items, folders, ACLs and settings from the backup in
// opts.Dir back into the store of opts.Login, acting as its owner (so
// quota, rights and the change journal apply). It never changes or
// removes what the store holds: an item is stored unless the target
// folder already holds one with the same content and internal date (live
// or deleted), so restoring twice creates nothing twice and newer items
// stay; ACL entries and properties are added where the target has none
// of that subject or key. Before anything is written the backup is
// checked (manifests, store files, and every object to restore hashed);
// a damaged one is refused with ErrDamaged.
func Restore(ctx context.Context, b store.Backend, opts RestoreOptions) (*RestoreSummary, error) {
	r, err := openRepo(ctx, Location{Path: opts.Dir, S3: opts.S3}, false)
	if err != nil {
		return nil, err
	}
	defer r.close()
	st, err := loadStore(ctx, r, opts.Login, 0)
	if err != nil {
		return nil, err
	}
	sum := &RestoreSummary{Run: st.Run}
	warn := func(format string, a ...any) {
		if len(sum.Warnings) < maxWarnings {
			sum.Warnings = append(sum.Warnings, fmt.Sprintf(format, a...))
		}
	}
	// The backup's folders and their paths.
	byID := map[int64]*Record{}
	for i := range st.Folders {
		byID[st.Folders[i].ID] = &st.Folders[i]
	}
	path := func(id int64) []string {
		var out []string
		for n := 0; id != 0 && n < 100; n++ {
			f := byID[id]
			if f == nil {
				return nil
			}
			out = append([]string{f.Name}, out...)
			id = f.Parent
		}
		return out
	}
	// Selection.
	var root *Record
	if opts.Folder != "" {
		for i := range st.Folders {
			f := &st.Folders[i]
			if f.Deleted {
				continue
			}
			if strings.Join(path(f.ID), "/") == opts.Folder || (f.Special != "" && strings.EqualFold(f.Special, opts.Folder)) {
				root = f
				break
			}
		}
		if root == nil {
			return nil, fmt.Errorf("the backup's store of %s has no folder %q", opts.Login, opts.Folder)
		}
	}
	inTree := func(id int64) bool {
		if root == nil {
			return true
		}
		for n := 0; id != 0 && n < 100; n++ {
			if id == root.ID {
				return true
			}
			f := byID[id]
			if f == nil {
				return false
			}
			id = f.Parent
		}
		return false
	}
	var folders []*Record
	for i := range st.Folders {
		f := &st.Folders[i]
		if f.Deleted || !inTree(f.ID) {
			continue // deleted folders are kept in the backup, not restored
		}
		folders = append(folders, f)
	}
	// Parents before children.
	slices.SortFunc(folders, func(a, b *Record) int { return len(path(a.ID)) - len(path(b.ID)) })
	selected := map[int64][]Record{}
	for _, it := range st.Items {
		f := byID[it.Folder]
		if f == nil || f.Deleted || !inTree(it.Folder) {
			continue
		}
		if !opts.Since.IsZero() && it.InternalDate.Before(opts.Since) {
			continue
		}
		if !opts.Until.IsZero() && !it.InternalDate.Before(opts.Until) {
			continue
		}
		selected[it.Folder] = append(selected[it.Folder], it)
		sum.Items++
	}
	// Check every object to restore before writing anything.
	objects := map[string]int64{}
	for _, its := range selected {
		for _, it := range its {
			objects[it.Hash] = it.Size
		}
	}
	var damaged error
	if err := checkAll(ctx, r, objects, func(_ string, _ int64, err error) bool {
		damaged = err
		return err == nil
	}); err != nil {
		return nil, err
	}
	if damaged != nil {
		return nil, fmt.Errorf("refusing to restore from %s: %w", r, damaged)
	}

	octx, ts, _, err := openStore(ctx, b, opts.Login, true)
	if err != nil {
		return nil, fmt.Errorf("store of %s: %w", opts.Login, err)
	}
	t := &target{b: b, ctx: octx, storeID: ts.ID}
	if err := t.load(); err != nil {
		return nil, err
	}
	var intoID int64
	if opts.Into != "" {
		f, _, err := t.ensurePath(splitPath(opts.Into), store.FolderMail)
		if err != nil {
			return nil, fmt.Errorf("--into %q: %w", opts.Into, err)
		}
		intoID = f.ID
	}
	// Map each selected backup folder to a target folder.
	dest := map[int64]*store.Folder{}
	created := map[int64]bool{}
	for _, f := range folders {
		var tf *store.Folder
		var made bool
		switch {
		case root != nil && f.ID == root.ID && intoID != 0:
			tf = t.byID[intoID]
		case f.Special != "" && intoID == 0:
			tf = t.special[f.Special] // the target's own Inbox, Sent, …
		}
		if tf == nil {
			parentID := intoID
			if pf := dest[f.Parent]; pf != nil && (root == nil || f.ID != root.ID) {
				parentID = pf.ID
			} else if intoID == 0 && f.Parent != 0 && (root == nil || f.ID != root.ID) {
				// Its parent is not restored (deleted in the backup): the
				// folder goes to the top level, as RestoreFolder does.
				warn("folder %q restored at the top level: its parent is deleted in the backup", strings.Join(path(f.ID), "/"))
			} else if intoID == 0 && root != nil && f.ID == root.ID {
				// The folder's original place: its parents by path.
				pp := path(f.ID)
				if len(pp) > 1 {
					pf, _, err := t.ensurePath(pp[:len(pp)-1], store.FolderMail)
					if err != nil {
						return nil, err
					}
					parentID = pf.ID
				}
			}
			tf, made, err = t.ensureChild(parentID, f.Name, store.FolderType(f.Type))
			if err != nil {
				return nil, fmt.Errorf("folder %q: %w", strings.Join(path(f.ID), "/"), err)
			}
		}
		dest[f.ID] = tf
		sum.Folders++
		if made {
			created[f.ID] = true
			sum.FoldersCreated++
			if !f.Subscribed {
				if err := b.SetSubscribed(octx, tf.ID, false); err != nil {
					warn("folder %q: subscription: %v", tf.Name, err)
				}
			}
		}
	}
	// ACLs and properties once every folder exists (a folder created
	// under one with an ACL starts with a copy of it).
	for _, f := range folders {
		tf := dest[f.ID]
		have, err := b.GetACL(octx, tf.ID)
		if err != nil {
			return nil, fmt.Errorf("ACL of %q: %w", tf.Name, err)
		}
		if created[f.ID] {
			// A folder the restore made gets the backup's ACL exactly.
			for _, e := range have {
				if !slices.ContainsFunc(f.ACL, func(a ACL) bool { return a.Subject == e.Subject }) {
					if err := b.DeleteACL(octx, tf.ID, e.Subject); err != nil {
						return nil, fmt.Errorf("ACL of %q: %w", tf.Name, err)
					}
				}
			}
		}
		for _, a := range f.ACL {
			if i := slices.IndexFunc(have, func(e store.ACLEntry) bool { return e.Subject == a.Subject }); i >= 0 && (!created[f.ID] || have[i].Rights == a.Rights) {
				continue
			}
			if err := b.SetACL(octx, tf.ID, a.Subject, a.Rights); err != nil {
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
					warn("folder %q: ACL for %s not restored: %v", tf.Name, a.Subject, err)
					continue
				}
				return nil, fmt.Errorf("ACL of %q: %w", tf.Name, err)
			}
			sum.ACLs++
		}
		if len(f.Props) > 0 {
			have, err := b.FolderProps(octx, tf.ID)
			if err != nil {
				return nil, fmt.Errorf("properties of %q: %w", tf.Name, err)
			}
			set := map[string]*string{}
			for k, v := range f.Props {
				if _, ok := have[k]; ok || k == store.RecentProp {
					continue // the \Recent watermark names the old UIDs
				}
				set[k] = &v
			}
			if len(set) > 0 {
				if err := b.SetFolderProps(octx, tf.ID, set); err != nil {
					warn("folder %q: properties not restored: %v", tf.Name, err)
				} else {
					sum.Props += len(set)
				}
			}
		}
	}
	// Items, folder by folder, in their old UID order.
	prog := Progress{Login: opts.Login, ItemsAll: sum.Items, StoresAll: 1}
	last := time.Time{}
	for _, f := range folders {
		its := selected[f.ID]
		if len(its) == 0 {
			continue
		}
		tf := dest[f.ID]
		have, err := t.existing(tf.ID)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(its, func(a, b Record) int { return int(a.UID) - int(b.UID) })
		for _, it := range its {
			prog.Items++
			if tm := time.Now(); opts.Progress != nil && tm.Sub(last) >= 100*time.Millisecond {
				last = tm
				opts.Progress(prog)
			}
			// Each copy the folder holds answers one item of the backup:
			// two identical copies (an IMAP COPY into the same folder)
			// stay two.
			k := itemKey(it.Hash, it.InternalDate)
			if have[k] > 0 {
				have[k]--
				sum.Present++
				continue
			}
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			fh, err := r.open(ctx, objectName(it.Hash))
			if err != nil {
				return sum, fmt.Errorf("object %s: %w", it.Hash, err)
			}
			ni, err := b.AppendItem(octx, tf.ID, store.NewItem{Content: fh, Flags: it.Flags, InternalDate: it.InternalDate,
				Name: it.ObjectName, ObjectUID: it.ObjectUID, Start: it.Start, End: it.End})
			fh.Close()
			if errors.Is(err, store.ErrConflict) {
				// An object of that name exists (a newer version): kept.
				sum.Conflicts++
				warn("folder %q: %q kept as it is (an object of that name exists)", tf.Name, it.ObjectName)
				continue
			}
			if err != nil {
				return sum, fmt.Errorf("restore item %d into %q: %w", it.ID, tf.Name, err)
			}
			if string(ni.Blob) != it.Hash {
				return sum, fmt.Errorf("restore item %d: the store computed content hash %s, the backup says %s: %w", it.ID, ni.Blob, it.Hash, ErrDamaged)
			}
			sum.Created++
			sum.Bytes += ni.Size
			prog.Objects, prog.Bytes = sum.Created, sum.Bytes
			if it.Deleted {
				if _, err := b.DeleteItems(octx, tf.ID, []uint32{ni.UID}); err != nil {
					return sum, fmt.Errorf("mark restored item %d deleted: %w", it.ID, err)
				}
			}
		}
	}
	// The store's settings (Sieve scripts, out-of-office, …) on a whole
	// store restore: keys the store does not have.
	if root == nil && opts.Since.IsZero() && opts.Until.IsZero() && len(st.Props) > 0 {
		have, err := b.StoreProps(octx, ts.ID)
		if err != nil {
			return sum, fmt.Errorf("store properties: %w", err)
		}
		set := map[string]*string{}
		for k, v := range st.Props {
			if _, ok := have[k]; !ok {
				set[k] = &v
			}
		}
		if len(set) > 0 {
			if err := b.SetStoreProps(octx, ts.ID, set); err != nil {
				return sum, fmt.Errorf("store properties: %w", err)
			}
			sum.Props += len(set)
		}
	}
	prog.StoreDone, prog.Stores = true, 1
	if opts.Progress != nil {
		opts.Progress(prog)
	}
	return sum, nil
}

func itemKey(hash string, date time.Time) string {
	return fmt.Sprintf("%s/%d", hash, date.UnixMicro())
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// target is the store restored into.
type target struct {
	b       store.Backend
	ctx     context.Context
	storeID int64
	byID    map[int64]*store.Folder
	special map[string]*store.Folder
}

func (t *target) load() error {
	fs, err := t.b.ListFolders(t.ctx, t.storeID)
	if err != nil {
		return fmt.Errorf("list folders: %w", err)
	}
	t.byID = map[int64]*store.Folder{}
	t.special = map[string]*store.Folder{}
	for _, f := range fs {
		t.byID[f.ID] = f
		if f.Special != "" {
			t.special[f.Special] = f
		}
	}
	return nil
}

// ensureChild finds or creates the folder name under parentID.
func (t *target) ensureChild(parentID int64, name string, typ store.FolderType) (*store.Folder, bool, error) {
	for _, f := range t.byID {
		if f.ParentID == parentID && f.Name == name {
			return f, false, nil
		}
	}
	if typ == "" {
		typ = store.FolderMail
	}
	f, err := t.b.CreateFolder(t.ctx, t.storeID, parentID, name, typ)
	if err != nil {
		return nil, false, err
	}
	t.byID[f.ID] = f
	return f, true, nil
}

// ensurePath finds or creates the folders of a path.
func (t *target) ensurePath(p []string, typ store.FolderType) (*store.Folder, bool, error) {
	if len(p) == 0 {
		return nil, false, fmt.Errorf("empty folder path: %w", store.ErrInvalid)
	}
	var parent int64
	var f *store.Folder
	var made bool
	for _, name := range p {
		var err error
		f, made, err = t.ensureChild(parent, name, typ)
		if err != nil {
			return nil, false, err
		}
		parent = f.ID
	}
	return f, made, nil
}

// existing counts the items (live and deleted) of a folder by key.
func (t *target) existing(folderID int64) (map[string]int, error) {
	live, err := t.b.ListObjects(t.ctx, folderID, store.ObjectQuery{})
	if err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	del, err := t.b.ListDeletedItems(t.ctx, folderID)
	if err != nil {
		return nil, fmt.Errorf("list deleted items: %w", err)
	}
	out := make(map[string]int, len(live)+len(del))
	for _, it := range append(live, del...) {
		out[itemKey(string(it.Blob), it.InternalDate)]++
	}
	return out, nil
}
