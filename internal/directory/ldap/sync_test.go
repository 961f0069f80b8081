package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

const groupsOU = "ou=groups," + testenv.SlapdSuffix

func userDN(uid string) string { return "uid=" + uid + "," + testenv.SlapdPeople }
func groupDN(cn string) string { return "cn=" + cn + "," + groupsOU }

// fixture is the directory of the sync tests: 50 users u00..u49 (u07
// disabled; u02 may send as u01), and groups: staff = {u00, eng, sales},
// eng = {u01..u05, staff} (a cycle), sales = {u10..u14}, and a hidden
// distribution group newsletter = {u20} with its own address.
func fixture(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", groupsOU)
	for i := range n {
		uid := fmt.Sprintf("u%02d", i)
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\nuid: %s\ncn: %s Example\nsn: Example\nuserPassword: pw-%s\nmail: %s@example.org\n",
			userDN(uid), uid, strings.ToUpper(uid), uid, uid)
		if uid == "u07" {
			b.WriteString("employeeType: disabled\n")
		}
		if uid == "u01" {
			fmt.Fprintf(&b, "seeAlso: %s\n", strings.ToUpper(userDN("u02"))) // another spelling of the DN
		}
		b.WriteString("\n")
	}
	members := func(uids ...string) string {
		var s string
		for _, u := range uids {
			s += "member: " + userDN(u) + "\n"
		}
		return s
	}
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: staff\nbusinessCategory: 1\n%smember: %s\nmember: %s\n\n",
		groupDN("staff"), members("u00"), groupDN("eng"), groupDN("sales"))
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: eng\nbusinessCategory: 1\n%smember: %s\n\n",
		groupDN("eng"), members("u01", "u02", "u03", "u04", "u05"), groupDN("staff"))
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: sales\nbusinessCategory: TRUE\n%s\n",
		groupDN("sales"), members("u10", "u11", "u12", "u13", "u14"))
	// A dynamic group: the users whose address starts with u1.
	fmt.Fprintf(&b, "dn: cn=dyn-u1,%s\nobjectClass: organizationalRole\ncn: dyn-u1\ndescription: (mail=u1*@example.org)\n\n", groupsOU)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\nobjectClass: inetLocalMailRecipient\ncn: newsletter\nbusinessCategory: 0\ndescription: TRUE\nmailLocalAddress: news@example.org\n%s\n",
		groupDN("newsletter"), members("u20"))
	return b.String()
}

func syncConfig(c *ldap.Config) {
	c.GroupFilter = "(objectClass=groupOfNames)"
	c.GroupNameAttr = "cn"
	c.GroupMailAttr = "mailLocalAddress"
	c.MembersAttr = "member"
	c.SecurityAttr = "businessCategory"
	c.GroupHiddenAttr = "description"
	c.SendAsAttr = "seeAlso"
	c.PageSize = 7 // several pages of the paged results control
	c.DynGroupFilter = "(&(objectClass=organizationalRole)(description=*))"
	c.DynGroupNameAttr, c.DynGroupFilterAttr = "cn", "description"
}

func members(t *testing.T, e *env, group string) []string {
	t.Helper()
	g, err := e.db.GetGroup(store.SystemContext(context.Background()), "example", group)
	if err != nil {
		t.Fatalf("group %q: %v", group, err)
	}
	m := slices.Clone(g.Members)
	sort.Strings(m)
	return m
}

func uids(list ...string) []string { sort.Strings(list); return list }

