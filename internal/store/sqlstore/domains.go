package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

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
