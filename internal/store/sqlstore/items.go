package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// maxUIDsPerCall bounds the UIDs one flag, delete, move or copy call takes.
const maxUIDsPerCall = 100000

// normFlags validates and sorts flags. System flags keep their case
// (\Seen); keywords are case-insensitive in IMAP and kept as given.
func normFlags(flags []string) ([]string, error) {
	if len(flags) > maxFlags {
		return nil, fmt.Errorf("at most %d flags: %w", maxFlags, store.ErrInvalid)
	}
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if f == "" || len(f) > maxFlagLen {
			return nil, fmt.Errorf("invalid flag %q: %w", f, store.ErrInvalid)
		}
		for i := 0; i < len(f); i++ {
			c := f[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"]`, c) >= 0 || (c == '\\' && i != 0) {
				return nil, fmt.Errorf("invalid flag %q: %w", f, store.ErrInvalid)
			}
		}
		if f[0] == '\\' {
			switch strings.ToLower(f) {
			case `\seen`:
				f = `\Seen`
			case `\answered`:
				f = `\Answered`
			case `\flagged`:
				f = `\Flagged`
			case `\deleted`:
				f = `\Deleted`
			case `\draft`:
				f = `\Draft`
			default:
				return nil, fmt.Errorf("unknown system flag %q: %w", f, store.ErrInvalid)
			}
		}
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, f) }) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

// flagRights returns the rights needed to set or clear flags (RFC 4314 §4).
func flagRights(flags []string) string {
	need := ""
	for _, f := range flags {
		switch f {
		case `\Seen`:
			need += "s"
		case `\Deleted`:
			need += "t"
		default:
			need += "w"
		}
	}
	return need
}

// effectiveQuota resolves the quota levels of a store's owner: the user's
// override, else the tenant's user default, else the global default.
func (t *tx) effectiveQuota(s *storeRow) (store.Quota, string, error) {
	switch {
	case s.OwnerID != 0 && s.userOverride:
		return s.userQuota, "user", nil
	case s.tenantQuota != (store.Quota{}):
		return s.tenantQuota, "tenant", nil
	}
	return t.d.getDefaults().Quota, "global", nil
}

// checkHardQuota refuses growing a store past its hard quota. Public
// stores count toward the tenant, which has only a warning level (Kopano).
// s was loaded after the store row was locked (lockFolders), so its size
// is current.
func (t *tx) checkHardQuota(s *storeRow, add int64) error {
	if s.Kind == store.StorePublic || add <= 0 {
		return nil
	}
	q, _, err := t.effectiveQuota(s)
	if err != nil {
		return err
	}
	if q.Hard > 0 && s.Size+add > q.Hard {
		return fmt.Errorf("store %d: %d bytes used, hard quota %d: %w", s.ID, s.Size, q.Hard, store.ErrOverQuota)
	}
	return nil
}

// inlineMax is the largest content kept in the database row of its blob
// instead of a file: a small message then costs no file system metadata
// operation and no fsync of its own, only its share of a group commit.
const inlineMax = 64 << 10

// content is an item's content, read far enough to know where it lives.
type content struct {
	id     blob.ID
	size   int64
	inline []byte // the whole content when size <= inlineMax
	// manifest and parts are set when the content was split into MIME
	// part blobs (parts.go).
	manifest []byte
	parts    []partRef
	// meta is the marshalled message summary to keep with the blob
	// (itemmeta.go), nil for none.
	meta []byte
}

// storeContent reads r: small content stays in memory for the database
// row; larger content is streamed to the blob store (durable on return).
func (d *DB) storeContent(ctx context.Context, r io.Reader) (content, error) {
	head := make([]byte, inlineMax+1)
	n, err := io.ReadFull(r, head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		sum := sha256.Sum256(head[:n])
		return content{id: blob.ID(hex.EncodeToString(sum[:])), size: int64(n), inline: head[:n:n]}, nil
	case err != nil:
		return content{}, fmt.Errorf("read content: %w", err)
	}
	return d.storeLarge(ctx, io.MultiReader(bytes.NewReader(head), r)) // content.go
}

