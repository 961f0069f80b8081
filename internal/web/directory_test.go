package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestWebDirectoryContacts: the tenant's contacts are in the directory
// beside its users, in both modes (browse: kind "contact"), matched by
// name or address and sorted with the users; a hidden contact and
// another tenant's are never listed.
func TestWebDirectoryContacts(t *testing.T) {
	e := newAdminEnv(t)
	for _, c := range []struct {
		tenant string
		c      store.Contact
	}{
		{"acme", store.Contact{Email: "sales@supplier.example", Name: "Acme Supplies"}},
		{"acme", store.Contact{Email: "adam@partner.example", Name: "Adam Partner"}},
		{"acme", store.Contact{Email: "secret@partner.example", Name: "Secret Partner", Hidden: true}},
		{"globex", store.Contact{Email: "vendor@vendor.example", Name: "Globex Vendor"}},
	} {
		if _, err := e.st.CreateContact(testenv.Sys, c.tenant, c.c); err != nil {
			t.Fatal(err)
		}
	}
	// Groups with an address are listed too (kind "group"); one without
	// an address, a hidden one and another tenant's are not.
	for _, g := range []struct {
		tenant string
		g      store.Group
	}{
		{"acme", store.Group{Name: "Partners", Email: "partners@acme.test", Kind: store.GroupDistribution}},
		{"acme", store.Group{Name: "Adhoc", Kind: store.GroupSecurity}},
		{"acme", store.Group{Name: "Board", Email: "board@acme.test", Hidden: true}},
		{"globex", store.Group{Name: "Globex partners", Email: "partners@globex.test"}},
	} {
		if _, err := e.st.CreateGroup(testenv.Sys, g.tenant, g.g); err != nil {
			t.Fatal(err)
		}
	}
	alice := cookie(e.login("alice", "pw-alice"))
	type entry struct{ Name, Email, Kind string }
	get := func(query string, v any) {
		t.Helper()
		res, body := e.do("GET", "/web/api/directory?"+query, "", alice)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", query, res.StatusCode, body)
		}
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("%s: %v %s", query, err, body)
		}
	}
	// Autocomplete: ada (a user, "ada@acme.test") and Adam Partner (a
	// contact), sorted by name.
	var ac []entry
	get("q=ad", &ac)
	if len(ac) != 2 || ac[0].Email != "ada@acme.test" || ac[1].Email != "adam@partner.example" || ac[1].Name != "Adam Partner" {
		t.Fatalf("autocomplete q=ad: %+v", ac)
	}
	get("q=partners", &ac)
	if len(ac) != 1 || ac[0].Email != "partners@acme.test" || ac[0].Name != "Partners" {
		t.Fatalf("autocomplete q=partners (a group): %+v", ac)
	}
	for _, q := range []string{"board", "adhoc"} {
		if get("q="+q, &ac); len(ac) != 0 {
			t.Fatalf("q=%s: a hidden group or one without an address suggested: %+v", q, ac)
		}
	}
	get("q=supplier", &ac)
	if len(ac) != 1 || ac[0].Email != "sales@supplier.example" {
		t.Fatalf("autocomplete by a contact's address: %+v", ac)
	}
	for _, q := range []string{"secret", "vendor", "globex"} {
		if get("q="+q, &ac); len(ac) != 0 {
			t.Fatalf("q=%s: a hidden or another tenant's contact suggested: %+v", q, ac)
		}
	}
	// Browse: users and contacts together, contacts of kind "contact".
	var page struct {
		Total   int
		Entries []entry
	}
	get("browse=1&q=&limit=100", &page)
	kinds := map[string]string{}
	for _, x := range page.Entries {
		kinds[x.Email] = x.Kind
	}
	// alice, ada, root, the two visible contacts and the group.
	if page.Total != 6 || len(page.Entries) != 6 || kinds["sales@supplier.example"] != "contact" || kinds["adam@partner.example"] != "contact" ||
		kinds["alice@acme.test"] != "user" || kinds["partners@acme.test"] != "group" {
		t.Fatalf("browse: %+v", page)
	}
	get("browse=1&q=partner.example", &page)
	if page.Total != 1 || page.Entries[0].Email != "adam@partner.example" || page.Entries[0].Kind != "contact" {
		t.Fatalf("browse q=partner: %+v", page)
	}
	// Another tenant's user sees their own tenant's contact only.
	gina := cookie(e.login("gina", "pw-gina"))
	res, body := e.do("GET", "/web/api/directory?browse=1&q=", "", gina)
	if res.StatusCode != 200 || strings.Contains(body, "supplier.example") || strings.Contains(body, "partner.example") || !strings.Contains(body, "vendor@vendor.example") ||
		strings.Contains(body, "partners@acme.test") || !strings.Contains(body, "partners@globex.test") {
		t.Fatalf("gina's directory: %d %s", res.StatusCode, body)
	}
}

// TestWebDirectoryStoreFails: a store failing to list the tenant's
// contacts is a temporary failure (503), in both modes, not an empty
// directory.
func TestWebDirectoryStoreFails(t *testing.T) {
	var fb *storefault.Backend
	e := newEnv(t, func(b store.Backend) store.Backend { fb = storefault.New(b); return fb }, nil)
	alice := e.login("alice", "pw-alice")
	fb.Fail(nil, "ListContacts")
	for _, q := range []string{"q=bob", "browse=1&q="} {
		if res, body := e.do("GET", "/web/api/directory?"+q, "", cookie(alice)); res.StatusCode != 503 {
			t.Errorf("%s with the store failing: %d %s, want 503", q, res.StatusCode, body)
		}
	}
}
