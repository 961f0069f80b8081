package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// ---- tenants ----

const tenantCols = `id, name, quota_warn, uq_warn, uq_soft, uq_hard, public_store_id, home_node, external_id, created`

func scanTenant(sc interface{ Scan(...any) error }) (*store.Tenant, error) {
	var t store.Tenant
	var created int64
	if err := sc.Scan(&t.ID, &t.Name, &t.QuotaWarn, &t.UserQuotaWarn, &t.UserQuotaSoft, &t.UserQuotaHard, &t.PublicStoreID, &t.HomeNode, &t.ExternalID, &created); err != nil {
		return nil, err
	}
	t.Created = fromMicro(created)
	return &t, nil
}

func (t *tx) tenantByName(name string) (*store.Tenant, error) {
	tn, err := scanTenant(t.row(`SELECT `+tenantCols+` FROM tenants WHERE name_lc = ?`, lc(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("tenant", name)
	}
	if err != nil {
		return nil, fmt.Errorf("tenant %q: %w", name, err)
	}
	return tn, nil
}

func (t *tx) tenantByID(id int64) (*store.Tenant, error) {
	tn, err := scanTenant(t.row(`SELECT `+tenantCols+` FROM tenants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("tenant #%d: %w", id, store.ErrNotFound)
	}
	return tn, err
}

// visibleTenant loads a tenant the principal can see.
func (t *tx) visibleTenant(p *store.Principal, name string) (*store.Tenant, error) {
	tn, err := t.tenantByName(name)
	if err != nil {
		return nil, err
	}
	if !p.SeesTenant(tn.ID) {
		return nil, notFound("tenant", name)
	}
	return tn, nil
}

func (t *tx) fillTenant(tn *store.Tenant) error {
	var err error
	tn.Viewers, err = t.strings(`SELECT v.name FROM tenant_viewers tv JOIN tenants v ON v.id = tv.viewer_id WHERE tv.tenant_id = ? ORDER BY v.name`, tn.ID)
	if err != nil {
		return err
	}
	tn.Admins, err = t.strings(`SELECT u.login FROM tenant_admins ta JOIN users u ON u.id = ta.user_id WHERE ta.tenant_id = ? ORDER BY u.login`, tn.ID)
	return err
}

// CreateTenant implements store.Directory. It also creates the tenant's
// Everyone group.
func (d *DB) CreateTenant(ctx context.Context, name string) (*store.Tenant, error) {
	if _, err := requireSystemAdmin(ctx); err != nil {
		return nil, err
	}
	if err := validName("tenant", name); err != nil {
		return nil, err
	}
	var out *store.Tenant
	err := d.write(ctx, func(t *tx) error {
		var id int64
		err := t.row(`INSERT INTO tenants (name, name_lc, created) VALUES (?, ?, ?) RETURNING id`, name, lc(name), t.now()).Scan(&id)
		if isUniqueViolation(err) {
			return fmt.Errorf("tenant %q already exists: %w", name, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create tenant %q: %w", name, err)
		}
		if _, err := t.exec(`INSERT INTO groups (tenant_id, name, name_lc, kind, builtin) VALUES (?, ?, ?, ?, 1)`,
			id, store.EveryoneGroup, lc(store.EveryoneGroup), string(store.GroupSecurity)); err != nil {
			return fmt.Errorf("create group Everyone: %w", err)
		}
		out, err = t.tenantByID(id)
		return err
	})
	return out, err
}

// GetTenant implements store.Directory.
func (d *DB) GetTenant(ctx context.Context, name string) (*store.Tenant, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Tenant
	err = d.read(ctx, func(t *tx) error {
		tn, err := t.visibleTenant(p, name)
		if err != nil {
			return err
		}
		out = tn
		return t.fillTenant(tn)
	})
	return out, err
}

// ListTenants implements store.Directory: the tenants the principal sees.
func (d *DB) ListTenants(ctx context.Context) ([]*store.Tenant, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Tenant
	err = d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT ` + tenantCols + ` FROM tenants ORDER BY name_lc`)
		if err != nil {
			return err
		}
		var all []*store.Tenant
		for rows.Next() {
			tn, err := scanTenant(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if p.SeesTenant(tn.ID) {
				all = append(all, tn)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, tn := range all {
			if err := t.fillTenant(tn); err != nil {
				return err
			}
		}
		out = all
		return nil
	})
	return out, err
}

// UpdateTenant implements store.Directory. Only system administrators set
// a tenant's quotas: a tenant admin must not raise its own limits; nor
// rename or link it.
func (d *DB) UpdateTenant(ctx context.Context, name string, u store.TenantUpdate) (*store.Tenant, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Tenant
	err = d.write(ctx, func(t *tx) error {
		tn, err := t.visibleTenant(p, name)
		if err != nil {
			return err
		}
		if !p.IsSystemAdmin() {
			return fmt.Errorf("only a system administrator may change tenant quotas, home nodes, names and links: %w", store.ErrPermission)
		}
		if u.Name != nil && *u.Name != tn.Name {
			if err := validName("tenant", *u.Name); err != nil {
				return err
			}
			if lc(*u.Name) != lc(tn.Name) {
				if _, err := t.tenantByName(*u.Name); err == nil {
					return fmt.Errorf("tenant %q already exists: %w", *u.Name, store.ErrConflict)
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			_, err := t.exec(`UPDATE tenants SET name = ?, name_lc = ? WHERE id = ?`, *u.Name, lc(*u.Name), tn.ID)
			if isUniqueViolation(err) {
				return fmt.Errorf("tenant %q already exists: %w", *u.Name, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("rename tenant %q: %w", name, err)
			}
			// The queue keeps the tenant's name (per-tenant limits,
			// who may see a message): queued mail follows.
			if _, err := t.exec(`UPDATE queue SET tenant = ? WHERE tenant = ?`, *u.Name, tn.Name); err != nil {
				return fmt.Errorf("rename tenant %q: queue: %w", name, err)
			}
		}
		if u.ExternalID != nil && *u.ExternalID != tn.ExternalID {
			if len(*u.ExternalID) > 1024 {
				return fmt.Errorf("external id: at most 1024 bytes: %w", store.ErrInvalid)
			}
			if _, err := t.exec(`UPDATE tenants SET external_id = ? WHERE id = ?`, *u.ExternalID, tn.ID); err != nil {
				return fmt.Errorf("link tenant %q: %w", name, err)
			}
		}
		set := func(v *int64, cur int64) (int64, error) {
			if v == nil {
				return cur, nil
			}
			if *v < 0 {
				return 0, fmt.Errorf("quota must not be negative: %w", store.ErrInvalid)
			}
			return *v, nil
		}
		var q [4]int64
		for i, pair := range []struct {
			v   *int64
			cur int64
		}{{u.QuotaWarn, tn.QuotaWarn}, {u.UserQuotaWarn, tn.UserQuotaWarn}, {u.UserQuotaSoft, tn.UserQuotaSoft}, {u.UserQuotaHard, tn.UserQuotaHard}} {
			if q[i], err = set(pair.v, pair.cur); err != nil {
				return err
			}
		}
		if err := checkQuotaOrder(store.Quota{Warn: q[1], Soft: q[2], Hard: q[3]}); err != nil {
			return err
		}
		home := tn.HomeNode
		if u.HomeNode != nil {
			home = strings.TrimSpace(*u.HomeNode)
			if len(home) > 255 {
				return fmt.Errorf("home node %q: at most 255 bytes: %w", home, store.ErrInvalid)
			}
			if home != "" && home != tn.HomeNode {
				// A name no backend has sends the tenant's users
				// nowhere: every login would fail temporarily.
				var roles string
				err := t.row(`SELECT roles FROM nodes WHERE name = ?`, home).Scan(&roles)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("home node %q is not in the node registry (roost admin node list): %w", home, store.ErrInvalid)
				}
				if err != nil {
					return fmt.Errorf("node %s: %w", home, err)
				}
				if !slices.Contains(strings.Split(roles, ","), "backend") {
					return fmt.Errorf("home node %s does not have the backend role (roles %s): %w", home, roles, store.ErrInvalid)
				}
			}
		}
		if _, err := t.exec(`UPDATE tenants SET quota_warn = ?, uq_warn = ?, uq_soft = ?, uq_hard = ?, home_node = ? WHERE id = ?`, q[0], q[1], q[2], q[3], home, tn.ID); err != nil {
			return fmt.Errorf("update tenant %q: %w", name, err)
		}
		out, err = t.tenantByID(tn.ID)
		if err != nil {
			return err
		}
		return t.fillTenant(out)
	})
	return out, err
}

// checkQuotaOrder requires warn <= soft <= hard among the levels that are set.
func checkQuotaOrder(q store.Quota) error {
	levels := []struct {
		name string
		v    int64
	}{{"warn", q.Warn}, {"soft", q.Soft}, {"hard", q.Hard}}
	for i := range levels {
		for j := i + 1; j < len(levels); j++ {
			if levels[i].v > 0 && levels[j].v > 0 && levels[i].v > levels[j].v {
				return fmt.Errorf("%s quota (%d MB) is above %s quota (%d MB): %w",
					levels[i].name, levels[i].v>>20, levels[j].name, levels[j].v>>20, store.ErrInvalid)
			}
		}
	}
	return nil
}

// DeleteTenant implements store.Directory. A tenant with users or domains
// is refused: deleting mail by accident is worse than a second command.
func (d *DB) DeleteTenant(ctx context.Context, name string) error {
	if _, err := requireSystemAdmin(ctx); err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, err := t.tenantByName(name)
		if err != nil {
			return err
		}
		var n int
		if err := t.row(`SELECT COUNT(*) FROM users WHERE tenant_id = ?`, tn.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("tenant %q still has %d users; delete them first: %w", name, n, store.ErrConflict)
		}
		if err := t.row(`SELECT COUNT(*) FROM domains WHERE tenant_id = ?`, tn.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("tenant %q still has %d domains; remove them first: %w", name, n, store.ErrConflict)
		}
		var stores int
		if err := t.row(`SELECT COUNT(*) FROM stores WHERE tenant_id = ? AND deleted = 0 AND kind <> 'public'`, tn.ID).Scan(&stores); err != nil {
			return err
		}
		if stores > 0 {
			return fmt.Errorf("tenant %q still has %d orphaned stores; remove them first: %w", name, stores, store.ErrConflict)
		}
		for _, q := range []string{
			`UPDATE stores SET deleted = 1, deleted_at = ? WHERE tenant_id = ? AND deleted = 0`,
		} {
			if _, err := t.exec(q, t.now(), tn.ID); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM group_members WHERE group_id IN (SELECT id FROM groups WHERE tenant_id = ?)`,
			`DELETE FROM addresses WHERE group_id IN (SELECT id FROM groups WHERE tenant_id = ?)`,
			`DELETE FROM groups WHERE tenant_id = ?`,
			`DELETE FROM group_contacts WHERE contact_id IN (SELECT id FROM contacts WHERE tenant_id = ?)`,
			`DELETE FROM contacts WHERE tenant_id = ?`,
			`DELETE FROM tenant_viewers WHERE tenant_id = ? OR viewer_id = ?`,
			`DELETE FROM tenant_admins WHERE tenant_id = ?`,
			`DELETE FROM tenants WHERE id = ?`,
		} {
			args := []any{tn.ID}
			if strings.Count(q, "?") == 2 {
				args = append(args, tn.ID)
			}
			if _, err := t.exec(q, args...); err != nil {
				return fmt.Errorf("delete tenant %q: %w", name, err)
			}
		}
		return nil
	})
}

// AddTenantViewer lets viewer see tenant's address book.
func (d *DB) AddTenantViewer(ctx context.Context, tenant, viewer string) error {
	return d.tenantPair(ctx, tenant, viewer, `INSERT INTO tenant_viewers (tenant_id, viewer_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
}

// RemoveTenantViewer undoes AddTenantViewer.
func (d *DB) RemoveTenantViewer(ctx context.Context, tenant, viewer string) error {
	return d.tenantPair(ctx, tenant, viewer, `DELETE FROM tenant_viewers WHERE tenant_id = ? AND viewer_id = ?`)
}

func (d *DB) tenantPair(ctx context.Context, tenant, viewer, q string) error {
	if _, err := requireSystemAdmin(ctx); err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, err := t.tenantByName(tenant)
		if err != nil {
			return err
		}
		v, err := t.tenantByName(viewer)
		if err != nil {
			return err
		}
		if tn.ID == v.ID {
			return fmt.Errorf("a tenant always sees itself: %w", store.ErrInvalid)
		}
		_, err = t.exec(q, tn.ID, v.ID)
		return err
	})
}

// AddTenantAdmin makes login (a user of any tenant) an administrator of
// tenant. The user needs admin level 1 or more to use the right.
func (d *DB) AddTenantAdmin(ctx context.Context, tenant, login string) error {
	return d.tenantAdmin(ctx, tenant, login, `INSERT INTO tenant_admins (tenant_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
}

// RemoveTenantAdmin undoes AddTenantAdmin.
func (d *DB) RemoveTenantAdmin(ctx context.Context, tenant, login string) error {
	return d.tenantAdmin(ctx, tenant, login, `DELETE FROM tenant_admins WHERE tenant_id = ? AND user_id = ?`)
}

func (d *DB) tenantAdmin(ctx context.Context, tenant, login, q string) error {
	if _, err := requireSystemAdmin(ctx); err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, err := t.tenantByName(tenant)
		if err != nil {
			return err
		}
		u, err := t.userByLogin(login)
		if err != nil {
			return err
		}
		_, err = t.exec(q, tn.ID, u.ID)
		return err
	})
}
