package mail

// The archiver (kopano-archiver): it copies the mail of users who have an
// archive store (store.Archives) into it, by age and size rules, keeping
// the folder hierarchy, flags and internal dates, and later replaces the
// originals by stubs or removes them.
//
// Invariants:
//   - Every copy is made by Store.ArchiveItems, which records it in the
//     same transaction: an item is archived once, however often the
//     archiver runs, and a run that was interrupted (context ended, the
//     process killed) is resumed by the next one, which finds the
//     records of what was done. The archive's folders are found by name
//     before one is created, so a rerun creates none twice.
//   - The archiver acts as the system principal: the only principal that
//     may write an archive store.
//   - Stubbing and removal act only on items with an archive record, so
//     no message leaves the user's store before its copy is committed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// ArchiveRules say what the archiver copies and what it does to the
// originals afterwards (config keys archive_*). Ages count from an item's
// internal date.
type ArchiveRules struct {
	After   time.Duration // archive items at least this old
	MinSize int64         // and at least this big (bytes)
	// Exclude lists special-use roles ("trash") or folder paths
	// ("Projects/Secret", "/"-separated from the top), without case; a
	// folder matching one is skipped with its subfolders.
	Exclude     []string
	StubAfter   time.Duration // replace archived originals by stubs; 0 never
	RemoveAfter time.Duration // delete archived originals; 0 never
}

// ArchiveProgress reports a run's progress: items examined of the items
// of the user's store.
type ArchiveProgress struct {
	Login    string `json:"login"`
	Users    int    `json:"users"`     // users done
	UsersAll int    `json:"users_all"` // users to do
	Items    int64  `json:"items"`     // items of this user examined
	ItemsAll int64  `json:"items_all"` // items of this user's store
}

// ArchiveStats count what a run did.
type ArchiveStats struct {
	Users    int   `json:"users"`
	Archived int   `json:"archived"`
	Bytes    int64 `json:"bytes"`
	Stubbed  int   `json:"stubbed"`
	Removed  int   `json:"removed"`
	Folders  int   `json:"folders_created"`
	// Moved counts copies moved after their originals (follow moves).
	Moved int `json:"moved"`
}

func (s *ArchiveStats) add(o ArchiveStats) {
	s.Users += o.Users
	s.Archived += o.Archived
	s.Bytes += o.Bytes
	s.Stubbed += o.Stubbed
	s.Removed += o.Removed
	s.Folders += o.Folders
	s.Moved += o.Moved
}

// ArchiveStore is what the archiver needs of the store.
type ArchiveStore interface {
	store.Archives
	UserStore(ctx context.Context, login string) (*store.Store, error)
	ListFolders(ctx context.Context, storeID int64) ([]*store.Folder, error)
	CreateFolder(ctx context.Context, storeID, parentID int64, name string, typ store.FolderType) (*store.Folder, error)
	ListItems(ctx context.Context, folderID int64, fromUID uint32, limit int) ([]store.ItemSummary, error)
	OpenItem(ctx context.Context, itemID int64) (io.ReadCloser, error)
	DeleteItems(ctx context.Context, folderID int64, uids []uint32) ([]uint32, error)
	MoveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error)
}

// Archiver runs archiving.
type Archiver struct {
	Store ArchiveStore
	Rules ArchiveRules
	Log   *slog.Logger
	// ArchiveName is how the user's archive is named to the user in
	// stubs ("Online Archive", as IMAP shows it).
	ArchiveName string
	// Nodes are the names of this node: RunAll archives the archive
	// stores whose node is "" or one of them.
	Nodes []string
	// OwnOnly leaves out of RunAll the archive stores with no node, which
	// the node holding the cluster's archive lease archives: every other
	// node archives only those recorded on one of its Nodes.
	OwnOnly bool
	Now     func() time.Time
}

// archiveBatch is how many items one ArchiveItems call copies: one
// transaction each, so an interrupted run loses at most one batch's work
// (which is rolled back, not half done).
const archiveBatch = 200

