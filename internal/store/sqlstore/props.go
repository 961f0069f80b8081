package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/store"
)

// Property targets (props.kind).
const (
	propFolder = "folder"
	propStore  = "store"
	propDomain = "domain"
	propTenant = "tenant"
)

// privatePrefix marks per-principal keys (RFC 5464 "/private/" entries).
const privatePrefix = "/private/"

func isPrivate(key string) bool { return strings.HasPrefix(key, privatePrefix) }

// getProps returns a target's shared properties and the principal's own
// private ones.
func (t *tx) getProps(kind, target string, p *store.Principal, prefix string) (map[string]string, error) {
	q := `SELECT principal, key, value FROM props WHERE kind = ? AND target = ? AND (principal = 0 OR principal = ?)`
	args := []any{kind, target, p.UserID}
	if prefix != "" {
		// substr, not LIKE (the prefix may hold its wildcards) and not a
		// range (PostgreSQL compares text by the database's collation).
		q += ` AND substr(key, 1, ?) = ?`
		args = append(args, utf8.RuneCountInString(prefix), prefix)
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var who int64
		var k, v string
		if err := rows.Scan(&who, &k, &v); err != nil {
			return nil, err
		}
		// Private keys are only ever written with the writer's id; a
		// shared row with a private name cannot exist, but be strict.
		if isPrivate(k) != (who != 0) && p.UserID != 0 {
			continue
		}
		out[k] = v
	}
	return out, rows.Err()
}

func validProps(set map[string]*string) error {
	if len(set) > store.MaxProps {
		return fmt.Errorf("at most %d properties at once: %w", store.MaxProps, store.ErrInvalid)
	}
	for k, v := range set {
		if k == "" || len(k) > store.MaxPropKey || !utf8.ValidString(k) || strings.ContainsAny(k, "\x00\r\n") {
			return fmt.Errorf("property name %q: %w", k, store.ErrInvalid)
		}
		if v != nil && (len(*v) > store.MaxPropValue || strings.ContainsRune(*v, 0)) {
			return fmt.Errorf("property %q: value over %d bytes or with NUL: %w", k, store.MaxPropValue, store.ErrInvalid)
		}
	}
	return nil
}

// setProps writes set; private keys are stored for the principal.
func (t *tx) setProps(kind, target string, p *store.Principal, set map[string]*string) error {
	// In key order: two writers of the same keys lock their rows in the
	// same order and so cannot deadlock.
	for _, k := range slices.Sorted(maps.Keys(set)) {
		v := set[k]
		who := int64(0)
		if isPrivate(k) {
			who = p.UserID
		}
		// An upsert, not a delete and an insert: two writers of one key
		// would both find it gone and collide on the insert.
		var err error
		if v == nil {
			_, err = t.exec(`DELETE FROM props WHERE kind = ? AND target = ? AND principal = ? AND key = ?`, kind, target, who, k)
		} else {
			_, err = t.exec(`INSERT INTO props (kind, target, principal, key, value) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (kind, target, principal, key) DO UPDATE SET value = excluded.value`, kind, target, who, k, *v)
		}
		if err != nil {
			return err
		}
	}
	var n int
	if err := t.row(`SELECT COUNT(*) FROM props WHERE kind = ? AND target = ?`, kind, target).Scan(&n); err != nil {
		return err
	}
	if n > store.MaxProps {
		return fmt.Errorf("%s %s would have %d properties (at most %d): %w", kind, target, n, store.MaxProps, store.ErrOverQuota)
	}
	return nil
}

func onlyPrivate(set map[string]*string) bool {
	for k := range set {
		if !isPrivate(k) {
			return false
		}
	}
	return true
}

func idStr(n int64) string { return strconv.FormatInt(n, 10) }

// target finds the props target a principal may use, or fails.
type target func(t *tx, p *store.Principal) (kind, name string, err error)

// readProps reads the properties of the target access finds.
func (d *DB) readProps(ctx context.Context, access target, prefix string) (map[string]string, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	err = d.read(ctx, func(t *tx) error {
		kind, name, err := access(t, p)
		if err != nil {
			return err
		}
		out, err = t.getProps(kind, name, p, prefix)
		return err
	})
	return out, err
}

// writeProps changes the properties of the target access finds.
func (d *DB) writeProps(ctx context.Context, set map[string]*string, access target) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	if err := validProps(set); err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		kind, name, err := access(t, p)
		if err != nil {
			return err
		}
		return t.setProps(kind, name, p, set)
	})
}

// folderTarget needs need on the folder.
func folderTarget(folderID int64, need string) target {
	return func(t *tx, p *store.Principal) (string, string, error) {
		_, err := t.folderAccess(p, folderID, need, false)
		return propFolder, idStr(folderID), err
	}
}

// storeTarget lets the owner, its tenant's admins and system admins at a
// store's properties.
func storeTarget(storeID int64) target {
	return func(t *tx, p *store.Principal) (string, string, error) {
		_, full, err := t.storeAccess(p, storeID)
		if err == nil && !full {
			err = fmt.Errorf("store %d: %w", storeID, store.ErrPermission)
		}
		return propStore, idStr(storeID), err
	}
}

// storeWriteTarget is storeTarget for changes: an archive store's
// properties are the archiver's alone.
func storeWriteTarget(storeID int64) target {
	return func(t *tx, p *store.Principal) (string, string, error) {
		s, full, err := t.storeAccess(p, storeID)
		if err == nil && !full {
			err = fmt.Errorf("store %d: %w", storeID, store.ErrPermission)
		}
		if err == nil {
			err = storeWritable(p, s)
		}
		return propStore, idStr(storeID), err
	}
}

