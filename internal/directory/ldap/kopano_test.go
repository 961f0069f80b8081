package ldap_test

import (
	"context"
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