func (a *Archiver) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

func (a *Archiver) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// RunAll archives every user with an attached archive store on this node
// (node "" or one of Nodes). A user's failure is logged and the run goes
// on; the first error is returned at the end.
func (a *Archiver) RunAll(ctx context.Context, progress func(ArchiveProgress)) (ArchiveStats, error) {
	sys := store.SystemContext(ctx)
	archives, err := a.Store.ListArchives(sys, "")
	if err != nil {
		return ArchiveStats{}, fmt.Errorf("list archives: %w", err)
	}
	archives = slices.DeleteFunc(archives, func(s *store.Store) bool {
		if s.Node == "" {
			return a.OwnOnly
		}
		return !slices.Contains(a.Nodes, s.Node)
	})
	var total ArchiveStats
	var first error
	for i, s := range archives {
		st, err := a.runUser(sys, s.Owner, func(p ArchiveProgress) {
			if progress != nil {
				p.Users, p.UsersAll = i, len(archives)
				progress(p)
			}
		})
		total.add(st)
		if err != nil {
			if ctx.Err() != nil {
				return total, err
			}
			a.log().Error("archiving failed", "user", s.Owner, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return total, first
}

// RunUser archives one user's store. ErrNotFound when the user has no
// archive store.
func (a *Archiver) RunUser(ctx context.Context, login string, progress func(ArchiveProgress)) (ArchiveStats, error) {
	return a.runUser(store.SystemContext(ctx), login, func(p ArchiveProgress) {
		if progress != nil {
			p.UsersAll = 1
			progress(p)
		}
	})
}

// archiveTarget maps the folders of a user's store to the folders of its
// archive, creating them on first need.
type archiveTarget struct {
	a       *Archiver
	archive *store.Store
	folders folderList // of the archive store
	created int
}

// folder returns the archive folder for the path of names, creating the
// missing levels.
func (t *archiveTarget) folder(ctx context.Context, path []string) (*store.Folder, error) {
	var parent int64
	var cur *store.Folder
	for _, name := range path {
		cur = t.folders.child(parent, name)
		if cur == nil {
			f, err := t.a.Store.CreateFolder(ctx, t.archive.ID, parent, name, store.FolderMail)
			if errors.Is(err, store.ErrConflict) {
				// Made by a concurrent run: read the tree again.
				fs, lerr := t.a.Store.ListFolders(ctx, t.archive.ID)
				if lerr != nil {
					return nil, lerr
				}
				t.folders = fs
				if cur = t.folders.child(parent, name); cur == nil {
					return nil, err
				}
			} else if err != nil {
				return nil, fmt.Errorf("create archive folder %q: %w", strings.Join(path, "/"), err)
			} else {
				t.folders = append(t.folders, f)
				t.created++
				cur = f
			}
		}
		parent = cur.ID
	}
	return cur, nil
}

// folderIndex maps a store's folders by id.
type folderIndex map[int64]*store.Folder

func indexFolders(fl folderList) folderIndex {
	ix := folderIndex{}
	for _, f := range fl {
		ix[f.ID] = f
	}
	return ix
}

// path returns the names from the top of the store to f.
func (ix folderIndex) path(f *store.Folder) []string {
	var out []string
	for cur := f; cur != nil && len(out) <= 64; cur = ix[cur.ParentID] {
		out = append(out, cur.Name)
		if cur.ParentID == 0 {
			break
		}
	}
	slices.Reverse(out)
	return out
}

// excluded reports whether f or one of its ancestors matches a rule.
func (r ArchiveRules) excluded(ix folderIndex, f *store.Folder) bool {
	path := strings.ToLower(strings.Join(ix.path(f), "/"))
	for _, ex := range r.Exclude {
		ex = strings.ToLower(strings.Trim(ex, "/"))
		if path == ex || strings.HasPrefix(path, ex+"/") {
			return true
		}
		for cur, n := f, 0; cur != nil && n <= 64; cur, n = ix[cur.ParentID], n+1 {
			if cur.Special != "" && cur.Special == ex {
				return true
			}
			if cur.ParentID == 0 {
				break
			}
		}
	}
	return false
}

func (a *Archiver) runUser(ctx context.Context, login string, progress func(ArchiveProgress)) (st ArchiveStats, err error) {
	archive, err := a.Store.UserArchive(ctx, login)
	if err != nil {
		return st, fmt.Errorf("archive of %s: %w", login, err)
	}
	own, err := a.Store.UserStore(ctx, login)
	if err != nil {
		return st, fmt.Errorf("store of %s: %w", login, err)
	}
	fs, err := a.Store.ListFolders(ctx, own.ID)
	if err != nil {
		return st, fmt.Errorf("folders of %s: %w", login, err)
	}
	afs, err := a.Store.ListFolders(ctx, archive.ID)
	if err != nil {
		return st, fmt.Errorf("archive folders of %s: %w", login, err)
	}
	fl := folderList(fs)
	ix := indexFolders(fl)
	target := &archiveTarget{a: a, archive: archive, folders: afs}
	defer func() { st.Folders = target.created }()
	var work []*store.Folder
	prog := ArchiveProgress{Login: login}
	for _, f := range fl {
		if !f.Deleted && f.Type == store.FolderMail && !a.Rules.excluded(ix, f) {
			work = append(work, f)
			prog.ItemsAll += f.Messages
		}
	}
	progress(prog)
	now := a.now()
	for _, f := range work {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		base := prog.Items
		n, err := a.runFolder(ctx, &st, target, ix.path(f), f, now, func(done int64) {
			p := prog
			p.Items = base + done
			progress(p)
		})
		prog.Items = base + n
		progress(prog)
		if err != nil {
			return st, fmt.Errorf("folder %q of %s: %w", f.Name, login, err)
		}
	}
	if st.Moved, err = a.follow(ctx, own.ID, ix, target); err != nil {
		return st, fmt.Errorf("follow moves of %s: %w", login, err)
	}
	st.Users = 1
	a.log().Info("archived", "user", login, "archived", st.Archived, "bytes", st.Bytes, "stubbed", st.Stubbed, "removed", st.Removed, "moved", st.Moved)
	return st, nil
}

// runFolder archives, stubs and removes in one folder; it returns how
// many items it examined, and tells batch how far it is after each batch
// of copies (in items of the folder, approximately).
func (a *Archiver) runFolder(ctx context.Context, st *ArchiveStats, target *archiveTarget, path []string, f *store.Folder, now time.Time, batch func(done int64)) (int64, error) {
	items, err := a.Store.ListItems(ctx, f.ID, 0, 0)
	if err != nil {
		return 0, err
	}
	done, err := a.Store.ArchivedItems(ctx, f.ID)
	if err != nil {
		return 0, err
	}
	var todo []uint32
	size := map[uint32]int64{} // of the items to do, by UID
	for _, it := range items {
		if _, ok := done[it.ID]; ok {
			continue
		}
		if now.Sub(it.InternalDate) < a.Rules.After || it.Size < a.Rules.MinSize {
			continue
		}
		todo = append(todo, it.UID)
		size[it.UID] = it.Size
	}
	if len(todo) > 0 {
		dest, err := target.folder(ctx, path)
		if err != nil {
			return 0, err
		}
		for start := 0; start < len(todo); start += archiveBatch {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			end := min(start+archiveBatch, len(todo))
			m, err := a.Store.ArchiveItems(ctx, f.ID, todo[start:end], dest.ID)
			if err != nil {
				return 0, err
			}
			// Counted from what was copied: a concurrent run may
			// have taken some, and an interrupted run counts the
			// batches it committed.
			st.Archived += len(m)
			for _, u := range m {
				st.Bytes += size[u.From]
			}
			if end < len(todo) {
				batch(int64(len(items)) * int64(end) / int64(len(todo)))
			}
		}
		if done, err = a.Store.ArchivedItems(ctx, f.ID); err != nil {
			return 0, err
		}
	}
	if a.Rules.StubAfter <= 0 && a.Rules.RemoveAfter <= 0 {
		return int64(len(items)), nil
	}
	var remove []uint32
	for _, it := range items {
		rec, ok := done[it.ID]
		if !ok {
			continue
		}
		age := now.Sub(it.InternalDate)
		switch {
		case a.Rules.RemoveAfter > 0 && age >= a.Rules.RemoveAfter:
			remove = append(remove, it.UID)
		case a.Rules.StubAfter > 0 && age >= a.Rules.StubAfter && !rec.Stubbed:
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if err := a.stub(ctx, it.ID, path, now); err != nil {
				return 0, fmt.Errorf("stub item %d: %w", it.ID, err)
			}
			st.Stubbed++
		}
	}
	if len(remove) > 0 {
		gone, err := a.Store.RemoveArchived(ctx, f.ID, remove)
		if err != nil {
			return 0, fmt.Errorf("remove archived items: %w", err)
		}
		st.Removed += len(gone)
	}
	return int64(len(items)), nil
}

// DeletedFolderName is the archive folder that keeps the copies of
// messages the user deleted from the mailbox (kopano-archiver's
// "Deleted" folder): deleting a message does not delete its archived
// copy. A folder of that name at the top of the mailbox shares it.
const DeletedFolderName = "Deleted from mailbox"

// follow moves archived copies after their originals (kopano-archiver's
// "follow moves"): a copy whose original is now in another folder of the
// mailbox moves to the archive folder of that path (created if need be),
// and the copy of an original the user deleted moves to
// DeletedFolderName (and back when the original is restored). Copies of
// originals that the archiver itself removed by its removal rule stay
// where they are, as do those whose original was purged before a run
// saw it deleted. ix indexes the mailbox's folders as runUser listed
// them; an original in a folder made since waits for the next run.
func (a *Archiver) follow(ctx context.Context, storeID int64, ix folderIndex, target *archiveTarget) (int, error) {
	ps, err := a.Store.ArchivePlacements(ctx, storeID)
	if err != nil {
		return 0, fmt.Errorf("archive placements: %w", err)
	}
	type hop struct{ from, to int64 }
	var hops []hop
	uids := map[hop][]uint32{}
	aix := indexFolders(target.folders)
	for _, p := range ps {
		var want []string
		switch {
		case p.FolderID == 0 && p.Removed:
			continue
		case p.FolderID == 0:
			want = []string{DeletedFolderName}
		case ix[p.FolderID] != nil:
			want = ix.path(ix[p.FolderID])
		default:
			continue
		}
		cur := aix[p.ArchiveFolderID]
		if cur == nil {
			aix = indexFolders(target.folders) // made by this run
			if cur = aix[p.ArchiveFolderID]; cur == nil {
				continue
			}
		}
		if slices.Equal(aix.path(cur), want) {
			continue
		}
		dest, err := target.folder(ctx, want)
		if err != nil {
			return 0, err
		}
		h := hop{p.ArchiveFolderID, dest.ID}
		if _, ok := uids[h]; !ok {
			hops = append(hops, h)
		}
		uids[h] = append(uids[h], p.ArchiveUID)
	}
	moved := 0
	for _, h := range hops {
		u := uids[h]
		for start := 0; start < len(u); start += archiveBatch {
			if err := ctx.Err(); err != nil {
				return moved, err
			}
			m, err := a.Store.MoveItems(ctx, h.from, u[start:min(start+archiveBatch, len(u))], h.to)
			if err != nil {
				return moved, fmt.Errorf("move archived copies from folder %d to %d: %w", h.from, h.to, err)
			}
			moved += len(m)
		}
	}
	return moved, nil
}

// stub replaces an archived item by its stub.
func (a *Archiver) stub(ctx context.Context, itemID int64, path []string, now time.Time) error {
	rc, err := a.Store.OpenItem(ctx, itemID)
	if err != nil {
		return err
	}
	hdr, err := readHeader(rc, maxStubHeader)
	rc.Close()
	if err != nil {
		return err
	}
	name := a.ArchiveName
	if name == "" {
		name = "Online Archive"
	}
	_, err = a.Store.StubItem(ctx, itemID, bytes.NewReader(Stub(hdr, name+"/"+strings.Join(path, "/"), now)))
	return err
}

// maxStubHeader bounds the header a stub keeps: a message whose header
// is longer keeps its first maxStubHeader bytes, cut at a line end.
const maxStubHeader = 64 << 10

// readHeader reads a message's header section (with the line end of its
// last field, without the blank line that ends it), at most max bytes: a
// longer header is cut after its last whole line.
func readHeader(r io.Reader, max int) ([]byte, error) {
	buf, err := io.ReadAll(io.LimitReader(r, int64(max)))
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(buf, []byte("\r\n")) || bytes.HasPrefix(buf, []byte("\n")) {
		return nil, nil // no header at all
	}
	if i := bytes.Index(buf, []byte("\n\r\n")); i >= 0 {
		buf = buf[:i+1]
	}
	if i := bytes.Index(buf, []byte("\n\n")); i >= 0 {
		buf = buf[:i+1]
	}
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		return buf[:i+1], nil
	}
	return buf, nil
}

// contentFields are the header fields a stub replaces: it has its own
// body, so the original's MIME structure no longer describes it.
var contentFields = []string{"content-type", "content-transfer-encoding", "content-disposition", "mime-version", "content-length"}

// Stub builds the stub of a message from its header: every field but the
// MIME ones, then a text/plain body that names where the archived copy
// is. The result is a valid RFC 5322 message with CRLF line ends.
func Stub(header []byte, where string, archived time.Time) []byte {
	var b bytes.Buffer
	skip := false
	for line := range bytes.Lines(header) {
		line = bytes.ReplaceAll(bytes.TrimRight(line, "\r\n"), []byte("\r"), []byte(" "))
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !skip {
				b.Write(line)
				b.WriteString("\r\n")
			}
			continue
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			skip = true // not a field: dropped with its continuations
			continue
		}
		n := strings.ToLower(string(name))
		skip = slices.Contains(contentFields, n) || n == "x-roost-archived"
		if !skip {
			b.Write(line)
			b.WriteString("\r\n")
		}
	}
	where = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, where)
	fmt.Fprintf(&b, "X-Roost-Archived: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", archived.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "This message was archived on %s.\r\nThe whole message, with its attachments, is in your archive: %s\r\n",
		archived.UTC().Format("2 January 2006"), where)
	return b.Bytes()
}

