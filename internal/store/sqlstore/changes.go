package sqlstore

import (
	"context"
	"fmt"

	"github.com/roost-mail/roost/internal/store"
)

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
		rows, err := t.query(`SELECT c.seq, c.kind, c.folder_id, c.item_id, c.uid, c.time, COALESCE(i.name, ''), c.actor FROM changes c
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
			if err := rows.Scan(&seq, &kind, &c.FolderID, &c.ItemID, &uid, &tm, &c.Name, &c.Actor); err != nil {
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

// FolderChanges implements store.Mail: one folder's entries, read through
// the changes_folder index.
func (d *DB) FolderChanges(ctx context.Context, folderID int64, since uint64, limit int) ([]store.Change, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100000 {
		limit = 100000
	}
	var out []store.Change
	err = d.read(ctx, func(t *tx) error {
		a, err := t.folderAccess(p, folderID, "l", true)
		if err != nil {
			return hideRefusal(fmt.Sprintf("folder %d", folderID), err)
		}
		rows, err := t.query(`SELECT c.seq, c.kind, c.item_id, c.uid, c.time, COALESCE(i.name, ''), c.actor FROM changes c
			LEFT JOIN items i ON i.id = c.item_id AND c.item_id <> 0
			WHERE c.folder_id = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`, folderID, int64(since), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := store.Change{StoreID: a.st.ID, FolderID: folderID}
			var seq, uid, tm int64
			var kind string
			if err := rows.Scan(&seq, &kind, &c.ItemID, &uid, &tm, &c.Name, &c.Actor); err != nil {
				return err
			}
			c.Seq, c.Kind, c.UID, c.Time = uint64(seq), store.ChangeKind(kind), uint32(uid), fromMicro(tm)
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("changes of folder %d: %w", folderID, err)
	}
	return out, nil
}
