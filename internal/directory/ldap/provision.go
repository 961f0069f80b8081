package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Provision creates or updates the Roost user of e, found by its unique
// id so that a renamed entry keeps its user and store. A Roost user of
// Roost's own database with e's login and no external id is adopted (a
// move from user_plugin = db). It runs one at a time, so two first
// logins of one user do not race to create it.
func (d *Directory) Provision(ctx context.Context, e *Entry) (*store.User, error) {
	u, _, err := d.provisionAction(ctx, e)
	return u, err
}

// action is what provisioning did to a Roost user.
type action int

const (
	unchanged action = iota
	created
	updated
	renamed
)

func (d *Directory) provisionAction(ctx context.Context, e *Entry) (*store.User, action, error) {
	d.provision.Lock()
	defer d.provision.Unlock()
	sys := store.SystemContext(ctx)
	u, err := d.store.UserByExternalID(sys, e.ID)
	if errors.Is(err, store.ErrNotFound) {
		u, err = d.store.GetUser(sys, e.Login)
		switch {
		case errors.Is(err, store.ErrNotFound):
			u, err := d.create(ctx, e)
			return u, created, err
		case err != nil:
		case u.ExternalID != "":
			return nil, unchanged, fmt.Errorf("ldap: login %q is linked to another directory entry (%s), not %s (%s): %w",
				e.Login, u.ExternalID, e.DN, e.ID, store.ErrConflict)
		default:
			d.log.Info("LDAP: linking the existing Roost user to its directory entry", "user", u.Login, "dn", e.DN)
		}
	}
	if err != nil {
		return nil, unchanged, fmt.Errorf("ldap provision %q: %w", e.Login, err)
	}
	if e.Tenant != "" && !strings.EqualFold(u.Tenant, e.Tenant) {
		d.log.Warn("LDAP: the user's entry is in another company than its Roost tenant; moving users between tenants is not supported",
			"user", u.Login, "tenant", u.Tenant, "company", e.Tenant, "dn", e.DN)
	}
	upd, changed := diff(u, e)
	if !changed {
		return u, unchanged, nil
	}
	nu, err := d.store.UpdateUser(sys, u.Login, upd)
	if err != nil {
		return nil, unchanged, fmt.Errorf("ldap update user %q from %s: %w", u.Login, e.DN, err)
	}
	if nu.Login != u.Login {
		d.log.Info("LDAP: user renamed", "from", u.Login, "to", nu.Login, "dn", e.DN)
		return nu, renamed, nil
	}
	return nu, updated, nil
}

// ensureTenant creates tenant if it does not exist.
func (d *Directory) ensureTenant(sys context.Context, tenant string) error {
	if _, err := d.store.GetTenant(sys, tenant); errors.Is(err, store.ErrNotFound) {
		if _, err := d.store.CreateTenant(sys, tenant); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("ldap: create tenant %q: %w", tenant, err)
		}
	} else if err != nil {
		return fmt.Errorf("ldap: tenant %q: %w", tenant, err)
	}
	return nil
}

func (d *Directory) create(ctx context.Context, e *Entry) (*store.User, error) {
	sys := store.SystemContext(ctx)
	tenant := e.Tenant
	if tenant == "" && d.cfg.CompanyFilter != "" {
		cs, err := d.companies(ctx)
		if err != nil {
			return nil, err
		}
		if c := companyEntryOf(cs, e.DN); c != nil {
			if tenant, err = d.tenantFor(sys, *c); err != nil {
				return nil, err
			}
		}
	}
	if tenant == "" {
		tenant = d.cfg.Tenant
	}
	if err := d.ensureTenant(sys, tenant); err != nil {
		return nil, err
	}
	u, err := d.store.CreateUser(sys, tenant, store.User{Login: e.Login, Email: e.Mail, Aliases: e.Aliases,
		FullName: e.FullName, Active: e.Active, Admin: e.Admin, ExternalID: e.ID,
		QuotaOverride: e.QuotaOverride, Quota: e.Quota, EnabledFeatures: e.EnabledFeatures, DisabledFeatures: e.DisabledFeatures,
		HomeNode: e.Server})
	if err != nil {
		return nil, fmt.Errorf("ldap: create user %q from %s: %w", e.Login, e.DN, err)
	}
	d.log.Info("LDAP: user created on first use", "user", u.Login, "dn", e.DN)
	return u, nil
}

// diff lists what must change for u to match e.
func diff(u *store.User, e *Entry) (store.UserUpdate, bool) {
	var upd store.UserUpdate
	changed := false
	if u.ExternalID != e.ID {
		upd.ExternalID, changed = &e.ID, true
	}
	if u.Login != e.Login {
		upd.Rename, changed = &e.Login, true
	}
	if u.Email != e.Mail {
		upd.Email, changed = &e.Mail, true
	}
	if u.FullName != e.FullName {
		upd.FullName, changed = &e.FullName, true
	}
	if u.Active != e.Active {
		upd.Active, changed = &e.Active, true
	}
	if e.HasQuota {
		if u.QuotaOverride != e.QuotaOverride {
			upd.QuotaOverride, changed = &e.QuotaOverride, true
		}
		if u.Quota != e.Quota {
			upd.QuotaWarn, upd.QuotaSoft, upd.QuotaHard, changed = &e.Quota.Warn, &e.Quota.Soft, &e.Quota.Hard, true
		}
	}
	if e.HasFeatures {
		for _, f := range e.EnabledFeatures {
			if !slices.Contains(u.EnabledFeatures, f) {
				upd.EnableFeature, changed = append(upd.EnableFeature, f), true
			}
		}
		for _, f := range e.DisabledFeatures {
			if !slices.Contains(u.DisabledFeatures, f) {
				upd.DisableFeat, changed = append(upd.DisableFeat, f), true
			}
		}
	}
	if e.HasServer && u.HomeNode != e.Server {
		upd.HomeNode, changed = &e.Server, true
	}
	if e.HasAdmin && u.Admin != e.Admin {
		upd.Admin, changed = &e.Admin, true
	}
	for _, a := range e.Aliases {
		if !slices.Contains(u.Aliases, a) {
			upd.AliasAdd, changed = append(upd.AliasAdd, a), true
		}
	}
	for _, a := range u.Aliases {
		if !slices.Contains(e.Aliases, a) {
			upd.AliasRemove, changed = append(upd.AliasRemove, a), true
		}
	}
	return upd, changed
}
