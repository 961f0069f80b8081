package directory

import "testing"

func TestCheckLogin(t *testing.T) {
	for _, c := range []struct {
		format, login, tenant string
		ok                    bool
	}{
		{"%u", "alice", "acme", true},
		{"", "alice", "acme", true},
		{"%u@%c", "alice@acme", "acme", true},
		{"%u@%c", "alice@ACME", "acme", true},
		{"%u@%c", "alice", "acme", false},
		{"%u@%c", "alice@globex", "acme", false},
		{"%u@%c", "@acme", "acme", false},
		{"%c.%u", "acme.bob", "acme", true},
		{"%c", "x", "acme", false},
	} {
		if err := CheckLogin(c.format, c.login, c.tenant); (err == nil) != c.ok {
			t.Errorf("CheckLogin(%q, %q, %q) = %v", c.format, c.login, c.tenant, err)
		}
	}
}
