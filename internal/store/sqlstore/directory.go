package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

func notFound(what, name string) error {
	return fmt.Errorf("%s %q: %w", what, name, store.ErrNotFound)
}

func lc(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validName checks names of tenants, users and groups: printable, no
// slashes or control characters, bounded length.
func validName(what, s string) error {
	if s == "" || len(s) > 255 {
		return fmt.Errorf("%s name must be 1 to 255 bytes: %w", what, store.ErrInvalid)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == '*' || r == '%' || r == '"' {
			return fmt.Errorf("%s name %q contains %q: %w", what, s, r, store.ErrInvalid)
		}
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%s name %q has leading or trailing space: %w", what, s, store.ErrInvalid)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%s name %q is not allowed: %w", what, s, store.ErrInvalid)
	}
	return nil
}

func validAddress(a string) error {
	at := strings.LastIndexByte(a, '@')
	if at < 0 || at == len(a)-1 || len(a) > 254 || strings.ContainsAny(a, " \t\r\n<>,;\"") {
		return fmt.Errorf("%q is not a valid mail address: %w", a, store.ErrInvalid)
	}
	return nil
}

// validPrimary is validAddress without catch-alls: a user's or group's own
// address has a local part.
func validPrimary(a string) error {
	if strings.HasPrefix(a, "@") {
		return fmt.Errorf("mail address %q has no local part (a catch-all can only be an alias): %w", a, store.ErrInvalid)
	}
	return validAddress(a)
}

func requireSystemAdmin(ctx context.Context) (*store.Principal, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsSystemAdmin() {
		return nil, fmt.Errorf("only a system administrator may do this: %w", store.ErrPermission)
	}
	return p, nil
}

// ---- tenants ----

const tenantCols = `id, name, quota_warn, uq_warn, uq_soft, uq_hard, public_store_id, created`

func scanTenant(sc interface{ Scan(...any) error }) (*store.Tenant, error) {
	var t store.Tenant
	var created int64
	if err := sc.Scan(&t.ID, &t.Name, &t.QuotaWarn, &t.UserQuotaWarn, &t.UserQuotaSoft, &t.UserQuotaHard, &t.PublicStoreID, &created); err != nil {
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

func (t *tx) strings(q string, args ...any) ([]string, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
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
		err := t.row(`INSERT INTO tenants (name, name_lc, created) VALUES (?, ?, ?) RETURNING id`, name, lc(name), now()).Scan(&id)
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
// a tenant's quotas: a tenant admin must not raise its own limits.
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
			return fmt.Errorf("only a system administrator may change tenant quotas: %w", store.ErrPermission)
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
		if _, err := t.exec(`UPDATE tenants SET quota_warn = ?, uq_warn = ?, uq_soft = ?, uq_hard = ? WHERE id = ?`, q[0], q[1], q[2], q[3], tn.ID); err != nil {
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
			if _, err := t.exec(q, now(), tn.ID); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM group_members WHERE group_id IN (SELECT id FROM groups WHERE tenant_id = ?)`,
			`DELETE FROM addresses WHERE group_id IN (SELECT id FROM groups WHERE tenant_id = ?)`,
			`DELETE FROM groups WHERE tenant_id = ?`,
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

// ---- domains ----

func validDomain(s string) error {
	if s == "" || len(s) > 253 || strings.ContainsAny(s, " @/\\\t\r\n") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return fmt.Errorf("domain %q is not a valid domain name: %w", s, store.ErrInvalid)
	}
	return nil
}

// AddDomain implements store.Directory.
func (d *DB) AddDomain(ctx context.Context, tenant, domain string) error {
	if _, err := requireSystemAdmin(ctx); err != nil {
		return err
	}
	domain = lc(domain)
	if err := validDomain(domain); err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, err := t.tenantByName(tenant)
		if err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO domains (name, tenant_id) VALUES (?, ?)`, domain, tn.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("domain %q already exists: %w", domain, store.ErrConflict)
		}
		return err
	})
}

