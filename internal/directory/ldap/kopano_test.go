package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// kopanoSchema is the part of Kopano's LDAP schema the company and
// dynamic group tests use, with Kopano's attribute and class names (the
// OIDs are under an example arc, not Kopano's).
const kopanoSchema = `attributetype ( 1.3.6.1.4.1.32473.3.1.1 NAME 'kopanoFilter' EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.3.1.2 NAME 'kopanoBase' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.3.1.3 NAME 'kopanoViewPrivilege' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.32473.3.1.4 NAME 'kopanoAdminPrivilege' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.32473.3.1.5 NAME 'kopanoQuotaOverride' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.3.1.6 NAME 'kopanoQuotaWarn' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.3.1.7 NAME 'kopanoUserDefaultQuotaOverride' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.3.1.8 NAME 'kopanoUserDefaultQuotaWarn' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.3.1.9 NAME 'kopanoUserDefaultQuotaSoft' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.32473.3.1.10 NAME 'kopanoUserDefaultQuotaHard' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.3.2.1 NAME 'kopano-company' SUP top AUXILIARY MAY ( kopanoViewPrivilege $ kopanoAdminPrivilege $ kopanoQuotaOverride $ kopanoQuotaWarn $ kopanoUserDefaultQuotaOverride $ kopanoUserDefaultQuotaWarn $ kopanoUserDefaultQuotaSoft $ kopanoUserDefaultQuotaHard ) )
objectclass ( 1.3.6.1.4.1.32473.3.2.2 NAME 'kopano-dynamicgroup' SUP top STRUCTURAL MUST ( cn $ kopanoFilter ) MAY ( kopanoBase $ mail $ description ) )
objectclass ( 1.3.6.1.4.1.32473.3.2.3 NAME 'kopano-addresslist' SUP top STRUCTURAL MUST ( cn $ kopanoFilter ) MAY ( kopanoBase $ description ) )
`

// dynGroup is the LDIF of a kopano-dynamicgroup entry in ou=groups;
// base "" leaves out kopanoBase.
func dynGroup(cn, filter, base string) string {
	s := fmt.Sprintf("dn: cn=%s,%s\nobjectClass: kopano-dynamicgroup\ncn: %s\nkopanoFilter: %s\n", cn, groupsOU, cn, filter)
	if base != "" {
		s += "kopanoBase: " + base + "\n"
	}
	return s + "\n"
}

