package sqlstore

import (
	"context"

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
