package sqlstore

import (
	"context"
	"fmt"

	"github.com/roost-mail/roost/internal/store"
)

// SetSubscribed implements store.Mail.
func (d *DB) SetSubscribed(ctx context.Context, folderID int64, on bool) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "l", false); err != nil {
			return err
		}
		if p.UserID == 0 {
			return fmt.Errorf("subscriptions belong to users: %w", store.ErrInvalid)
		}
		var err error
		if on {
			_, err = t.exec(`INSERT INTO subscriptions (user_id, folder_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.UserID, folderID)
		} else {
			_, err = t.exec(`DELETE FROM subscriptions WHERE user_id = ? AND folder_id = ?`, p.UserID, folderID)
		}
		return err
	})
}

// markSubscribed sets Folder.Subscribed for the principal.
func (t *tx) markSubscribed(p *store.Principal, fs ...*store.Folder) error {
	if p.UserID == 0 || len(fs) == 0 {
		return nil
	}
	if len(fs) == 1 {
		// One folder (GetFolder, the IMAP sync path): a point lookup.
		var n int
		err := t.row(`SELECT 1 FROM subscriptions WHERE user_id = ? AND folder_id = ?`, p.UserID, fs[0].ID).Scan(&n)
		if err != nil && !isNoRows(err) {
			return err
		}
		fs[0].Subscribed = err == nil
		return nil
	}
	rows, err := t.query(`SELECT folder_id FROM subscriptions WHERE user_id = ?`, p.UserID)
	if err != nil {
		return err
	}
	defer rows.Close()
	subs := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		subs[id] = true
	}
	for _, f := range fs {
		f.Subscribed = subs[f.ID]
	}
	return rows.Err()
}