// TestSyncDynamicGroupBase: a dynamic group's kopanoBase
// (ldap_dynamicgroup_search_base_attribute, on by default) narrows its
// filter to that subtree; a base outside ldap_search_base (its parent,
// another tree, text that is no DN) is refused and one that does not
// exist is skipped: the group is reported, a warning logged, and its
// Roost group stays as it was, never emptied nor widened.
func TestSyncDynamicGroupBase(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, kopanoSchema)
	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "openldap", LDAPURI: srv.URI, LDAPBindUser: testenv.SlapdSvcDN,
		LDAPBindPasswd: testenv.SlapdSvcPW, LDAPSearchBase: testenv.SlapdSuffix, LDAPTenant: "example", LDAPNetworkTimeout: 5,
		LDAPGroupSearchFilter: "(objectClass=groupOfNames)", LDAPDynGroupFilter: "(objectClass=kopano-dynamicgroup)",
		LDAPDynGroupNameAttr: "cn", LDAPDynGroupFilterAttr: "kopanoFilter", LDAPDynGroupBaseAttr: "kopanoBase"})
	if err != nil {
		t.Fatal(err)
	}
	if lc.DynGroupBaseAttr != "kopanoBase" {
		t.Fatalf("ldap_dynamicgroup_search_base_attribute not applied: %+v", lc)
	}
	e := newEnvOn(t, srv, func(c *ldap.Config) { *c = lc })
	sub := "ou=sub," + testenv.SlapdSuffix
	var b strings.Builder
	b.WriteString(fixture(10))
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: sub\n\n", sub)
	for _, uid := range []string{"s1", "s2"} {
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: S\nmail: %s@example.org\n\n", uid, sub, uid, uid, uid)
	}
	b.WriteString(dynGroup("everyone-all", "(objectClass=inetOrgPerson)", ""))
	b.WriteString(dynGroup("sub-all", "(objectClass=inetOrgPerson)", "OU=Sub, "+strings.ToUpper(testenv.SlapdSuffix)))
	b.WriteString(dynGroup("people-u0", "(mail=u0*)", testenv.SlapdPeople))
	e.srv.Add(b.String())
	ctx := context.Background()
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Failed != 0 {
		t.Fatalf("first sync %+v %v\n%s", sum, err, e.logs)
	}
	all := uids("s1", "s2", "u00", "u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08", "u09")
	if got := members(t, e, "everyone-all"); !slices.Equal(got, all) {
		t.Errorf("everyone-all (no base) %v, want %v", got, all)
	}
	if got := members(t, e, "sub-all"); !slices.Equal(got, uids("s1", "s2")) {
		t.Errorf("sub-all (base ou=sub) %v", got)
	}
	if got := members(t, e, "people-u0"); len(got) != 10 || slices.Contains(got, "s1") {
		t.Errorf("people-u0 (base ou=people) %v", got)
	}

	// Bases that would widen the search, or name nothing: each group is
	// skipped and keeps its members.
	for i, bad := range []string{"dc=org", "dc=other,dc=net", "not a DN", "ou=gone," + testenv.SlapdSuffix} {
		e.logs.Reset()
		e.srv.Modify(fmt.Sprintf("dn: cn=sub-all,%s\nchangetype: modify\nreplace: kopanoBase\nkopanoBase: %s\n", groupsOU, bad))
		sum, err := e.dir.Sync(ctx, nil)
		want := "is not within ldap_search_base"
		if i == 3 {
			want = "does not exist"
		}
		if err != nil || sum.Failed != 1 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0], want) ||
			sum.GroupsDeleted+sum.GroupsUpdated != 0 {
			t.Fatalf("base %q: sync %+v %v\n%s", bad, sum, err, e.logs)
		}
		if !strings.Contains(e.logs.String(), "level=WARN") || !strings.Contains(e.logs.String(), "dynamic group skipped") {
			t.Errorf("base %q: no warning logged:\n%s", bad, e.logs)
		}
		if got := members(t, e, "sub-all"); !slices.Equal(got, uids("s1", "s2")) {
			t.Errorf("base %q: sub-all became %v", bad, got)
		}
	}
	// The base removed: the filter applies under ldap_search_base again.
	e.srv.Modify(fmt.Sprintf("dn: cn=sub-all,%s\nchangetype: modify\ndelete: kopanoBase\n", groupsOU))
	if sum, err := e.dir.Sync(ctx, nil); err != nil || sum.Failed != 0 || sum.GroupsUpdated != 1 {
		t.Fatalf("sync without the base %+v %v\n%s", sum, err, e.logs)
	}
	if got := members(t, e, "sub-all"); !slices.Equal(got, all) {
		t.Errorf("sub-all without a base %v", got)
	}
	sys := store.SystemContext(ctx)
	if g, err := e.db.GetGroup(sys, "example", "sub-all"); err != nil || !strings.HasPrefix(g.ExternalID, "dynamic:entryUUID:") {
		t.Errorf("sub-all %+v %v", g, err)
	}
}

// companyTree is the LDIF of companies acme, globex and initech
// (kopano-company organizational units below the suffix), each with
// users X1 and X2 (X the company's initial), and inner, a company
// below acme with user n1. extra holds further lines of each company
// entry, by name.
func companyTree(extra map[string]string) string {
	var b strings.Builder
	for _, co := range []string{"acme", "globex", "initech"} {
		base := "ou=" + co + "," + testenv.SlapdSuffix
		fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nobjectClass: kopano-company\nou: %s\n%s\n", base, co, extra[co])
		for i := 1; i <= 2; i++ {
			uid := fmt.Sprintf("%s%d", co[:1], i)
			fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: X\nuserPassword: %s-pw\nmail: %s@%s.example\ndepartmentNumber: 1\n\n",
				uid, base, uid, uid, uid, uid, co)
		}
	}
	inner := "ou=inner,ou=acme," + testenv.SlapdSuffix
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nobjectClass: kopano-company\nou: inner\n\n", inner)
	fmt.Fprintf(&b, "dn: uid=n1,%s\nobjectClass: inetOrgPerson\nuid: n1\ncn: n1\nsn: X\nmail: n1@inner.example\n\n", inner)
	return b.String()
}