// refNew adds a reference to content just read by storeContent. For a blob
// in the blob store it fails if a garbage sweep removed the file in the
// meantime (the caller's write then fails and nothing is acknowledged).
func (t *tx) refNew(c content) error {
	if c.manifest != nil {
		if err := t.refManifest(c); err != nil {
			return err
		}
		return t.setSummary(c.id, c.meta)
	}
	var data, meta any
	if c.inline != nil {
		data = c.inline
	}
	if c.meta != nil {
		meta = c.meta
	}
	var split bool
	if err := t.row(`INSERT INTO blobs (id, size, refs, data, meta) VALUES (?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET refs = blobs.refs + 1, zero_since = 0, meta = COALESCE(excluded.meta, blobs.meta) RETURNING (parts IS NOT NULL)`,
		string(c.id), c.size, data, meta).Scan(&split); err != nil {
		return fmt.Errorf("reference blob: %w", err)
	}
	if c.inline != nil {
		return nil
	}
	if split {
		// Stored before as MIME parts (parts.go): the file just written
		// again is not needed.
		t.after(func() { t.d.blobs.Delete(context.Background(), c.id) })
		return nil
	}
	if _, err := t.d.blobs.Stat(t.ctx, c.id); err != nil {
		return fmt.Errorf("blob %s vanished during the write, try again: %w", c.id, store.ErrConflict)
	}
	return nil
}

// refExisting adds a reference to a blob an item already uses (copies).
func (t *tx) refExisting(id blob.ID) error {
	var fileBacked bool
	err := t.row(`UPDATE blobs SET refs = refs + 1, zero_since = 0 WHERE id = ? RETURNING (data IS NULL)`, string(id)).Scan(&fileBacked)
	if err != nil {
		return fmt.Errorf("reference blob %s: %w", id, err)
	}
	return nil
}

func (t *tx) unrefBlob(id string, n int64) error {
	_, err := t.exec(`UPDATE blobs SET refs = refs - ?, zero_since = CASE WHEN refs - ? <= 0 THEN CAST(? AS BIGINT) ELSE 0 END WHERE id = ?`, n, n, now(), id)
	return err
}

// addItem inserts an item into folder a (already access-checked) and
// updates counters and the journal.
// objIndex is an item's object index (store.Item Name…End).
type objIndex struct {
	name, uid  string
	start, end int64 // Unix microseconds, 0 = unbounded
}

func indexOf(it *store.Item) objIndex {
	return objIndex{it.Name, it.ObjectUID, micro(it.Start), micro(it.End)}
}

func newIndex(it store.NewItem) (objIndex, error) {
	ix := objIndex{it.Name, it.ObjectUID, micro(it.Start), micro(it.End)}
	if len(ix.name) > maxObjectName || len(ix.uid) > maxObjectName {
		return ix, fmt.Errorf("object name or UID longer than %d bytes: %w", maxObjectName, store.ErrInvalid)
	}
	if strings.ContainsAny(ix.name, "/\x00") || ix.name == "." || ix.name == ".." {
		return ix, fmt.Errorf("object name %q: %w", ix.name, store.ErrInvalid)
	}
	if ix.start != 0 && ix.end != 0 && ix.end < ix.start {
		return ix, fmt.Errorf("object ends before it starts: %w", store.ErrInvalid)
	}
	return ix, nil
}

const maxObjectName = 512

