package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// contactEntry is a contact entry as the sync reads it.
type contactEntry struct {
	dn, id, tenant, mail, name string
	hidden                     bool
}

// contactKey is how the sync finds a tenant's contact by address.
func contactKey(tenant, mail string) string {
	return strings.ToLower(tenant) + "\x00" + strings.ToLower(mail)
}

// syncContacts brings the tenants' contacts in line with the contact
// entries (ldap_contact_search_filter): each entry is the contact of
// its company's tenant (else ldap_tenant), linked by its unique
// attribute (ExternalID, as users: Kopano's contacts carry the users'
// unique attribute); its address and name follow the entry (and its
// hidden flag, when ContactHiddenAttr is set). A Roost contact of the
// same address without a link becomes the entry's. Contacts linked to an
// entry that is gone are deleted, first, so that their addresses are
// free for the entries that remain. A search that finds no entry while
// contacts are linked is taken for a wrong filter or base: nothing is
// changed. users holds the ids of the user entries read: an entry both
// filters match is a user, not a contact. It returns the contacts of the
// entries applied by normalised DN, for the groups' members.
func (d *Directory) syncContacts(ctx context.Context, users map[string]bool, sum *SyncSummary, progress func(SyncProgress)) (map[string]*store.Contact, error) {
	attrs := []string{d.cfg.UniqueAttr}
	for _, a := range []string{d.cfg.MailAttr, d.cfg.FullNameAttr, d.cfg.ContactHiddenAttr} {
		if a != "" && !strings.EqualFold(a, d.cfg.UniqueAttr) {
			attrs = append(attrs, a)
		}
	}
	raw, err := d.searchAll(ctx, d.cfg.ContactFilter, attrs)
	if err != nil {
		return nil, fmt.Errorf("directory sync: contacts: %w", err)
	}
	sum.Contacts = len(raw)
	sys := store.SystemContext(ctx)
	all, err := d.store.ListContacts(sys, "") // every tenant: companies too
	if err != nil {
		return nil, fmt.Errorf("directory sync: list contacts: %w", err)
	}
	prefix := d.cfg.UniqueAttr + ":"
	linked := map[string]*store.Contact{} // by ExternalID
	byAddr := map[string]*store.Contact{} // by contactKey
	for _, c := range all {
		byAddr[contactKey(c.Tenant, c.Email)] = c
		if strings.HasPrefix(c.ExternalID, prefix) {
			linked[c.ExternalID] = c
		}
	}
	if len(raw) == 0 && len(linked) > 0 {
		return nil, fmt.Errorf("directory sync: the contact search %s under %q found no entry, but %d Roost contacts are linked to the directory; check ldap_contact_search_filter and ldap_search_base (nothing deleted)",
			d.cfg.ContactFilter, d.cfg.Base, len(linked))
	}
	// Read every entry before anything changes.
	seen := map[string]bool{}
	var entries []contactEntry
	for _, le := range raw {
		v := le.GetRawAttributeValue(d.cfg.UniqueAttr)
		if len(v) == 0 {
			fail(sum, fmt.Errorf("contact %q has no %s", le.DN, d.cfg.UniqueAttr))
			continue
		}
		e := contactEntry{dn: le.DN, id: externalID(d.cfg.UniqueAttr, v), tenant: d.tenantOf(le.DN)}
		seen[e.id] = true
		if users[e.id] {
			d.log.Warn("LDAP sync: an entry matches both the user and the contact filter; it is a user", "dn", le.DN)
			continue
		}
		if d.cfg.MailAttr != "" {
			e.mail = strings.ToLower(strings.TrimSpace(le.GetAttributeValue(d.cfg.MailAttr)))
		}
		if d.cfg.FullNameAttr != "" {
			e.name = strings.TrimSpace(le.GetAttributeValue(d.cfg.FullNameAttr))
		}
		if d.cfg.ContactHiddenAttr != "" {
			e.hidden = truthy(le.GetAttributeValue(d.cfg.ContactHiddenAttr))
		}
		if e.mail == "" {
			fail(sum, fmt.Errorf("contact %q has no %s", le.DN, d.cfg.MailAttr))
			continue
		}
		entries = append(entries, e)
	}
	// Contacts whose entry is gone.
	for id, c := range linked {
		if seen[id] {
			continue
		}
		if err := d.store.DeleteContact(sys, c.Tenant, c.Email); err != nil && !errors.Is(err, store.ErrNotFound) {
			fail(sum, fmt.Errorf("delete contact %q: %w", c.Email, err))
			continue
		}
		d.log.Info("LDAP sync: contact deleted, its entry is gone from the directory", "contact", c.Email, "tenant", c.Tenant, "id", id)
		delete(linked, id)
		delete(byAddr, contactKey(c.Tenant, c.Email))
		sum.ContactsDeleted++
	}
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("directory sync: %w", err)
		}
		if err := d.applyContact(sys, e, linked, byAddr, seen, sum); err != nil {
			d.log.Warn("LDAP sync: contact not applied", "dn", e.dn, "err", err)
			fail(sum, fmt.Errorf("contact %q: %w", e.dn, err))
		}
		if (i+1)%100 == 0 || i+1 == len(entries) {
			progress(SyncProgress{Phase: "contacts", Done: i + 1, Total: len(entries)})
		}
	}
	byDN := map[string]*store.Contact{}
	for _, e := range entries {
		if c := linked[e.id]; c != nil && strings.EqualFold(c.Tenant, e.tenant) {
			byDN[normDN(e.dn)] = c
		}
	}
	return byDN, nil
}

