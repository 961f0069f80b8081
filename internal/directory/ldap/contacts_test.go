package ldap_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// contactSchema is Kopano's contact class and hidden flag as the
// contact tests use them (Kopano's names, OIDs under an example arc).
const contactSchema = `attributetype ( 1.3.6.1.4.1.32473.3.1.50 NAME 'kopanoHidden' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.3.2.50 NAME 'kopano-contact' SUP top AUXILIARY MAY ( mail $ kopanoHidden ) )
`

const contactsOU = "ou=contacts," + testenv.SlapdSuffix

func contactDN(cn string) string { return "cn=" + cn + "," + contactsOU }

// contactLDIF is a contact entry: a person with an address, no account.
func contactLDIF(cn, mail string, extra ...string) string {
	s := "dn: " + contactDN(cn) + "\nobjectClass: person\nobjectClass: kopano-contact\ncn: " + cn + "\nsn: " + cn + "\n"
	if mail != "" {
		s += "mail: " + mail + "\n"
	}
	for _, x := range extra {
		s += x + "\n"
	}
	return s + "\n"
}

// TestSyncContacts: the sync writes the contact entries into the
// tenant's contacts, linked by the users' unique attribute: created; a
// Roost contact of the same address linked, not duplicated; an entry
// without an address reported; kopanoHidden hides one; a group's member
// DNs naming contacts make them the group's contact members. A renamed
// entry (new DN and name, new address) renames its contact; a vanished
// entry's contact is deleted (and leaves the group); Roost's own
// contacts stay, though not in the directory's group. A contact search that
// finds nothing while contacts are linked is refused, nothing deleted.
func TestSyncContacts(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, contactSchema)
	e := newEnvOn(t, srv, func(c *ldap.Config) {
		c.ContactFilter, c.ContactHiddenAttr = "(objectClass=kopano-contact)", "kopanoHidden"
		c.GroupFilter, c.GroupNameAttr, c.MembersAttr = "(objectClass=groupOfNames)", "cn", "member"
	})
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	srv.AddUser("alice", "pw", "alice@example.org")
	srv.Add("dn: " + contactsOU + "\nobjectClass: organizationalUnit\nou: contacts\n\n" +
		contactLDIF("Zed Outside", "Zed@Partner.example") + contactLDIF("Yan Supplier", "yan@supplier.example") +
		contactLDIF("Hidden Friend", "friend@hidden.example", "kopanoHidden: 1") + contactLDIF("No Mail", "") +
		// A distribution list of a user and two contacts.
		"dn: cn=partners," + testenv.SlapdSuffix + "\nobjectClass: groupOfNames\ncn: partners\nmember: " + userDN("alice") +
		"\nmember: " + contactDN("Zed Outside") + "\nmember: " + contactDN("Yan Supplier") + "\n\n")
	e.db.Tenants(t, "example")
	if _, err := e.db.CreateContact(sys, "example", store.Contact{Email: "zed@partner.example", Name: "Zed (typed in by hand)"}); err != nil {
		t.Fatal(err)
	}
	own, err := e.db.CreateContact(sys, "example", store.Contact{Email: "own@roost.example", Name: "Roost's own"})
	if err != nil {
		t.Fatal(err)
	}
	contacts := func() map[string]*store.Contact {
		t.Helper()
		cs, err := e.db.ListContacts(sys, "example")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*store.Contact{}
		for _, c := range cs {
			out[c.Email] = c
		}
		return out
	}
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Contacts != 4 || sum.ContactsCreated != 2 || sum.ContactsUpdated != 1 || sum.ContactsDeleted != 0 ||
		sum.Failed != 1 || !strings.Contains(sum.Errors[0], "No Mail") {
		t.Fatalf("first sync %+v %v\n%s", sum, err, e.logs)
	}
	cs := contacts()
	zed, yan, friend := cs["zed@partner.example"], cs["yan@supplier.example"], cs["friend@hidden.example"]
	if len(cs) != 4 || zed == nil || yan == nil || friend == nil || cs["own@roost.example"] == nil {
		t.Fatalf("contacts after the first sync: %v", cs)
	}
	if zed.Name != "Zed Outside" || !strings.HasPrefix(zed.ExternalID, "entryUUID:") || zed.Hidden {
		t.Errorf("the hand-made contact was not linked: %+v", zed)
	}
	if yan.Name != "Yan Supplier" || !strings.HasPrefix(yan.ExternalID, "entryUUID:") || yan.Hidden || !friend.Hidden {
		t.Errorf("created contacts: %+v %+v", yan, friend)
	}
	if cs["own@roost.example"].ExternalID != "" {
		t.Errorf("Roost's own contact linked: %+v", cs["own@roost.example"])
	}
	groupContacts := func() (users, contacts []string) {
		t.Helper()
		g, err := e.db.GetGroup(sys, "example", "partners")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(g.Contacts)
		return g.Members, g.Contacts
	}
	if us, cs := groupContacts(); !slices.Equal(us, []string{"alice"}) || !slices.Equal(cs, []string{"yan@supplier.example", "zed@partner.example"}) {
		t.Fatalf("the group's members: %v and contacts %v", us, cs)
	}
	if sum, err := e.dir.Sync(ctx, nil); err != nil || sum.ContactsCreated+sum.ContactsUpdated+sum.ContactsDeleted+sum.GroupsUpdated != 0 || sum.Failed != 1 {
		t.Fatalf("sync without changes %+v %v", sum, err)
	}
	// A contact added to the directory's group by hand is taken out
	// again: the directory has the group's members.
	if err := e.db.AddGroupContact(sys, "example", "partners", "own@roost.example"); err != nil {
		t.Fatal(err)
	}

	// Renamed (a new RDN, so a new DN and name) with a new address;
	// unhidden; gone.
	srv.Modify("dn: " + contactDN("Yan Supplier") + "\nchangetype: modrdn\nnewrdn: cn=Yan Renamed\ndeleteoldrdn: 1\n\n" +
		"dn: " + contactDN("Yan Renamed") + "\nchangetype: modify\nreplace: mail\nmail: yan@new-supplier.example\n\n" +
		"dn: " + contactDN("Hidden Friend") + "\nchangetype: modify\nreplace: kopanoHidden\nkopanoHidden: 0\n\n" +
		"dn: " + contactDN("Zed Outside") + "\nchangetype: delete\n\n" +
		"dn: cn=partners," + testenv.SlapdSuffix + "\nchangetype: modify\nreplace: member\nmember: " + userDN("alice") + "\nmember: " + contactDN("Yan Renamed") + "\n\n")
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.Contacts != 3 || sum.ContactsCreated != 0 || sum.ContactsUpdated != 2 || sum.ContactsDeleted != 1 || sum.GroupsUpdated != 1 {
		t.Fatalf("sync after the changes %+v %v\n%s", sum, err, e.logs)
	}
	cs = contacts()
	y := cs["yan@new-supplier.example"]
	if len(cs) != 3 || y == nil || y.ID != yan.ID || y.Name != "Yan Renamed" || y.ExternalID != yan.ExternalID ||
		cs["yan@supplier.example"] != nil || cs["zed@partner.example"] != nil || cs["friend@hidden.example"].Hidden ||
		cs["own@roost.example"] == nil || cs["own@roost.example"].ID != own.ID {
		t.Fatalf("contacts after the changes: %v", cs)
	}
	if us, cs := groupContacts(); !slices.Equal(us, []string{"alice"}) || !slices.Equal(cs, []string{"yan@new-supplier.example"}) {
		t.Fatalf("the group's members after the changes: %v and contacts %v", us, cs)
	}

	// A contact filter that finds nothing: refused, nothing deleted.
	lc := baseConfig(srv.URI)
	lc.ContactFilter = "(&(objectClass=kopano-contact)(cn=nobody))"
	d, err := ldap.New(lc, e.db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Sync(ctx, nil); err == nil || !strings.Contains(err.Error(), "nothing deleted") || !strings.Contains(err.Error(), "ldap_contact_search_filter") {
		t.Fatalf("empty contact search: %v", err)
	}
	if cs := contacts(); len(cs) != 3 {
		t.Fatalf("the refused sync changed the contacts: %v", cs)
	}
	// Without ldap_contact_search_filter the sync leaves the contacts alone.
	lc.ContactFilter = ""
	d2, err := ldap.New(lc, e.db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if sum, err := d2.Sync(ctx, nil); err != nil || sum.Contacts+sum.ContactsDeleted != 0 || len(contacts()) != 3 {
		t.Fatalf("sync without contacts %+v %v", sum, err)
	}
	// Every contact entry gone looks like a wrong filter too: refused,
	// as for users and groups (the contacts are deleted by hand).
	for _, cn := range []string{"Yan Renamed", "Hidden Friend", "No Mail"} {
		srv.Modify("dn: " + contactDN(cn) + "\nchangetype: delete\n\n")
	}
	if _, err := e.dir.Sync(ctx, nil); err == nil || !strings.Contains(err.Error(), "nothing deleted") {
		t.Fatalf("every contact entry gone: %v", err)
	}
	if cs := contacts(); len(cs) != 3 {
		t.Fatalf("the refused sync changed the contacts: %v", cs)
	}
}

// TestFromConfigContactHidden: the contacts' hidden flag is read from
// ldap_group_hidden_attribute (Kopano's kopanoHidden hides users,
// contacts and groups alike).
func TestFromConfigContactHidden(t *testing.T) {
	lc, err := ldap.FromConfig(&config.Config{LDAPPreset: "openldap", LDAPContactFilter: "(objectClass=kopano-contact)", LDAPGroupHiddenAttr: "kopanoHidden"})
	if err != nil || lc.ContactFilter != "(objectClass=kopano-contact)" || lc.ContactHiddenAttr != "kopanoHidden" {
		t.Fatalf("%+v %v", lc, err)
	}
}

// TestSyncContactsInCompanies: with companies, a contact entry is a
// contact of its company's tenant (outside every company, of
// ldap_tenant); two companies may each have a contact of one address;
// an entry moved to another company moves its contact. The address books
// of one tenant never show another's (TenantAddressBook, tested with the
// protocols).
func TestSyncContactsInCompanies(t *testing.T) {
	srv := testenv.StartSlapdSchema(t, contactSchema)
	e := newEnvOn(t, srv, func(c *ldap.Config) {
		c.CompanyFilter, c.CompanyNameAttr = "(&(objectClass=organizationalUnit)(businessCategory=company))", "ou"
		c.ContactFilter = "(objectClass=kopano-contact)"
	})
	var ldif strings.Builder
	for _, co := range []string{"acme", "globex"} {
		base := "ou=" + co + "," + testenv.SlapdSuffix
		ldif.WriteString("dn: " + base + "\nobjectClass: organizationalUnit\nou: " + co + "\nbusinessCategory: company\n\n")
		ldif.WriteString("dn: uid=" + co + "1," + base + "\nobjectClass: inetOrgPerson\nuid: " + co + "1\ncn: x\nsn: x\nmail: " + co + "1@" + co + ".example\n\n")
		ldif.WriteString("dn: cn=Partner," + base + "\nobjectClass: person\nobjectClass: kopano-contact\ncn: Partner\nsn: P\nmail: office@partner.example\n\n")
	}
	ldif.WriteString("dn: " + contactsOU + "\nobjectClass: organizationalUnit\nou: contacts\n\n")
	ldif.WriteString(contactLDIF("Solo Contact", "solo@outside.example"))
	srv.Add(ldif.String())
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	sum, err := e.dir.Sync(ctx, nil)
	if err != nil || sum.Contacts != 3 || sum.ContactsCreated != 3 || sum.Failed != 0 {
		t.Fatalf("sync %+v %v\n%s", sum, err, e.logs)
	}
	tenantOf := map[string][]string{}
	for _, tn := range []string{"acme", "globex", "example"} {
		cs, err := e.db.ListContacts(sys, tn)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			tenantOf[c.Tenant] = append(tenantOf[c.Tenant], c.Email)
		}
	}
	if strings.Join(tenantOf["acme"], ",") != "office@partner.example" || strings.Join(tenantOf["globex"], ",") != "office@partner.example" ||
		strings.Join(tenantOf["example"], ",") != "solo@outside.example" {
		t.Fatalf("contacts by tenant: %v", tenantOf)
	}
	// Solo moves into acme.
	srv.Modify("dn: " + contactDN("Solo Contact") + "\nchangetype: modrdn\nnewrdn: cn=Solo Contact\ndeleteoldrdn: 1\nnewsuperior: ou=acme," + testenv.SlapdSuffix + "\n\n")
	sum, err = e.dir.Sync(ctx, nil)
	if err != nil || sum.ContactsCreated != 1 || sum.ContactsDeleted != 1 || sum.Failed != 0 {
		t.Fatalf("sync after the move %+v %v\n%s", sum, err, e.logs)
	}
	if cs, _ := e.db.ListContacts(sys, "example"); len(cs) != 0 {
		t.Fatalf("moved contact still in example: %+v", cs)
	}
	if cs, _ := e.db.ListContacts(sys, "acme"); len(cs) != 2 {
		t.Fatalf("acme's contacts: %+v", cs)
	}
}