// RemoveDomain implements store.Directory. A domain still used by an
// address is refused.
func (d *DB) RemoveDomain(ctx context.Context, domain string) error {
	if _, err := requireSystemAdmin(ctx); err != nil {
		return err
	}
	domain = lc(domain)
	return d.write(ctx, func(t *tx) error {
		var n int
		// A suffix comparison, not LIKE: "_" and "%" may occur in domains.
		if err := t.row(`SELECT COUNT(*) FROM addresses WHERE substr(address, length(address) - ? + 1) = ?`, len(domain)+1, "@"+domain).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("domain %q is still used by %d addresses: %w", domain, n, store.ErrConflict)
		}
		res, err := t.exec(`DELETE FROM domains WHERE name = ?`, domain)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return notFound("domain", domain)
		}
		return nil
	})
}

// ListDomains implements store.Directory.
func (d *DB) ListDomains(ctx context.Context) ([]store.Domain, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Domain
	err = d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT d.name, t.name, t.id FROM domains d JOIN tenants t ON t.id = d.tenant_id ORDER BY d.name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var dm store.Domain
			var tid int64
			if err := rows.Scan(&dm.Name, &dm.Tenant, &tid); err != nil {
				return err
			}
			if p.SeesTenant(tid) {
				out = append(out, dm)
			}
		}
		return rows.Err()
	})
	return out, err
}

// checkAddressDomain refuses an address in a domain of another tenant.
func (t *tx) checkAddressDomain(tenantID int64, addr string) error {
	dom := addr[strings.LastIndexByte(addr, '@')+1:]
	var owner int64
	err := t.row(`SELECT tenant_id FROM domains WHERE name = ?`, dom).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if owner != tenantID {
		return fmt.Errorf("address %q: domain %q belongs to another tenant: %w", addr, dom, store.ErrInvalid)
	}
	return nil
}

func (t *tx) addAddress(tenantID, userID, groupID int64, addr string, primary bool) error {
	addr = lc(addr)
	check := validAddress
	if primary {
		check = validPrimary
	}
	if err := check(addr); err != nil {
		return err
	}
	if err := t.checkAddressDomain(tenantID, addr); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO addresses (address, user_id, group_id, is_primary) VALUES (?, ?, ?, ?)`, addr, userID, groupID, b2i(primary))
	if isUniqueViolation(err) {
		return fmt.Errorf("address %q is already in use: %w", addr, store.ErrConflict)
	}
	return err
}

// ---- users ----

const userCols = `u.id, u.tenant_id, t.name, u.login, u.email, u.full_name, u.active, u.admin, u.features_on, u.features_off,
	u.quota_override, u.q_warn, u.q_soft, u.q_hard, u.mr_accept, u.mr_decline_conflict, u.mr_decline_recurring,
	u.capacity, u.home_node, u.password_hash, u.store_id, u.created, u.external_id`

const userFrom = ` FROM users u JOIN tenants t ON t.id = u.tenant_id `

func scanUser(sc interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var active, admin, qo, mra, mrc, mrr int
	var on, off string
	var created int64
	err := sc.Scan(&u.ID, &u.TenantID, &u.Tenant, &u.Login, &u.Email, &u.FullName, &active, &admin, &on, &off,
		&qo, &u.Quota.Warn, &u.Quota.Soft, &u.Quota.Hard, &mra, &mrc, &mrr, &u.Resource.Capacity, &u.HomeNode,
		&u.PasswordHash, &u.StoreID, &created, &u.ExternalID)
	if err != nil {
		return nil, err
	}
	u.Active, u.Admin, u.QuotaOverride = active != 0, store.AdminLevel(admin), qo != 0
	u.Resource.AutoAccept, u.Resource.DeclineConflict, u.Resource.DeclineRecurring = mra != 0, mrc != 0, mrr != 0
	u.EnabledFeatures, u.DisabledFeatures = splitList(on), splitList(off)
	u.Created = fromMicro(created)
	return &u, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func joinList(l []string) string {
	slices.Sort(l)
	return strings.Join(slices.Compact(l), " ")
}

func (t *tx) userByLogin(login string) (*store.User, error) {
	u, err := scanUser(t.row(`SELECT `+userCols+userFrom+`WHERE u.login_lc = ?`, lc(login)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", login)
	}
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", login, err)
	}
	return u, nil
}

func (t *tx) userByID(id int64) (*store.User, error) {
	u, err := scanUser(t.row(`SELECT `+userCols+userFrom+`WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user #%d: %w", id, store.ErrNotFound)
	}
	return u, err
}

