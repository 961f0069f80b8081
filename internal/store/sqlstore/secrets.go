package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// ---- per-user secrets: tokens, app passwords, sessions ----
//
// Table secrets holds one row per secret with only its keyed hash
// (unique per kind, the login path's index) and a name unique per user
// and kind. Rows go with their user (DeleteUser).

const secretCols = `s.id, s.user_id, u.tenant_id, u.login, s.kind, s.name, s.scopes, s.hash, s.remote, s.created, s.expires, s.last_used`

const secretFrom = ` FROM secrets s JOIN users u ON u.id = s.user_id `

func scanSecret(sc interface{ Scan(...any) error }) (*store.Secret, error) {
	var s store.Secret
	var kind, scopes string
	var created, expires, used int64
	if err := sc.Scan(&s.ID, &s.UserID, &s.TenantID, &s.Login, &kind, &s.Name, &scopes, &s.Hash, &s.Remote,
		&created, &expires, &used); err != nil {
		return nil, err
	}
	s.Kind, s.Scopes = store.SecretKind(kind), splitList(scopes)
	s.Created, s.Expires, s.LastUsed = fromMicro(created), fromMicro(expires), fromMicro(used)
	return &s, nil
}

func checkSecretKind(k store.SecretKind) error {
	switch k {
	case store.SecretToken, store.SecretAppPassword, store.SecretSession, store.SecretOIDCCode, store.SecretOIDCRefresh:
		return nil
	}
	return fmt.Errorf("secret kind %q: %w", k, store.ErrInvalid)
}

// secretOwner loads the user whose secrets p may manage: p itself, or a
// user p administers.
func (t *tx) secretOwner(p *store.Principal, login string) (*store.User, error) {
	u, err := t.visibleUser(p, login)
	if err != nil {
		return nil, err
	}
	if u.ID == p.UserID && !p.System {
		return u, nil
	}
	return t.administeredUser(p, login)
}

func redactSecret(p *store.Principal, s *store.Secret) *store.Secret {
	if !p.System {
		s.Hash = ""
	}
	return s
}

