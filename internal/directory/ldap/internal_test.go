package ldap

import (
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// TestRangeOf: AD range retrieval attribute names.
func TestRangeOf(t *testing.T) {
	for _, c := range []struct {
		name   string
		lo, hi int
		ok     bool
	}{
		{"member;range=0-1499", 0, 1499, true},
		{"Member;Range=1500-*", 1500, -1, true},
		{"member", 0, 0, false},
		{"memberOf;range=0-10", 0, 0, false},
		{"member;range=x-1", 0, 0, false},
		{"member;range=0-y", 0, 0, false},
		{"member;range=5", 0, 0, false},
	} {
		lo, hi, ok := rangeOf(c.name, "member")
		if lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("%s: %d %d %v", c.name, lo, hi, ok)
		}
	}
}

// TestCompanyOf: the innermost company above an entry.
func TestCompanyOf(t *testing.T) {
	cs := []company{{dn: normDN("ou=Acme,dc=x"), name: "acme"}, {dn: normDN("ou=eu,ou=acme,dc=x"), name: "acme-eu"}}
	for dn, want := range map[string]string{
		"uid=a,ou=acme,dc=x": "acme", "uid=b, ou=EU, ou=Acme, dc=x": "acme-eu", "uid=c,ou=people,dc=x": "",
		"uid=d,ou=notacme,dc=x": "", "ou=acme,dc=x": "acme",
	} {
		if got := companyOf(cs, dn); got != want {
			t.Errorf("%s: %q, want %q", dn, got, want)
		}
	}
}

// FuzzSearchFilter: whatever a client types, the address book filter
// parses and has one term per word besides the user filter: the input
// never adds or closes filter terms.
func FuzzSearchFilter(f *testing.F) {
	d := &Directory{cfg: Config{Filter: "(objectClass=inetOrgPerson)", LoginAttr: "uid", FullNameAttr: "cn", MailAttr: "mail"}}
	for _, s := range []string{"ann", "*)(uid=*", "a b c", `\2a`, "(|(x=*))", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		filter := d.SearchFilter(q)
		p, err := goldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("%q: filter %s: %v", q, filter, err)
		}
		if got, want := len(p.Children), 1+len(strings.Fields(q)); got != want {
			t.Fatalf("%q: filter %s has %d terms, want %d", q, filter, got, want)
		}
	})
}