// fillUser loads aliases, send-as delegates and groups (fillUserOnce).
func (t *tx) fillUser(u *store.User) error {
	if err := t.fillUserOnce(u); err != nil {
		return err
	}
	u.Groups = append([]string{store.EveryoneGroup}, u.Groups...)
	return nil
}

// visibleUser loads a user the principal may see.
func (t *tx) visibleUser(p *store.Principal, login string) (*store.User, error) {
	u, err := t.userByLogin(login)
	if err != nil {
		return nil, err
	}
	if !p.SeesTenant(u.TenantID) && p.UserID != u.ID {
		return nil, notFound("user", login)
	}
	return u, nil
}

// administeredUser loads a user the principal may change.
func (t *tx) administeredUser(p *store.Principal, login string) (*store.User, error) {
	u, err := t.visibleUser(p, login)
	if err != nil {
		return nil, err
	}
	if !p.AdministersTenant(u.TenantID) {
		return nil, fmt.Errorf("user %q: not an administrator of tenant %q: %w", login, u.Tenant, store.ErrPermission)
	}
	if u.Admin >= store.AdminSystem && !p.IsSystemAdmin() {
		return nil, fmt.Errorf("user %q is a system administrator: %w", login, store.ErrPermission)
	}
	return u, nil
}

func checkFeatures(fs []string) error {
	for _, f := range fs {
		if !slices.Contains(store.Features, f) {
			return fmt.Errorf("unknown feature %q (known: %s): %w", f, strings.Join(store.Features, ", "), store.ErrInvalid)
		}
	}
	return nil
}

// CreateUser implements store.Directory.
func (d *DB) CreateUser(ctx context.Context, tenant string, in store.User) (*store.User, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := validName("user", in.Login); err != nil {
		return nil, err
	}
	if strings.ContainsAny(in.Login, " \t") {
		return nil, fmt.Errorf("login %q contains white space: %w", in.Login, store.ErrInvalid)
	}
	if in.Admin < store.AdminNone || in.Admin > store.AdminSystem {
		return nil, fmt.Errorf("admin level %d: must be 0, 1 or 2: %w", in.Admin, store.ErrInvalid)
	}
	if err := checkFeatures(append(slices.Clone(in.EnabledFeatures), in.DisabledFeatures...)); err != nil {
		return nil, err
	}
	if err := checkQuotaOrder(in.Quota); err != nil {
		return nil, err
	}
	var out *store.User
	err = d.write(ctx, func(t *tx) error {
		tn, err := t.visibleTenant(p, tenant)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(tn.ID) {
			return fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
		}
		if in.Admin >= store.AdminSystem && !p.IsSystemAdmin() {
			return fmt.Errorf("only a system administrator may create system administrators: %w", store.ErrPermission)
		}
		var id int64
		err = t.row(`INSERT INTO users (tenant_id, login, login_lc, email, full_name, active, admin, features_on, features_off,
			quota_override, q_warn, q_soft, q_hard, mr_accept, mr_decline_conflict, mr_decline_recurring, capacity, home_node,
			password_hash, created, external_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			tn.ID, in.Login, lc(in.Login), lc(in.Email), in.FullName, b2i(in.Active), int(in.Admin),
			joinList(in.EnabledFeatures), joinList(in.DisabledFeatures), b2i(in.QuotaOverride),
			in.Quota.Warn, in.Quota.Soft, in.Quota.Hard, b2i(in.Resource.AutoAccept), b2i(in.Resource.DeclineConflict),
			b2i(in.Resource.DeclineRecurring), in.Resource.Capacity, in.HomeNode, in.PasswordHash, now(), in.ExternalID).Scan(&id)
		if isUniqueViolation(err) {
			return fmt.Errorf("user %q already exists: %w", in.Login, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create user %q: %w", in.Login, err)
		}
		if in.Email != "" {
			if err := t.addAddress(tn.ID, id, 0, in.Email, true); err != nil {
				return err
			}
		}
		for _, a := range in.Aliases {
			if err := t.addAddress(tn.ID, id, 0, a, false); err != nil {
				return err
			}
		}
		if _, err := t.createStore(tn.ID, id, store.StorePrivate, d.getDefaults().Locale); err != nil {
			return err
		}
		u, err := t.userByID(id)
		if err != nil {
			return err
		}
		out = u
		return t.fillUser(u)
	})
	if err != nil {
		return nil, err
	}
	return redact(p, out), nil
}

// redact hides the password hash from everyone but the system principal.
func redact(p *store.Principal, u *store.User) *store.User {
	if !p.System {
		u.PasswordHash = ""
	}
	return u
}

// GetUser implements store.Directory.
func (d *DB) GetUser(ctx context.Context, login string) (*store.User, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.User
	err = d.read(ctx, func(t *tx) error {
		u, err := t.visibleUser(p, login)
		if err != nil {
			return err
		}
		out = u
		return t.fillUser(u)
	})
	if err != nil {
		return nil, err
	}
	return redact(p, out), nil
}

// UserByAddress implements store.Directory.
func (d *DB) UserByAddress(ctx context.Context, addr string) (*store.User, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.User
	err = d.read(ctx, func(t *tx) error {
		var uid int64
		err := t.row(`SELECT user_id FROM addresses WHERE address = ? AND user_id <> 0`, lc(addr)).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("address", addr)
		}
		if err != nil {
			return err
		}
		u, err := t.userByID(uid)
		if err != nil {
			return err
		}
		if !p.SeesTenant(u.TenantID) && p.UserID != u.ID {
			return notFound("address", addr)
		}
		out = u
		return t.fillUser(u)
	})
	if err != nil {
		return nil, err
	}
	return redact(p, out), nil
}

// UserByExternalID finds the user linked to an external directory entry
// by its unique id (store.User.ExternalID); ErrNotFound when none is.
func (d *DB) UserByExternalID(ctx context.Context, id string) (*store.User, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, notFound("external id", id)
	}
	var out *store.User
	err = d.read(ctx, func(t *tx) error {
		u, err := scanUser(t.row(`SELECT `+userCols+userFrom+`WHERE u.external_id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("external id", id)
		}
		if err != nil {
			return fmt.Errorf("user by external id: %w", err)
		}
		if !p.SeesTenant(u.TenantID) && p.UserID != u.ID {
			return notFound("external id", id)
		}
		out = u
		return t.fillUser(u)
	})
	if err != nil {
		return nil, err
	}
	return redact(p, out), nil
}

