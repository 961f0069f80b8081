package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Bounds on what the admin API can store as SSO objects.
const (
	maxSSOName  = 200
	maxSSOValue = 64 << 10
)

func ssoAllowed(ctx context.Context, what string) (*store.Principal, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsSystemAdmin() {
		return nil, fmt.Errorf("%s: %w", what, store.ErrPermission)
	}
	return p, nil
}

// CreateSSO implements store.SSO.
func (d *DB) CreateSSO(ctx context.Context, o store.SSOObject) error {
	if _, err := ssoAllowed(ctx, "create "+o.Kind); err != nil {
		return err
	}
	if o.Kind == "" || o.Name == "" || len(o.Name) > maxSSOName || len(o.Value) > maxSSOValue {
		return fmt.Errorf("%s %q: %w", o.Kind, o.Name, store.ErrInvalid)
	}
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	return d.write(ctx, func(t *tx) error {
		if _, err := t.exec(`INSERT INTO sso_objects (kind, name, value, created) VALUES (?, ?, ?, ?)`,
			o.Kind, o.Name, o.Value, o.Created.UnixMicro()); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%s %q exists: %w", o.Kind, o.Name, store.ErrConflict)
			}
			return fmt.Errorf("create %s %q: %w", o.Kind, o.Name, err)
		}
		return nil
	})
}

// ListSSO implements store.SSO.
func (d *DB) ListSSO(ctx context.Context, kind string) ([]*store.SSOObject, error) {
	p, err := ssoAllowed(ctx, "list "+kind)
	if err != nil {
		return nil, err
	}
	var out []*store.SSOObject
	err = d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT kind, name, value, created FROM sso_objects WHERE kind = ? ORDER BY created, name`, kind)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var o store.SSOObject
			var created int64
			if err := rows.Scan(&o.Kind, &o.Name, &o.Value, &created); err != nil {
				return err
			}
			o.Created = time.UnixMicro(created)
			if kind == store.SSOKey && !p.System {
				o.Value = ""
			}
			out = append(out, &o)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, nil
}

// DeleteSSO implements store.SSO.
func (d *DB) DeleteSSO(ctx context.Context, kind, name string) error {
	if _, err := ssoAllowed(ctx, "delete "+kind); err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		res, err := t.exec(`DELETE FROM sso_objects WHERE kind = ? AND name = ?`, kind, name)
		if err != nil {
			return fmt.Errorf("delete %s %q: %w", kind, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// "oidc client", not the kind's identifier "oidc-client".
			return fmt.Errorf("%s %q: %w", strings.ReplaceAll(kind, "-", " "), name, store.ErrNotFound)
		}
		return nil
	})
}