// TestSyncCompanySettings: the company keys of Kopano's ldap.cfg, read
// through the configuration: kopanoViewPrivilege (company names) sets
// the tenant's viewers, kopanoAdminPrivilege (logins, of any company)
// its administrators, kopanoQuotaOverride/kopanoQuotaWarn its warning
// quota and kopanoUserDefaultQuota* its users' default quota; each is
// followed at every sync, added and removed, and a reference to nobody
// is ignored with a warning. ldap_company_scope = one reads only the
// companies right below the search base. The store then lets the
// company administrator administer the tenant.
func TestSyncCompanySettings(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, kopanoSchema)
	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "openldap", LDAPURI: srv.URI, LDAPBindUser: testenv.SlapdSvcDN,
		LDAPBindPasswd: testenv.SlapdSvcPW, LDAPSearchBase: testenv.SlapdSuffix, LDAPTenant: "example", LDAPNetworkTimeout: 5,
		LDAPIsadminAttribute: "departmentNumber", LDAPQuotaMultiplier: 1 << 20,
		LDAPCompanyFilter: "(objectClass=kopano-company)", LDAPCompanyNameAttr: "ou", LDAPCompanyScope: "one",
		LDAPCompanyViewAttr: "kopanoViewPrivilege", LDAPCompanyViewType: "text",
		LDAPCompanyAdminAttr: "kopanoAdminPrivilege", LDAPCompanyAdminType: "text",
		LDAPQuotaOverrideAttr: "kopanoQuotaOverride", LDAPWarnQuotaAttr: "kopanoQuotaWarn",
		LDAPUDefQuotaOverAttr: "kopanoUserDefaultQuotaOverride", LDAPUDefWarnQuotaAttr: "kopanoUserDefaultQuotaWarn",
		LDAPUDefSoftQuotaAttr: "kopanoUserDefaultQuotaSoft", LDAPUDefHardQuotaAttr: "kopanoUserDefaultQuotaHard"})
	if err != nil {
		t.Fatal(err)
	}
	if !lc.CompanyOneLevel || !lc.CompanyViewText || !lc.CompanyAdminText || lc.CompanyAdminAttr != "kopanoAdminPrivilege" ||
		lc.UDefHardQuotaAttr != "kopanoUserDefaultQuotaHard" {
		t.Fatalf("company keys not applied: %+v", lc)
	}
	e := newEnvOn(t, srv, func(c *ldap.Config) { *c = lc })
	e.srv.Add(companyTree(map[string]string{
		"acme": "kopanoViewPrivilege: globex\nkopanoViewPrivilege: acme\nkopanoAdminPrivilege: g1\nkopanoAdminPrivilege: nobody\n" +
			"kopanoQuotaOverride: 1\nkopanoQuotaWarn: 500\n" +
			"kopanoUserDefaultQuotaOverride: 1\nkopanoUserDefaultQuotaWarn: 10\nkopanoUserDefaultQuotaSoft: 20\nkopanoUserDefaultQuotaHard: 30\n",
		"globex": "kopanoViewPrivilege: ACME\nkopanoViewPrivilege: umbrella\n",
	}))
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Failed != 0 || sum.Created != 7 {
		t.Fatalf("first sync %+v %v\n%s", sum, err, e.logs)
	}
	tenant := func(name string) *store.Tenant {
		t.Helper()
		tn, err := e.db.GetTenant(sys, name)
		if err != nil {
			t.Fatalf("tenant %s: %v", name, err)
		}
		return tn
	}
	acme := tenant("acme")
	if !slices.Equal(acme.Viewers, []string{"globex"}) || !slices.Equal(acme.Admins, []string{"g1"}) || acme.QuotaWarn != 500<<20 ||
		acme.UserQuotaWarn != 10<<20 || acme.UserQuotaSoft != 20<<20 || acme.UserQuotaHard != 30<<20 {
		t.Fatalf("acme %+v", acme)
	}
	if g := tenant("globex"); !slices.Equal(g.Viewers, []string{"acme"}) || len(g.Admins) != 0 || g.QuotaWarn != 0 || g.UserQuotaHard != 0 {
		t.Fatalf("globex %+v", g)
	}
	for _, w := range []string{`value=nobody`, `value=umbrella`} {
		if !strings.Contains(e.logs.String(), w) {
			t.Errorf("no warning for %s:\n%s", w, e.logs)
		}
	}
	// Scope one: inner, below acme, is no company; n1 is acme's.
	if _, err := e.db.GetTenant(sys, "inner"); err == nil {
		t.Errorf("with ldap_company_scope = one the nested company became a tenant")
	}
	if u := e.user(t, "n1"); u.Tenant != "acme" {
		t.Errorf("n1 in %q, want acme", u.Tenant)
	}
	// What the store makes of it: g1 (globex, admin level 1) administers
	// acme, i1 (initech) does not.
	for login, want := range map[string]bool{"g1": true, "i1": false} {
		p, err := e.db.Principal(sys, login)
		if err != nil {
			t.Fatal(err)
		}
		if p.AdministersTenant(acme.ID) != want {
			t.Errorf("%s administers acme: %v, want %v", login, !want, want)
		}
	}

	// Changed in the directory: followed, added and removed.
	e.srv.Modify("dn: ou=acme," + testenv.SlapdSuffix + "\nchangetype: modify\nreplace: kopanoViewPrivilege\nkopanoViewPrivilege: initech\n-\n" +
		"replace: kopanoAdminPrivilege\nkopanoAdminPrivilege: i1\nkopanoAdminPrivilege: a2\n-\ndelete: kopanoQuotaOverride\n-\n" +
		"replace: kopanoUserDefaultQuotaHard\nkopanoUserDefaultQuotaHard: 40\n")
	e.srv.Modify("dn: ou=globex," + testenv.SlapdSuffix + "\nchangetype: modify\ndelete: kopanoViewPrivilege\n")
	if sum, err := e.dir.Sync(ctx, nil); err != nil || sum.Failed != 0 {
		t.Fatalf("second sync %+v %v\n%s", sum, err, e.logs)
	}
	acme = tenant("acme")
	if !slices.Equal(acme.Viewers, []string{"initech"}) || !slices.Equal(acme.Admins, []string{"a2", "i1"}) || acme.QuotaWarn != 0 ||
		acme.UserQuotaWarn != 10<<20 || acme.UserQuotaHard != 40<<20 {
		t.Fatalf("acme after the change %+v", acme)
	}
	if g := tenant("globex"); len(g.Viewers) != 0 {
		t.Fatalf("globex after the change %+v", g)
	}
	if p, err := e.db.Principal(sys, "g1"); err != nil || p.AdministersTenant(acme.ID) {
		t.Errorf("g1 still administers acme: %+v %v", p, err)
	}
	// The user default override removed: back to the global levels.
	e.srv.Modify("dn: ou=acme," + testenv.SlapdSuffix + "\nchangetype: modify\ndelete: kopanoUserDefaultQuotaOverride\n")
	if sum, err := e.dir.Sync(ctx, nil); err != nil || sum.Failed != 0 {
		t.Fatalf("third sync %+v %v", sum, err)
	}
	if a := tenant("acme"); a.UserQuotaWarn+a.UserQuotaSoft+a.UserQuotaHard != 0 || !slices.Equal(a.Admins, []string{"a2", "i1"}) {
		t.Fatalf("acme without the user default override %+v", a)
	}

	// The same settings as DNs and by a relation attribute, and the
	// default scope (sub), on a second Roost: inner is a company there.
	c2 := lc
	c2.CompanyOneLevel = false
	c2.CompanyViewAttr, c2.CompanyViewText = "seeAlso", false
	c2.CompanyAdminAttr, c2.CompanyAdminRelAttr = "description", "mail"
	e2 := newEnvOn(t, srv, func(c *ldap.Config) { *c = c2 })
	e2.srv.Modify("dn: ou=globex," + testenv.SlapdSuffix + "\nchangetype: modify\nadd: seeAlso\nseeAlso: OU=Inner, OU=Acme," + testenv.SlapdSuffix +
		"\n-\nadd: description\ndescription: A1@acme.example\n")
	if sum, err := e2.dir.Sync(ctx, nil); err != nil || sum.Failed != 0 {
		t.Fatalf("sync with DNs %+v %v\n%s", sum, err, e2.logs)
	}
	g, err := e2.db.GetTenant(sys, "globex")
	if err != nil || !slices.Equal(g.Viewers, []string{"inner"}) || !slices.Equal(g.Admins, []string{"a1"}) {
		t.Fatalf("globex with DNs %+v %v", g, err)
	}
	if u, err := e2.db.GetUser(sys, "n1"); err != nil || u.Tenant != "inner" {
		t.Errorf("n1 with scope sub: %+v %v", u, err)
	}
}

