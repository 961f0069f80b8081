package onboard_test

import (
	"context"
	"testing"

	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/onboard/nsdtest"
)

const testDKIM = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwqC7Q4yZ1ZJ4T0yZ6jv6ZPkOq6Zb5pS2pQxv3pT1hQ9cWgN5YkzB0X4Z1m2Yb7c2JqS8f7FHk0+V3tQKxBd2Z7lYqY6k8yQeTgJvVjv9s0y1mQjJvZ3X0p5mJ0vJm8JkX4cQ2a9Wk3Nn1pM7vGmZc1Yy2nH6dP4uJb3aFz8wKp5c2C9xQm7Rk1pD0nL2sJ4fR6tW8gE3vY5bH1kU9oT2zX7qA6iS4dF0gZ8hJ2kL5mN1bV3cX9zQ7wE1rT5yU3iO0pA2sD4fG6hJ8kL0zX2cV4bN6mQ1wE3rT5yU7iO9pIDAQAB"

// TestDomainCheck publishes a zone with every record right and one with
// each record wrong or missing, and checks both through a real DNS server.
func TestDomainCheck(t *testing.T) {
	t.Parallel()
	right := onboard.Account{Domain: "right.test", Settings: testSettings}
	right.Host = "mail.right.test"
	wrongAcc := right
	wrongAcc.Domain = "wrong.test"
	wrongAcc.Host = "mail.wrong.test"
	dk := &onboard.DKIMKey{Selector: "roost202612", TXT: testDKIM}
	rightRecs := onboard.Records("right.test", right, dk)
	wrongRecs := onboard.Records("wrong.test", wrongAcc, dk)

	// The right zone is exactly what `roost admin domain dns` prints.
	rightZone := "mail IN A 127.0.0.1\n" + onboard.Zone(rightRecs)
	wrongZone := `mail IN A 127.0.0.1
autodiscover IN A 127.0.0.1
@ IN MX 10 mx.elsewhere.test.
@ IN TXT "v=spf1 include:_spf.elsewhere.test -all"
roost202612._domainkey IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwrong"
mta-sts IN CNAME www.elsewhere.test.
_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:a@wrong.test"
_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:b@wrong.test"
autoconfig IN CNAME mail.elsewhere.test.
_imaps._tcp IN SRV 0 1 994 mail.wrong.test.
_imap._tcp IN SRV 0 1 143 mail.elsewhere.test.
_submissions._tcp IN SRV 0 1 465 .
_caldav._tcp IN SRV 0 1 80 mail.wrong.test.
_caldavs._tcp IN TXT "path=/elsewhere/"
`
	addr := nsdtest.Start(t, map[string]string{"right.test": rightZone, "wrong.test": wrongZone})
	res := onboard.NewResolver(addr)
	ctx := context.Background()
	for _, r := range onboard.Check(ctx, res, rightRecs) {
		if r.State != onboard.Present {
			t.Errorf("right.test: %s %s is %s (found %q, %s)", r.Name, r.Type, r.State, r.Found, r.Error)
		}
	}
	want := map[string]string{
		"wrong.test. MX": onboard.Wrong, "wrong.test. TXT": onboard.Wrong, "roost202612._domainkey.wrong.test. TXT": onboard.Wrong,
		"_dmarc.wrong.test. TXT": onboard.Missing, "mta-sts.wrong.test. CNAME": onboard.Wrong, "_mta-sts.wrong.test. TXT": onboard.Missing,
		"_smtp._tls.wrong.test. TXT": onboard.Wrong, "autoconfig.wrong.test. CNAME": onboard.Wrong, "autodiscover.wrong.test. CNAME": onboard.Missing,
		"_imaps._tcp.wrong.test. SRV": onboard.Wrong, "_imap._tcp.wrong.test. SRV": onboard.Wrong, "_submissions._tcp.wrong.test. SRV": onboard.Wrong,
		"_submission._tcp.wrong.test. SRV": onboard.Missing, "_pop3s._tcp.wrong.test. SRV": onboard.Missing,
		"_caldav._tcp.wrong.test. SRV": onboard.Wrong, "_caldavs._tcp.wrong.test. TXT": onboard.Wrong,
	}
	for _, r := range onboard.Check(ctx, res, wrongRecs) {
		if r.State == onboard.Present {
			t.Errorf("wrong.test: %s %s reported present (found %q)", r.Name, r.Type, r.Found)
		}
		if w, ok := want[r.Name+" "+r.Type]; ok && r.State != w {
			t.Errorf("wrong.test: %s %s is %s, want %s (found %q, %s)", r.Name, r.Type, r.State, w, r.Found, r.Error)
		}
		if r.State == onboard.Wrong && len(r.Found) == 0 {
			t.Errorf("wrong.test: %s %s wrong without the value found", r.Name, r.Type)
		}
	}
}
