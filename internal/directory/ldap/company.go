package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/roost-mail/roost/internal/store"
)

// company is a company entry: a tenant.
type company struct {
	dn, name string
	id       string        // CompanyUniqueAttr:value (Tenant.ExternalID), "" without one
	e        *goldap.Entry // the entry as read, for its privileges and quota
}

// companyAttrs are the attributes read of a company entry.
func (d *Directory) companyAttrs() []string {
	var out []string
	for _, a := range []string{d.cfg.CompanyNameAttr, d.cfg.CompanyUniqueAttr, d.cfg.CompanyViewAttr, d.viewRelAttr(),
		d.cfg.CompanyAdminAttr, d.cfg.QuotaOverrideAttr, d.cfg.WarnQuotaAttr, d.cfg.UDefQuotaOverrideAttr,
		d.cfg.UDefWarnQuotaAttr, d.cfg.UDefSoftQuotaAttr, d.cfg.UDefHardQuotaAttr} {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// adminRelAttr is the user attribute text admin privileges name, ""
// for the login.
func (d *Directory) adminRelAttr() string {
	if d.cfg.CompanyAdminAttr == "" || !d.cfg.CompanyAdminText {
		return ""
	}
	return d.cfg.CompanyAdminRelAttr
}

// viewRelAttr is the company attribute text view privileges name.
func (d *Directory) viewRelAttr() string {
	if !d.cfg.CompanyViewText || d.cfg.CompanyViewAttr == "" {
		return ""
	}
	if d.cfg.CompanyViewRelAttr != "" {
		return d.cfg.CompanyViewRelAttr
	}
	return d.cfg.CompanyNameAttr
}

// companies reads the company entries (ldap_company_search_filter), in
// the subtree of the base or, with ldap_company_scope = one, among its
// children.
func (d *Directory) companies(ctx context.Context) ([]company, error) {
	scope := goldap.ScopeWholeSubtree
	if d.cfg.CompanyOneLevel {
		scope = goldap.ScopeSingleLevel
	}
	raw, err := d.searchUnder(ctx, d.cfg.Base, scope, d.cfg.CompanyFilter, d.companyAttrs())
	if err != nil {
		return nil, fmt.Errorf("companies: %w", err)
	}
	var out []company
	for _, le := range raw {
		if n := le.GetAttributeValue(d.cfg.CompanyNameAttr); n != "" {
			c := company{dn: normDN(le.DN), name: n, e: le}
			if d.cfg.CompanyUniqueAttr != "" {
				if v := le.GetRawAttributeValue(d.cfg.CompanyUniqueAttr); len(v) > 0 {
					c.id = externalID(d.cfg.CompanyUniqueAttr, v)
				}
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// linkedTenants returns the tenants linked to company entries, by
// ExternalID.
func (d *Directory) linkedTenants(sys context.Context) (map[string]*store.Tenant, error) {
	out := map[string]*store.Tenant{}
	if d.cfg.CompanyUniqueAttr == "" {
		return out, nil
	}
	all, err := d.store.ListTenants(sys)
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	for _, t := range all {
		if strings.HasPrefix(t.ExternalID, d.cfg.CompanyUniqueAttr+":") {
			out[t.ExternalID] = t
		}
	}
	return out, nil
}

// syncTenants brings the tenants in line with the company entries,
// before any user is applied: a company linked to a tenant by its
// unique attribute (ldap_company_unique_attribute) whose name changed
// renames the tenant (the same tenant: its users, groups and stores);
// one without a tenant gets a new one, linked; a tenant of its name
// without a link (made by hand, by a login, or before the link existed)
// is linked to it. When a rename is refused (the new name is another
// tenant's) the company keeps its tenant's present name for this sync,
// so that its entries stay where they are. cs is updated in place.
func (d *Directory) syncTenants(sys context.Context, cs []company, sum *SyncSummary) error {
	linked, err := d.linkedTenants(sys)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, c := range cs {
		if c.id != "" {
			ids[c.id] = true
		}
	}
	for i := range cs {
		c := &cs[i]
		if t := linked[c.id]; c.id != "" && t != nil {
			if t.Name == c.name {
				continue
			}
			name := c.name
			if _, err := d.store.UpdateTenant(sys, t.Name, store.TenantUpdate{Name: &name}); err != nil {
				d.log.Warn("LDAP sync: company renamed in the directory, its tenant not", "from", t.Name, "to", c.name, "dn", c.e.DN, "err", err)
				fail(sum, fmt.Errorf("company %q: rename tenant %q: %w", c.name, t.Name, err))
				c.name = t.Name
				continue
			}
			d.log.Info("LDAP sync: tenant renamed, its company was", "from", t.Name, "to", c.name, "dn", c.e.DN)
			t.Name = c.name
			continue
		}
		if err := d.ensureTenant(sys, c.name); err != nil {
			return err
		}
		if c.id == "" {
			continue
		}
		t, err := d.store.GetTenant(sys, c.name)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", c.name, err)
		}
		switch {
		case t.ExternalID == c.id:
		case t.ExternalID != "" && ids[t.ExternalID]:
			// Two company entries of one name: the tenant stays
			// the other's.
			fail(sum, fmt.Errorf("company %q (%s): its name is the tenant of another company entry (%s)", c.name, c.e.DN, t.ExternalID))
		default:
			id := c.id
			if _, err := d.store.UpdateTenant(sys, t.Name, store.TenantUpdate{ExternalID: &id}); err != nil {
				return fmt.Errorf("link tenant %q: %w", t.Name, err)
			}
			d.log.Info("LDAP sync: tenant linked to its company entry", "tenant", t.Name, "dn", c.e.DN, "id", c.id)
		}
	}
	return nil
}

// tenantFor is the tenant of company c outside a sync (a first login):
// the tenant linked to its entry, by its name still when a rename in
// the directory waits for the next sync; else the company's name.
func (d *Directory) tenantFor(sys context.Context, c company) (string, error) {
	if c.id == "" {
		return c.name, nil
	}
	linked, err := d.linkedTenants(sys)
	if err != nil {
		return "", err
	}
	if t := linked[c.id]; t != nil {
		return t.Name, nil
	}
	return c.name, nil
}

// companyOf returns the name of the innermost company dn is below (or
// is), "" when none.
func companyOf(cs []company, dn string) string {
	if c := companyEntryOf(cs, dn); c != nil {
		return c.name
	}
	return ""
}

// companyEntryOf returns the innermost company dn is below (or is), nil
// when none.
func companyEntryOf(cs []company, dn string) *company {
	n := normDN(dn)
	var best *company
	for i, c := range cs {
		if (n == c.dn || strings.HasSuffix(n, ","+c.dn)) && (best == nil || len(c.dn) > len(best.dn)) {
			best = &cs[i]
		}
	}
	return best
}

// tenantOf is the tenant of an entry during a sync: its company's, or
// ldap_tenant.
func (d *Directory) tenantOf(dn string) string {
	if t := companyOf(d.companyList, dn); t != "" {
		return t
	}
	return d.cfg.Tenant
}

// quotaLevel reads a quota attribute of e in bytes (units of
// ldap_quota_multiplier); 0 when absent, not a positive number, or too
// large.
func (d *Directory) quotaLevel(e *goldap.Entry, attr string) int64 {
	if attr == "" {
		return 0
	}
	mult := d.cfg.QuotaMultiplier
	if mult <= 0 {
		mult = 1 << 20
	}
	n, err := strconv.ParseInt(strings.TrimSpace(e.GetAttributeValue(attr)), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0
	}
	return n * mult
}

// applyCompanies brings each company's tenant in line with its entry:
// its viewers (ldap_company_view_attribute), administrators
// (ldap_company_admin_attribute), warning quota (ldap_quotaoverride_
// and ldap_warnquota_attribute on the company) and its users' default
// quota (ldap_userdefault_*). A setting whose attribute is not
// configured is left to Roost. lookup maps a user reference to a login,
// as for group members. Failures are counted and the sync goes on.
func (d *Directory) applyCompanies(ctx context.Context, companies []company, lookup func(v string, text bool, attr string) (string, bool), sum *SyncSummary) {
	if d.cfg.CompanyViewAttr == "" && d.cfg.CompanyAdminAttr == "" && (d.cfg.QuotaOverrideAttr == "" || d.cfg.WarnQuotaAttr == "") &&
		d.cfg.UDefQuotaOverrideAttr == "" {
		return // every company setting is Roost's
	}
	sys := store.SystemContext(ctx)
	for _, c := range companies {
		if err := ctx.Err(); err != nil {
			return
		}
		if err := d.applyCompany(sys, c, companies, lookup); err != nil {
			d.log.Warn("LDAP sync: company settings not applied", "company", c.name, "dn", c.e.DN, "err", err)
			fail(sum, fmt.Errorf("company %q: %w", c.name, err))
		}
	}
}

func (d *Directory) applyCompany(sys context.Context, c company, companies []company, lookup func(v string, text bool, attr string) (string, bool)) error {
	t, err := d.store.GetTenant(sys, c.name)
	if err != nil {
		return err
	}
	if d.cfg.CompanyViewAttr != "" {
		var want []string
		rel := d.viewRelAttr()
		for _, v := range c.e.GetAttributeValues(d.cfg.CompanyViewAttr) {
			i := slices.IndexFunc(companies, func(o company) bool {
				if !d.cfg.CompanyViewText {
					return o.dn == normDN(v)
				}
				return slices.ContainsFunc(o.e.GetAttributeValues(rel), func(x string) bool { return strings.EqualFold(x, strings.TrimSpace(v)) })
			})
			switch {
			case i < 0:
				d.log.Warn("LDAP sync: a company's view privilege names no company; ignored", "company", c.name, "value", v)
			case strings.EqualFold(companies[i].name, c.name):
				// A tenant always sees itself.
			case !containsFold(want, companies[i].name):
				want = append(want, companies[i].name)
			}
		}
		add, remove := delta(t.Viewers, want)
		for _, v := range add {
			if err := d.store.AddTenantViewer(sys, c.name, v); err != nil {
				return fmt.Errorf("add viewer %q: %w", v, err)
			}
		}
		for _, v := range remove {
			if err := d.store.RemoveTenantViewer(sys, c.name, v); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("remove viewer %q: %w", v, err)
			}
		}
		if len(add)+len(remove) > 0 {
			d.log.Info("LDAP sync: company viewers changed", "company", c.name, "added", add, "removed", remove)
		}
	}
	if d.cfg.CompanyAdminAttr != "" {
		var want []string
		for _, v := range c.e.GetAttributeValues(d.cfg.CompanyAdminAttr) {
			l, ok := lookup(strings.TrimSpace(v), d.cfg.CompanyAdminText, d.cfg.CompanyAdminRelAttr)
			if !ok {
				d.log.Warn("LDAP sync: a company's admin privilege names no user; ignored", "company", c.name, "value", v)
				continue
			}
			if !containsFold(want, l) {
				want = append(want, l)
			}
		}
		add, remove := delta(t.Admins, want)
		for _, l := range add {
			if err := d.store.AddTenantAdmin(sys, c.name, l); err != nil {
				return fmt.Errorf("add administrator %q: %w", l, err)
			}
		}
		for _, l := range remove {
			if err := d.store.RemoveTenantAdmin(sys, c.name, l); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("remove administrator %q: %w", l, err)
			}
		}
		if len(add)+len(remove) > 0 {
			d.log.Info("LDAP sync: company administrators changed", "company", c.name, "added", add, "removed", remove)
		}
	}
	var up store.TenantUpdate
	if d.cfg.QuotaOverrideAttr != "" && d.cfg.WarnQuotaAttr != "" {
		// Kopano reads a company's own quota with the user quota
		// attributes; without the override the global
		// companyquota_warn applies (0 here).
		var warn int64
		if truthy(c.e.GetAttributeValue(d.cfg.QuotaOverrideAttr)) {
			warn = d.quotaLevel(c.e, d.cfg.WarnQuotaAttr)
		}
		if warn != t.QuotaWarn {
			up.QuotaWarn = &warn
		}
	}
	if d.cfg.UDefQuotaOverrideAttr != "" {
		var q store.Quota
		if truthy(c.e.GetAttributeValue(d.cfg.UDefQuotaOverrideAttr)) {
			q = store.Quota{Warn: d.quotaLevel(c.e, d.cfg.UDefWarnQuotaAttr), Soft: d.quotaLevel(c.e, d.cfg.UDefSoftQuotaAttr),
				Hard: d.quotaLevel(c.e, d.cfg.UDefHardQuotaAttr)}
		}
		if q != (store.Quota{Warn: t.UserQuotaWarn, Soft: t.UserQuotaSoft, Hard: t.UserQuotaHard}) {
			up.UserQuotaWarn, up.UserQuotaSoft, up.UserQuotaHard = &q.Warn, &q.Soft, &q.Hard
		}
	}
	if up.QuotaWarn != nil || up.UserQuotaWarn != nil {
		if _, err := d.store.UpdateTenant(sys, c.name, up); err != nil {
			return fmt.Errorf("quota: %w", err)
		}
		d.log.Info("LDAP sync: company quota changed", "company", c.name)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// delta lists what to add to and remove from have to make it want,
// names compared without case.
func delta(have, want []string) (add, remove []string) {
	for _, w := range want {
		if !containsFold(have, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !containsFold(want, h) {
			remove = append(remove, h)
		}
	}
	return add, remove
}