// TestSyncCompanyRename: companies are linked to their tenants by
// ldap_company_unique_attribute (default entryUUID), so a company
// renamed in the directory (modrdn of its ou) renames its tenant: the
// same tenant, its users and their stores, nothing orphaned. A tenant
// of a company's name made before the link is adopted; a rename to a
// name another tenant has is refused and the company's entries stay in
// their tenant; a first login between a rename and the sync goes to
// the linked tenant.
func TestSyncCompanyRename(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, kopanoSchema)
	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "openldap", LDAPURI: srv.URI, LDAPBindUser: testenv.SlapdSvcDN,
		LDAPBindPasswd: testenv.SlapdSvcPW, LDAPSearchBase: testenv.SlapdSuffix, LDAPTenant: "example", LDAPNetworkTimeout: 5,
		LDAPCompanyFilter: "(objectClass=kopano-company)", LDAPCompanyNameAttr: "ou"})
	if err != nil {
		t.Fatal(err)
	}
	if lc.CompanyUniqueAttr != "entryUUID" || lc.CompanyOneLevel {
		t.Fatalf("company defaults: %+v", lc)
	}
	e := newEnvOn(t, srv, func(c *ldap.Config) { *c = lc })
	e.srv.Add(companyTree(nil))
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	pre, err := e.db.CreateTenant(sys, "globex") // made by hand before the sync
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateTenant(sys, "taken"); err != nil {
		t.Fatal(err)
	}
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Failed != 0 || sum.Created != 7 {
		t.Fatalf("first sync %+v %v\n%s", sum, err, e.logs)
	}
	tenant := func(name string) *store.Tenant {
		t.Helper()
		tn, err := e.db.GetTenant(sys, name)
		if err != nil {
			t.Fatalf("tenant %s: %v", name, err)
		}
		return tn
	}
	for _, n := range []string{"acme", "globex", "initech", "inner"} {
		if tn := tenant(n); !strings.HasPrefix(tn.ExternalID, "entryUUID:") {
			t.Errorf("tenant %s not linked: %+v", n, tn)
		}
	}
	if g := tenant("globex"); g.ID != pre.ID {
		t.Errorf("the hand-made globex was not adopted: %+v, was %+v", g, pre)
	}
	acme, a1 := tenant("acme"), e.user(t, "a1")

	e.srv.Modify("dn: ou=acme," + testenv.SlapdSuffix + "\nchangetype: modrdn\nnewrdn: ou=acme-corp\ndeleteoldrdn: 1\n")
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.Failed != 0 || sum.Created+sum.Orphaned != 0 {
		t.Fatalf("sync after the rename %+v %v\n%s", sum, err, e.logs)
	}
	if tn := tenant("acme-corp"); tn.ID != acme.ID || tn.ExternalID != acme.ExternalID {
		t.Fatalf("renamed tenant %+v, was %+v", tn, acme)
	}
	if _, err := e.db.GetTenant(sys, "acme"); err == nil {
		t.Errorf("tenant acme still there")
	}
	for _, login := range []string{"a1", "a2", "n1"} {
		if u := e.user(t, login); u.Tenant != "acme-corp" && !(login == "n1" && u.Tenant == "inner") {
			t.Errorf("%s in tenant %q after the rename", login, u.Tenant)
		}
	}
	if u := e.user(t, "a1"); u.StoreID != a1.StoreID || u.ID != a1.ID {
		t.Errorf("a1 changed: %+v, was %+v", u, a1)
	}
	if p, err := e.login("a2", "a2-pw"); err != nil || p.Tenant != "acme-corp" {
		t.Errorf("a2 after the rename: %+v %v", p, err)
	}

	// A rename to the name of another tenant: refused, i1 and i2 stay.
	e.srv.Modify("dn: ou=initech," + testenv.SlapdSuffix + "\nchangetype: modrdn\nnewrdn: ou=taken\ndeleteoldrdn: 1\n")
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.Failed != 1 || !strings.Contains(strings.Join(sum.Errors, "\n"), `rename tenant "initech"`) || sum.Orphaned != 0 {
		t.Fatalf("sync with a taken name %+v %v\n%s", sum, err, e.logs)
	}
	for _, login := range []string{"i1", "i2"} {
		if u := e.user(t, login); u.Tenant != "initech" {
			t.Errorf("%s moved to %q", login, u.Tenant)
		}
	}
	if users, err := e.db.ListUsers(sys, "taken"); err != nil || len(users) != 0 {
		t.Errorf("users of taken: %v %v", users, err)
	}

	// Renamed, and a new user logs in before the next sync: the linked
	// tenant, then renamed with it.
	e.srv.Modify("dn: ou=globex," + testenv.SlapdSuffix + "\nchangetype: modrdn\nnewrdn: ou=globex2\ndeleteoldrdn: 1\n")
	e.srv.Add("dn: uid=g3,ou=globex2," + testenv.SlapdSuffix + "\nobjectClass: inetOrgPerson\nuid: g3\ncn: g3\nsn: X\nuserPassword: g3-pw\nmail: g3@globex.example\n\n")
	if p, err := e.login("g3", "g3-pw"); err != nil || p.Tenant != "globex" {
		t.Fatalf("g3 before the sync: %+v %v\n%s", p, err, e.logs)
	}
	if sum, err := e.dir.Sync(ctx, nil); err != nil || sum.Failed != 1 { // initech still
		t.Fatalf("sync after the second rename %+v %v\n%s", sum, err, e.logs)
	}
	for _, login := range []string{"g1", "g2", "g3"} {
		if u := e.user(t, login); u.Tenant != "globex2" {
			t.Errorf("%s in %q, want globex2", login, u.Tenant)
		}
	}
	if tn := tenant("globex2"); tn.ID != pre.ID {
		t.Errorf("globex2 %+v, was %+v", tn, pre)
	}
}

