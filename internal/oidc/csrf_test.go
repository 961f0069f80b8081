package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// originCases are POSTs and whether each comes from Roost's own page:
// only Sec-Fetch-Site same-origin, or (no fetch metadata) an Origin
// naming this host. A sibling subdomain (same-site: a SameSite=Strict
// cookie goes with it) and a POST naming no origin are refused.
var originCases = []struct {
	name, site, origin string
	ok                 bool
}{
	{"same-origin", "same-origin", "https://mail.example.com", true},
	{"origin only", "", "https://mail.example.com", true},
	{"sibling subdomain", "same-site", "https://evil.example.com", false},
	{"sibling origin only", "", "https://evil.example.com", false},
	{"cross-site", "cross-site", "https://evil.test", false},
	{"no origin", "", "", false},
	{"null origin", "", "null", false},
}

func post(target, site, origin string, form url.Values) *http.Request {
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Host = "mail.example.com"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if site != "" {
		r.Header.Set("Sec-Fetch-Site", site)
	}
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	return r
}

// TestProviderLoginCSRF: the provider's login form signs the browser in
// (sets the web session cookie) only when posted from Roost's own page.
func TestProviderLoginCSRF(t *testing.T) {
	env := testenv.Open(t, testenv.Options{})
	env.Tenants(t, "acme")
	env.User(t, "acme", store.User{Login: "alice", Active: true}, "account pw")
	ctx := context.Background()
	redirect := "https://app.example.net/cb"
	if _, _, err := RegisterClient(store.SystemContext(ctx), env, "app", []string{redirect}, true); err != nil {
		t.Fatal(err)
	}
	a := &directory.Authenticator{Store: env, Throttle: &auth.Throttle{}}
	p := &Provider{Store: env, Auth: a, Issuer: "https://mail.example.com"}
	mux := http.NewServeMux()
	p.Mount(mux)
	form := url.Values{"client_id": {"app"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"},
		"code_challenge": {S256(random())}, "code_challenge_method": {"S256"},
		"action": {"login"}, "login": {"alice"}, "password": {"account pw"}}
	for _, c := range originCases {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, post("/oidc/authorize", c.site, c.origin, form))
		signedIn := false
		for _, ck := range rec.Result().Cookies() {
			signedIn = signedIn || (ck.Name == SessionCookie && ck.Value != "")
		}
		if signedIn != c.ok || (!c.ok && rec.Code != http.StatusForbidden) {
			t.Errorf("%s: %d, signed in %v; want signed in %v", c.name, rec.Code, signedIn, c.ok)
		}
	}
}

// TestRPLogoutCSRF: /auth/oidc/logout ends the session only when posted
// from Roost's own page.
func TestRPLogoutCSRF(t *testing.T) {
	env := testenv.Open(t, testenv.Options{})
	env.Tenants(t, "acme")
	env.User(t, "acme", store.User{Login: "alice", Active: true}, "account pw")
	ctx := context.Background()
	a := &directory.Authenticator{Store: env}
	// The provider's discovery fails: logout ends at Done.
	idp := httptest.NewServer(http.NotFoundHandler())
	defer idp.Close()
	rp, err := New(Config{Issuer: idp.URL, ClientID: "roost", HTTP: idp.Client()}, env)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&Login{RP: rp, Sessions: a}).Mount(mux)
	for _, c := range originCases {
		p, err := env.Principal(store.SystemContext(ctx), "alice")
		if err != nil {
			t.Fatal(err)
		}
		sess, err := a.OpenSession(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := post("/auth/oidc/logout", c.site, c.origin, nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: sess.Token})
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		_, verr := a.VerifySession(ctx, sess.Token, nil)
		ended := verr != nil
		if ended != c.ok || (!c.ok && rec.Code != http.StatusForbidden) {
			t.Errorf("%s: %d, session ended %v (%v); want ended %v", c.name, rec.Code, ended, verr, c.ok)
		}
	}
}