// domainTarget: system admins, and admins of the domain's tenant.
func domainTarget(domain string) target {
	return func(t *tx, p *store.Principal) (string, string, error) {
		domain := lc(domain)
		var tid int64
		if err := t.row(`SELECT tenant_id FROM domains WHERE name = ?`, domain).Scan(&tid); err != nil {
			return "", "", notFound("domain", domain)
		}
		if !p.IsSystemAdmin() && !p.AdministersTenant(tid) {
			return "", "", notFound("domain", domain)
		}
		return propDomain, domain, nil
	}
}

// tenantTarget: system admins, and the tenant's admins.
func tenantTarget(tenant string) target {
	return func(t *tx, p *store.Principal) (string, string, error) {
		tn, err := t.visibleTenant(p, tenant)
		if err != nil {
			return "", "", err
		}
		if !p.IsSystemAdmin() && !p.AdministersTenant(tn.ID) {
			return "", "", fmt.Errorf("tenant %q: %w", tenant, store.ErrPermission)
		}
		return propTenant, idStr(tn.ID), nil
	}
}

// FolderProps implements store.Mail.
func (d *DB) FolderProps(ctx context.Context, folderID int64) (map[string]string, error) {
	return d.readProps(ctx, folderTarget(folderID, "l"), "")
}

// SetFolderProps implements store.Mail: shared keys need the write right.
func (d *DB) SetFolderProps(ctx context.Context, folderID int64, set map[string]*string) error {
	need := "lw"
	if onlyPrivate(set) {
		need = "l"
	}
	return d.writeProps(ctx, set, folderTarget(folderID, need))
}

// StoreProps implements store.Mail.
func (d *DB) StoreProps(ctx context.Context, storeID int64) (map[string]string, error) {
	return d.readProps(ctx, storeTarget(storeID), "")
}

// StorePropsPrefix implements store.Mail.
func (d *DB) StorePropsPrefix(ctx context.Context, storeID int64, prefix string) (map[string]string, error) {
	return d.readProps(ctx, storeTarget(storeID), prefix)
}

// SetStoreProps implements store.Mail.
func (d *DB) SetStoreProps(ctx context.Context, storeID int64, set map[string]*string) error {
	return d.writeProps(ctx, set, storeWriteTarget(storeID))
}

// AddStoreProp implements store.Mail.
func (d *DB) AddStoreProp(ctx context.Context, storeID int64, key, value string) (string, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return "", err
	}
	if err := validProps(map[string]*string{key: &value}); err != nil {
		return "", err
	}
	var got string
	err = d.write(ctx, func(t *tx) error {
		kind, name, err := storeWriteTarget(storeID)(t, p)
		if err != nil {
			return err
		}
		who := int64(0)
		if isPrivate(key) {
			who = p.UserID
		}
		// DO NOTHING waits for a concurrent inserter of the same key to
		// finish (PostgreSQL) or runs after it (SQLite), so the read
		// below sees the winner's value.
		if _, err := t.exec(`INSERT INTO props (kind, target, principal, key, value) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (kind, target, principal, key) DO NOTHING`, kind, name, who, key, value); err != nil {
			return err
		}
		if err := t.row(`SELECT value FROM props WHERE kind = ? AND target = ? AND principal = ? AND key = ?`, kind, name, who, key).Scan(&got); err != nil {
			return err
		}
		var n int
		if err := t.row(`SELECT COUNT(*) FROM props WHERE kind = ? AND target = ?`, kind, name).Scan(&n); err != nil {
			return err
		}
		if n > store.MaxProps {
			return fmt.Errorf("%s %s would have %d properties (at most %d): %w", kind, name, n, store.MaxProps, store.ErrOverQuota)
		}
		return nil
	})
	return got, err
}

// DomainProps implements store.Mail.
func (d *DB) DomainProps(ctx context.Context, domain string) (map[string]string, error) {
	return d.readProps(ctx, domainTarget(domain), "")
}

// SetDomainProps implements store.Mail.
func (d *DB) SetDomainProps(ctx context.Context, domain string, set map[string]*string) error {
	return d.writeProps(ctx, set, domainTarget(domain))
}

// TenantProps implements store.Mail.
func (d *DB) TenantProps(ctx context.Context, tenant string) (map[string]string, error) {
	return d.readProps(ctx, tenantTarget(tenant), "")
}

// SetTenantProps implements store.Mail.
func (d *DB) SetTenantProps(ctx context.Context, tenant string, set map[string]*string) error {
	return d.writeProps(ctx, set, tenantTarget(tenant))
}

// RecordOnce implements store.Mail.
func (d *DB) RecordOnce(ctx context.Context, storeID int64, key string, period time.Duration) (bool, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return false, err
	}
	if !p.System {
		return false, fmt.Errorf("record once: %w", store.ErrPermission)
	}
	if key == "" || len(key) > store.MaxPropKey {
		return false, fmt.Errorf("record key %q: %w", key, store.ErrInvalid)
	}
	first := false
	err = d.write(ctx, func(t *tx) error {
		// One statement decides and writes, so that of concurrent callers
		// exactly one sees the key as new or expired.
		at := t.now()
		res, err := t.exec(`INSERT INTO record_once (store_id, key, at) VALUES (?, ?, ?)
			ON CONFLICT (store_id, key) DO UPDATE SET at = excluded.at WHERE record_once.at <= ?`, storeID, key, at, at-period.Microseconds())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n > 0
		return err
	})
	return first, err
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
