package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// ---- groups ----

func (t *tx) groupByName(tenantID int64, name string) (*store.Group, error) {
	var g store.Group
	var hidden, builtin int
	var kind string
	err := t.row(`SELECT g.id, g.tenant_id, t.name, g.name, g.email, g.kind, g.hidden, g.builtin, g.external_id FROM groups g JOIN tenants t ON t.id = g.tenant_id
		WHERE g.tenant_id = ? AND g.name_lc = ?`, tenantID, lc(name)).Scan(&g.ID, &g.TenantID, &g.Tenant, &g.Name, &g.Email, &kind, &hidden, &builtin, &g.ExternalID)
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
	if err != nil {
		return err
	}
	g.Contacts, err = t.strings(`SELECT c.email FROM group_contacts gc JOIN contacts c ON c.id = gc.contact_id WHERE gc.group_id = ? ORDER BY c.email_lc`, g.ID)
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

// administeredGroup returns a group of tenant ("" = the principal's
// own) with the tenant, for an administrator of that tenant.
func (t *tx) administeredGroup(p *store.Principal, tenant, name string) (*store.Tenant, *store.Group, error) {
	tn, err := t.resolveTenant(p, tenant)
	if err != nil {
		return nil, nil, err
	}
	if !p.AdministersTenant(tn.ID) {
		return nil, nil, fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
	}
	g, err := t.groupByName(tn.ID, name)
	if err != nil {
		return nil, nil, err
	}
	return tn, g, nil
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
		err = t.row(`INSERT INTO groups (tenant_id, name, name_lc, email, kind, hidden, external_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			tn.ID, g.Name, lc(g.Name), lc(g.Email), string(g.Kind), b2i(g.Hidden), g.ExternalID).Scan(&id)
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
			gs, err := t.tenantGroups(tn)
			if err != nil {
				return fmt.Errorf("groups of tenant %q: %w", tn.Name, err)
			}
			out = append(out, gs...)
		}
		return nil
	})
	return out, err
}

// tenantGroups loads the groups of tn with their members and contacts,
// as groupByName and fillGroup would, in four statements however many
// groups there are (the address books list a tenant's groups at every
// search).
func (t *tx) tenantGroups(tn *store.Tenant) ([]*store.Group, error) {
	rows, err := t.query(`SELECT id, name, email, kind, hidden, builtin, external_id FROM groups WHERE tenant_id = ? ORDER BY name_lc`, tn.ID)
	if err != nil {
		return nil, err
	}
	var out []*store.Group
	byID := map[int64]*store.Group{}
	for rows.Next() {
		g := &store.Group{TenantID: tn.ID, Tenant: tn.Name}
		var hidden, builtin int
		var kind string
		if err := rows.Scan(&g.ID, &g.Name, &g.Email, &kind, &hidden, &builtin, &g.ExternalID); err != nil {
			rows.Close()
			return nil, err
		}
		g.Kind, g.Hidden, g.BuiltIn = store.GroupKind(kind), hidden != 0, builtin != 0
		out = append(out, g)
		byID[g.ID] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	// pairs reads (group id, text) rows into the groups' lists.
	pairs := func(q string, set func(g *store.Group, v string)) error {
		rows, err := t.query(q, tn.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			if g := byID[id]; g != nil {
				set(g, v)
			}
		}
		return rows.Err()
	}
	if err := pairs(`SELECT m.group_id, u.login FROM group_members m JOIN users u ON u.id = m.user_id JOIN groups g ON g.id = m.group_id
		WHERE g.tenant_id = ? ORDER BY m.group_id, u.login_lc`, func(g *store.Group, v string) { g.Members = append(g.Members, v) }); err != nil {
		return nil, err
	}
	if err := pairs(`SELECT gc.group_id, c.email FROM group_contacts gc JOIN contacts c ON c.id = gc.contact_id JOIN groups g ON g.id = gc.group_id
		WHERE g.tenant_id = ? ORDER BY gc.group_id, c.email_lc`, func(g *store.Group, v string) { g.Contacts = append(g.Contacts, v) }); err != nil {
		return nil, err
	}
	var everyone []string
	for _, g := range out {
		if g.BuiltIn && strings.EqualFold(g.Name, store.EveryoneGroup) {
			if everyone == nil {
				if everyone, err = t.strings(`SELECT login FROM users WHERE tenant_id = ? ORDER BY login_lc`, tn.ID); err != nil {
					return nil, err
				}
			}
			g.Members = everyone
		}
	}
	return out, nil
}

// DeleteGroup implements store.Directory.
func (d *DB) DeleteGroup(ctx context.Context, tenant, name string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		_, g, err := t.administeredGroup(p, tenant, name)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return fmt.Errorf("group %q is built in: %w", g.Name, store.ErrInvalid)
		}
		for _, q := range []string{`DELETE FROM group_members WHERE group_id = ?`, `DELETE FROM group_contacts WHERE group_id = ?`,
			`DELETE FROM addresses WHERE group_id = ?`, `DELETE FROM groups WHERE id = ?`} {
			if _, err := t.exec(q, g.ID); err != nil {
				return err
			}
		}
		_, err = t.exec(`DELETE FROM acl WHERE subject = ?`, store.GroupSubject(lc(g.Name)))
		return err
	})
}

// UpdateGroup implements store.Directory.
func (d *DB) UpdateGroup(ctx context.Context, tenant, name string, u store.GroupUpdate) (*store.Group, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		if err := validName("group", *u.Name); err != nil {
			return nil, err
		}
	}
	if u.Kind != nil && *u.Kind != store.GroupSecurity && *u.Kind != store.GroupDistribution {
		return nil, fmt.Errorf("group kind %q: must be security or distribution: %w", *u.Kind, store.ErrInvalid)
	}
	var out *store.Group
	err = d.write(ctx, func(t *tx) error {
		tn, g, err := t.administeredGroup(p, tenant, name)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return fmt.Errorf("group %q is built in: %w", g.Name, store.ErrInvalid)
		}
		if u.Name != nil && *u.Name != g.Name {
			if lc(*u.Name) != lc(g.Name) {
				if _, err := t.groupByName(tn.ID, *u.Name); err == nil {
					return fmt.Errorf("group %q already exists in tenant %q: %w", *u.Name, tn.Name, store.ErrConflict)
				}
			}
			_, err := t.exec(`UPDATE groups SET name = ?, name_lc = ? WHERE id = ?`, *u.Name, lc(*u.Name), g.ID)
			if isUniqueViolation(err) {
				return fmt.Errorf("group %q already exists in tenant %q: %w", *u.Name, tn.Name, store.ErrConflict)
			}
			if err != nil {
				return err
			}
			// The ACL entries naming the group follow it (subjects
			// are by lower-case name).
			if lc(*u.Name) != lc(g.Name) {
				if _, err := t.exec(`UPDATE acl SET subject = ? WHERE subject = ?`,
					store.GroupSubject(lc(*u.Name)), store.GroupSubject(lc(g.Name))); err != nil {
					return err
				}
			}
			g.Name = *u.Name
		}
		if u.Kind != nil {
			if _, err := t.exec(`UPDATE groups SET kind = ? WHERE id = ?`, string(*u.Kind), g.ID); err != nil {
				return err
			}
		}
		if u.Hidden != nil {
			if _, err := t.exec(`UPDATE groups SET hidden = ? WHERE id = ?`, b2i(*u.Hidden), g.ID); err != nil {
				return err
			}
		}
		if u.ExternalID != nil {
			if _, err := t.exec(`UPDATE groups SET external_id = ? WHERE id = ?`, *u.ExternalID, g.ID); err != nil {
				return err
			}
		}
		if u.Email != nil && lc(*u.Email) != lc(g.Email) {
			if _, err := t.exec(`DELETE FROM addresses WHERE group_id = ?`, g.ID); err != nil {
				return err
			}
			if *u.Email != "" {
				if err := t.addAddress(tn.ID, 0, g.ID, *u.Email, true); err != nil {
					return err
				}
			}
			if _, err := t.exec(`UPDATE groups SET email = ? WHERE id = ?`, lc(*u.Email), g.ID); err != nil {
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

// AddGroupMember implements store.Directory.
func (d *DB) AddGroupMember(ctx context.Context, tenant, group, login string) error {
	return d.groupMember(ctx, tenant, group, login, true)
}

// RemoveGroupMember implements store.Directory.
func (d *DB) RemoveGroupMember(ctx context.Context, tenant, group, login string) error {
	return d.groupMember(ctx, tenant, group, login, false)
}

func (d *DB) groupMember(ctx context.Context, tenant, group, login string, add bool) error {
	return d.changeMembership(ctx, tenant, group, add, func(t *tx, p *store.Principal, tn *store.Tenant) (member, error) {
		u, err := t.visibleUser(p, login)
		if err != nil {
			return member{}, err
		}
		if u.TenantID != tn.ID {
			return member{}, fmt.Errorf("user %q is not in tenant %q: %w", login, tn.Name, store.ErrInvalid)
		}
		return member{table: "group_members", col: "user_id", id: u.ID, name: fmt.Sprintf("user %q", login)}, nil
	})
}

// member is one member of a group as changeMembership writes it: its
// row in table (column col holds id), how errors name it and its kind
// ("contacts"), and the most of its kind one group may have (0: no
// bound).
type member struct {
	table, col, name, kind string
	id                     int64
	max                    int
}

// changeMembership adds a member to, or removes one from, a group of
// tenant, for an administrator of the tenant; resolve finds the member
// in the group's tenant. Built-in groups' membership is automatic.
func (d *DB) changeMembership(ctx context.Context, tenant, group string, add bool, resolve func(t *tx, p *store.Principal, tn *store.Tenant) (member, error)) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, g, err := t.administeredGroup(p, tenant, group)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return fmt.Errorf("membership of %q is automatic: %w", g.Name, store.ErrInvalid)
		}
		m, err := resolve(t, p, tn)
		if err != nil {
			return err
		}
		if !add {
			res, err := t.exec(`DELETE FROM `+m.table+` WHERE group_id = ? AND `+m.col+` = ?`, g.ID, m.id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("%s is not a member of %q: %w", m.name, g.Name, store.ErrNotFound)
			}
			return nil
		}
		if m.max > 0 {
			var n int
			if err := t.row(`SELECT COUNT(*) FROM `+m.table+` WHERE group_id = ?`, g.ID).Scan(&n); err != nil {
				return err
			}
			if n >= m.max {
				return fmt.Errorf("group %q has %d %s, the most a group may have: %w", g.Name, n, m.kind, store.ErrInvalid)
			}
		}
		res, err := t.exec(`INSERT INTO `+m.table+` (group_id, `+m.col+`) VALUES (?, ?) ON CONFLICT DO NOTHING`, g.ID, m.id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s is already a member of %q: %w", m.name, g.Name, store.ErrConflict)
		}
		return nil
	})
}
