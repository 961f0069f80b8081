package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