// TestSyncDynamicGroupInCompany: a company's dynamic group selects
// among the company's users: its subtree is the default base, and
// users of another tenant (a nested company, or another company its
// kopanoBase reaches) are left out rather than failing the group (the
// store keeps groups within their tenant). A dynamic group outside
// every company (ldap_tenant) takes only the users outside companies.
func TestSyncDynamicGroupInCompany(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, kopanoSchema)
	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "openldap", LDAPURI: srv.URI, LDAPBindUser: testenv.SlapdSvcDN,
		LDAPBindPasswd: testenv.SlapdSvcPW, LDAPSearchBase: testenv.SlapdSuffix, LDAPTenant: "example", LDAPNetworkTimeout: 5,
		LDAPCompanyFilter: "(objectClass=kopano-company)", LDAPDynGroupFilter: "(objectClass=kopano-dynamicgroup)",
		LDAPDynGroupNameAttr: "cn", LDAPDynGroupFilterAttr: "kopanoFilter", LDAPDynGroupBaseAttr: "kopanoBase"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, srv, func(c *ldap.Config) { *c = lc })
	acme := "ou=acme," + testenv.SlapdSuffix
	dyn := func(cn, under, filter, base string) string {
		s := fmt.Sprintf("dn: cn=%s,%s\nobjectClass: kopano-dynamicgroup\ncn: %s\nkopanoFilter: %s\n", cn, under, cn, filter)
		if base != "" {
			s += "kopanoBase: " + base + "\n"
		}
		return s + "\n"
	}
	e.srv.Add(companyTree(nil) + fmt.Sprintf("dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", groupsOU) +
		dyn("acme-all", acme, "(uid=*)", "") +
		dyn("acme-wide", acme, "(uid=*)", testenv.SlapdSuffix) +
		dyn("top-all", groupsOU, "(uid=*)", ""))
	e.srv.AddUser("solo", "solo-pw", "solo@example.org")
	ctx := context.Background()
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Failed != 0 || sum.GroupsCreated != 3 {
		t.Fatalf("sync %+v %v\n%s", sum, err, e.logs)
	}
	sys := store.SystemContext(ctx)
	for _, c := range []struct {
		tenant, group string
		want          []string
	}{{"acme", "acme-all", uids("a1", "a2")}, {"acme", "acme-wide", uids("a1", "a2")}, {"example", "top-all", uids("solo")}} {
		g, err := e.db.GetGroup(sys, c.tenant, c.group)
		if err != nil {
			t.Fatalf("%s: %v", c.group, err)
		}
		got := slices.Clone(g.Members)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s members %v, want %v", c.group, got, c.want)
		}
	}
}