// applyContact makes the tenant's contact of e follow it: found by its
// link (moved to the entry's tenant if its company changed), else by
// address (linking it), else created.
func (d *Directory) applyContact(sys context.Context, e contactEntry, linked, byAddr map[string]*store.Contact, seen map[string]bool, sum *SyncSummary) error {
	cur := linked[e.id]
	if cur != nil && !strings.EqualFold(cur.Tenant, e.tenant) {
		// The entry moved to another company: its contact moves with
		// it (a contact holds nothing but its entry's data).
		if err := d.store.DeleteContact(sys, cur.Tenant, cur.Email); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("move from tenant %q: %w", cur.Tenant, err)
		}
		delete(byAddr, contactKey(cur.Tenant, cur.Email))
		delete(linked, e.id)
		sum.ContactsDeleted++
		cur = nil
	}
	if cur == nil {
		cur = byAddr[contactKey(e.tenant, e.mail)]
		switch {
		case cur == nil:
			if err := d.ensureTenant(sys, e.tenant); err != nil {
				return err
			}
			c, err := d.store.CreateContact(sys, e.tenant, store.Contact{Email: e.mail, Name: e.name, Hidden: e.hidden, ExternalID: e.id})
			if err != nil {
				return fmt.Errorf("create: %w", err)
			}
			linked[e.id], byAddr[contactKey(c.Tenant, c.Email)] = c, c
			sum.ContactsCreated++
			return nil
		case cur.ExternalID != "" && cur.ExternalID != e.id && seen[cur.ExternalID]:
			return fmt.Errorf("its address %s is taken by the contact of another directory entry (%s)", e.mail, cur.ExternalID)
		}
		// A Roost contact of that address without a link (made by an
		// administrator, or before the sync read contacts): it becomes
		// this entry's, and follows it from now on.
	}
	var up store.ContactUpdate
	if cur.Email != e.mail {
		up.Email = &e.mail
	}
	if cur.Name != e.name {
		up.Name = &e.name
	}
	if d.cfg.ContactHiddenAttr != "" && cur.Hidden != e.hidden {
		up.Hidden = &e.hidden
	}
	if cur.ExternalID != e.id {
		up.ExternalID = &e.id
	}
	if up.Email == nil && up.Name == nil && up.Hidden == nil && up.ExternalID == nil {
		return nil
	}
	c, err := d.store.UpdateContact(sys, cur.Tenant, cur.Email, up)
	if err != nil {
		return fmt.Errorf("update %q: %w", cur.Email, err)
	}
	delete(byAddr, contactKey(cur.Tenant, cur.Email))
	linked[e.id], byAddr[contactKey(c.Tenant, c.Email)] = c, c
	sum.ContactsUpdated++
	d.log.Info("LDAP sync: contact updated", "contact", c.Email, "tenant", c.Tenant, "id", e.id)
	return nil
}