// CreateSecret implements store.Secrets.
func (d *DB) CreateSecret(ctx context.Context, login string, in store.Secret) (*store.Secret, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkSecretKind(in.Kind); err != nil {
		return nil, err
	}
	if in.Name == "" || len(in.Name) > 200 || strings.ContainsAny(in.Name, "\x00\r\n") {
		return nil, fmt.Errorf("secret name %q: 1 to 200 characters, no line breaks: %w", in.Name, store.ErrInvalid)
	}
	if len(in.Hash) < 32 || len(in.Hash) > 200 {
		return nil, fmt.Errorf("secret hash: %w", store.ErrInvalid)
	}
	for _, sc := range in.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \x00") {
			return nil, fmt.Errorf("secret scope %q: %w", sc, store.ErrInvalid)
		}
	}
	var out *store.Secret
	err = d.write(ctx, func(t *tx) error {
		u, err := t.secretOwner(p, login)
		if err != nil {
			return err
		}
		// Serialise one user's creations on PostgreSQL so that the count
		// below decides (SQLite has one writer).
		if t.d.dialect == postgres {
			if _, err := t.exec(`SELECT id FROM users WHERE id = ? FOR UPDATE`, u.ID); err != nil {
				return fmt.Errorf("lock user %q: %w", u.Login, err)
			}
		}
		ts := t.now()
		if _, err := t.exec(`DELETE FROM secrets WHERE user_id = ? AND kind = ? AND expires <> 0 AND expires <= ?`,
			u.ID, string(in.Kind), ts); err != nil {
			return fmt.Errorf("drop expired secrets of %q: %w", u.Login, err)
		}
		var n int
		if err := t.row(`SELECT COUNT(*) FROM secrets WHERE user_id = ? AND kind = ?`, u.ID, string(in.Kind)).Scan(&n); err != nil {
			return fmt.Errorf("count secrets of %q: %w", u.Login, err)
		}
		if n >= store.MaxSecretsPerUser {
			if in.Kind != store.SecretSession {
				return fmt.Errorf("user %q has %d %ss already (the most): revoke one first: %w",
					u.Login, n, in.Kind, store.ErrInvalid)
			}
			// The least recently used session makes room.
			if _, err := t.exec(`DELETE FROM secrets WHERE id = (SELECT id FROM secrets WHERE user_id = ? AND kind = ?
				ORDER BY CASE WHEN last_used > created THEN last_used ELSE created END, id LIMIT 1)`, u.ID, string(in.Kind)); err != nil {
				return fmt.Errorf("drop oldest session of %q: %w", u.Login, err)
			}
		}
		var exp int64
		if !in.Expires.IsZero() {
			exp = in.Expires.UnixMicro()
		}
		var id int64
		err = t.row(`INSERT INTO secrets (user_id, kind, name, scopes, hash, remote, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.ID, string(in.Kind), in.Name, joinList(append([]string(nil), in.Scopes...)), in.Hash, in.Remote, ts, exp).Scan(&id)
		if isUniqueViolation(err) {
			return fmt.Errorf("user %q already has a %s named %q: %w", u.Login, in.Kind, in.Name, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create %s for %q: %w", in.Kind, u.Login, err)
		}
		out, err = scanSecret(t.row(`SELECT `+secretCols+secretFrom+`WHERE s.id = ?`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return redactSecret(p, out), nil
}

// ListSecrets implements store.Secrets.
func (d *DB) ListSecrets(ctx context.Context, login string, kind store.SecretKind) ([]*store.Secret, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkSecretKind(kind); err != nil {
		return nil, err
	}
	var out []*store.Secret
	err = d.read(ctx, func(t *tx) error {
		u, err := t.secretOwner(p, login)
		if err != nil {
			return err
		}
		rows, err := t.query(`SELECT `+secretCols+secretFrom+`WHERE s.user_id = ? AND s.kind = ? ORDER BY s.name`, u.ID, string(kind))
		if err != nil {
			return fmt.Errorf("list %ss of %q: %w", kind, login, err)
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanSecret(rows)
			if err != nil {
				return err
			}
			out = append(out, redactSecret(p, s))
		}
		return rows.Err()
	})
	return out, err
}

// SecretByHash implements store.Secrets.
func (d *DB) SecretByHash(ctx context.Context, kind store.SecretKind, hash string) (*store.Secret, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.System {
		return nil, fmt.Errorf("secret lookup: system principal only: %w", store.ErrPermission)
	}
	if err := checkSecretKind(kind); err != nil {
		return nil, err
	}
	var out *store.Secret
	err = d.read(ctx, func(t *tx) error {
		s, err := scanSecret(t.row(`SELECT `+secretCols+secretFrom+`WHERE s.kind = ? AND s.hash = ?`, string(kind), hash))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", kind, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s by hash: %w", kind, err)
		}
		out = s
		return nil
	})
	return out, err
}

// DeleteSecret implements store.Secrets.
func (d *DB) DeleteSecret(ctx context.Context, login string, kind store.SecretKind, name string) (*store.Secret, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkSecretKind(kind); err != nil {
		return nil, err
	}
	var out *store.Secret
	err = d.write(ctx, func(t *tx) error {
		u, err := t.secretOwner(p, login)
		if err != nil {
			return err
		}
		s, err := scanSecret(t.row(`SELECT `+secretCols+secretFrom+`WHERE s.user_id = ? AND s.kind = ? AND s.name = ?`, u.ID, string(kind), name))
		if errors.Is(err, sql.ErrNoRows) {
			// "app password", not the kind's identifier "app-password".
			return fmt.Errorf("%s %q of %q: %w", strings.ReplaceAll(string(kind), "-", " "), name, u.Login, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s %q of %q: %w", kind, name, u.Login, err)
		}
		if _, err := t.exec(`DELETE FROM secrets WHERE id = ?`, s.ID); err != nil {
			return fmt.Errorf("revoke %s %q of %q: %w", kind, name, u.Login, err)
		}
		out = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return redactSecret(p, out), nil
}

// DeleteSecrets implements store.Secrets.
func (d *DB) DeleteSecrets(ctx context.Context, login string, kind store.SecretKind) (int, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return 0, err
	}
	if err := checkSecretKind(kind); err != nil {
		return 0, err
	}
	var n int64
	err = d.write(ctx, func(t *tx) error {
		u, err := t.secretOwner(p, login)
		if err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM secrets WHERE user_id = ? AND kind = ?`, u.ID, string(kind))
		if err != nil {
			return fmt.Errorf("revoke %ss of %q: %w", kind, u.Login, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// TouchSecret implements store.Secrets.
func (d *DB) TouchSecret(ctx context.Context, id int64, at time.Time) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	if !p.System {
		return fmt.Errorf("touch secret: system principal only: %w", store.ErrPermission)
	}
	return d.write(ctx, func(t *tx) error {
		_, err := t.exec(`UPDATE secrets SET last_used = ? WHERE id = ? AND last_used < ?`, at.UnixMicro(), id, at.UnixMicro())
		if err != nil {
			return fmt.Errorf("touch secret %d: %w", id, err)
		}
		return nil
	})
}

// ---- TOTP keys ----

// SetTOTP implements store.TOTPs.
func (d *DB) SetTOTP(ctx context.Context, login string, key []byte) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	if key != nil && (len(key) < 10 || len(key) > 64) {
		return fmt.Errorf("TOTP key of %d bytes: 10 to 64: %w", len(key), store.ErrInvalid)
	}
	return d.write(ctx, func(t *tx) error {
		u, err := t.secretOwner(p, login)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM totp WHERE user_id = ?`, u.ID); err != nil {
			return fmt.Errorf("TOTP of %q: %w", u.Login, err)
		}
		if key == nil {
			return nil
		}
		if _, err := t.exec(`INSERT INTO totp (user_id, key_b32, enabled) VALUES (?, ?, ?)`,
			u.ID, base32.StdEncoding.EncodeToString(key), t.now()); err != nil {
			return fmt.Errorf("TOTP of %q: %w", u.Login, err)
		}
		return nil
	})
}

// GetTOTP implements store.TOTPs.
func (d *DB) GetTOTP(ctx context.Context, login string) (*store.TOTP, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.TOTP
	err = d.read(ctx, func(t *tx) error {
		var u *store.User
		var err error
		if p.System {
			u, err = t.userByLogin(login)
		} else {
			u, err = t.secretOwner(p, login)
		}
		if err != nil {
			return err
		}
		var key string
		var enabled int64
		o := &store.TOTP{UserID: u.ID, Login: u.Login}
		err = t.row(`SELECT key_b32, enabled, last_step FROM totp WHERE user_id = ?`, u.ID).Scan(&key, &enabled, &o.LastStep)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("TOTP of %q: %w", u.Login, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("TOTP of %q: %w", u.Login, err)
		}
		o.Enabled = fromMicro(enabled)
		if p.System {
			if o.Key, err = base32.StdEncoding.DecodeString(key); err != nil {
				return fmt.Errorf("TOTP key of %q: %w", u.Login, err)
			}
		}
		out = o
		return nil
	})
	return out, err
}

// UseTOTPStep implements store.TOTPs: one conditional update, so of two
// logins racing with the same code only one wins on either backend.
func (d *DB) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return false, err
	}
	if !p.System {
		return false, fmt.Errorf("TOTP step: system principal only: %w", store.ErrPermission)
	}
	var ok bool
	err = d.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE totp SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step)
		if err != nil {
			return fmt.Errorf("TOTP step of user %d: %w", userID, err)
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, err
}
