package sqlstore

import (
	"context"
	"fmt"

	"github.com/roost-mail/roost/internal/store"
)

// ListOrphans implements store.Mail.
func (d *DB) ListOrphans(ctx context.Context) ([]*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Store
	err = d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT ` + storeCols + storeFrom + `WHERE s.orphan = 1 AND s.deleted = 0 ORDER BY s.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanStore(rows)
			if err != nil {
				return err
			}
			if p.AdministersTenant(s.TenantID) {
				out = append(out, &s.Store)
			}
		}
		return rows.Err()
	})
	return out, err
}

// HookStore implements store.Mail.
func (d *DB) HookStore(ctx context.Context, storeID int64, login string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if err := t.lockStore(storeID); err != nil {
			return err
		}
		s, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !full || !p.AdministersTenant(s.TenantID) {
			return fmt.Errorf("store %d: %w", storeID, store.ErrPermission)
		}
		if !s.Orphan {
			return fmt.Errorf("store %d is not an orphan: %w", storeID, store.ErrInvalid)
		}
		if s.Kind == store.StoreArchive {
			return fmt.Errorf("store %d is an archive store; attach archives with archive attach: %w", storeID, store.ErrInvalid)
		}
		if login == "" {
			tn, err := t.tenantByID(s.TenantID)
			if err != nil {
				return err
			}
			if tn.PublicStoreID != 0 {
				return fmt.Errorf("tenant %q already has a public store (%d): %w", tn.Name, tn.PublicStoreID, store.ErrConflict)
			}
			if _, err := t.exec(`UPDATE stores SET orphan = 0, owner_id = 0, kind = 'public' WHERE id = ?`, s.ID); err != nil {
				return err
			}
			return t.setPublicStore(tn, s.ID)
		}
		u, err := t.administeredUser(p, login)
		if err != nil {
			return err
		}
		if u.TenantID != s.TenantID {
			return fmt.Errorf("store %d belongs to another tenant than user %q: %w", storeID, login, store.ErrInvalid)
		}
		if u.StoreID != 0 {
			// The user's current store becomes an orphan in its place.
			if _, err := t.exec(`UPDATE stores SET orphan = 1, owner_id = 0 WHERE id = ?`, u.StoreID); err != nil {
				return err
			}
		}
		if _, err := t.exec(`UPDATE stores SET orphan = 0, owner_id = ? WHERE id = ?`, u.ID, s.ID); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE users SET store_id = ? WHERE id = ?`, s.ID, u.ID)
		return err
	})
}

// RemoveStore implements store.Mail: the orphan is soft-deleted and purged
// with the rest after softdelete_lifetime.
func (d *DB) RemoveStore(ctx context.Context, storeID int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if err := t.lockStore(storeID); err != nil {
			return err
		}
		s, _, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(s.TenantID) {
			return fmt.Errorf("store %d: %w", storeID, store.ErrPermission)
		}
		if !s.Orphan {
			return fmt.Errorf("store %d is not an orphan; only orphaned stores can be removed: %w", storeID, store.ErrInvalid)
		}
		_, err = t.exec(`UPDATE stores SET deleted = 1, deleted_at = ? WHERE id = ?`, t.now(), s.ID)
		return err
	})
}