// micro is t in Unix microseconds, 0 for the zero time.
func micro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func (t *tx) addItem(st *storeRow, folderID int64, b blob.ID, size int64, flags []string, idate int64, ix objIndex) (*store.Item, error) {
	if t.d.dialect == postgres {
		return t.addItemPG(st, folderID, b, size, flags, idate, ix)
	}
	// Lock order everywhere: the store row (MODSEQ) before folder rows.
	// Counters move in the same statements that hand out MODSEQ and UID.
	var last int64
	if err := t.row(`UPDATE stores SET modseq = modseq + 1, messages = messages + 1, size = size + ? WHERE id = ? RETURNING modseq`, size, st.ID).Scan(&last); err != nil {
		return nil, fmt.Errorf("modseq of store %d: %w", st.ID, err)
	}
	seq := uint64(last)
	var uid int64
	if err := t.row(`UPDATE folders SET uidnext = uidnext + 1, messages = messages + 1, size = size + ?, highestmodseq = ? WHERE id = ? RETURNING uidnext - 1`,
		size, last, folderID).Scan(&uid); err != nil {
		return nil, fmt.Errorf("assign UID: %w", err)
	}
	if uid > 0xffffffff {
		return nil, fmt.Errorf("folder %d has used every UID: %w", folderID, store.ErrOverQuota)
	}
	var id int64
	err := t.row(`INSERT INTO items (store_id, folder_id, uid, modseq, flags, size, blob, internal_date, name, object_uid, t_start, t_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		st.ID, folderID, uid, last, strings.Join(flags, " "), size, string(b), idate, ix.name, ix.uid, ix.start, ix.end).Scan(&id)
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("an item named %q exists in the folder: %w", ix.name, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("insert item: %w", err)
	}
	if err := t.journal(st.ID, seq, store.ChangeItemCreated, folderID, id, uint32(uid)); err != nil {
		return nil, err
	}
	return &store.Item{ID: id, StoreID: st.ID, FolderID: folderID, UID: uint32(uid), ModSeq: seq, Flags: flags,
		Size: size, Blob: b, InternalDate: fromMicro(idate),
		Name: ix.name, ObjectUID: ix.uid, Start: fromMicro(ix.start), End: fromMicro(ix.end)}, nil
}

// AppendItem implements store.Mail. The content is streamed into the blob
// store first; the item row, the UID and the journal entry are then
// committed together.
func (d *DB) AppendItem(ctx context.Context, folderID int64, it store.NewItem) (*store.Item, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	flags, err := normFlags(it.Flags)
	if err != nil {
		return nil, err
	}
	ix, err := newIndex(it)
	if err != nil {
		return nil, err
	}
	// Check access before reading the content, so a refused client does
	// not get to upload (the system, delivering, is never refused: the
	// write below checks the folder again). For the system the folder's
	// type is not read either: mail items have no object name or UID,
	// calendar, contact and note objects always do, so only mail content
	// is summarized.
	typ := store.FolderMail
	if it.Name != "" || it.ObjectUID != "" {
		typ = store.FolderNotes // any type but mail: no summary
	}
	if err := d.read(ctx, func(t *tx) error {
		if p.System {
			return nil
		}
		a, err := t.folderAccess(p, folderID, "i", false)
		if err == nil {
			typ = a.folder.Type
		}
		return err
	}); err != nil {
		return nil, err
	}
	if it.Content == nil {
		return nil, fmt.Errorf("no content: %w", store.ErrInvalid)
	}
	c, release, err := d.storeShared(ctx, it.Content)
	if err != nil {
		return nil, err
	}
	defer release()
	c.meta = d.summaryOf(ctx, typ, c)
	idate := it.InternalDate
	if idate.IsZero() {
		idate = time.Now()
	}
	var out *store.Item
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "i", false)
		if err != nil {
			return err
		}
		if err := t.uniqueObjectUID(a.folder, ix.uid, 0); err != nil {
			return err
		}
		if !(it.OverQuota && p.System) {
			if err := t.checkHardQuota(a.st, c.size); err != nil {
				return err
			}
			if err := t.checkMessageLimit(a.st, 1); err != nil {
				return err
			}
		}
		if err := t.refNew(c); err != nil {
			return err
		}
		out, err = t.addItem(a.st, folderID, c.id, c.size, flags, idate.UnixMicro(), ix)
		return err
	})
	return out, err
}

const itemCols = `id, store_id, folder_id, uid, modseq, flags, size, blob, internal_date, deleted, deleted_at, name, object_uid, t_start, t_end`

func scanItem(sc interface{ Scan(...any) error }) (*store.Item, error) {
	var it store.Item
	var uid, ms, idate, delAt, start, end int64
	var flags, b string
	var del int
	if err := sc.Scan(&it.ID, &it.StoreID, &it.FolderID, &uid, &ms, &flags, &it.Size, &b, &idate, &del, &delAt,
		&it.Name, &it.ObjectUID, &start, &end); err != nil {
		return nil, err
	}
	it.UID, it.ModSeq, it.Flags, it.Blob = uint32(uid), uint64(ms), splitList(flags), blob.ID(b)
	it.InternalDate, it.Deleted, it.DeletedAt = fromMicro(idate), del != 0, fromMicro(delAt)
	it.Start, it.End = fromMicro(start), fromMicro(end)
	return &it, nil
}

// GetItem implements store.Mail.
func (d *DB) GetItem(ctx context.Context, itemID int64) (*store.Item, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Item
	err = d.read(ctx, func(t *tx) error {
		it, err := scanItem(t.row(`SELECT `+itemCols+` FROM items WHERE id = ?`, itemID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("item %d: %w", itemID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := t.folderAccess(p, it.FolderID, "r", false); err != nil {
			return hideRefusal(fmt.Sprintf("item %d", itemID), err)
		}
		if it.Deleted {
			return fmt.Errorf("item %d: %w", itemID, store.ErrNotFound)
		}
		out = it
		return nil
	})
	return out, err
}

// hideRefusal turns a refused folder access into ErrNotFound, so that a
// reader learns nothing about items it may not read; any other error (the
// database failing) is returned as it is, never as "not found".
func hideRefusal(what string, err error) error {
	if isRefusal(err) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

func isRefusal(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission)
}

// ItemByUID implements store.Mail.
func (d *DB) ItemByUID(ctx context.Context, folderID int64, uid uint32) (*store.Item, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Item
	err = d.read(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "r", false); err != nil {
			return err
		}
		it, err := scanItem(t.row(`SELECT `+itemCols+` FROM items WHERE folder_id = ? AND uid = ? AND deleted = 0`, folderID, int64(uid)))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("UID %d: %w", uid, store.ErrNotFound)
		}
		out = it
		return err
	})
	return out, err
}

// OpenItem implements store.Mail.
func (d *DB) OpenItem(ctx context.Context, itemID int64) (io.ReadCloser, error) {
	it, err := d.GetItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	r, err := d.openBlob(ctx, it.Blob)
	if err != nil {
		return nil, fmt.Errorf("item %d content: %w", itemID, err)
	}
	return r, nil
}

// openBlob opens content: from its database row when it is inline, else
// from the blob store.
func (d *DB) openBlob(ctx context.Context, id blob.ID) (io.ReadCloser, error) {
	var data []byte
	var parts sql.NullString
	if err := d.read(ctx, func(t *tx) error {
		return t.row(`SELECT data, parts FROM blobs WHERE id = ?`, string(id)).Scan(&data, &parts)
	}); err != nil {
		return nil, err
	}
	switch {
	case parts.Valid:
		return d.openManifest(ctx, id, parts.String)
	case data != nil:
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return d.blobs.Open(ctx, id)
}

// ListItems implements store.Mail. It reads only the covering index.
func (d *DB) ListItems(ctx context.Context, folderID int64, fromUID uint32, limit int) ([]store.ItemSummary, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	var out []store.ItemSummary
	err = d.read(ctx, func(t *tx) error {
		a, err := t.folderAccess(p, folderID, "r", false)
		if err != nil {
			return err
		}
		if cached, ok := d.lists.get(a.folder, fromUID, limit); ok {
			out = cached
			return nil
		}
		full := fromUID <= 1 && limit >= 1<<30
		out = make([]store.ItemSummary, 0, min(int(a.folder.Messages), limit))
		rows, err := t.query(`SELECT id, uid, modseq, size, internal_date, flags FROM items WHERE folder_id = ? AND deleted = 0 AND uid >= ? ORDER BY uid LIMIT ?`,
			folderID, int64(fromUID), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		var uid, ms, idate int64
		var flags sql.RawBytes
		// Most messages share a few flag combinations: split each once.
		// The slices are shared, so callers must not modify Flags.
		seen := map[string][]string{}
		for rows.Next() {
			var s store.ItemSummary
			if err := rows.Scan(&s.ID, &uid, &ms, &s.Size, &idate, &flags); err != nil {
				return err
			}
			s.UID, s.ModSeq, s.InternalDate = uint32(uid), uint64(ms), fromMicro(idate)
			if len(flags) > 0 {
				fl, ok := seen[string(flags)]
				if !ok {
					fl = strings.Split(string(flags), " ")
					if len(seen) < 1024 {
						seen[string(flags)] = fl
					}
				}
				s.Flags = fl
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if full && len(out) >= listCacheMinItems {
			// Cache only if nothing changed while the rows were read.
			var hms int64
			if err := t.row(`SELECT highestmodseq FROM folders WHERE id = ?`, folderID).Scan(&hms); err == nil && uint64(hms) == a.folder.HighestModSeq {
				d.lists.put(a.folder, out)
			}
		}
		return nil
	})
	return out, err
}

func checkUIDs(uids []uint32) error {
	if len(uids) > maxUIDsPerCall {
		return fmt.Errorf("at most %d UIDs per call: %w", maxUIDsPerCall, store.ErrInvalid)
	}
	return nil
}

// liveItems loads the live items of a folder with the given UIDs, in UID
// order; UIDs that do not exist are skipped (IMAP semantics).
func (t *tx) liveItems(folderID int64, uids []uint32) ([]*store.Item, error) {
	u := slices.Clone(uids)
	slices.Sort(u)
	u = slices.Compact(u)
	var out []*store.Item
	for start := 0; start < len(u); start += 500 {
		chunk := u[start:min(start+500, len(u))]
		q := `SELECT ` + itemCols + ` FROM items WHERE folder_id = ? AND deleted = 0 AND uid IN (?` + strings.Repeat(",?", len(chunk)-1) + `) ORDER BY uid`
		args := []any{folderID}
		for _, x := range chunk {
			args = append(args, int64(x))
		}
		rows, err := t.query(q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			it, err := scanItem(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateFlags implements store.Mail. Each changed item gets a new MODSEQ;
// items whose flags do not change keep theirs (RFC 7162 §3.1.3).
func (d *DB) UpdateFlags(ctx context.Context, folderID int64, uids []uint32, op store.FlagOp, flags []string) ([]store.ItemSummary, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUIDs(uids); err != nil {
		return nil, err
	}
	flags, err = normFlags(flags)
	if err != nil {
		return nil, err
	}
	var out []store.ItemSummary
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "r", false)
		if err != nil {
			return err
		}
		items, err := t.liveItems(folderID, uids)
		if err != nil {
			return err
		}
		out = out[:0]
		type change struct {
			it    *store.Item
			flags []string
		}
		var changes []change
		for _, it := range items {
			nf := slices.Clone(it.Flags)
			switch op {
			case store.FlagsReplace:
				nf = slices.Clone(flags)
			case store.FlagsAdd:
				for _, f := range flags {
					if !slices.Contains(nf, f) {
						nf = append(nf, f)
					}
				}
			case store.FlagsRemove:
				nf = slices.DeleteFunc(nf, func(x string) bool { return slices.Contains(flags, x) })
			}
			slices.Sort(nf)
			if slices.Equal(nf, it.Flags) {
				out = append(out, store.ItemSummary{ID: it.ID, UID: it.UID, ModSeq: it.ModSeq, Flags: it.Flags, Size: it.Size, InternalDate: it.InternalDate})
				continue
			}
			// Rights for every flag that changes (either direction).
			var diff []string
			for _, f := range nf {
				if !slices.Contains(it.Flags, f) {
					diff = append(diff, f)
				}
			}
			for _, f := range it.Flags {
				if !slices.Contains(nf, f) {
					diff = append(diff, f)
				}
			}
			if need := flagRights(diff); !store.HasRights(a.rights, need) {
				return fmt.Errorf("folder %q: changing %v needs right %q: %w", a.folder.Name, diff, need, store.ErrPermission)
			}
			changes = append(changes, change{it, nf})
		}
		if len(changes) == 0 {
			return nil
		}
		if t.d.dialect == postgres {
			fc := make([]flagChange, len(changes))
			for i, c := range changes {
				fc[i] = flagChange{c.it.ID, c.it.UID, c.flags}
			}
			seq, err := t.setFlagsPG(a.st.ID, folderID, fc)
			for i, c := range changes {
				out = append(out, store.ItemSummary{ID: c.it.ID, UID: c.it.UID, ModSeq: seq + uint64(i), Flags: c.flags, Size: c.it.Size, InternalDate: c.it.InternalDate})
			}
			slices.SortFunc(out, func(x, y store.ItemSummary) int { return int(int64(x.UID) - int64(y.UID)) })
			return err
		}
		seq, err := t.nextModSeq(a.st.ID, len(changes))
		if err != nil {
			return err
		}
		for i, c := range changes {
			ms := seq + uint64(i)
			if _, err := t.exec(`UPDATE items SET flags = ?, modseq = ? WHERE id = ?`, strings.Join(c.flags, " "), int64(ms), c.it.ID); err != nil {
				return err
			}
			if err := t.journal(a.st.ID, ms, store.ChangeItemUpdated, folderID, c.it.ID, c.it.UID); err != nil {
				return err
			}
			out = append(out, store.ItemSummary{ID: c.it.ID, UID: c.it.UID, ModSeq: ms, Flags: c.flags, Size: c.it.Size, InternalDate: c.it.InternalDate})
		}
		_, err = t.exec(`UPDATE folders SET highestmodseq = ? WHERE id = ?`, int64(seq)+int64(len(changes))-1, folderID)
		slices.SortFunc(out, func(x, y store.ItemSummary) int { return int(int64(x.UID) - int64(y.UID)) })
		return err
	})
	return out, err
}

// removeItems takes items out of their folder's counters and journals
// their deletion (shared by delete and move).
func (t *tx) removeItems(st *storeRow, folderID int64, items []*store.Item, seq uint64) error {
	var size int64
	for i, it := range items {
		size += it.Size
		if err := t.journal(st.ID, seq+uint64(i), store.ChangeItemDeleted, folderID, it.ID, it.UID); err != nil {
			return err
		}
	}
	n := int64(len(items))
	if _, err := t.exec(`UPDATE folders SET messages = messages - ?, size = size - ?, highestmodseq = ? WHERE id = ?`,
		n, size, int64(seq)+n-1, folderID); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE stores SET messages = messages - ?, size = size - ? WHERE id = ?`, n, size, st.ID)
	return err
}