// ArchiveNew archives items just stored in a folder of login's store
// (archive on delivery, archive on send), whatever their age. It does
// nothing when the user has no archive store. A failure is returned: the
// caller fails the delivery or the submission temporarily.
func (a *Archiver) ArchiveNew(ctx context.Context, login string, folderID int64, uids []uint32) error {
	ctx = store.SystemContext(ctx)
	archive, err := a.Store.UserArchive(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive of %s: %w", login, err)
	}
	own, err := a.Store.UserStore(ctx, login)
	if err != nil {
		return err
	}
	fs, err := a.Store.ListFolders(ctx, own.ID)
	if err != nil {
		return err
	}
	fl := folderList(fs)
	var f *store.Folder
	for _, x := range fl {
		if x.ID == folderID {
			f = x
		}
	}
	if f == nil {
		return fmt.Errorf("folder %d is not in the store of %s: %w", folderID, login, store.ErrNotFound)
	}
	afs, err := a.Store.ListFolders(ctx, archive.ID)
	if err != nil {
		return err
	}
	target := &archiveTarget{a: a, archive: archive, folders: afs}
	dest, err := target.folder(ctx, indexFolders(fl).path(f))
	if err != nil {
		return err
	}
	_, err = a.Store.ArchiveItems(ctx, folderID, uids, dest.ID)
	return err
}
