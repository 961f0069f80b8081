package adminapi_test

import (
	"errors"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestContacts drives every contacts endpoint as the system, a tenant
// administrator and a plain user, on SQLite and (with
// ROOST_TEST_POSTGRES) PostgreSQL.
func TestContacts(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			testContacts(t, newEnvOn(t, backend))
		})
	}
}

func testContacts(t *testing.T, e *env) {
	e.fixture()
	var c adminapi.Contact
	e.call("POST", "/v1/contacts", adminapi.ContactCreate{Email: " Supplies@Vendor.example ", Name: "Vendor Supplies", Tenant: "acme"}, 201, &c)
	if c.Email != "Supplies@Vendor.example" || c.Name != "Vendor Supplies" || c.Tenant != "acme" || c.Hidden || c.Directory || c.Created.IsZero() {
		t.Fatalf("created %+v", c)
	}
	e.call("POST", "/v1/contacts", adminapi.ContactCreate{Email: "supplies@vendor.example", Tenant: "globex", Hidden: true}, 201, &c)
	if c.Tenant != "globex" || !c.Hidden || c.Name != "" {
		t.Fatalf("created %+v", c)
	}
	// A contact the directory sync made (it sets ExternalID) is marked.
	if _, err := e.b.CreateContact(sys, "acme", store.Contact{Email: "ann@partner.example", Name: "Ann Partner", ExternalID: "entryUUID:1"}); err != nil {
		t.Fatal(err)
	}

	e.wantErr("", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "SUPPLIES@vendor.example", Tenant: "acme"}, 409,
		`tenant "acme" has a contact "SUPPLIES@vendor.example" already`)
	e.wantErr("", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "x@y.example"}, 400, "several tenants: use --tenant")
	e.wantErr("", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "  ", Tenant: "acme"}, 400, "contact address missing")
	e.wantErr("", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "no-at", Tenant: "acme"}, 400, "no-at")
	e.wantErr("", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "a@b.example", Name: "two\nlines", Tenant: "acme"}, 400, "contact name")
	e.wantErr("", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "a@b.example", Tenant: "nope"}, 404, `tenant "nope"`)
	e.wantErr("", "POST", "/v1/contacts", `{"email":"a@b.example","tenant":"acme","external_id":"x"}`, 400, "unknown field")

	var cs []adminapi.Contact
	e.call("GET", "/v1/contacts", nil, 200, &cs)
	if len(cs) != 3 {
		t.Fatalf("all contacts %+v", cs)
	}
	e.call("GET", "/v1/contacts?tenant=acme", nil, 200, &cs)
	if len(cs) != 2 || cs[0].Email != "ann@partner.example" || !cs[0].Directory || cs[0].ExternalID != "entryUUID:1" || cs[1].Name != "Vendor Supplies" {
		t.Fatalf("acme's contacts (by name) %+v", cs)
	}
	e.wantErr("", "GET", "/v1/contacts?tenant=nope", nil, 404, `tenant "nope"`)

	// A change names the tenant when two have the address.
	e.wantErr("", "PATCH", "/v1/contacts/supplies@vendor.example", adminapi.ContactUpdate{Name: ptr("x")}, 400,
		`contact "supplies@vendor.example" exists in several tenants (acme, globex): use --tenant`)
	e.call("PATCH", "/v1/contacts/supplies@vendor.example?tenant=globex", adminapi.ContactUpdate{Name: ptr("Globex vendor"), Hidden: ptr(false)}, 200, &c)
	if c.Tenant != "globex" || c.Name != "Globex vendor" || c.Hidden {
		t.Fatalf("updated %+v", c)
	}
	// One tenant only: found without ?tenant=; a directory contact may be edited.
	e.call("PATCH", "/v1/contacts/ANN@partner.example", adminapi.ContactUpdate{Email: ptr("ann@partner2.example"), Hidden: ptr(true)}, 200, &c)
	if c.Email != "ann@partner2.example" || c.Name != "Ann Partner" || !c.Hidden || !c.Directory || c.Tenant != "acme" {
		t.Fatalf("updated %+v", c)
	}
	e.wantErr("", "PATCH", "/v1/contacts/ann@partner2.example", adminapi.ContactUpdate{Email: ptr("supplies@VENDOR.example")}, 409,
		`tenant "acme" has a contact "supplies@VENDOR.example" already`)
	e.wantErr("", "PATCH", "/v1/contacts/ann@partner2.example", adminapi.ContactUpdate{Email: ptr("")}, 400, "contact address missing")
	e.wantErr("", "PATCH", "/v1/contacts/ann@partner2.example", adminapi.ContactUpdate{Email: ptr("bad address@x.example")}, 400, "bad address@x.example")
	e.wantErr("", "PATCH", "/v1/contacts/ghost@x.example", adminapi.ContactUpdate{Name: ptr("x")}, 404, `contact "ghost@x.example": not found`)
	e.wantErr("", "PATCH", "/v1/contacts/ghost@x.example?tenant=acme", adminapi.ContactUpdate{Name: ptr("x")}, 404, `contact "ghost@x.example"`)

	// A tenant administrator: their tenant only, which is the default.
	e.call("PATCH", "/v1/users/bob", adminapi.UserUpdate{Admin: ptr(1)}, 200, nil)
	e.callAs("bob", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "office@partner.example", Name: "Partner office"}, 201, &c)
	if c.Tenant != "acme" {
		t.Fatalf("bob's contact %+v", c)
	}
	e.callAs("bob", "GET", "/v1/contacts", nil, 200, &cs)
	if len(cs) != 3 {
		t.Fatalf("bob lists %+v", cs)
	}
	for _, x := range cs {
		if x.Tenant != "acme" {
			t.Fatalf("bob lists another tenant's contact %+v", x)
		}
	}
	e.wantErr("bob", "GET", "/v1/contacts?tenant=globex", nil, 404, `tenant "globex"`)
	e.wantErr("bob", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "x@y.example", Tenant: "globex"}, 404, `tenant "globex"`)
	e.wantErr("bob", "PATCH", "/v1/contacts/supplies@vendor.example?tenant=globex", adminapi.ContactUpdate{Name: ptr("x")}, 404, `tenant "globex"`)
	e.wantErr("bob", "DELETE", "/v1/contacts/supplies@vendor.example?tenant=globex", nil, 404, `tenant "globex"`)
	// Without ?tenant= bob's own tenant's contact is the one meant.
	e.callAs("bob", "PATCH", "/v1/contacts/supplies@vendor.example", adminapi.ContactUpdate{Name: ptr("Acme vendor")}, 200, &c)
	if c.Tenant != "acme" || c.Name != "Acme vendor" {
		t.Fatalf("bob updated %+v", c)
	}
	e.callAs("bob", "DELETE", "/v1/contacts/office@partner.example", nil, 204, nil)

	// A plain user sees the tenant's contacts and changes none.
	e.callAs("alice", "GET", "/v1/contacts", nil, 200, &cs)
	if len(cs) != 2 {
		t.Fatalf("alice lists %+v", cs)
	}
	e.wantErr("alice", "POST", "/v1/contacts", adminapi.ContactCreate{Email: "x@y.example"}, 403, `not an administrator of tenant "acme"`)
	e.wantErr("alice", "PATCH", "/v1/contacts/supplies@vendor.example", adminapi.ContactUpdate{Name: ptr("x")}, 403, `not an administrator of tenant "acme"`)
	e.wantErr("alice", "DELETE", "/v1/contacts/supplies@vendor.example", nil, 403, `not an administrator of tenant "acme"`)
	e.wantErr("alice", "DELETE", "/v1/contacts/supplies@vendor.example?tenant=globex", nil, 404, `tenant "globex"`)
	e.wantErr("-", "GET", "/v1/contacts", nil, 401, "authentication required")

	e.wantErr("", "DELETE", "/v1/contacts/supplies@vendor.example", nil, 400, "exists in several tenants")
	e.call("DELETE", "/v1/contacts/supplies@vendor.example?tenant=acme", nil, 204, nil)
	e.call("DELETE", "/v1/contacts/Supplies@Vendor.example", nil, 204, nil) // now only in globex
	e.wantErr("", "DELETE", "/v1/contacts/supplies@vendor.example", nil, 404, `contact "supplies@vendor.example": not found`)
	e.call("GET", "/v1/contacts", nil, 200, &cs)
	if len(cs) != 1 || cs[0].Email != "ann@partner2.example" {
		t.Fatalf("left %+v", cs)
	}
	e.wantErr("", "PUT", "/v1/contacts/ann@partner2.example", nil, 405, "method PUT not allowed")
}