// TestSync: a first sync reads the whole directory (paged) and creates
// every user and group, nested groups flattened through a cycle; a
// second changes nothing; after a rename, a deletion and a membership
// change in the directory, the third renames the user (same store),
// orphans the vanished user's store and updates the group.
func TestSync(t *testing.T) {
	e := newEnv(t, syncConfig)
	e.srv.Add(fixture(50))
	ctx := context.Background()
	var phases []string
	sum, err := e.dir.Sync(ctx, func(p ldap.SyncProgress) {
		if !slices.Contains(phases, p.Phase) {
			phases = append(phases, p.Phase)
		}
	})
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, e.logs)
	}
	if sum.Users != 50 || sum.Created != 50 || sum.Groups != 5 || sum.GroupsCreated != 5 || sum.Failed != 0 || sum.Orphaned != 0 {
		t.Fatalf("first sync %+v\n%s", sum, e.logs)
	}
	if !slices.Equal(phases, []string{"users", "sendas", "groups"}) {
		t.Errorf("progress phases %v", phases)
	}
	users, err := e.db.ListUsers(store.SystemContext(ctx), "example")
	if err != nil || len(users) != 50 {
		t.Fatalf("%d users, %v", len(users), err)
	}
	if e.user(t, "u07").Active || !e.user(t, "u08").Active {
		t.Errorf("u07 must be the one non-active user")
	}
	if sa := e.user(t, "u01").SendAs; !slices.Equal(sa, []string{"u02"}) {
		t.Errorf("u01 send-as %v, want [u02]", sa)
	}
	staff := uids("u00", "u01", "u02", "u03", "u04", "u05", "u10", "u11", "u12", "u13", "u14")
	if m := members(t, e, "staff"); !slices.Equal(m, staff) {
		t.Errorf("staff %v, want %v", m, staff)
	}
	if m := members(t, e, "eng"); !slices.Equal(m, staff) { // eng contains staff: the cycle's users
		t.Errorf("eng %v, want %v", m, staff)
	}
	if m := members(t, e, "sales"); !slices.Equal(m, uids("u10", "u11", "u12", "u13", "u14")) {
		t.Errorf("sales %v", m)
	}
	if m := members(t, e, "dyn-u1"); !slices.Equal(m, uids("u10", "u11", "u12", "u13", "u14", "u15", "u16", "u17", "u18", "u19")) {
		t.Errorf("dynamic group %v", m)
	}
	g, err := e.db.GetGroup(store.SystemContext(ctx), "example", "newsletter")
	if err != nil || g.Kind != store.GroupDistribution || !g.Hidden || g.Email != "news@example.org" {
		t.Fatalf("newsletter %+v %v", g, err)
	}
	if g, _ := e.db.GetGroup(store.SystemContext(ctx), "example", "sales"); g.Kind != store.GroupSecurity || g.Hidden {
		t.Errorf("sales %+v", g)
	}
	// Group delivery and ACLs to groups work for directory users.
	rcpt, err := e.db.Recipients(store.SystemContext(ctx), "news@example.org")
	if err != nil || len(rcpt) != 1 || rcpt[0].Login != "u20" {
		t.Errorf("recipients of the group: %v %v", rcpt, err)
	}
	p, err := e.db.Principal(store.SystemContext(ctx), "u12")
	if err != nil || !slices.Contains(p.Groups, "sales") || !slices.Contains(p.Groups, "staff") || slices.Contains(p.Groups, "newsletter") {
		t.Errorf("u12's groups %+v %v", p, err)
	}
	// A directory user logs in as the user the sync made.
	if pr, err := e.login("u13", "pw-u13"); err != nil || pr.Login != "u13" {
		t.Fatalf("login after sync: %+v %v", pr, err)
	}

	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.Unchanged != 50 || sum.Created+sum.Updated+sum.Renamed+sum.Orphaned+sum.GroupsCreated+sum.GroupsUpdated != 0 {
		t.Fatalf("second sync %+v %v", sum, err)
	}

	before := e.user(t, "u03")
	gone := e.user(t, "u49")
	e.srv.Modify("dn: " + userDN("u03") + "\nchangetype: modrdn\nnewrdn: uid=u03new\ndeleteoldrdn: 1\n")
	e.srv.Modify("dn: " + userDN("u49") + "\nchangetype: delete\n")
	e.srv.Modify("dn: " + groupDN("eng") + "\nchangetype: modify\ndelete: member\nmember: " + userDN("u05") + "\n")
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.Users != 49 || sum.Renamed != 1 || sum.Orphaned != 1 || sum.GroupsUpdated != 2 || sum.Failed != 0 {
		t.Fatalf("third sync %+v %v\n%s", sum, err, e.logs)
	}
	after := e.user(t, "u03new")
	if after.ID != before.ID || after.StoreID != before.StoreID || after.ExternalID != before.ExternalID {
		t.Fatalf("renamed user %+v, was %+v", after, before)
	}
	if _, err := e.db.GetUser(store.SystemContext(ctx), "u49"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("vanished user: %v", err)
	}
	orphans, err := e.db.ListOrphans(store.SystemContext(ctx))
	if err != nil || len(orphans) != 1 || orphans[0].ID != gone.StoreID || orphans[0].FormerOwner != "u49" {
		t.Fatalf("orphans %+v %v", orphans, err)
	}
	staff = uids("u00", "u01", "u02", "u03new", "u04", "u10", "u11", "u12", "u13", "u14")
	if m := members(t, e, "eng"); !slices.Equal(m, staff) {
		t.Errorf("eng after the change %v, want %v", m, staff)
	}
}

