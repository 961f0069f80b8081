package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/roost-mail/roost/internal/store"
)

// createStore creates a store and, for private stores, its special folders.
func (t *tx) createStore(tenantID, ownerID int64, kind store.StoreKind, locale string) (int64, error) {
	if _, ok := folderNames[locale]; !ok {
		locale = "en_US"
	}
	var id int64
	err := t.row(`INSERT INTO stores (tenant_id, kind, owner_id, locale, created) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		tenantID, string(kind), ownerID, locale, t.now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create store: %w", err)
	}
	if kind == store.StorePrivate && ownerID != 0 {
		if _, err := t.exec(`UPDATE users SET store_id = ? WHERE id = ?`, id, ownerID); err != nil {
			return 0, err
		}
	}
	if kind != store.StorePrivate {
		return id, nil
	}
	names := folderNames[locale]
	for i, sf := range specialFolders {
		if _, err := t.insertFolder(id, 0, names[i], sf.typ, sf.special); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// storeRow is what access checks need to know of a store.
type storeRow struct {
	store.Store
	deleted bool
	// Quota settings of the owner and the tenant, loaded with the store so
	// a write checks quota without more queries.
	userOverride bool
	userQuota    store.Quota
	tenantQuota  store.Quota
}

const storeCols = `s.id, s.tenant_id, t.name, s.kind, s.owner_id, COALESCE(u.login, ''), s.former_owner, s.orphan, s.locale, s.size, s.messages, s.created, s.deleted,
	COALESCE(u.quota_override, 0), COALESCE(u.q_warn, 0), COALESCE(u.q_soft, 0), COALESCE(u.q_hard, 0), t.uq_warn, t.uq_soft, t.uq_hard, s.modseq, s.node`

const storeFrom = ` FROM stores s JOIN tenants t ON t.id = s.tenant_id LEFT JOIN users u ON u.id = s.owner_id `

func scanStore(sc interface{ Scan(...any) error }) (*storeRow, error) {
	var s storeRow
	dest, finish := storeDest(&s)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	finish()
	return &s, nil
}

// storeDest returns the scan destinations of storeCols and what to do
// once they are filled.
func storeDest(s *storeRow) ([]any, func()) {
	var kind string
	var orphan, deleted, override int
	var created, modseq int64
	return []any{&s.ID, &s.TenantID, &s.Tenant, &kind, &s.OwnerID, &s.Owner, &s.FormerOwner, &orphan, &s.Locale, &s.Size, &s.Messages, &created, &deleted,
			&override, &s.userQuota.Warn, &s.userQuota.Soft, &s.userQuota.Hard, &s.tenantQuota.Warn, &s.tenantQuota.Soft, &s.tenantQuota.Hard, &modseq, &s.Node},
		func() {
			s.ModSeq = uint64(modseq)
			s.userOverride = override != 0
			s.Kind, s.Orphan, s.deleted = store.StoreKind(kind), orphan != 0, deleted != 0
			s.Created = fromMicro(created)
		}
}

func (t *tx) storeByID(id int64) (*storeRow, error) {
	s, err := scanStore(t.row(`SELECT `+storeCols+storeFrom+`WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store %d: %w", id, err)
	}
	return s, nil
}

// GetStore implements store.Mail: the principal's own stores, those it
// administers, and stores in which it may look up at least one folder.
func (d *DB) GetStore(ctx context.Context, id int64) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Store
	err = d.read(ctx, func(t *tx) error {
		s, full, err := t.storeAccess(p, id)
		if err != nil {
			return err
		}
		if !full {
			fs, err := t.visibleFolders(p, s, false)
			if err != nil {
				return err
			}
			if len(fs) == 0 {
				return fmt.Errorf("store %d: %w", id, store.ErrNotFound)
			}
		}
		out = &s.Store
		return nil
	})
	return out, err
}

// UserStore implements store.Mail.
func (d *DB) UserStore(ctx context.Context, login string) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var sid int64
	err = d.read(ctx, func(t *tx) error {
		u, err := t.visibleUser(p, login)
		if err != nil {
			return err
		}
		sid = u.StoreID
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sid == 0 {
		// Just-in-time creation (users that came from LDAP or unix).
		err = d.write(ctx, func(t *tx) error {
			// Lock the user's row first, so that two first logins at once
			// do not create two stores.
			if t.d.dialect == postgres {
				if _, err := t.exec(`SELECT id FROM users WHERE login_lc = ? FOR UPDATE`, lc(login)); err != nil {
					return err
				}
			}
			u, err := t.visibleUser(p, login)
			if err != nil {
				return err
			}
			if u.StoreID != 0 {
				sid = u.StoreID
				return nil
			}
			sid, err = t.createStore(u.TenantID, u.ID, store.StorePrivate, d.getDefaults().Locale)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return d.GetStore(ctx, sid)
}

// setPublicStore makes storeID the tenant's public store unless another
// writer made one since the caller looked (a compare-and-set).
func (t *tx) setPublicStore(tn *store.Tenant, storeID int64) error {
	res, err := t.exec(`UPDATE tenants SET public_store_id = ? WHERE id = ? AND public_store_id = 0`, storeID, tn.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("tenant %q already has a public store: %w", tn.Name, store.ErrConflict)
	}
	return nil
}

// CreatePublicStore implements store.Mail.
func (d *DB) CreatePublicStore(ctx context.Context, tenant string) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var id int64
	err = d.write(ctx, func(t *tx) error {
		tn, err := t.resolveTenant(p, tenant)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(tn.ID) {
			return fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
		}
		if tn.PublicStoreID != 0 {
			return fmt.Errorf("tenant %q already has a public store (%d): %w", tn.Name, tn.PublicStoreID, store.ErrConflict)
		}
		if id, err = t.createStore(tn.ID, 0, store.StorePublic, d.getDefaults().Locale); err != nil {
			return err
		}
		return t.setPublicStore(tn, id)
	})
	if err != nil {
		return nil, err
	}
	return d.GetStore(ctx, id)
}
