package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Principal is the identity a store call acts for. It travels in the
// context; a context without one is refused (ErrPermission), so no caller
// can reach data by forgetting to authenticate.
type Principal struct {
	System   bool // internal services: delivery, jobs, the first-start bootstrap
	UserID   int64
	Login    string
	TenantID int64
	Tenant   string
	Admin    AdminLevel
	Groups   []string // group names in the principal's tenant, Everyone included
	// AdminOf lists tenants (by id) this user administers besides its own
	// when Admin >= AdminTenant (Kopano "admin list" of a tenant).
	AdminOf []int64
	// Acting, for the system principal, is the login of the user whose
	// request the system work serves (SystemContext keeps it): the
	// change journal records it as the change's actor.
	Acting string
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// SystemContext returns ctx acting as the system principal.
func SystemContext(ctx context.Context) context.Context {
	sys := &Principal{System: true, Admin: AdminSystem, Login: "SYSTEM"}
	if p := PrincipalFrom(ctx); p != nil {
		sys.Acting = p.ActorLogin()
	}
	return WithPrincipal(ctx, sys)
}

// ActorLogin is the user a change made under p is attributed to: p's
// login, or for the system principal the user it acts for ("" for
// delivery, jobs and other work no user asked for).
func (p *Principal) ActorLogin() string {
	if p == nil {
		return ""
	}
	if p.System {
		return p.Acting
	}
	return p.Login
}

// Require returns the principal in ctx or ErrPermission.
func Require(ctx context.Context) (*Principal, error) {
	p := PrincipalFrom(ctx)
	if p == nil {
		return nil, fmt.Errorf("no principal in context: %w", ErrPermission)
	}
	return p, nil
}

// IsSystemAdmin reports whether p may act on every tenant.
func (p *Principal) IsSystemAdmin() bool { return p.System || p.Admin >= AdminSystem }

// SeesTenant reports whether objects of tenant id exist for p at all. Objects
// of tenants p does not see are reported as ErrNotFound.
func (p *Principal) SeesTenant(id int64) bool {
	if p.IsSystemAdmin() || p.TenantID == id {
		return true
	}
	return p.Admin >= AdminTenant && slices.Contains(p.AdminOf, id)
}

// AdministersTenant reports whether p may change users, groups and settings
// of tenant id.
func (p *Principal) AdministersTenant(id int64) bool {
	if p.IsSystemAdmin() {
		return true
	}
	if p.Admin < AdminTenant {
		return false
	}
	return p.TenantID == id || slices.Contains(p.AdminOf, id)
}

// EffectiveRights computes p's rights on a folder of a store owned by
// ownerID in tenant tenantID with the given ACL. Owners and administrators of
// the tenant have every right; others get the union of the entries naming
// them, their groups, and "anyone" (same tenant only; cross-tenant sharing
// needs an explicit user entry).
func EffectiveRights(p *Principal, tenantID, ownerID int64, acl []ACLEntry) string {
	if p.System || (ownerID != 0 && p.UserID == ownerID) || p.AdministersTenant(tenantID) {
		return AllRights
	}
	var set [128]bool
	for _, e := range acl {
		match := false
		switch {
		case e.Subject == SubjectAnyone:
			match = p.TenantID == tenantID
		case strings.HasPrefix(e.Subject, subjectUserPfx):
			match = p.Login != "" && strings.EqualFold(e.Subject[len(subjectUserPfx):], p.Login)
		case strings.HasPrefix(e.Subject, subjectGroupPfx):
			g := e.Subject[len(subjectGroupPfx):]
			match = p.TenantID == tenantID && slices.ContainsFunc(p.Groups, func(x string) bool { return strings.EqualFold(x, g) })
		}
		if match {
			for _, r := range e.Rights {
				if r < 128 {
					set[r] = true
				}
			}
		}
	}
	var b strings.Builder
	for _, r := range AllRights {
		if set[r] {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HasRights reports whether have contains every right in need.
func HasRights(have, need string) bool {
	for _, r := range need {
		if !strings.ContainsRune(have, r) {
			return false
		}
	}
	return true
}

// NormalizeRights validates an RFC 4314 rights string and returns it in
// canonical order. The obsolete RFC 2086 rights "c" and "d" map to "k" and
// "xte" (RFC 4314 §2.1.1).
func NormalizeRights(r string) (string, error) {
	var set [128]bool
	for _, c := range r {
		switch {
		case c == 'c':
			set['k'] = true
		case c == 'd':
			set['x'], set['t'], set['e'] = true, true, true
		case c < 128 && strings.ContainsRune(AllRights, c):
			set[c] = true
		default:
			return "", fmt.Errorf("unknown ACL right %q: %w", c, ErrInvalid)
		}
	}
	var b strings.Builder
	for _, c := range AllRights {
		if set[c] {
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

// EffectiveFeatures returns the features u may use: every feature, less
// those disabled by default (disabled_features), plus the user's explicit
// enables, less the user's explicit disables (Kopano semantics).
func EffectiveFeatures(u *User, disabledByDefault []string) []string {
	var out []string
	for _, f := range Features {
		on := !slices.Contains(disabledByDefault, f)
		if slices.Contains(u.EnabledFeatures, f) {
			on = true
		}
		if slices.Contains(u.DisabledFeatures, f) {
			on = false
		}
		if on {
			out = append(out, f)
		}
	}
	return out
}
