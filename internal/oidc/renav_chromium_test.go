package oidc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAuthorizeStrictCookieChromium: in a real browser (Debian's
// chromium), a user signed in to Roost (SameSite=Strict session cookie)
// who comes to /oidc/authorize from an application on another site gets
// the consent page, not the login form: the browser withholds the cookie
// on that cross-site navigation, and the provider's re-navigation page
// makes a same-site one that carries it. Roost is http://localhost:P (a
// secure context for Chromium, so the Secure __Host- cookie is kept), the
// application http://127.0.0.1:Q: another site.
func TestAuthorizeStrictCookieChromium(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("chromium missing and ROOST_REQUIRE_CLIENTS is set")
		}
		t.Skip("chromium (Debian package chromium) missing")
	}
	env := testenv.Open(t, testenv.Options{})
	env.Tenants(t, "acme")
	env.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	la, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	roost := fmt.Sprintf("http://localhost:%d", la.Addr().(*net.TCPAddr).Port)
	app := fmt.Sprintf("http://127.0.0.1:%d", lb.Addr().(*net.TCPAddr).Port)
	if _, _, err := RegisterClient(testenv.Sys, env, "grafana", []string{app + "/cb"}, true); err != nil {
		t.Fatal(err)
	}
	authn := &directory.Authenticator{Store: env}
	p := &Provider{Store: env, Auth: authn, Issuer: roost}
	mux := http.NewServeMux()
	p.Mount(mux)
	// Signing in to the web client, as far as the cookie goes; then on to
	// the application's page.
	mux.HandleFunc("/signin", func(w http.ResponseWriter, r *http.Request) {
		s, err := authn.CreateSession(context.Background(), "alice", "pw", directory.RemoteAddr(r))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		SetSessionCookie(w, s.Token, s.Expires)
		fmt.Fprintf(w, `<html><head><meta http-equiv="refresh" content="0;url=%s/page"></head><body>signed in</body></html>`, app)
	})
	q := url.Values{"response_type": {"code"}, "client_id": {"grafana"}, "redirect_uri": {app + "/cb"}, "scope": {"openid"},
		"state": {"st"}, "code_challenge": {S256("a-verifier-of-enough-length-for-pkce-0123456789")}, "code_challenge_method": {"S256"}}
	appMux := http.NewServeMux()
	// The application's own page starts the sign-in, so the navigation
	// to the provider is initiated by another site.
	appMux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><head><meta http-equiv="refresh" content="0;url=/start"></head><body>app</body></html>`)
	})
	appMux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, roost+"/oidc/authorize?"+q.Encode(), http.StatusFound)
	})
	go http.Serve(la, mux)
	go http.Serve(lb, appMux)
	t.Cleanup(func() { la.Close(); lb.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=10000", "--dump-dom", roost+"/signin").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, "Signed in as <b>alice</b>") || strings.Contains(dom, `name="password"`) {
		t.Fatalf("the signed-in user did not reach the consent page:\n%.2000s", dom)
	}
}