// TestContactsStoreFailure: a store failure is a generic 500, never the
// "not found" a tenant lookup without ?tenant= could turn it into, and
// its text stays in the log.
func TestContactsStoreFailure(t *testing.T) {
	t.Parallel()
	var fb *storefault.Backend
	e := newEnv(t, func(o *adminapi.Options, e *env) { fb = storefault.New(e.b); e.b = fb })
	e.fixture()
	e.call("POST", "/v1/contacts", adminapi.ContactCreate{Email: "a@b.example", Tenant: "acme"}, 201, nil)
	fb.Fail(errors.New("disk on fire at /var/secret"), "ListContacts", "CreateContact", "UpdateContact", "DeleteContact")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/contacts", nil},
		{"GET", "/v1/contacts?tenant=acme", nil},
		{"POST", "/v1/contacts", adminapi.ContactCreate{Email: "c@d.example", Tenant: "acme"}},
		{"PATCH", "/v1/contacts/a@b.example", adminapi.ContactUpdate{Name: ptr("x")}},
		{"PATCH", "/v1/contacts/a@b.example?tenant=acme", adminapi.ContactUpdate{Name: ptr("x")}},
		{"DELETE", "/v1/contacts/a@b.example", nil},
		{"DELETE", "/v1/contacts/ghost@b.example?tenant=acme", nil},
	} {
		e.wantErr("", c.method, c.path, c.body, 500, "internal error; the server log has the details")
	}
	fb.Heal()
	e.call("DELETE", "/v1/contacts/a@b.example", nil, 204, nil)
}