// DeleteItems implements store.Mail (IMAP EXPUNGE, needs "e").
func (d *DB) DeleteItems(ctx context.Context, folderID int64, uids []uint32) ([]uint32, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUIDs(uids); err != nil {
		return nil, err
	}
	var out []uint32
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "e", false)
		if err != nil {
			return err
		}
		items, err := t.liveItems(folderID, uids)
		if err != nil || len(items) == 0 {
			return err
		}
		out = out[:0]
		if t.d.dialect == postgres {
			for _, it := range items {
				out = append(out, it.UID)
			}
			return t.deleteItemsPG(a.st.ID, folderID, items, now())
		}
		seq, err := t.nextModSeq(a.st.ID, len(items))
		if err != nil {
			return err
		}
		at := now()
		for i, it := range items {
			if _, err := t.exec(`UPDATE items SET deleted = 1, deleted_at = ?, modseq = ? WHERE id = ?`, at, int64(seq)+int64(i), it.ID); err != nil {
				return err
			}
			out = append(out, it.UID)
		}
		return t.removeItems(a.st, folderID, items, seq)
	})
	return out, err
}

// MoveItems implements store.Mail (RFC 6851: "te" on the source, "i" on
// the destination). Items keep their identity and get new UIDs.
func (d *DB) MoveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error) {
	return d.transfer(ctx, folderID, uids, destID, true)
}

