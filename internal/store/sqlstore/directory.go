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
	candidates := recipientCandidates(addr)
	if candidates == nil {
		return nil, notFound("address", addr)
	}
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
			if uid != 0 {
				u, err := t.userByID(uid)
				if err != nil {
					return err
				}
				if err := t.fillUser(u); err != nil {
					return err
				}
				out = []*store.User{u}
				return nil
			}
			us, err := t.groupMembers(gid)
			if err != nil {
				return err
			}
			if len(us) == 0 {
				return fmt.Errorf("group address %q has no members: %w", a, store.ErrNotFound)
			}
			out = us
			return nil
		}
		return notFound("address", addr)
	})
	return out, err
}

// recipientCandidates are the addresses that may receive mail for addr
// (lower case), in order: itself, a subaddress's base ("user+tag"), the
// domain's catch-all. None for an address without a local part.
func recipientCandidates(addr string) []string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return nil
	}
	candidates := []string{addr}
	if plus := strings.IndexByte(addr[:at], '+'); plus > 0 {
		candidates = append(candidates, addr[:plus]+addr[at:])
	}
	return append(candidates, addr[at:])
}

// groupMembers loads the members of group gid in the order of their ids,
// each filled as fillUser fills one, in a number of statements that does
// not grow with the group (up to fillChunk members per statement).
func (t *tx) groupMembers(gid int64) ([]*store.User, error) {
	rows, err := t.query(`SELECT `+userCols+userFrom+`JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.id`, gid)
	if err != nil {
		return nil, fmt.Errorf("members of group #%d: %w", gid, err)
	}
	var us []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("members of group #%d: %w", gid, err)
		}
		us = append(us, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members of group #%d: %w", gid, err)
	}
	for chunk := range slices.Chunk(us, fillChunk) {
		if err := t.fillUsers(chunk); err != nil {
			return nil, err
		}
	}
	return us, nil
}

// fillChunk bounds the users fillUsers reads in one statement.
const fillChunk = 512

// fillUsers reads the aliases, send-as delegates and groups of up to
// fillChunk users in one statement, each list in the order it had when
// read on its own. The id list is padded (repeating an id) to 1, 8, 64
// or 512 entries, so that few distinct statements are prepared.
func (t *tx) fillUsers(us []*store.User) error {
	n := 1
	for n < len(us) {
		n *= 8
	}
	ids := make([]any, n)
	byID := make(map[int64]*store.User, len(us))
	for i := range ids {
		u := us[min(i, len(us)-1)]
		ids[i] = u.ID
		byID[u.ID] = u
		u.Aliases, u.SendAs, u.Groups = nil, nil, nil
	}
	in := strings.Repeat(",?", n)[1:]
	args := append(append(slices.Clone(ids), ids...), ids...)
	rows, err := t.query(`SELECT user_id AS id, 1 AS k, address AS v, address AS o FROM addresses WHERE user_id IN (`+in+`) AND is_primary = 0
UNION ALL SELECT s.user_id, 2, x.login, x.login FROM sendas s JOIN users x ON x.id = s.delegate_id WHERE s.user_id IN (`+in+`)
UNION ALL SELECT m.user_id, 3, g.name, g.name_lc FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id IN (`+in+`)
ORDER BY id, k, o`, args...)
	if err != nil {
		return fmt.Errorf("users' aliases, send-as and groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k int
		var v, o string
		if err := rows.Scan(&id, &k, &v, &o); err != nil {
			return fmt.Errorf("users' aliases, send-as and groups: %w", err)
		}
		u := byID[id]
		switch k {
		case 1:
			u.Aliases = append(u.Aliases, v)
		case 2:
			u.SendAs = append(u.SendAs, v)
		case 3:
			u.Groups = append(u.Groups, v)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("users' aliases, send-as and groups: %w", err)
	}
	for _, u := range us {
		u.Groups = append([]string{store.EveryoneGroup}, u.Groups...)
	}
	return nil
}
