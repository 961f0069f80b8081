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
			out = append(out, company{dn: normDN(le.DN), name: n, e: le})
		}
	}
	return out, nil
}

// companyOf returns the name of the innermost company dn is below (or
// is), "" when none.
func companyOf(cs []company, dn string) string {
	n := normDN(dn)
	best, name := -1, ""
	for _, c := range cs {
		if (n == c.dn || strings.HasSuffix(n, ","+c.dn)) && len(c.dn) > best {
			best, name = len(c.dn), c.name
		}
	}
	return name
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
