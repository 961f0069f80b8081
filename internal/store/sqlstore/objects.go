package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// maxObjectNames bounds ObjectQuery.Names (a multiget).
const maxObjectNames = 1000

// ListObjects implements store.Mail. The time range test runs in the
// database on (folder_id, deleted, t_start, t_end); callers refine with the
// exact recurrence rules.
func (d *DB) ListObjects(ctx context.Context, folderID int64, q store.ObjectQuery) ([]*store.Item, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if len(q.Names) > maxObjectNames {
		return nil, fmt.Errorf("at most %d names per query: %w", maxObjectNames, store.ErrInvalid)
	}
	where := []string{"folder_id = ?", "deleted = 0"}
	args := []any{folderID}
	// The "<> ''" terms repeat the partial indexes' conditions so that
	// SQLite uses them (it does not infer them from an equality).
	if len(q.Names) > 0 {
		where = append(where, "name <> ''", "name IN (?"+strings.Repeat(",?", len(q.Names)-1)+")")
		for _, n := range q.Names {
			args = append(args, n)
		}
	}
	if q.ObjectUID != "" {
		where = append(where, "object_uid <> ''", "object_uid = ?")
		args = append(args, q.ObjectUID)
	}
	if !q.End.IsZero() || !q.Start.IsZero() {
		where = append(where, "name <> ''") // the time range index covers named objects
	}
	if !q.End.IsZero() {
		// The item starts before the range ends (or is unbounded).
		where = append(where, "t_start < ?")
		args = append(args, q.End.UnixMicro())
	}
	if !q.Start.IsZero() {
		where = append(where, "(t_end = 0 OR t_end > ?)")
		args = append(args, q.Start.UnixMicro())
	}
	query := `SELECT ` + itemCols + ` FROM items WHERE ` + strings.Join(where, " AND ")
	// Lookups by name or UID (few rows), and range queries without a
	// limit, come in index order and are sorted here: an ORDER BY uid
	// would make SQLite prefer the listing index and scan the whole
	// folder. A range query with a limit keeps the order in SQL.
	lookup := len(q.Names) > 0 || q.ObjectUID != ""
	filtered := lookup || (len(where) > 2 && q.Limit == 0)
	if !filtered {
		query += ` ORDER BY uid`
		if q.Limit > 0 {
			query += fmt.Sprintf(" LIMIT %d", q.Limit)
		}
	}
	var out []*store.Item
	err = d.read(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "r", false); err != nil {
			return err
		}
		rows, err := t.query(query, args...)
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
	if filtered {
		slices.SortFunc(out, func(a, b *store.Item) int { return cmp.Compare(a.UID, b.UID) })
		if q.Limit > 0 && len(out) > q.Limit {
			out = out[:q.Limit]
		}
	}
	return out, err
}

// ReplaceItem implements store.Mail.
func (d *DB) ReplaceItem(ctx context.Context, itemID int64, it store.NewItem) (*store.Item, error) {
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
	if it.Content == nil {
		return nil, fmt.Errorf("no content: %w", store.ErrInvalid)
	}
	// Check access before reading the content.
	var folderID int64
	if err := d.read(ctx, func(t *tx) error {
		old, err := t.liveItemByID(itemID)
		if err != nil {
			return err
		}
		folderID = old.FolderID
		if _, err := t.folderAccess(p, folderID, "it", false); err != nil {
			return hideRefusal(fmt.Sprintf("item %d", itemID), err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	c, err := d.storeContent(ctx, it.Content)
	if err != nil {
		return nil, err
	}
	idate := it.InternalDate
	if idate.IsZero() {
		idate = time.Now()
	}
	var out *store.Item
	err = d.write(ctx, func(t *tx) error {
		a, old, err := t.replaceableItem(p, folderID, itemID)
		if err != nil {
			return err
		}
		if err := t.uniqueObjectUID(a.folder, ix.uid, old.ID); err != nil {
			return err
		}
		if err := t.checkHardQuota(a.st, c.size-old.Size); err != nil {
			return err
		}
		if err := t.retireItem(a, old, c); err != nil {
			return err
		}
		if ix.name == "" {
			ix.name = old.Name
		}
		out, err = t.addItem(a.st, folderID, c.id, c.size, flags, idate.UnixMicro(), ix)
		return err
	})
	return out, err
}

// replaceableItem locks folderID, where item itemID was found by an
// earlier transaction (ReplaceItem, StubItem), checks the insert and
// delete rights on it, and returns the item, live; ErrNotFound when it
// has gone or moved since.
func (t *tx) replaceableItem(p *store.Principal, folderID, itemID int64) (*access, *store.Item, error) {
	if err := t.lockFolders(folderID); err != nil {
		return nil, nil, err
	}
	a, err := t.folderAccess(p, folderID, "it", false)
	if err != nil {
		return nil, nil, err
	}
	old, err := t.liveItemByID(itemID)
	if err != nil {
		return nil, nil, err
	}
	if old.FolderID != folderID {
		return nil, nil, fmt.Errorf("item %d moved: %w", itemID, store.ErrNotFound)
	}
	return a, old, nil
}

// retireItem deletes old, an item being replaced, through the change
// journal, and references c, its replacement's content, which the
// caller then adds.
func (t *tx) retireItem(a *access, old *store.Item, c content) error {
	seq, err := t.nextModSeq(a.st.ID, 1)
	if err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE items SET deleted = 1, deleted_at = ?, modseq = ? WHERE id = ?`, t.now(), int64(seq), old.ID); err != nil {
		return err
	}
	if err := t.removeItems(a.st, old.FolderID, []*store.Item{old}, seq); err != nil {
		return err
	}
	return t.refNew(c)
}

// liveItemByID loads a live item; ErrNotFound when it is deleted or gone.
func (t *tx) liveItemByID(id int64) (*store.Item, error) {
	it, err := scanItem(t.row(`SELECT `+itemCols+` FROM items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && it.Deleted) {
		return nil, fmt.Errorf("item %d: %w", id, store.ErrNotFound)
	}
	return it, err
}

// uniqueObjectUID refuses a second live object with the same UID in a
// calendar, address book or task list (RFC 4791 §5.3.2.1 and RFC 6352
// §6.3.2.1, no-uid-conflict); except is the item being replaced. The
// caller holds the store's lock (lockFolders), so two writers cannot both
// find the UID free.
func (t *tx) uniqueObjectUID(f *store.Folder, uid string, except int64) error {
	switch {
	case uid == "":
		return nil
	case f.Type != store.FolderCalendar && f.Type != store.FolderContacts && f.Type != store.FolderTasks:
		return nil
	}
	var n int
	if err := t.row(`SELECT COUNT(*) FROM items WHERE folder_id = ? AND deleted = 0 AND object_uid <> '' AND object_uid = ? AND id <> ?`,
		f.ID, uid, except).Scan(&n); err != nil {
		return fmt.Errorf("look up UID %q: %w", uid, err)
	}
	if n > 0 {
		return fmt.Errorf("an object with UID %q exists in the folder: %w", uid, store.ErrConflict)
	}
	return nil
}
