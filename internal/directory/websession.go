package directory

import (
	"net/http"
	"net/url"
	"strings"
)

// SessionCookie is the web session's cookie (CreateSession): the web
// client, the OIDC sign-in and Kerberos sign-in set it, the web client,
// JMAP and the OIDC provider read it. The __Host- prefix makes browsers
// insist on Secure, Path=/ and no Domain.
const SessionCookie = "__Host-roost-session"

// SameOrigin reports whether r comes from a page of this server: the
// browser's Sec-Fetch-Site says same-origin, or, from a browser that does
// not send it, the Origin header names this host. A state-changing
// request authenticated by the session cookie must pass: SameSite=Strict
// is the first guard, this the second (a sibling subdomain is same-site);
// a request naming no origin is refused.
func SameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "":
	default: // same-site, cross-site, none
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
