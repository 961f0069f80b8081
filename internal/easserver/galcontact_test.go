package easserver_test

import (
	"strconv"
	"testing"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// The GAL lists the tenant's contacts (and its groups with an address)
// beside its users: Search (a
// contact has a DisplayName and an EmailAddress, no Alias), Find's GAL
// part and ResolveRecipients (a contact's address resolves, type GAL,
// with no free/busy). A hidden contact and another tenant's contact are
// never listed. Runs on the default backend (ROOST_TEST_BACKEND).
func TestGALContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		tenant string
		c      store.Contact
	}{
		{"acme", store.Contact{Email: "sales@supplier.example", Name: "Acme Supplies"}},
		{"acme", store.Contact{Email: "bobby@tables.example", Name: "Bobby Tables"}},
		{"acme", store.Contact{Email: "secret@partner.example", Name: "Secret Partner", Hidden: true}},
		{"globex", store.Contact{Email: "vendor@vendor.example", Name: "Globex Vendor"}},
	} {
		if _, err := e.db.CreateContact(testenv.Sys, c.tenant, c.c); err != nil {
			t.Fatal(err)
		}
	}
	d := e.device("alice", "GALCPHONE")
	d.provision()
	search := func(query string) *wbxml.Node {
		t.Helper()
		r := d.do("Search", `<Search xmlns="Search:"><Store><Name>GAL</Name><Query>`+query+`</Query><Options><Range>0-99</Range></Options></Store></Search>`)
		st := r.n.Child("Response").Child("Store")
		if st.ChildText("Status") != "1" {
			t.Fatalf("Search %q: %s", query, r.xml)
		}
		return st
	}
	st := search("supplier")
	res := st.All("Result")
	if st.ChildText("Total") != "1" || len(res) != 1 {
		t.Fatalf("contact not found: %s", eas.XML(st))
	}
	p := res[0].Child("Properties")
	if p.ChildText("DisplayName") != "Acme Supplies" || p.ChildText("EmailAddress") != "sales@supplier.example" || p.Child("Alias") != nil {
		t.Fatalf("contact's properties: %s", eas.XML(st))
	}
	// Users and contacts in one list, sorted by name.
	st = search("bob")
	res = st.All("Result")
	if st.ChildText("Total") != "2" || len(res) != 2 || res[0].Child("Properties").ChildText("EmailAddress") != "bob@acme.test" ||
		res[0].Child("Properties").ChildText("Alias") != "bob" || res[1].Child("Properties").ChildText("DisplayName") != "Bobby Tables" {
		t.Fatalf("users and contacts: %s", eas.XML(st))
	}
	for _, q := range []string{"secret", "partner.example", "vendor", "globex"} {
		if st := search(q); st.ChildText("Total") != "0" {
			t.Fatalf("%q: a hidden or another tenant's contact listed: %s", q, eas.XML(st))
		}
	}

	// A group with an address is in the GAL (no Alias), and resolves;
	// a hidden one is not.
	if _, err := e.db.CreateGroup(testenv.Sys, "acme", store.Group{Name: "Purchasing", Email: "purchasing@acme.test", Kind: store.GroupDistribution}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateGroup(testenv.Sys, "acme", store.Group{Name: "Hidden board", Email: "board@acme.test", Hidden: true}); err != nil {
		t.Fatal(err)
	}
	st = search("purchas")
	if res := st.All("Result"); len(res) != 1 || res[0].Child("Properties").ChildText("DisplayName") != "Purchasing" ||
		res[0].Child("Properties").ChildText("EmailAddress") != "purchasing@acme.test" || res[0].Child("Properties").Child("Alias") != nil {
		t.Fatalf("group in the GAL: %s", eas.XML(st))
	}
	if st := search("board"); st.ChildText("Total") != "0" {
		t.Fatalf("a hidden group listed: %s", eas.XML(st))
	}
	if r := d.do("ResolveRecipients", `<ResolveRecipients xmlns="ResolveRecipients:"><To>purchasing@acme.test</To></ResolveRecipients>`); r.n.Child("Response").ChildText("Status") != "1" ||
		r.n.Child("Response").Child("Recipient").ChildText("DisplayName") != "Purchasing" {
		t.Fatalf("group resolved: %s", r.xml)
	}

	// Find's GAL part.
	find := func(q string) *wbxml.Node {
		t.Helper()
		g := wbxml.El(eas.Find, "Find", wbxml.Str(eas.Find, "SearchId", "s1"), wbxml.El(eas.Find, "ExecuteSearch",
			wbxml.El(eas.Find, "GALSearchCriterion", wbxml.El(eas.Find, "Query", wbxml.Str(eas.Find, "FreeText", q)),
				wbxml.El(eas.Find, "Options", wbxml.Str(eas.Find, "Range", "0-9")))))
		b, _ := eas.Encode(g)
		return d.post("Find", b).n.Child("Response")
	}
	if r := find("tables"); r.ChildText("Total") != "1" || r.Child("Result").Child("Properties").ChildText("EmailAddress") != "bobby@tables.example" ||
		r.Child("Result").Child("Properties").Child("Alias") != nil {
		t.Fatalf("Find of a contact: %s", eas.XML(r))
	}
	if r := find("secret"); r.ChildText("Total") != "0" {
		t.Fatalf("Find lists a hidden contact: %s", eas.XML(r))
	}
	if r := find("vendor"); r.ChildText("Total") != "0" {
		t.Fatalf("Find lists another tenant's contact: %s", eas.XML(r))
	}

	// ResolveRecipients: a contact's address resolves exactly, type GAL;
	// asked for availability, it has none.
	r := d.do("ResolveRecipients", `<ResolveRecipients xmlns="ResolveRecipients:"><To>sales@supplier.example</To><To>secret@partner.example</To><To>vendor@vendor.example</To>`+
		`<Options><Availability><StartTime>2026-02-10T10:00:00.000Z</StartTime><EndTime>2026-02-10T14:00:00.000Z</EndTime></Availability></Options></ResolveRecipients>`)
	rs := r.n.All("Response")
	if r.n.ChildText("Status") != "1" || len(rs) != 3 {
		t.Fatalf("ResolveRecipients: %s", r.xml)
	}
	rec := rs[0].Child("Recipient")
	if rs[0].ChildText("Status") != "1" || rs[0].ChildText("RecipientCount") != "1" || rec.ChildText("Type") != "1" ||
		rec.ChildText("DisplayName") != "Acme Supplies" || rec.ChildText("EmailAddress") != "sales@supplier.example" ||
		rec.Child("Availability").ChildText("Status") != "162" || rec.Child("Availability").Child("MergedFreeBusy") != nil {
		t.Fatalf("contact resolved: %s", r.xml)
	}
	if rs[1].ChildText("Status") != "4" || rs[2].ChildText("Status") != "4" {
		t.Fatalf("hidden or another tenant's contact resolved: %s", r.xml)
	}
	// "bob" is bob's login: an exact login wins over the contact
	// Bobby Tables; "bo" matches both and is ambiguous.
	r = d.do("ResolveRecipients", `<ResolveRecipients xmlns="ResolveRecipients:"><To>bob</To></ResolveRecipients>`)
	if rs := r.n.All("Response"); len(rs) != 1 || rs[0].ChildText("Status") != "1" || rs[0].Child("Recipient").ChildText("EmailAddress") != "bob@acme.test" {
		t.Fatalf("bob: %s", r.xml)
	}
	r = d.do("ResolveRecipients", `<ResolveRecipients xmlns="ResolveRecipients:"><To>bo</To></ResolveRecipients>`)
	if rs := r.n.All("Response"); len(rs) != 1 || rs[0].ChildText("Status") != "2" || rs[0].ChildText("RecipientCount") != "2" {
		t.Fatalf("bo: %s", r.xml)
	}
}

// A store that fails to list the tenant's contacts makes a GAL Search
// and a ResolveRecipients a "server error, retry later", never an
// empty result or an unknown recipient.
func TestGALContactsStoreFails(t *testing.T) {
	t.Parallel()
	var fb *storefault.Backend
	e := newEnv(t, func(o *easserver.Options) { fb = storefault.New(o.Store); o.Store = fb })
	d := e.device("alice", "GALFAILPHONE")
	d.provision()
	fb.Fail(nil, "ListContacts")
	for cmd, doc := range map[string]string{
		"Search":            `<Search xmlns="Search:"><Store><Name>GAL</Name><Query>bob</Query></Store></Search>`,
		"ResolveRecipients": `<ResolveRecipients xmlns="ResolveRecipients:"><To>bob</To></ResolveRecipients>`,
	} {
		if r := d.do(cmd, doc); r.status() != strconv.Itoa(eas.StatusServerErrorRetryLater) {
			t.Errorf("%s with the store failing: %s", cmd, r.xml)
		}
	}
}
