package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// saveDateBatch bounds the item ids of one query (SQLite's host
// parameter limit is far above it).
const saveDateBatch = 500

// SaveDates implements store.Mail. The date an item was saved into its
// folder is the time of its latest item-created journal entry: appends,
// copies, moves and restores all write one, in the same transaction, so
// no second record is kept and items stored before this was asked for
// have a save date too. Items not (or no longer) in the folder are left
// out.
func (d *DB) SaveDates(ctx context.Context, folderID int64, itemIDs []int64) (map[int64]time.Time, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]time.Time, len(itemIDs))
	err = d.read(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "r", false); err != nil {
			return err
		}
		for ids := itemIDs; len(ids) > 0; {
			batch := ids[:min(len(ids), saveDateBatch)]
			ids = ids[len(batch):]
			args := make([]any, 0, len(batch)+1)
			args = append(args, folderID)
			for _, id := range batch {
				args = append(args, id)
			}
			// Only items now in the folder: one moved away keeps its old
			// entries here.
			q := `SELECT c.item_id, MAX(c.time) FROM changes c JOIN items i ON i.id = c.item_id
				WHERE c.kind = 'item-created' AND c.folder_id = ? AND i.folder_id = c.folder_id AND i.deleted = 0
				AND c.item_id IN (?` + strings.Repeat(", ?", len(batch)-1) + `) GROUP BY c.item_id`
			rows, err := t.query(q, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id, tm int64
				if err := rows.Scan(&id, &tm); err != nil {
					rows.Close()
					return err
				}
				out[id] = fromMicro(tm)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
