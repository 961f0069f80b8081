package directory

import (
	"net/http/httptest"
	"testing"
)

// SameOrigin is the CSRF rule of every cookie-authenticated endpoint
// (web client, web admin, OIDC sign-in and sign-out).
func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		site, origin string
		want         bool
	}{
		{"same-origin", "", true},
		{"same-site", "https://mail.example.org", false}, // a sibling subdomain
		{"cross-site", "https://mail.example.org", false},
		{"none", "", false},
		{"", "https://mail.example.org", true}, // no fetch metadata: Origin decides
		{"", "https://MAIL.example.org", true},
		{"", "https://evil.example.net", false},
		{"", "null", false},
		{"", "", false}, // no origin at all
		{"", "://bad", false},
	} {
		r := httptest.NewRequest("POST", "https://mail.example.org/web/api/login", nil)
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := SameOrigin(r); got != c.want {
			t.Errorf("Sec-Fetch-Site %q, Origin %q: %v, want %v", c.site, c.origin, got, c.want)
		}
	}
}