// TestAddressListBase: an address list's kopanoBase
// (ldap_addresslist_search_base_attribute) narrows its search to that
// subtree; a list whose base is outside ldap_search_base is left out
// with a warning; one whose base does not exist finds nobody.
func TestAddressListBase(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, kopanoSchema)
	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "openldap", LDAPURI: srv.URI, LDAPBindUser: testenv.SlapdSvcDN,
		LDAPBindPasswd: testenv.SlapdSvcPW, LDAPSearchBase: testenv.SlapdSuffix, LDAPTenant: "example", LDAPNetworkTimeout: 5,
		LDAPAddrListFilter: "(objectClass=kopano-addresslist)", LDAPAddrListNameAttr: "cn", LDAPAddrListFilterAttr: "kopanoFilter",
		LDAPAddrListBaseAttr: "kopanoBase"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, srv, func(c *ldap.Config) { *c = lc })
	sub := "ou=sub," + testenv.SlapdSuffix
	var b strings.Builder
	b.WriteString(fixture(5))
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: sub\n\n", sub)
	for _, uid := range []string{"s1", "s2"} {
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s Example\nsn: S\nmail: %s@example.org\n\n", uid, sub, uid, uid, uid)
	}
	list := func(cn, base string) {
		s := fmt.Sprintf("dn: cn=%s,%s\nobjectClass: kopano-addresslist\ncn: %s\nkopanoFilter: (objectClass=inetOrgPerson)\n", cn, groupsOU, cn)
		if base != "" {
			s += "kopanoBase: " + base + "\n"
		}
		b.WriteString(s + "\n")
	}
	list("everyone", "")
	list("sub-only", sub)
	list("outside", "dc=org")
	list("gone", "ou=gone,"+testenv.SlapdSuffix)
	e.srv.Add(b.String())
	ctx := context.Background()
	lists, err := e.dir.AddressLists(ctx)
	slices.Sort(lists)
	if err != nil || !slices.Equal(lists, []string{"everyone", "gone", "sub-only"}) {
		t.Fatalf("lists %v %v", lists, err)
	}
	if !strings.Contains(e.logs.String(), "outside ldap_search_base") {
		t.Errorf("no warning for the list outside the base:\n%s", e.logs)
	}
	for _, c := range []struct {
		list string
		want []string
	}{{"everyone", uids("s1", "s2", "u00", "u01", "u02", "u03", "u04")}, {"sub-only", uids("s1", "s2")}, {"gone", nil}} {
		res, err := e.dir.SearchList(ctx, c.list, "example", 0)
		if err != nil {
			t.Fatalf("%s: %v", c.list, err)
		}
		var got []string
		for _, r := range res {
			got = append(got, r.Login)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s found %v, want %v", c.list, got, c.want)
		}
	}
	if _, err := e.dir.SearchList(ctx, "outside", "example", 0); !errors.Is(err, ldap.ErrNoAddressList) {
		t.Errorf("the list outside the base: %v", err)
	}
}