// ListUsers implements store.Directory; tenant "" lists every tenant the
// principal sees.
func (d *DB) ListUsers(ctx context.Context, tenant string) ([]*store.User, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.User
	err = d.read(ctx, func(t *tx) error {
		q := `SELECT ` + userCols + userFrom
		var args []any
		if tenant != "" {
			tn, err := t.visibleTenant(p, tenant)
			if err != nil {
				return err
			}
			q += `WHERE u.tenant_id = ?`
			args = append(args, tn.ID)
		}
		rows, err := t.query(q+` ORDER BY t.name_lc, u.login_lc`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if p.SeesTenant(u.TenantID) {
				out = append(out, redact(p, u))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range out {
			if err := t.fillUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// UpdateUser implements store.Directory. Users may change their own full
// name and password; everything else needs an administrator of the tenant.
func (d *DB) UpdateUser(ctx context.Context, login string, in store.UserUpdate) (*store.User, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkFeatures(append(slices.Clone(in.EnableFeature), in.DisableFeat...)); err != nil {
		return nil, err
	}
	var out *store.User
	err = d.write(ctx, func(t *tx) error {
		u, err := t.visibleUser(p, login)
		if err != nil {
			return err
		}
		selfOnly := reflect.DeepEqual(in, store.UserUpdate{FullName: in.FullName, PasswordHash: in.PasswordHash})
		if !(selfOnly && p.UserID == u.ID) {
			if u, err = t.administeredUser(p, login); err != nil {
				return err
			}
		}
		if in.PasswordHashWas != nil {
			// A compare-and-swap of the hash alone: the row is locked by
			// the UPDATE and its condition re-read, on both backends.
			if in.PasswordHash == nil || !reflect.DeepEqual(in, store.UserUpdate{PasswordHash: in.PasswordHash, PasswordHashWas: in.PasswordHashWas}) {
				return fmt.Errorf("a conditional password change must change nothing else: %w", store.ErrInvalid)
			}
			res, err := t.exec(`UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, *in.PasswordHash, u.ID, *in.PasswordHashWas)
			if err != nil {
				return fmt.Errorf("update user %q: %w", login, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("user %q: password changed meanwhile: %w", login, store.ErrConflict)
			}
			if out, err = t.userByID(u.ID); err != nil {
				return err
			}
			return t.fillUser(out)
		}
		if in.Admin != nil {
			if *in.Admin < store.AdminNone || *in.Admin > store.AdminSystem {
				return fmt.Errorf("admin level %d: must be 0, 1 or 2: %w", *in.Admin, store.ErrInvalid)
			}
			if *in.Admin >= store.AdminSystem && !p.IsSystemAdmin() {
				return fmt.Errorf("only a system administrator may grant admin level 2: %w", store.ErrPermission)
			}
			u.Admin = *in.Admin
		}
		if in.Rename != nil {
			if err := validName("user", *in.Rename); err != nil {
				return err
			}
			if strings.ContainsAny(*in.Rename, " \t") {
				return fmt.Errorf("login %q contains white space: %w", *in.Rename, store.ErrInvalid)
			}
			u.Login = *in.Rename
		}
		if in.FullName != nil {
			u.FullName = *in.FullName
		}
		if in.PasswordHash != nil {
			u.PasswordHash = *in.PasswordHash
		}
		if in.Active != nil {
			u.Active = *in.Active
		}
		if in.QuotaOverride != nil {
			u.QuotaOverride = *in.QuotaOverride
		}
		for _, q := range []struct {
			v   *int64
			dst *int64
		}{{in.QuotaWarn, &u.Quota.Warn}, {in.QuotaSoft, &u.Quota.Soft}, {in.QuotaHard, &u.Quota.Hard}} {
			if q.v != nil {
				if *q.v < 0 {
					return fmt.Errorf("quota must not be negative: %w", store.ErrInvalid)
				}
				*q.dst = *q.v
			}
		}
		if err := checkQuotaOrder(u.Quota); err != nil {
			return err
		}
		on, off := u.EnabledFeatures, u.DisabledFeatures
		for _, f := range in.EnableFeature {
			off = slices.DeleteFunc(off, func(x string) bool { return x == f })
			on = append(on, f)
		}
		for _, f := range in.DisableFeat {
			on = slices.DeleteFunc(on, func(x string) bool { return x == f })
			off = append(off, f)
		}
		if in.AutoAccept != nil {
			u.Resource.AutoAccept = *in.AutoAccept
		}
		if in.DeclConflict != nil {
			u.Resource.DeclineConflict = *in.DeclConflict
		}
		if in.DeclRecurring != nil {
			u.Resource.DeclineRecurring = *in.DeclRecurring
		}
		if in.Capacity != nil {
			if *in.Capacity < 0 {
				return fmt.Errorf("capacity must not be negative: %w", store.ErrInvalid)
			}
			u.Resource.Capacity = *in.Capacity
		}
		if in.HomeNode != nil {
			u.HomeNode = *in.HomeNode
		}
		if in.ExternalID != nil {
			u.ExternalID = *in.ExternalID
		}
		_, err = t.exec(`UPDATE users SET login = ?, login_lc = ?, full_name = ?, password_hash = ?, admin = ?, active = ?,
			quota_override = ?, q_warn = ?, q_soft = ?, q_hard = ?, features_on = ?, features_off = ?, mr_accept = ?,
			mr_decline_conflict = ?, mr_decline_recurring = ?, capacity = ?, home_node = ?, external_id = ? WHERE id = ?`,
			u.Login, lc(u.Login), u.FullName, u.PasswordHash, int(u.Admin), b2i(u.Active), b2i(u.QuotaOverride),
			u.Quota.Warn, u.Quota.Soft, u.Quota.Hard, joinList(on), joinList(off), b2i(u.Resource.AutoAccept),
			b2i(u.Resource.DeclineConflict), b2i(u.Resource.DeclineRecurring), u.Resource.Capacity, u.HomeNode, u.ExternalID, u.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("user %q already exists: %w", u.Login, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update user %q: %w", login, err)
		}
		if in.Email != nil {
			if _, err := t.exec(`DELETE FROM addresses WHERE user_id = ? AND is_primary = 1`, u.ID); err != nil {
				return err
			}
			// The new primary may have been an alias of this user.
			if _, err := t.exec(`DELETE FROM addresses WHERE user_id = ? AND address = ?`, u.ID, lc(*in.Email)); err != nil {
				return err
			}
			if *in.Email != "" {
				if err := t.addAddress(u.TenantID, u.ID, 0, *in.Email, true); err != nil {
					return err
				}
			}
			if _, err := t.exec(`UPDATE users SET email = ? WHERE id = ?`, lc(*in.Email), u.ID); err != nil {
				return err
			}
		}
		for _, a := range in.AliasAdd {
			if err := t.addAddress(u.TenantID, u.ID, 0, a, false); err != nil {
				return err
			}
		}
		for _, a := range in.AliasRemove {
			res, err := t.exec(`DELETE FROM addresses WHERE user_id = ? AND address = ? AND is_primary = 0`, u.ID, lc(a))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("user %q has no alias %q: %w", u.Login, a, store.ErrNotFound)
			}
		}
		for _, l := range in.SendAsAdd {
			x, err := t.visibleUser(p, l)
			if err != nil {
				return err
			}
			if x.TenantID != u.TenantID {
				return fmt.Errorf("send-as delegate %q is in another tenant: %w", l, store.ErrInvalid)
			}
			if x.ID == u.ID {
				return fmt.Errorf("user %q always sends as itself: %w", l, store.ErrInvalid)
			}
			if _, err := t.exec(`INSERT INTO sendas (user_id, delegate_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, u.ID, x.ID); err != nil {
				return err
			}
		}
		for _, l := range in.SendAsRemove {
			x, err := t.visibleUser(p, l)
			if err != nil {
				return err
			}
			if _, err := t.exec(`DELETE FROM sendas WHERE user_id = ? AND delegate_id = ?`, u.ID, x.ID); err != nil {
				return err
			}
		}
		nu, err := t.userByID(u.ID)
		if err != nil {
			return err
		}
		out = nu
		return t.fillUser(nu)
	})
	if err != nil {
		return nil, err
	}
	return redact(p, out), nil
}

// DeleteUser implements store.Directory. The user's store is kept as an
// orphan (Kopano behaviour) until an administrator removes or re-attaches it.
func (d *DB) DeleteUser(ctx context.Context, login string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		u, err := t.administeredUser(p, login)
		if err != nil {
			return err
		}
		if u.ID == p.UserID {
			return fmt.Errorf("you cannot delete your own account: %w", store.ErrInvalid)
		}
		for _, q := range []string{
			`UPDATE stores SET former_owner = (SELECT login FROM users WHERE id = stores.owner_id), owner_id = 0, orphan = 1 WHERE owner_id = ? AND kind <> 'public'`,
			`DELETE FROM addresses WHERE user_id = ?`,
			`DELETE FROM group_members WHERE user_id = ?`,
			`DELETE FROM tenant_admins WHERE user_id = ?`,
			`DELETE FROM subscriptions WHERE user_id = ?`,
			`DELETE FROM users WHERE id = ?`,
		} {
			if _, err := t.exec(q, u.ID); err != nil {
				return fmt.Errorf("delete user %q: %w", login, err)
			}
		}
		if _, err := t.exec(`DELETE FROM sendas WHERE user_id = ? OR delegate_id = ?`, u.ID, u.ID); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM acl WHERE subject = ?`, store.UserSubject(lc(u.Login))); err != nil {
			return err
		}
		return nil
	})
}

// ---- groups ----

func (t *tx) groupByName(tenantID int64, name string) (*store.Group, error) {
	var g store.Group
	var hidden, builtin int
	var kind string
	err := t.row(`SELECT g.id, g.tenant_id, t.name, g.name, g.email, g.kind, g.hidden, g.builtin FROM groups g JOIN tenants t ON t.id = g.tenant_id
		WHERE g.tenant_id = ? AND g.name_lc = ?`, tenantID, lc(name)).Scan(&g.ID, &g.TenantID, &g.Tenant, &g.Name, &g.Email, &kind, &hidden, &builtin)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("group", name)
	}
	if err != nil {
		return nil, err
	}
	g.Kind, g.Hidden, g.BuiltIn = store.GroupKind(kind), hidden != 0, builtin != 0
	return &g, nil
}

func (t *tx) fillGroup(g *store.Group) error {
	var err error
	if g.BuiltIn && strings.EqualFold(g.Name, store.EveryoneGroup) {
		g.Members, err = t.strings(`SELECT login FROM users WHERE tenant_id = ? ORDER BY login_lc`, g.TenantID)
		return err
	}
	g.Members, err = t.strings(`SELECT u.login FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.login_lc`, g.ID)
	return err
}

// resolveTenant returns the named tenant, or the principal's own for "".
func (t *tx) resolveTenant(p *store.Principal, name string) (*store.Tenant, error) {
	if name == "" {
		if p.TenantID == 0 {
			return nil, fmt.Errorf("no tenant given: %w", store.ErrInvalid)
		}
		return t.tenantByID(p.TenantID)
	}
	return t.visibleTenant(p, name)
}

// CreateGroup implements store.Directory.
func (d *DB) CreateGroup(ctx context.Context, tenant string, g store.Group) (*store.Group, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := validName("group", g.Name); err != nil {
		return nil, err
	}
	if g.Kind == "" {
		g.Kind = store.GroupSecurity
	}
	if g.Kind != store.GroupSecurity && g.Kind != store.GroupDistribution {
		return nil, fmt.Errorf("group kind %q: must be security or distribution: %w", g.Kind, store.ErrInvalid)
	}
	var out *store.Group
	err = d.write(ctx, func(t *tx) error {
		tn, err := t.resolveTenant(p, tenant)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(tn.ID) {
			return fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
		}
		var id int64
		err = t.row(`INSERT INTO groups (tenant_id, name, name_lc, email, kind, hidden) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			tn.ID, g.Name, lc(g.Name), lc(g.Email), string(g.Kind), b2i(g.Hidden)).Scan(&id)
		if isUniqueViolation(err) {
			return fmt.Errorf("group %q already exists in tenant %q: %w", g.Name, tn.Name, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		if g.Email != "" {
			if err := t.addAddress(tn.ID, 0, id, g.Email, true); err != nil {
				return err
			}
		}
		out, err = t.groupByName(tn.ID, g.Name)
		if err != nil {
			return err
		}
		return t.fillGroup(out)
	})
	return out, err
}

// GetGroup implements store.Directory.
func (d *DB) GetGroup(ctx context.Context, tenant, name string) (*store.Group, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Group
	err = d.read(ctx, func(t *tx) error {
		tn, err := t.resolveTenant(p, tenant)
		if err != nil {
			return err
		}
		g, err := t.groupByName(tn.ID, name)
		if err != nil {
			return err
		}
		out = g
		return t.fillGroup(g)
	})
	return out, err
}

// ListGroups implements store.Directory; tenant "" lists all visible ones.
func (d *DB) ListGroups(ctx context.Context, tenant string) ([]*store.Group, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Group
	err = d.read(ctx, func(t *tx) error {
		var tenants []*store.Tenant
		if tenant != "" || !p.IsSystemAdmin() && p.TenantID != 0 && len(p.AdminOf) == 0 {
			tn, err := t.resolveTenant(p, tenant)
			if err != nil {
				return err
			}
			tenants = []*store.Tenant{tn}
		} else {
			rows, err := t.query(`SELECT ` + tenantCols + ` FROM tenants ORDER BY name_lc`)
			if err != nil {
				return err
			}
			for rows.Next() {
				tn, err := scanTenant(rows)
				if err != nil {
					rows.Close()
					return err
				}
				if p.SeesTenant(tn.ID) {
					tenants = append(tenants, tn)
				}
			}
			rows.Close()
		}
		for _, tn := range tenants {
			names, err := t.strings(`SELECT name FROM groups WHERE tenant_id = ? ORDER BY name_lc`, tn.ID)
			if err != nil {
				return err
			}
			for _, n := range names {
				g, err := t.groupByName(tn.ID, n)
				if err != nil {
					return err
				}
				if err := t.fillGroup(g); err != nil {
					return err
				}
				out = append(out, g)
			}
		}
		return nil
	})
	return out, err
}

// DeleteGroup implements store.Directory.
func (d *DB) DeleteGroup(ctx context.Context, tenant, name string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, err := t.resolveTenant(p, tenant)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(tn.ID) {
			return fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
		}
		g, err := t.groupByName(tn.ID, name)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return fmt.Errorf("group %q is built in: %w", g.Name, store.ErrInvalid)
		}
		for _, q := range []string{`DELETE FROM group_members WHERE group_id = ?`, `DELETE FROM addresses WHERE group_id = ?`, `DELETE FROM groups WHERE id = ?`} {
			if _, err := t.exec(q, g.ID); err != nil {
				return err
			}
		}
		_, err = t.exec(`DELETE FROM acl WHERE subject = ?`, store.GroupSubject(lc(g.Name)))
		return err
	})
}

// AddGroupMember implements store.Directory.
func (d *DB) AddGroupMember(ctx context.Context, tenant, group, login string) error {
	return d.groupMember(ctx, tenant, group, login, true)
}

// RemoveGroupMember implements store.Directory.
func (d *DB) RemoveGroupMember(ctx context.Context, tenant, group, login string) error {
	return d.groupMember(ctx, tenant, group, login, false)
}

func (d *DB) groupMember(ctx context.Context, tenant, group, login string, add bool) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, err := t.resolveTenant(p, tenant)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(tn.ID) {
			return fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
		}
		g, err := t.groupByName(tn.ID, group)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return fmt.Errorf("membership of %q is automatic: %w", g.Name, store.ErrInvalid)
		}
		u, err := t.visibleUser(p, login)
		if err != nil {
			return err
		}
		if u.TenantID != tn.ID {
			return fmt.Errorf("user %q is not in tenant %q: %w", login, tn.Name, store.ErrInvalid)
		}
		if add {
			res, err := t.exec(`INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, g.ID, u.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("user %q is already a member of %q: %w", login, g.Name, store.ErrConflict)
			}
			return nil
		}
		res, err := t.exec(`DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, g.ID, u.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %q is not a member of %q: %w", login, g.Name, store.ErrNotFound)
		}
		return nil
	})
}