// CopyItems implements store.Mail ("r" on the source, "i" on the
// destination). Copies share the content blob.
func (d *DB) CopyItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error) {
	return d.transfer(ctx, folderID, uids, destID, false)
}

func (d *DB) transfer(ctx context.Context, folderID int64, uids []uint32, destID int64, move bool) ([]store.UIDMap, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUIDs(uids); err != nil {
		return nil, err
	}
	need := "r"
	if move {
		need = "rte"
	}
	var out []store.UIDMap
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID, destID); err != nil {
			return err
		}
		src, err := t.folderAccess(p, folderID, need, false)
		if err != nil {
			return err
		}
		dst, err := t.folderAccess(p, destID, "i", false)
		if err != nil {
			return err
		}
		if move && folderID == destID {
			return fmt.Errorf("source and destination are the same folder: %w", store.ErrInvalid)
		}
		items, err := t.liveItems(folderID, uids)
		if err != nil || len(items) == 0 {
			return err
		}
		var size int64
		for _, it := range items {
			size += it.Size
		}
		if !move || src.st.ID != dst.st.ID {
			if err := t.checkHardQuota(dst.st, size); err != nil {
				return err
			}
			if err := t.checkMessageLimit(dst.st, len(items)); err != nil {
				return err
			}
		}
		out = out[:0]
		if !move {
			for _, it := range items {
				if err := t.refExisting(it.Blob); err != nil {
					return err
				}
				nit, err := t.addItem(dst.st, destID, it.Blob, it.Size, it.Flags, it.InternalDate.UnixMicro(), indexOf(it))
				if err != nil {
					return err
				}
				out = append(out, store.UIDMap{From: it.UID, To: nit.UID})
			}
			return nil
		}
		seq, err := t.nextModSeq(src.st.ID, len(items))
		if err != nil {
			return err
		}
		if err := t.removeItems(src.st, folderID, items, seq); err != nil {
			return err
		}
		for _, it := range items {
			ms, err := t.nextModSeq(dst.st.ID, 1)
			if err != nil {
				return err
			}
			var uid int64
			if err := t.row(`UPDATE folders SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, destID).Scan(&uid); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE items SET folder_id = ?, store_id = ?, uid = ?, modseq = ? WHERE id = ?`, destID, dst.st.ID, uid, int64(ms), it.ID); err != nil {
				if isUniqueViolation(err) {
					return fmt.Errorf("an item named %q exists in the destination: %w", it.Name, store.ErrConflict)
				}
				return err
			}
			if _, err := t.exec(`UPDATE folders SET messages = messages + 1, size = size + ?, highestmodseq = ? WHERE id = ?`, it.Size, int64(ms), destID); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE stores SET messages = messages + 1, size = size + ? WHERE id = ?`, it.Size, dst.st.ID); err != nil {
				return err
			}
			if err := t.journal(dst.st.ID, ms, store.ChangeItemCreated, destID, it.ID, uint32(uid)); err != nil {
				return err
			}
			out = append(out, store.UIDMap{From: it.UID, To: uint32(uid)})
		}
		return nil
	})
	return out, err
}

// ListDeletedItems implements store.Mail: soft-deleted items of a folder
// that can still be restored.
func (d *DB) ListDeletedItems(ctx context.Context, folderID int64) ([]*store.Item, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Item
	err = d.read(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "re", true); err != nil {
			return err
		}
		rows, err := t.query(`SELECT `+itemCols+` FROM items WHERE folder_id = ? AND deleted = 1 ORDER BY deleted_at DESC, id LIMIT 10000`, folderID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scanItem(rows)
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return rows.Err()
	})
	return out, err
}

// RestoreItems implements store.Mail. A restored item gets a new UID: an
// expunged UID never comes back (RFC 9051 §2.3.1.1).
func (d *DB) RestoreItems(ctx context.Context, itemIDs []int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	if len(itemIDs) > maxUIDsPerCall {
		return fmt.Errorf("at most %d items per call: %w", maxUIDsPerCall, store.ErrInvalid)
	}
	return d.write(ctx, func(t *tx) error {
		for _, id := range itemIDs {
			if err := t.lockItem(id); err != nil {
				return err
			}
			it, err := scanItem(t.row(`SELECT `+itemCols+` FROM items WHERE id = ?`, id))
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("item %d: %w", id, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			a, err := t.folderAccess(p, it.FolderID, "rei", false)
			if err != nil {
				return fmt.Errorf("item %d: %w", id, err)
			}
			if !it.Deleted {
				return fmt.Errorf("item %d is not deleted: %w", id, store.ErrInvalid)
			}
			if err := t.checkHardQuota(a.st, it.Size); err != nil {
				return err
			}
			ms, err := t.nextModSeq(a.st.ID, 1)
			if err != nil {
				return err
			}
			var uid int64
			if err := t.row(`UPDATE folders SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, it.FolderID).Scan(&uid); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE items SET deleted = 0, deleted_at = 0, uid = ?, modseq = ? WHERE id = ?`, uid, int64(ms), id); err != nil {
				if isUniqueViolation(err) {
					return fmt.Errorf("item %d: a live item named %q exists: %w", id, it.Name, store.ErrConflict)
				}
				return err
			}
			if _, err := t.exec(`UPDATE folders SET messages = messages + 1, size = size + ?, highestmodseq = ? WHERE id = ?`, it.Size, int64(ms), it.FolderID); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE stores SET messages = messages + 1, size = size + ? WHERE id = ?`, it.Size, a.st.ID); err != nil {
				return err
			}
			if err := t.journal(a.st.ID, ms, store.ChangeItemCreated, it.FolderID, id, uint32(uid)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Changes implements store.Mail. Entries for folders the principal may not
// look up are left out.
func (d *DB) Changes(ctx context.Context, storeID int64, since uint64, limit int) ([]store.Change, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100000 {
		limit = 100000
	}
	var out []store.Change
	err = d.read(ctx, func(t *tx) error {
		s, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		rows, err := t.query(`SELECT c.seq, c.kind, c.folder_id, c.item_id, c.uid, c.time, COALESCE(i.name, '') FROM changes c
			LEFT JOIN items i ON i.id = c.item_id AND c.item_id <> 0
			WHERE c.store_id = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`, s.ID, int64(since), limit)
		if err != nil {
			return err
		}
		var all []store.Change
		for rows.Next() {
			var c store.Change
			var seq, uid, tm int64
			var kind string
			if err := rows.Scan(&seq, &kind, &c.FolderID, &c.ItemID, &uid, &tm, &c.Name); err != nil {
				rows.Close()
				return err
			}
			c.Seq, c.StoreID, c.Kind, c.UID, c.Time = uint64(seq), s.ID, store.ChangeKind(kind), uint32(uid), fromMicro(tm)
			all = append(all, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if full {
			out = all
			return nil
		}
		seen := map[int64]bool{}
		for _, c := range all {
			ok, cached := seen[c.FolderID]
			if !cached {
				_, err := t.folderAccess(p, c.FolderID, "l", true)
				if err != nil && !isRefusal(err) {
					return err // the database failed: not a refusal
				}
				ok = err == nil
				seen[c.FolderID] = ok
			}
			if ok {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

// StoreQuota implements store.Mail.
func (d *DB) StoreQuota(ctx context.Context, storeID int64) (*store.QuotaStatus, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.QuotaStatus
	err = d.read(ctx, func(t *tx) error {
		s, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !full {
			return fmt.Errorf("store %d: %w", storeID, store.ErrPermission)
		}
		q, src, err := t.effectiveQuota(s)
		if err != nil {
			return err
		}
		out = &store.QuotaStatus{StoreID: s.ID, Size: s.Size, Messages: s.Messages, Quota: q, Source: src, MaxMessages: t.messageLimit(s)}
		return nil
	})
	return out, err
}

// TenantUsage implements store.Mail: all the tenant's live stores, the
// public one included (Kopano §6.2.5).
func (d *DB) TenantUsage(ctx context.Context, tenant string) (*store.TenantUsage, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.TenantUsage
	err = d.read(ctx, func(t *tx) error {
		tn, err := t.resolveTenant(p, tenant)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(tn.ID) {
			return fmt.Errorf("tenant %q: %w", tn.Name, store.ErrPermission)
		}
		var size int64
		if err := t.row(`SELECT COALESCE(SUM(size), 0) FROM stores WHERE tenant_id = ? AND deleted = 0`, tn.ID).Scan(&size); err != nil {
			return err
		}
		warn := tn.QuotaWarn
		if warn == 0 {
			warn = d.getDefaults().TenantWarn
		}
		out = &store.TenantUsage{Tenant: tn.Name, Size: size, QuotaWarn: warn}
		return nil
	})
	return out, err
}
