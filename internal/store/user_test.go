package store

import "testing"

// OwnsAddress: the address, an alias, a subaddress of either, in any
// case; not another address of the domain (one a catch-all alias brings), nor a group's.
func TestOwnsAddress(t *testing.T) {
	u := &User{Email: "ann@acme.test", Aliases: []string{"a.nn@acme.test", "@acme.test"}}
	for addr, want := range map[string]bool{
		"ann@acme.test": true, "ANN@Acme.Test": true, "ann+news@acme.test": true, "a.nn@acme.test": true,
		"a.nn+x@ACME.test": true, "bob@acme.test": false, "random@acme.test": false, "team@acme.test": false,
		"ann@other.test": false, "ann": false, "": false,
	} {
		if got := u.OwnsAddress(addr); got != want {
			t.Errorf("OwnsAddress(%q) = %v, want %v", addr, got, want)
		}
	}
}