// Principal implements store.Directory.
func (d *DB) Principal(ctx context.Context, login string) (*store.Principal, error) {
	if p, err := store.Require(ctx); err != nil {
		return nil, err
	} else if !p.System {
		return nil, fmt.Errorf("principal lookup: %w", store.ErrPermission)
	}
	var out *store.Principal
	err := d.read(ctx, func(t *tx) error {
		u, err := t.userByLogin(login)
		if err != nil {
			return err
		}
		if err := t.fillUser(u); err != nil {
			return err
		}
		out = &store.Principal{UserID: u.ID, Login: u.Login, TenantID: u.TenantID, Tenant: u.Tenant, Admin: u.Admin, Groups: u.Groups}
		rows, err := t.query(`SELECT tenant_id FROM tenant_admins WHERE user_id = ?`, u.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out.AdminOf = append(out.AdminOf, id)
		}
		return rows.Err()
	})
	return out, err
}

// Recipients implements store.Directory.
func (d *DB) Recipients(ctx context.Context, addr string) ([]*store.User, error) {
	if p, err := store.Require(ctx); err != nil {
		return nil, err
	} else if !p.System {
		return nil, fmt.Errorf("recipient lookup: %w", store.ErrPermission)
	}
	addr = lc(addr)
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return nil, notFound("address", addr)
	}
	candidates := []string{addr}
	if plus := strings.IndexByte(addr[:at], '+'); plus > 0 {
		candidates = append(candidates, addr[:plus]+addr[at:])
	}
	candidates = append(candidates, addr[at:])
	var out []*store.User
	err := d.read(ctx, func(t *tx) error {
		for _, a := range candidates {
			var uid, gid int64
			err := t.row(`SELECT user_id, group_id FROM addresses WHERE address = ?`, a).Scan(&uid, &gid)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			var ids []int64
			if uid != 0 {
				ids = []int64{uid}
			} else {
				rows, err := t.query(`SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id`, gid)
				if err != nil {
					return err
				}
				for rows.Next() {
					var id int64
					if err := rows.Scan(&id); err != nil {
						rows.Close()
						return err
					}
					ids = append(ids, id)
				}
				rows.Close()
				if len(ids) == 0 {
					return fmt.Errorf("group address %q has no members: %w", a, store.ErrNotFound)
				}
			}
			for _, id := range ids {
				u, err := t.userByID(id)
				if err != nil {
					return err
				}
				if err := t.fillUser(u); err != nil {
					return err
				}
				out = append(out, u)
			}
			return nil
		}
		return notFound("address", addr)
	})
	return out, err
}