// TestSyncOwnUsersStay: Roost's own users (no directory link) are never
// orphaned, and a directory that returns nobody orphans nobody.
func TestSyncOwnUsersStay(t *testing.T) {
	e := newEnv(t, syncConfig)
	e.srv.Add(fixture(3))
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	if _, err := e.dir.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateUser(sys, "example", store.User{Login: "local", Email: "local@example.org", Active: true}); err != nil {
		t.Fatal(err)
	}
	// A filter that matches nothing (a misconfiguration): refused.
	d, err := ldap.New(ldapConfigOf(e.srv.URI, func(c *ldap.Config) { syncConfig(c); c.Filter = "(objectClass=posixAccount)" }), e.db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Sync(ctx, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("empty directory: %v", err)
	}
	users, _ := e.db.ListUsers(sys, "example")
	if len(users) != 4 {
		t.Fatalf("%d users after the refused sync", len(users))
	}
	// u02 leaves: only it is orphaned, the local user stays.
	e.srv.Modify("dn: " + userDN("u02") + "\nchangetype: delete\n")
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Orphaned != 1 {
		t.Fatalf("sync %+v %v", sum, err)
	}
	e.user(t, "local")
}

func ldapConfigOf(uri string, mod func(*ldap.Config)) ldap.Config {
	c := baseConfig(uri)
	mod(&c)
	return c
}

// TestSearch: the address book search finds users by parts of their
// login, name or address, bounded; filter syntax in a query is matched
// as text and never widens the search (RFC 4515 escaping).
func TestSearch(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.Add(fixture(20))
	ctx := context.Background()
	got := func(q string, limit int) []string {
		t.Helper()
		res, err := e.dir.Search(ctx, q, limit)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var out []string
		for _, r := range res {
			out = append(out, r.Login)
		}
		sort.Strings(out)
		return out
	}
	if r := got("u1", 0); len(r) != 10 {
		t.Errorf("u1: %v", r)
	}
	if r := got("u1", 3); len(r) != 3 {
		t.Errorf("u1 limit 3: %v", r)
	}
	if r := got("U13 example", 0); !slices.Equal(r, []string{"u13"}) {
		t.Errorf("two words: %v", r)
	}
	if r := got("u05@example.org", 0); !slices.Equal(r, []string{"u05"}) {
		t.Errorf("address: %v", r)
	}
	if r := got("   ", 0); len(r) != 0 {
		t.Errorf("empty query found %v", r)
	}
	for _, q := range []string{"*", "u*", "*)(uid=*", "u1)(|(uid=*", "*)(|(objectClass=*", ")(objectClass=*", `\2a`, "u0*)(cn=*", "(uid=u01)"} {
		if r := got(q, 0); len(r) != 0 {
			t.Errorf("injection %q found %v", q, r)
		}
	}
	// Contacts: entries with an address and no account.
	e.srv.Add("dn: cn=Zed Outside," + testenv.SlapdSuffix + "\nobjectClass: organizationalPerson\nobjectClass: inetLocalMailRecipient\ncn: Zed Outside\nsn: Outside\nmailLocalAddress: zed@partner.example\n")
	dc, err := ldap.New(ldapConfigOf(e.srv.URI, func(c *ldap.Config) {
		c.ContactFilter, c.MailAttr = "(&(objectClass=organizationalPerson)(!(objectClass=inetOrgPerson)))", "mailLocalAddress"
	}), e.db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	res, err := dc.Search(ctx, "zed", 0)
	if err != nil || len(res) != 1 || !res[0].Contact || res[0].Mail != "zed@partner.example" || res[0].FullName != "Zed Outside" || res[0].Login != "" {
		t.Fatalf("contact search %+v %v", res, err)
	}
	if res, err := e.dir.Search(ctx, "zed", 0); err != nil || len(res) != 0 {
		t.Fatalf("contacts without ldap_contact_search_filter: %+v %v", res, err)
	}
	// An address list: a named filter the search is limited to.
	e.srv.Add("dn: cn=u0-list," + testenv.SlapdSuffix + "\nobjectClass: organizationalRole\ncn: u0-list\ndescription: (mail=u0*@example.org)\n")
	d, err := ldap.New(ldapConfigOf(e.srv.URI, func(c *ldap.Config) {
		c.AddrListFilter, c.AddrListNameAttr, c.AddrListFilterAttr = "(&(objectClass=organizationalRole)(cn=*-list))", "cn", "description"
	}), e.db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if lists, err := d.AddressLists(ctx); err != nil || !slices.Equal(lists, []string{"u0-list"}) {
		t.Fatalf("address lists %v %v", lists, err)
	}
	res, err = d.SearchList(ctx, "u0-list", "example", 0)
	if err != nil || len(res) != 10 {
		t.Fatalf("search in the list: %d %v", len(res), err)
	}
	if res, err := d.SearchList(ctx, "u0-list", "u1", 0); err != nil || len(res) != 0 {
		t.Fatalf("u1 in the u0 list: %v %v", res, err)
	}
	if _, err := d.SearchList(ctx, "*", "u1", 0); !errors.Is(err, ldap.ErrNoAddressList) {
		t.Fatalf("unknown list: %v", err)
	}
	if f := e.dir.SearchFilter("*)(uid=*"); strings.Contains(f, "=*)(uid=*") || !strings.Contains(f, `\2a\29\28uid=\2a`) {
		t.Errorf("filter %s", f)
	}
	for _, q := range []string{"u0\x00", "u\xff", strings.Repeat("a", 300)} {
		if _, err := e.dir.Search(ctx, q, 0); err == nil {
			t.Errorf("query %q accepted", q)
		}
	}
}

// TestSyncLarge times the sync of a large directory: set
// ROOST_LDAP_SYNC_USERS (e.g. 10000) to run it; docs/benchmarks.md
// has the figures. It checks the counts, never the time.
func TestSyncLarge(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ROOST_LDAP_SYNC_USERS"))
	if n <= 0 {
		t.Skip("set ROOST_LDAP_SYNC_USERS to run")
	}
	e := newEnv(t, func(c *ldap.Config) { syncConfig(c); c.PageSize = 500 })
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", groupsOU)
	for i := range n {
		uid := fmt.Sprintf("user%05d", i)
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %05d\nsn: User\nmail: %s@example.org\n\n", userDN(uid), uid, i, uid)
	}
	// 100 groups of 100 members each.
	for g := range n / 100 {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: team%03d\n", groupDN(fmt.Sprintf("team%03d", g)), g)
		for i := g * 100; i < (g+1)*100; i++ {
			fmt.Fprintf(&b, "member: %s\n", userDN(fmt.Sprintf("user%05d", i)))
		}
		b.WriteString("\n")
	}
	start := time.Now()
	e.srv.Add(b.String())
	t.Logf("loaded %d users into slapd in %s", n, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Created != n || sum.Groups != n/100 {
		t.Fatalf("first sync %+v %v", sum, err)
	}
	t.Logf("first sync (%d users created, %d groups): %.1fs", n, sum.Groups, sum.Seconds)
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.Unchanged != n {
		t.Fatalf("second sync %+v %v", sum, err)
	}
	t.Logf("second sync (nothing changed): %.1fs", sum.Seconds)
}

// TestUserSettings: quota levels (in MB, the Kopano schema's unit),
// features and the home node come from the entry at login, and the
// sync applies their changes. (Stand-in attributes of inetOrgPerson:
// the test slapd has no Kopano schema.)
func TestUserSettings(t *testing.T) {
	e := newEnv(t, func(c *ldap.Config) {
		c.QuotaOverrideAttr, c.WarnQuotaAttr, c.SoftQuotaAttr, c.HardQuotaAttr = "carLicense", "roomNumber", "postalCode", "postOfficeBox"
		c.QuotaMultiplier = 1 << 20
		c.EnabledFeaturesAttr, c.DisabledFeaturesAttr = "businessCategory", "destinationIndicator"
		c.ServerAttr = "physicalDeliveryOfficeName"
	})
	e.srv.AddUser("quinn", "quinn-pw", "quinn@example.org", "carLicense: 1", "roomNumber: 100", "postalCode: 200",
		"postOfficeBox: 300", "businessCategory: imap", "destinationIndicator: pop3", "destinationIndicator: nonsense",
		"physicalDeliveryOfficeName: node2")
	if _, err := e.login("quinn", "quinn-pw"); err != nil {
		t.Fatalf("login: %v\n%s", err, e.logs)
	}
	u := e.user(t, "quinn")
	if !u.QuotaOverride || u.Quota != (store.Quota{Warn: 100 << 20, Soft: 200 << 20, Hard: 300 << 20}) ||
		!slices.Equal(u.EnabledFeatures, []string{"imap"}) || !slices.Equal(u.DisabledFeatures, []string{"pop3"}) || u.HomeNode != "node2" {
		t.Fatalf("user %+v", u)
	}
	e.srv.Modify("dn: " + userDN("quinn") + "\nchangetype: modify\nreplace: postOfficeBox\npostOfficeBox: 400\n-\nreplace: physicalDeliveryOfficeName\nphysicalDeliveryOfficeName: node3\n-\ndelete: carLicense\n")
	if sum, err := e.dir.Sync(context.Background(), nil); err != nil || sum.Updated != 1 {
		t.Fatalf("sync %+v %v", sum, err)
	}
	u = e.user(t, "quinn")
	if u.QuotaOverride || u.Quota.Hard != 400<<20 || u.HomeNode != "node3" {
		t.Fatalf("after the change %+v", u)
	}
}

// TestCompanies: with ldap_company_search_filter, each company is a
// tenant holding the users and groups below it, at first login as at
// sync; entries outside every company are in ldap_tenant; a user who
// leaves a company's subtree is orphaned there.
func TestCompanies(t *testing.T) {
	e := newEnv(t, func(c *ldap.Config) {
		syncConfig(c)
		c.CompanyFilter, c.CompanyNameAttr = "(&(objectClass=organizationalUnit)(businessCategory=company))", "ou"
	})
	var b strings.Builder
	for _, co := range []string{"acme", "globex"} {
		base := "ou=" + co + "," + testenv.SlapdSuffix
		fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: %s\nbusinessCategory: company\n\n", base, co)
		for i := 1; i <= 2; i++ {
			uid := fmt.Sprintf("%s%d", co[:1], i)
			fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: X\nuserPassword: %s-pw\nmail: %s@%s.example\n\n", uid, base, uid, uid, uid, uid, co)
		}
		fmt.Fprintf(&b, "dn: cn=%s-staff,%s\nobjectClass: groupOfNames\ncn: %s-staff\nbusinessCategory: 1\nmember: uid=%s1,%s\nmember: uid=%s2,%s\n\n",
			co, base, co, co[:1], base, co[:1], base)
	}
	e.srv.Add(b.String())
	e.srv.AddUser("solo", "solo-pw", "solo@example.org")
	// First login before any sync: the tenant comes from the company.
	if p, err := e.login("g1", "g1-pw"); err != nil || p.Tenant != "globex" {
		t.Fatalf("g1: %+v %v\n%s", p, err, e.logs)
	}
	sum, err := e.dir.Sync(context.Background(), nil)
	if err != nil || sum.Created != 4 || sum.Failed != 0 {
		t.Fatalf("sync %+v %v\n%s", sum, err, e.logs)
	}
	for login, tenant := range map[string]string{"a1": "acme", "a2": "acme", "g1": "globex", "g2": "globex", "solo": "example"} {
		if u := e.user(t, login); u.Tenant != tenant {
			t.Errorf("%s in tenant %q, want %q", login, u.Tenant, tenant)
		}
	}
	sys := store.SystemContext(context.Background())
	for _, co := range []string{"acme", "globex"} {
		g, err := e.db.GetGroup(sys, co, co+"-staff")
		if err != nil || len(g.Members) != 2 || g.Tenant != co {
			t.Errorf("%s-staff: %+v %v", co, g, err)
		}
	}
	e.srv.Modify("dn: uid=g2,ou=globex," + testenv.SlapdSuffix + "\nchangetype: delete\n")
	if sum, err := e.dir.Sync(context.Background(), nil); err != nil || sum.Orphaned != 1 {
		t.Fatalf("second sync %+v %v", sum, err)
	}
	orphans, _ := e.db.ListOrphans(sys)
	if len(orphans) != 1 || orphans[0].Tenant != "globex" || orphans[0].FormerOwner != "g2" {
		t.Fatalf("orphans %+v", orphans)
	}
}

// TestSyncGroupRenameDelete: with a group unique attribute (entryUUID)
// the sync follows the directory's groups: a group renamed in the
// directory (modrdn) is renamed in Roost — the same group, its members,
// and the ACL entries naming it, so its members keep their access; a
// group deleted from the directory is deleted in Roost (its address no
// longer delivers); a changed kind follows. Roost's own groups and
// dynamic groups stay. A sync after that changes nothing.
func TestSyncGroupRenameDelete(t *testing.T) {
	e := newEnv(t, func(c *ldap.Config) {
		syncConfig(c)
		c.GroupUniqueAttr = "entryUUID"
	})
	e.srv.Add(fixture(50))
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	if sum, err := e.dir.Sync(ctx, nil); err != nil || sum.GroupsCreated != 5 {
		t.Fatalf("first sync %+v %v\n%s", sum, err, e.logs)
	}
	if _, err := e.db.CreateGroup(sys, "example", store.Group{Name: "local"}); err != nil {
		t.Fatal(err)
	}
	sales, err := e.db.GetGroup(sys, "example", "sales")
	if err != nil || !strings.HasPrefix(sales.ExternalID, "entryUUID:") {
		t.Fatalf("sales %+v %v", sales, err)
	}
	inbox, u12Opens := shareInbox(t, e, "sales")
	if err := u12Opens(); err != nil {
		t.Fatalf("u12 cannot open u00's inbox through sales: %v", err)
	}

	e.srv.Modify("dn: " + groupDN("sales") + "\nchangetype: modrdn\nnewrdn: cn=vertrieb\ndeleteoldrdn: 1\n")
	e.srv.Modify("dn: " + groupDN("newsletter") + "\nchangetype: delete\n")
	e.srv.Modify("dn: " + groupDN("eng") + "\nchangetype: modify\nreplace: businessCategory\nbusinessCategory: 0\n")
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.GroupsRenamed != 1 || sum.GroupsDeleted != 1 || sum.GroupsCreated != 0 || sum.Failed != 0 {
		t.Fatalf("sync after the changes %+v %v\n%s", sum, err, e.logs)
	}
	v, err := e.db.GetGroup(sys, "example", "vertrieb")
	if err != nil || v.ID != sales.ID || v.ExternalID != sales.ExternalID || !slices.Equal(members(t, e, "vertrieb"), uids("u10", "u11", "u12", "u13", "u14")) {
		t.Fatalf("renamed group %+v %v, was %+v", v, err, sales)
	}
	if _, err := e.db.GetGroup(sys, "example", "sales"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old name is still a group: %v", err)
	}
	acl, err := e.db.GetACL(sys, inbox)
	if err != nil || len(acl) != 1 || acl[0].Subject != store.GroupSubject("vertrieb") {
		t.Errorf("ACL after the rename %+v %v", acl, err)
	}
	if err := u12Opens(); err != nil {
		t.Errorf("u12 lost access through the renamed group: %v", err)
	}
	if _, err := e.db.GetGroup(sys, "example", "newsletter"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted group is still there: %v", err)
	}
	if _, err := e.db.Recipients(sys, "news@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted group's address still delivers: %v", err)
	}
	if g, err := e.db.GetGroup(sys, "example", "eng"); err != nil || g.Kind != store.GroupDistribution {
		t.Errorf("eng's kind did not follow the directory: %+v %v", g, err)
	}
	for _, name := range []string{"local", "dyn-u1", "staff"} {
		if _, err := e.db.GetGroup(sys, "example", name); err != nil {
			t.Errorf("group %s: %v", name, err)
		}
	}
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.GroupsRenamed+sum.GroupsDeleted+sum.GroupsCreated+sum.GroupsUpdated+sum.Failed != 0 {
		t.Fatalf("sync without changes %+v %v", sum, err)
	}

	// Two groups swap names in the directory: each Roost group follows
	// its entry in one sync (each wanted the name the other held, and
	// the sync failed on both every time).
	eng, err := e.db.GetGroup(sys, "example", "eng")
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Modify("dn: " + groupDN("vertrieb") + "\nchangetype: modrdn\nnewrdn: cn=swap\ndeleteoldrdn: 1\n")
	e.srv.Modify("dn: " + groupDN("eng") + "\nchangetype: modrdn\nnewrdn: cn=vertrieb\ndeleteoldrdn: 1\n")
	e.srv.Modify("dn: " + groupDN("swap") + "\nchangetype: modrdn\nnewrdn: cn=eng\ndeleteoldrdn: 1\n")
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.GroupsRenamed != 2 || sum.Failed != 0 || sum.GroupsCreated+sum.GroupsDeleted != 0 {
		t.Fatalf("sync after a swap %+v %v\n%s", sum, err, e.logs)
	}
	if g, err := e.db.GetGroup(sys, "example", "eng"); err != nil || g.ID != sales.ID {
		t.Errorf("eng after the swap %+v %v, want the group of the former sales (%d)", g, err, sales.ID)
	}
	if g, err := e.db.GetGroup(sys, "example", "vertrieb"); err != nil || g.ID != eng.ID {
		t.Errorf("vertrieb after the swap %+v %v, want the former eng (%d)", g, err, eng.ID)
	}
	if acl, err := e.db.GetACL(sys, inbox); err != nil || len(acl) != 1 || acl[0].Subject != store.GroupSubject("eng") {
		t.Errorf("ACL after the swap %+v %v", acl, err)
	}
	if err := u12Opens(); err != nil {
		t.Errorf("u12 lost access through the swapped group: %v", err)
	}
}

// TestSyncDynamicGroupRenameDelete: configured through FromConfig (the
// ldap_dynamicgroup_* keys, unique attribute entryUUID by default), the
// sync follows dynamic groups as it follows static ones: a dynamic
// group renamed in the directory (modrdn) keeps its Roost group, members
// and ACL entries; one deleted from the directory is deleted in Roost; a
// Roost group of the same name without a link (made by an older sync)
// is linked. A dynamic group named like a static group does not take
// the static group over. A dynamic group search that finds nothing
// while dynamic groups are linked stops the sync before any change, and
// a sync that does not read static groups deletes none of them.
func TestSyncDynamicGroupRenameDelete(t *testing.T) {
	srv := testenv.StartSlapd(t)
	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "openldap", LDAPURI: srv.URI, LDAPBindUser: testenv.SlapdSvcDN,
		LDAPBindPasswd: testenv.SlapdSvcPW, LDAPSearchBase: testenv.SlapdSuffix, LDAPTenant: "example", LDAPNetworkTimeout: 5,
		LDAPGroupSearchFilter: "(objectClass=groupOfNames)", LDAPGroupEmailAttribute: "mailLocalAddress",
		LDAPDynGroupFilter: "(&(objectClass=organizationalRole)(description=*))", LDAPDynGroupFilterAttr: "description"})
	if err != nil {
		t.Fatal(err)
	}
	if lc.DynGroupUniqueAttr != "entryUUID" || lc.DynGroupNameAttr != "cn" {
		t.Fatalf("dynamic group keys not applied: %+v", lc)
	}
	e := newEnvOn(t, srv, func(c *ldap.Config) { *c = lc })
	dynDN := func(cn string) string { return "cn=" + cn + "," + groupsOU }
	e.srv.Add(fixture(20) + fmt.Sprintf("dn: %s\nobjectClass: organizationalRole\ncn: dyn-u0\ndescription: (mail=u0*@example.org)\n\n", dynDN("dyn-u0")))
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	// dyn-u0 exists in Roost without a link, as an older sync made it.
	if _, err := e.db.CreateTenant(sys, "example"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateGroup(sys, "example", store.Group{Name: "dyn-u0"}); err != nil {
		t.Fatal(err)
	}
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Groups != 6 || sum.GroupsCreated != 5 || sum.Failed != 0 {
		t.Fatalf("first sync %+v %v\n%s", sum, err, e.logs)
	}
	tens := uids("u10", "u11", "u12", "u13", "u14", "u15", "u16", "u17", "u18", "u19")
	dyn1, err := e.db.GetGroup(sys, "example", "dyn-u1")
	if err != nil || !strings.HasPrefix(dyn1.ExternalID, "dynamic:entryUUID:") || !slices.Equal(members(t, e, "dyn-u1"), tens) {
		t.Fatalf("dyn-u1 %+v %v", dyn1, err)
	}
	if g, err := e.db.GetGroup(sys, "example", "dyn-u0"); err != nil || !strings.HasPrefix(g.ExternalID, "dynamic:entryUUID:") || len(g.Members) != 10 {
		t.Fatalf("the unlinked dyn-u0 was not linked: %+v %v", g, err)
	}
	sales, err := e.db.GetGroup(sys, "example", "sales")
	if err != nil || !strings.HasPrefix(sales.ExternalID, "entryUUID:") {
		t.Fatalf("sales %+v %v", sales, err)
	}
	inbox, u12Opens := shareInbox(t, e, "dyn-u1")
	if err := u12Opens(); err != nil {
		t.Fatalf("u12 cannot open u00's inbox through dyn-u1: %v", err)
	}

	// Renamed, deleted, and a dynamic group named like a static one.
	e.srv.Modify("dn: " + dynDN("dyn-u1") + "\nchangetype: modrdn\nnewrdn: cn=tens\ndeleteoldrdn: 1\n")
	e.srv.Modify("dn: " + dynDN("dyn-u0") + "\nchangetype: delete\n")
	clash := "cn=sales," + testenv.SlapdPeople
	e.srv.Add(fmt.Sprintf("dn: %s\nobjectClass: organizationalRole\ncn: sales\ndescription: (uid=u00)\n\n", clash))
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.GroupsRenamed != 1 || sum.GroupsDeleted != 1 || sum.GroupsCreated != 0 || sum.Failed != 1 ||
		len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0], "taken by the Roost group of another directory entry") {
		t.Fatalf("sync after the changes %+v %v\n%s", sum, err, e.logs)
	}
	g, err := e.db.GetGroup(sys, "example", "tens")
	if err != nil || g.ID != dyn1.ID || g.ExternalID != dyn1.ExternalID || !slices.Equal(members(t, e, "tens"), tens) {
		t.Fatalf("renamed dynamic group %+v %v, was %+v", g, err, dyn1)
	}
	for _, gone := range []string{"dyn-u1", "dyn-u0"} {
		if _, err := e.db.GetGroup(sys, "example", gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("group %s still there: %v", gone, err)
		}
	}
	acl, err := e.db.GetACL(sys, inbox)
	if err != nil || len(acl) != 1 || acl[0].Subject != store.GroupSubject("tens") {
		t.Errorf("ACL after the rename %+v %v", acl, err)
	}
	if err := u12Opens(); err != nil {
		t.Errorf("u12 lost access through the renamed dynamic group: %v", err)
	}
	if s, err := e.db.GetGroup(sys, "example", "sales"); err != nil || s.ExternalID != sales.ExternalID ||
		!slices.Equal(members(t, e, "sales"), uids("u10", "u11", "u12", "u13", "u14")) {
		t.Errorf("the static sales group was taken over: %+v %v", s, err)
	}
	e.srv.Modify("dn: " + clash + "\nchangetype: delete\n")
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.GroupsRenamed+sum.GroupsDeleted+sum.GroupsCreated+sum.GroupsUpdated+sum.Failed != 0 {
		t.Fatalf("sync without changes %+v %v\n%s", sum, err, e.logs)
	}

	// A dynamic group filter that finds nothing: refused, nothing changes
	// (the static groups are not applied either).
	e.srv.Modify("dn: " + groupDN("eng") + "\nchangetype: modify\nreplace: businessCategory\nbusinessCategory: 0\n")
	wrong := lc
	wrong.DynGroupFilter = "(&(objectClass=organizationalRole)(description=nothing))"
	d, err := ldap.New(wrong, e.db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Sync(ctx, nil); err == nil || !strings.Contains(err.Error(), "nothing deleted") || !strings.Contains(err.Error(), "ldap_dynamicgroup_search_filter") {
		t.Fatalf("empty dynamic group search: %v", err)
	}
	// The same for static groups: their empty search is refused on its
	// own account, whatever the dynamic groups.
	wrong = lc
	wrong.GroupFilter = "(&(objectClass=groupOfNames)(cn=nothing))"
	d2, err := ldap.New(wrong, e.db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if _, err := d2.Sync(ctx, nil); err == nil || !strings.Contains(err.Error(), "nothing deleted") || !strings.Contains(err.Error(), "ldap_group_search_filter") {
		t.Fatalf("empty static group search: %v", err)
	}
	if _, err := e.db.GetGroup(sys, "example", "tens"); err != nil {
		t.Fatalf("tens after the refused sync: %v", err)
	}
	if g, _ := e.db.GetGroup(sys, "example", "eng"); g == nil || g.Kind != store.GroupSecurity {
		t.Errorf("the refused sync changed eng: %+v", g)
	}
	// A sync that reads only dynamic groups leaves the static ones alone,
	// and one that reads only static groups the dynamic ones.
	for _, mod := range []func(*ldap.Config){
		func(c *ldap.Config) { c.GroupFilter = "" },
		func(c *ldap.Config) { c.DynGroupFilter = "" },
	} {
		c := lc
		mod(&c)
		d, err := ldap.New(c, e.db.DB, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum, err := d.Sync(ctx, nil); err != nil || sum.GroupsDeleted != 0 {
			t.Fatalf("sync of one kind of groups %+v %v", sum, err)
		}
		d.Close()
	}
	for _, name := range []string{"tens", "staff", "eng", "sales", "newsletter"} {
		if _, err := e.db.GetGroup(sys, "example", name); err != nil {
			t.Errorf("group %s: %v", name, err)
		}
	}
}

// TestFromConfigDirectoryKeys: the dynamic group, company, address list
// and contact keys reach the backend's configuration (they were
// documented and validated but not passed on, so the sync and the
// address book never read those entries), with their documented
// defaults.
func TestFromConfigDirectoryKeys(t *testing.T) {
	base := config.Config{LDAPPreset: "openldap", LDAPURI: "ldap://127.0.0.1:1", LDAPSearchBase: "dc=x"}
	c := base
	c.LDAPDynGroupFilter, c.LDAPDynGroupNameAttr, c.LDAPDynGroupFilterAttr, c.LDAPDynGroupUniqueAttr =
		"(objectClass=kopano-dynamicgroup)", "displayName", "zarafaFilter", "cn"
	c.LDAPCompanyFilter, c.LDAPCompanyNameAttr = "(objectClass=kopano-company)", "o"
	c.LDAPAddrListFilter, c.LDAPAddrListNameAttr, c.LDAPAddrListFilterAttr = "(objectClass=kopano-addresslist)", "description", "kopanoBase"
	c.LDAPContactFilter = "(objectClass=kopano-contact)"
	lc, err := ldap.FromConfig(&c)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{lc.DynGroupFilter, lc.DynGroupNameAttr, lc.DynGroupFilterAttr, lc.DynGroupUniqueAttr, lc.CompanyFilter, lc.CompanyNameAttr,
		lc.AddrListFilter, lc.AddrListNameAttr, lc.AddrListFilterAttr, lc.ContactFilter}
	want := []string{"(objectClass=kopano-dynamicgroup)", "displayName", "zarafaFilter", "cn", "(objectClass=kopano-company)", "o",
		"(objectClass=kopano-addresslist)", "description", "kopanoBase", "(objectClass=kopano-contact)"}
	if !slices.Equal(got, want) {
		t.Errorf("FromConfig %q, want %q", got, want)
	}
	// The relation attributes of company privileges default to the
	// unique attributes ldap.cfg names, as in Kopano; else to the
	// company name and the login.
	for _, tc := range []struct {
		userUnique, companyUnique, wantView, wantAdmin string
	}{{"", "", "", ""}, {"uidNumber", "ou", "ou", "uidNumber"}} {
		c := base
		c.LDAPUserUniqueAttribute, c.LDAPCompanyUniqueAttr = tc.userUnique, tc.companyUnique
		c.LDAPCompanyViewAttr, c.LDAPCompanyAdminAttr = "kopanoViewPrivilege", "kopanoAdminPrivilege"
		lc, err := ldap.FromConfig(&c)
		if err != nil || lc.CompanyViewRelAttr != tc.wantView || lc.CompanyAdminRelAttr != tc.wantAdmin {
			t.Errorf("relation defaults with %+v: view %q admin %q %v", tc, lc.CompanyViewRelAttr, lc.CompanyAdminRelAttr, err)
		}
	}
	// Defaults: the dynamic group unique attribute is the group's, then
	// the user's, then the preset's.
	for _, tc := range []struct {
		group, user, preset, want string
	}{{"", "", "openldap", "entryUUID"}, {"", "", "ad", "objectGUID"}, {"", "uidNumber", "openldap", "uidNumber"}, {"gidNumber", "uidNumber", "openldap", "gidNumber"}} {
		c := base
		c.LDAPPreset, c.LDAPGroupUniqueAttr, c.LDAPUserUniqueAttribute = tc.preset, tc.group, tc.user
		lc, err := ldap.FromConfig(&c)
		if err != nil || lc.DynGroupUniqueAttr != tc.want || lc.DynGroupNameAttr != "cn" || lc.DynGroupFilterAttr != "kopanoFilter" ||
			lc.CompanyNameAttr != "ou" || lc.AddrListNameAttr != "cn" || lc.AddrListFilterAttr != "kopanoFilter" {
			t.Errorf("defaults with %+v: %+v %v", tc, lc, err)
		}
	}
}

// shareInbox gives group read access to u00's inbox; it returns the
// inbox and whether u12 (a member of the group in the fixture) can open
// it, asked afresh of the store at each call.
func shareInbox(t *testing.T, e *env, group string) (int64, func() error) {
	t.Helper()
	sys := store.SystemContext(context.Background())
	inbox, err := mail.Inbox(sys, e.db.DB, "u00")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetACL(sys, inbox, store.GroupSubject(group), "lr"); err != nil {
		t.Fatal(err)
	}
	return inbox, func() error {
		p, err := e.db.Principal(sys, "u12")
		if err != nil {
			return err
		}
		_, err = e.db.GetFolder(store.WithPrincipal(context.Background(), p), inbox)
		return err
	}
}
