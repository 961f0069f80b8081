package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Lister is what TenantAddressBook reads: the store's users, contacts
// and groups of a tenant (store.Directory).
type Lister interface {
	ListUsers(ctx context.Context, tenant string) ([]*store.User, error)
	ListContacts(ctx context.Context, tenant string) ([]*store.Contact, error)
	ListGroups(ctx context.Context, tenant string) ([]*store.Group, error)
}

// Address is one entry of a tenant's address book: a user (shared
// mailboxes, rooms and equipment included), a contact, or a group with
// an address (a distribution list), exactly one of the three set.
type Address struct {
	User    *store.User
	Contact *store.Contact
	Group   *store.Group
}

// Name is the entry's display name: the user's full name or login, the
// contact's name or address.
func (a Address) Name() string {
	if a.User != nil {
		if a.User.FullName != "" {
			return a.User.FullName
		}
		return a.User.Login
	}
	if a.Group != nil {
		return a.Group.Name
	}
	if a.Contact.Name != "" {
		return a.Contact.Name
	}
	return a.Contact.Email
}

// Email is the entry's address.
func (a Address) Email() string {
	if a.User != nil {
		return a.User.Email
	}
	if a.Group != nil {
		return a.Group.Email
	}
	return a.Contact.Email
}

// ContactInAddressList reports whether a contact is listed for the
// lower-case query q: not hidden, and q is in its name or address (as
// store.User.InAddressList for users; "" matches every contact).
func ContactInAddressList(c *store.Contact, q string) bool {
	return !c.Hidden && (strings.Contains(strings.ToLower(c.Name), q) || strings.Contains(strings.ToLower(c.Email), q))
}

// GroupInAddressList reports whether a group is listed for the
// lower-case query q: it has an address, is not hidden, and q is in its
// name or address ("" matches every such group).
func GroupInAddressList(g *store.Group, q string) bool {
	return g.Email != "" && !g.Hidden && (strings.Contains(strings.ToLower(g.Name), q) || strings.Contains(strings.ToLower(g.Email), q))
}

// TenantAddressBook is the address book the protocols show the
// principal of ctx (the web client's directory and autocomplete,
// ActiveSync's GAL Search, ResolveRecipients and Find): the users of
// its own tenant with an address (store.User.InAddressList) and the
// tenant's contacts that are not hidden, and its groups with an address
// that are not hidden (mail to them reaches their members), whose
// fields contain q (lower case; "" lists all), users first, then
// contacts, then groups, each in the store's order. The store
// lists a tenant only to those who see it, with the principal's own
// rights; each entry's tenant is checked again here, so another
// tenant's users and contacts are never listed.
func TenantAddressBook(ctx context.Context, st Lister, q string) ([]Address, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	users, err := st.ListUsers(ctx, p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("address book of %q: users: %w", p.Tenant, err)
	}
	contacts, err := st.ListContacts(ctx, p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("address book of %q: contacts: %w", p.Tenant, err)
	}
	groups, err := st.ListGroups(ctx, p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("address book of %q: groups: %w", p.Tenant, err)
	}
	var out []Address
	for _, u := range users {
		if u.Tenant == p.Tenant && u.InAddressList(q) {
			out = append(out, Address{User: u})
		}
	}
	for _, c := range contacts {
		if c.Tenant == p.Tenant && ContactInAddressList(c, q) {
			out = append(out, Address{Contact: c})
		}
	}
	for _, g := range groups {
		if g.Tenant == p.Tenant && GroupInAddressList(g, q) {
			out = append(out, Address{Group: g})
		}
	}
	return out, nil
}
