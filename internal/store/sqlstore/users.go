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

// fillUser loads aliases, send-as delegates and groups in one statement
// (fillUsers).
func (t *tx) fillUser(u *store.User) error {
	if err := t.fillUsers([]*store.User{u}); err != nil {
		return fmt.Errorf("user %q: %w", u.Login, err)
	}
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
			b2i(in.Resource.DeclineRecurring), in.Resource.Capacity, in.HomeNode, in.PasswordHash, t.now(), in.ExternalID).Scan(&id)
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
		// "<> ''" lets SQLite use the partial index users_external_id
		// (its condition must appear in the query; a bound parameter
		// does not imply it).
		u, err := scanUser(t.row(`SELECT `+userCols+userFrom+`WHERE u.external_id = ? AND u.external_id <> ''`, id))
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
		// In chunks, not a statement per user: the web client's
		// directory and ActiveSync's GAL search list a tenant per request.
		for chunk := range slices.Chunk(out, fillChunk) {
			if err := t.fillUsers(chunk); err != nil {
				return fmt.Errorf("users of tenant %q: %w", tenant, err)
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
		if in.PasswordHash != nil && *in.PasswordHash != u.PasswordHash {
			// A new password ends what the old one granted to other
			// applications: the OpenID provider's codes and refresh
			// tokens (store.UserUpdate.PasswordHash). A rehash of the same
			// password (PasswordHashWas, above) keeps them.
			if _, err := t.exec(`DELETE FROM secrets WHERE user_id = ? AND kind IN (?, ?)`, u.ID,
				string(store.SecretOIDCRefresh), string(store.SecretOIDCCode)); err != nil {
				return fmt.Errorf("revoke OIDC grants of %q: %w", login, err)
			}
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
		if in.HomeNode != nil && *in.HomeNode != u.HomeNode {
			// Journaled in the user's store, whose notification tells
			// the old home backend to end the user's sessions
			// (store.ChangeHomeNode; the store's lock before the user's
			// row, the order of every write).
			if u.StoreID != 0 {
				if err := t.lockStore(u.StoreID); err != nil {
					return err
				}
			}
			if _, err := t.journalHome(u.StoreID); err != nil {
				return err
			}
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
			`DELETE FROM secrets WHERE user_id = ?`,
			`DELETE FROM totp WHERE user_id = ?`,
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
