package sqlstore

import (
	"context"
	"fmt"

	"github.com/roost-mail/roost/internal/store"
)

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
	if s.Kind == store.StorePublic || s.Kind == store.StoreArchive || add <= 0 {
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
