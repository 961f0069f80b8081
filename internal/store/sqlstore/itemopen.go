package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// OpenItems implements store.Mail: access is checked once; each open is
// then one query (the item, still live in the folder, and its blob row)
// where OpenItem takes four.
func (d *DB) OpenItems(ctx context.Context, folderID int64) (store.ItemOpener, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.read(ctx, func(t *tx) error {
		_, err := t.folderAccess(p, folderID, "r", false)
		return err
	}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, itemID int64) (io.ReadCloser, error) {
		var id string
		var data []byte
		var parts sql.NullString
		err := d.read(ctx, func(t *tx) error {
			return t.row(`SELECT i.blob, b.data, b.parts FROM items i LEFT JOIN blobs b ON b.id = i.blob WHERE i.id = ? AND i.folder_id = ? AND i.deleted = 0`,
				itemID, folderID).Scan(&id, &data, &parts)
		})
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("item %d: %w", itemID, store.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", itemID, err)
		}
		r, err := d.openContent(ctx, blob.ID(id), data, parts)
		if err != nil {
			return nil, fmt.Errorf("item %d content: %w", itemID, err)
		}
		return r, nil
	}, nil
}
