package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/store"
)

// ---- contacts: a tenant's address book entries without an account ----

const contactCols = `c.id, c.tenant_id, t.name, c.email, c.name, c.hidden, c.external_id, c.created`

const contactFrom = ` FROM contacts c JOIN tenants t ON t.id = c.tenant_id `

func scanContact(sc interface{ Scan(...any) error }) (*store.Contact, error) {
	var c store.Contact
	var hidden int
	var created int64
	if err := sc.Scan(&c.ID, &c.TenantID, &c.Tenant, &c.Email, &c.Name, &hidden, &c.ExternalID, &created); err != nil {
		return nil, err
	}
	c.Hidden, c.Created = hidden != 0, fromMicro(created)
	return &c, nil
}

// validContact checks a contact's address (a full address: no
// catch-all), name and link.
func validContact(c *store.Contact) error {
	if err := validPrimary(c.Email); err != nil {
		return err
	}
	if len(c.Name) > store.MaxContactName || !utf8.ValidString(c.Name) || strings.ContainsAny(c.Name, "\x00\r\n") {
		return fmt.Errorf("contact name must be at most %d bytes of UTF-8 on one line: %w", store.MaxContactName, store.ErrInvalid)
	}
	if len(c.ExternalID) > 1024 {
		return fmt.Errorf("contact external id: at most 1024 bytes: %w", store.ErrInvalid)
	}
	return nil
}

func (t *tx) contactByEmail(tenantID int64, email string) (*store.Contact, error) {
	c, err := scanContact(t.row(`SELECT `+contactCols+contactFrom+`WHERE c.tenant_id = ? AND c.email_lc = ?`, tenantID, lc(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("contact", email)
	}
	return c, err
}

// administeredTenant returns tenant ("" the principal's own) for an
// administrator of it.
func (t *tx) administeredTenant(p *store.Principal, tenant string) (*store.Tenant, error) {
	tn, err := t.resolveTenant(p, tenant)
	if err != nil {
		return nil, err
	}
	if !p.AdministersTenant(tn.ID) {
		return nil, fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
	}
	return tn, nil
}

// CreateContact implements store.Directory.
func (d *DB) CreateContact(ctx context.Context, tenant string, c store.Contact) (*store.Contact, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	c.Email, c.Name = strings.TrimSpace(c.Email), strings.TrimSpace(c.Name)
	if err := validContact(&c); err != nil {
		return nil, err
	}
	var out *store.Contact
	err = d.write(ctx, func(t *tx) error {
		tn, err := t.administeredTenant(p, tenant)
		if err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO contacts (tenant_id, email, email_lc, name, hidden, external_id, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			tn.ID, c.Email, lc(c.Email), c.Name, b2i(c.Hidden), c.ExternalID, t.now())
		if isUniqueViolation(err) {
			return fmt.Errorf("tenant %q has a contact %q already: %w", tn.Name, c.Email, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create contact %q: %w", c.Email, err)
		}
		out, err = t.contactByEmail(tn.ID, c.Email)
		return err
	})
	return out, err
}

// ListContacts implements store.Directory.
func (d *DB) ListContacts(ctx context.Context, tenant string) ([]*store.Contact, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	out := []*store.Contact{}
	err = d.read(ctx, func(t *tx) error {
		q := `SELECT ` + contactCols + contactFrom
		var args []any
		if tenant != "" {
			tn, err := t.visibleTenant(p, tenant)
			if err != nil {
				return err
			}
			q += `WHERE c.tenant_id = ? `
			args = append(args, tn.ID)
		}
		rows, err := t.query(q+`ORDER BY t.name_lc, LOWER(c.name), c.email_lc`, args...)
		if err != nil {
			return fmt.Errorf("contacts of tenant %q: %w", tenant, err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanContact(rows)
			if err != nil {
				return err
			}
			if p.SeesTenant(c.TenantID) {
				out = append(out, c)
			}
		}
		return rows.Err()
	})
	return out, err
}

// UpdateContact implements store.Directory.
func (d *DB) UpdateContact(ctx context.Context, tenant, email string, u store.ContactUpdate) (*store.Contact, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Contact
	err = d.write(ctx, func(t *tx) error {
		tn, err := t.administeredTenant(p, tenant)
		if err != nil {
			return err
		}
		c, err := t.contactByEmail(tn.ID, email)
		if err != nil {
			return err
		}
		n := *c
		if u.Email != nil {
			n.Email = strings.TrimSpace(*u.Email)
		}
		if u.Name != nil {
			n.Name = strings.TrimSpace(*u.Name)
		}
		if u.Hidden != nil {
			n.Hidden = *u.Hidden
		}
		if u.ExternalID != nil {
			n.ExternalID = *u.ExternalID
		}
		if err := validContact(&n); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE contacts SET email = ?, email_lc = ?, name = ?, hidden = ?, external_id = ? WHERE id = ?`,
			n.Email, lc(n.Email), n.Name, b2i(n.Hidden), n.ExternalID, c.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("tenant %q has a contact %q already: %w", tn.Name, n.Email, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update contact %q: %w", email, err)
		}
		out, err = t.contactByEmail(tn.ID, n.Email)
		return err
	})
	return out, err
}

// DeleteContact implements store.Directory.
func (d *DB) DeleteContact(ctx context.Context, tenant, email string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		tn, err := t.administeredTenant(p, tenant)
		if err != nil {
			return err
		}
		c, err := t.contactByEmail(tn.ID, email)
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM group_contacts WHERE contact_id = ?`, `DELETE FROM contacts WHERE id = ?`} {
			if _, err := t.exec(q, c.ID); err != nil {
				return fmt.Errorf("delete contact %q: %w", email, err)
			}
		}
		return nil
	})
}

// AddGroupContact implements store.Directory.
func (d *DB) AddGroupContact(ctx context.Context, tenant, group, email string) error {
	return d.groupContact(ctx, tenant, group, email, true)
}

// RemoveGroupContact implements store.Directory.
func (d *DB) RemoveGroupContact(ctx context.Context, tenant, group, email string) error {
	return d.groupContact(ctx, tenant, group, email, false)
}

func (d *DB) groupContact(ctx context.Context, tenant, group, email string, add bool) error {
	return d.changeMembership(ctx, tenant, group, add, func(t *tx, _ *store.Principal, tn *store.Tenant) (member, error) {
		c, err := t.contactByEmail(tn.ID, email)
		if err != nil {
			return member{}, err
		}
		return member{table: "group_contacts", col: "contact_id", id: c.ID, name: fmt.Sprintf("contact %q", c.Email), kind: "contacts", max: store.MaxGroupContacts}, nil
	})
}

// RecipientContacts implements store.Directory.
func (d *DB) RecipientContacts(ctx context.Context, addr string) ([]string, error) {
	if p, err := store.Require(ctx); err != nil {
		return nil, err
	} else if !p.System {
		return nil, fmt.Errorf("recipient lookup: %w", store.ErrPermission)
	}
	var out []string
	err := d.read(ctx, func(t *tx) error {
		for _, a := range recipientCandidates(lc(addr)) {
			var uid, gid int64
			err := t.row(`SELECT user_id, group_id FROM addresses WHERE address = ?`, a).Scan(&uid, &gid)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if uid != 0 {
				return nil // a user's address
			}
			out, err = t.strings(`SELECT c.email FROM group_contacts gc JOIN contacts c ON c.id = gc.contact_id WHERE gc.group_id = ? ORDER BY c.email_lc LIMIT ?`,
				gid, store.MaxGroupContacts)
			return err
		}
		return nil
	})
	return out, err
}
