package onboard_test

import (
	"context"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// TestMTASTSPolicy: the policy is served for the domain the Host header
// names (mta-sts.DOMAIN), refused alike for other hosts and domains.
func TestMTASTSPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, body := e.do(t, "GET", "/.well-known/mta-sts.txt", "mta-sts.example.org:443", "")
	want := "version: STSv1\r\nmode: testing\r\nmx: mail.example.net\r\nmax_age: 604800\r\n"
	if st != 200 || body != want {
		t.Errorf("policy: %d %q", st, body)
	}
	mode := "enforce"
	if err := e.db.SetDomainProps(store.SystemContext(context.Background()), "example.org", map[string]*string{"mta_sts_mode": &mode}); err != nil {
		t.Fatal(err)
	}
	if _, body := e.do(t, "GET", "/.well-known/mta-sts.txt", "MTA-STS.Example.Org.", ""); body != "version: STSv1\r\nmode: enforce\r\nmx: mail.example.net\r\nmax_age: 604800\r\n" {
		t.Errorf("enforce: %q", body)
	}
	_, ref := e.do(t, "GET", "/.well-known/mta-sts.txt", "mta-sts.unknown.test", "")
	for _, host := range []string{"example.org", "mail.example.net", "mta-sts.evil.test", "autoconfig.example.org", "mta-sts.", "mta-sts.example.org.evil.test"} {
		if st, b := e.do(t, "GET", "/.well-known/mta-sts.txt", host, ""); st != 404 || b != ref {
			t.Errorf("Host %s: %d %q", host, st, b)
		}
	}
}
