package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// TestAdminContacts drives `roost admin contact` end to end against a
// real admin API and store: the system identity, a tenant administrator
// and a plain user, text and --json output, usage errors.
func TestAdminContacts(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "tina", "--tenant", "acme", "--admin", "1")
	e.ok("user", "create", "alice", "--tenant", "acme")

	if out := e.ok("contact", "create", "supplies@vendor.example", "--name", "Vendor Supplies", "--tenant", "acme"); out != "created contact supplies@vendor.example in tenant acme\n" {
		t.Fatalf("%q", out)
	}
	var c contactView
	e.okJSON(&c, "contact", "create", "--tenant", "globex", "Supplies@Vendor.example", "--hidden")
	if c.Tenant != "globex" || !c.Hidden || c.Email != "Supplies@Vendor.example" || c.Directory {
		t.Fatalf("%+v", c)
	}
	// One the directory sync made (ExternalID set).
	if _, err := e.db.CreateContact(sysCtx, "acme", store.Contact{Email: "ann@partner.example", Name: "Ann Partner", ExternalID: "entryUUID:1"}); err != nil {
		t.Fatal(err)
	}
	e.fails(1, `tenant "acme" has a contact "SUPPLIES@vendor.example" already`, "contact", "create", "SUPPLIES@vendor.example", "--tenant", "acme")
	e.fails(1, "several tenants: use --tenant", "contact", "create", "x@y.example")
	e.fails(1, `tenant "nope": not found`, "contact", "create", "x@y.example", "--tenant", "nope")
	e.fails(1, "no-at", "contact", "create", "no-at", "--tenant", "acme")

	out := e.ok("contact", "list")
	for _, re := range []string{`(?m)^Emailaddress\s+Fullname\s+Tenant\s+Hidden\s+Source$`,
		`(?m)^ann@partner\.example\s+Ann Partner\s+acme\s+no\s+directory$`,
		`(?m)^supplies@vendor\.example\s+Vendor Supplies\s+acme\s+no\s+local$`,
		`(?m)^Supplies@Vendor\.example\s+globex\s+yes\s+local$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("contact list lacks %s:\n%s", re, out)
		}
	}
	var cs []contactView
	e.okJSON(&cs, "contact", "list", "--tenant", "acme")
	if len(cs) != 2 || cs[0].Email != "ann@partner.example" || !cs[0].Directory || cs[0].ExternalID != "entryUUID:1" || cs[1].Name != "Vendor Supplies" {
		t.Fatalf("%+v", cs)
	}
	e.fails(1, `tenant "nope": not found`, "contact", "list", "--tenant", "nope")

	e.fails(1, `contact "supplies@vendor.example" exists in several tenants (acme, globex): use --tenant`,
		"contact", "update", "supplies@vendor.example", "--name", "x")
	if out := e.ok("contact", "update", "supplies@vendor.example", "--tenant", "globex", "--visible", "--name", "Globex vendor"); out != "updated contact Supplies@Vendor.example in tenant globex\n" {
		t.Fatalf("%q", out)
	}
	e.okJSON(&c, "contact", "update", "ANN@partner.example", "--email", "ann@partner2.example", "--hidden")
	if c.Email != "ann@partner2.example" || !c.Hidden || c.Name != "Ann Partner" || !c.Directory || c.Tenant != "acme" {
		t.Fatalf("%+v", c)
	}
	e.okJSON(&c, "contact", "update", "ann@partner2.example", "--hidden=false")
	if c.Hidden {
		t.Fatalf("--hidden=false: %+v", c)
	}
	e.fails(1, `tenant "acme" has a contact "supplies@vendor.example" already`, "contact", "update", "ann@partner2.example", "--email", "supplies@vendor.example")
	e.fails(1, `contact "ghost@x.example": not found`, "contact", "update", "ghost@x.example", "--name", "x")

	// A tenant administrator acts in their tenant, the default.
	tina := e.serveAs("tina")
	as := func(args ...string) result { return runIn(tina, "", args...) }
	if r := as("contact", "create", "office@partner.example"); r.code != 0 || r.stdout != "created contact office@partner.example in tenant acme\n" {
		t.Fatalf("%+v", r)
	}
	r := as("--json", "contact", "list")
	if err := json.Unmarshal([]byte(r.stdout), &cs); err != nil || len(cs) != 3 {
		t.Fatalf("tina lists %+v %v", cs, err)
	}
	for _, x := range cs {
		if x.Tenant != "acme" {
			t.Fatalf("tina lists another tenant's contact %+v", x)
		}
	}
	for _, c := range []struct {
		msg  string
		args []string
	}{
		{`tenant "globex": not found`, []string{"contact", "create", "x@y.example", "--tenant", "globex"}},
		{`tenant "globex": not found`, []string{"contact", "list", "--tenant", "globex"}},
		{`tenant "globex": not found`, []string{"contact", "delete", "supplies@vendor.example", "--tenant", "globex"}},
	} {
		wantFail(t, as(c.args...), 1, c.msg, c.args)
	}
	if r := as("contact", "update", "supplies@vendor.example", "--name", "Acme vendor"); r.code != 0 || r.stdout != "updated contact supplies@vendor.example in tenant acme\n" {
		t.Fatalf("%+v", r)
	}
	// A plain user lists and changes nothing.
	alice := e.serveAs("alice")
	if r := runIn(alice, "", "contact", "list"); r.code != 0 || !strings.Contains(r.stdout, "office@partner.example") || strings.Contains(r.stdout, "globex") {
		t.Fatalf("alice lists %+v", r)
	}
	for _, args := range [][]string{{"contact", "create", "x@y.example"}, {"contact", "update", "office@partner.example", "--name", "x"},
		{"contact", "delete", "office@partner.example"}} {
		wantFail(t, runIn(alice, "", args...), 1, `not an administrator of tenant "acme"`, args)
	}

	if out := e.ok("contact", "delete", "office@partner.example"); out != "deleted contact office@partner.example\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `contact "office@partner.example": not found`, "contact", "delete", "office@partner.example")
	e.fails(1, "exists in several tenants", "contact", "delete", "supplies@vendor.example")
	e.ok("contact", "delete", "supplies@vendor.example", "--tenant", "globex")
	e.ok("contact", "delete", "supplies@vendor.example") // now only in acme
	e.okJSON(&cs, "contact", "list")
	if len(cs) != 1 || cs[0].Email != "ann@partner2.example" {
		t.Fatalf("left %+v", cs)
	}

	// Usage errors: exit status 2, no server needed.
	dir := shortDir(t)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"contact"}, "contact: missing subcommand: one of create, list, update, delete"},
		{[]string{"contact", "create"}, "contact create: missing EMAIL (usage: roost admin contact create EMAIL"},
		{[]string{"contact", "update", "a@b.example"}, "contact update: nothing to change"},
		{[]string{"contact", "update", "a@b.example", "--hidden", "--visible"}, "--hidden and --visible contradict each other"},
		{[]string{"contact", "create", "a@b.example", "--kind", "x"}, "contact create: unknown flag --kind"},
		{[]string{"contact", "delete", "a@b.example", "c@d.example"}, `contact delete: unexpected argument "c@d.example"`},
	} {
		wantFail(t, runIn(dir, "", c.args...), 2, c.msg, c.args)
	}
	if r := runIn(dir, "", "contact", "update", "--help"); r.code != 0 || !strings.Contains(r.stdout, "the next sync puts the directory's values back") {
		t.Fatalf("contact update --help: %+v", r)
	}
}
