package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
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

// addItem inserts an item into folder a (already access-checked) and
// updates counters and the journal.
func (t *tx) addItem(st *storeRow, folderID int64, b blob.ID, size int64, flags []string, idate int64, ix objIndex) (*store.Item, error) {
	return t.addThreadedItem(st, folderID, b, size, flags, idate, ix, 0, nil)
}

// addThreadedItem is addItem into a thread: threadID when set, else the
// thread the keys lead to (threads.go), else the item's own.
func (t *tx) addThreadedItem(st *storeRow, folderID int64, b blob.ID, size int64, flags []string, idate int64, ix objIndex, threadID int64, keys []string) (*store.Item, error) {
	id, uid, seq, tid, err := t.insertItem(st, folderID, b, size, flags, idate, ix, threadID, keys)
	if err != nil {
		return nil, err
	}
	return &store.Item{ID: id, StoreID: st.ID, FolderID: folderID, UID: uid, ModSeq: seq, Flags: flags,
		Size: size, Blob: b, InternalDate: fromMicro(idate),
		Name: ix.name, ObjectUID: ix.uid, Start: fromMicro(ix.start), End: fromMicro(ix.end), ThreadID: tid}, nil
}

// insertItem is addItem's writes; it returns the item's id, UID, MODSEQ
// and thread.
func (t *tx) insertItem(st *storeRow, folderID int64, b blob.ID, size int64, flags []string, idate int64, ix objIndex, threadID int64, keys []string) (int64, uint32, uint64, int64, error) {
	if t.d.dialect == postgres {
		return t.insertItemPG(st, folderID, b, size, flags, idate, ix, threadID, keys)
	}
	if threadID == 0 && len(keys) > 0 {
		tid, err := t.findThread(st.ID, keys)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		threadID = tid
	}
	// Lock order everywhere: the store row (MODSEQ) before folder rows.
	// Counters move in the same statements that hand out MODSEQ and UID.
	var last int64
	if err := t.row(`UPDATE stores SET modseq = modseq + 1, messages = messages + 1, size = size + ? WHERE id = ? RETURNING modseq`, size, st.ID).Scan(&last); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("modseq of store %d: %w", st.ID, err)
	}
	seq := uint64(last)
	var uid int64
	if err := t.row(`UPDATE folders SET uidnext = uidnext + 1, messages = messages + 1, size = size + ?, highestmodseq = ? WHERE id = ? RETURNING uidnext - 1`,
		size, last, folderID).Scan(&uid); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("assign UID: %w", err)
	}
	if uid > 0xffffffff {
		return 0, 0, 0, 0, fmt.Errorf("folder %d has used every UID: %w", folderID, store.ErrOverQuota)
	}
	var id int64
	err := t.row(`INSERT INTO items (store_id, folder_id, uid, modseq, flags, size, blob, internal_date, name, object_uid, t_start, t_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		st.ID, folderID, uid, last, strings.Join(flags, " "), size, string(b), idate, ix.name, ix.uid, ix.start, ix.end).Scan(&id)
	if isUniqueViolation(err) {
		return 0, 0, 0, 0, fmt.Errorf("an item named %q exists in the folder: %w", ix.name, store.ErrConflict)
	}
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("insert item: %w", err)
	}
	if err := t.journal(st.ID, seq, store.ChangeItemCreated, folderID, id, uint32(uid)); err != nil {
		return 0, 0, 0, 0, err
	}
	if threadID == 0 {
		threadID = id
	}
	if _, err := t.exec(`UPDATE items SET thread_id = ? WHERE id = ?`, threadID, id); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("thread of item %d: %w", id, err)
	}
	if err := t.recordThread(st.ID, keys, threadID); err != nil {
		return 0, 0, 0, 0, err
	}
	return id, uint32(uid), seq, threadID, nil
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
	c, release, err := d.storeShared(ctx, it.Content, typ == store.FolderMail)
	if err != nil {
		return nil, err
	}
	defer release()
	var keys []string
	if typ == store.FolderMail {
		keys = threadKeysOf(c)
	}
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
		out, err = t.addThreadedItem(a.st, folderID, c.id, c.size, flags, idate.UnixMicro(), ix, 0, keys)
		return err
	})
	return out, err
}

const itemCols = `id, store_id, folder_id, uid, modseq, flags, size, blob, internal_date, deleted, deleted_at, name, object_uid, t_start, t_end, thread_id`

func scanItem(sc interface{ Scan(...any) error }) (*store.Item, error) {
	var it store.Item
	var uid, ms, idate, delAt, start, end int64
	var flags, b string
	var del int
	if err := sc.Scan(&it.ID, &it.StoreID, &it.FolderID, &uid, &ms, &flags, &it.Size, &b, &idate, &del, &delAt,
		&it.Name, &it.ObjectUID, &start, &end, &it.ThreadID); err != nil {
		return nil, err
	}
	it.UID, it.ModSeq, it.Flags, it.Blob = uint32(uid), uint64(ms), splitList(flags), blob.ID(b)
	it.InternalDate, it.Deleted, it.DeletedAt = fromMicro(idate), del != 0, fromMicro(delAt)
	it.Start, it.End = fromMicro(start), fromMicro(end)
	if it.ThreadID == 0 {
		it.ThreadID = it.ID
	}
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
	return d.openContent(ctx, id, data, parts)
}

// openContent opens content id given its blobs row's data and parts
// columns: a manifest, inline bytes, or a file in the blob store.
func (d *DB) openContent(ctx context.Context, id blob.ID, data []byte, parts sql.NullString) (io.ReadCloser, error) {
	switch {
	case parts.Valid:
		return d.openManifest(ctx, id, parts.String)
	case data != nil || id == emptyContent:
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
		out, err = t.softDelete(a, folderID, items)
		return err
	})
	return out, err
}

// softDelete marks live items of a folder deleted (EXPUNGE), journaled,
// and returns their UIDs.
func (t *tx) softDelete(a *access, folderID int64, items []*store.Item) ([]uint32, error) {
	out := make([]uint32, 0, len(items))
	for _, it := range items {
		out = append(out, it.UID)
	}
	if t.d.dialect == postgres {
		return out, t.deleteItemsPG(a.st.ID, folderID, items, t.now())
	}
	seq, err := t.nextModSeq(a.st.ID, len(items))
	if err != nil {
		return nil, err
	}
	at := t.now()
	for i, it := range items {
		if _, err := t.exec(`UPDATE items SET deleted = 1, deleted_at = ?, modseq = ? WHERE id = ?`, at, int64(seq)+int64(i), it.ID); err != nil {
			return nil, err
		}
	}
	return out, t.removeItems(a.st, folderID, items, seq)
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

// OpenDeletedItem implements store.Mail.
func (d *DB) OpenDeletedItem(ctx context.Context, itemID int64) (io.ReadCloser, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var it *store.Item
	err = d.read(ctx, func(t *tx) error {
		it, err = scanItem(t.row(`SELECT `+itemCols+` FROM items WHERE id = ?`, itemID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("item %d: %w", itemID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := t.folderAccess(p, it.FolderID, "re", true); err != nil {
			return hideRefusal(fmt.Sprintf("item %d", itemID), err)
		}
		if !it.Deleted {
			return fmt.Errorf("item %d is not deleted: %w", itemID, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r, err := d.openBlob(ctx, it.Blob)
	if err != nil {
		return nil, fmt.Errorf("item %d content: %w", itemID, err)
	}
	return r, nil
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
