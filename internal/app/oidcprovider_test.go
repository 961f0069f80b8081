package app

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/oidc"
)

// openidClientVersion is the npm openid-client release the provider test
// drives (exact pin).
const openidClientVersion = "6.9.1"

func openidClientDir(t *testing.T) string {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("openid-client required: %s", why)
		}
		t.Skipf("openid-client test skipped: %s (set ROOST_REQUIRE_CLIENTS to make this a failure)", why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not installed")
	}
	if d := os.Getenv("ROOST_OPENID_CLIENT_DIR"); d != "" {
		return d
	}
	if _, err := exec.LookPath("npm"); err != nil {
		skip("npm is not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "openid-client@"+openidClientVersion).CombinedOutput(); err != nil {
		skip("npm install openid-client failed: " + err.Error() + ": " + string(out))
	}
	return dir
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// roostBrowser plays a browser at Roost's provider pages: it signs in
// with a password unless session is set, allows the consent, and returns
// where the provider redirects to and the session cookie it holds. Like a
// browser it does not send the SameSite=Strict session cookie on the
// first, cross-site navigation from the application, and follows a
// <meta http-equiv="refresh"> as a same-site navigation that does.
func roostBrowser(t *testing.T, authURL, login, password, session string) (string, string) {
	t.Helper()
	return roostBrowserTOTP(t, authURL, login, password, nil, session)
}

var metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

// roostBrowserTOTP is roostBrowser for an account with a second factor:
// code gives the authenticator's code when the provider asks for it.
func roostBrowserTOTP(t *testing.T, authURL, login, password string, code func() string, session string) (string, string) {
	t.Helper()
	crossSite := true
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, u string, form url.Values) (*http.Response, string) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			// A browser names the page's origin on every POST.
			req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
		}
		if crossSite {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		} else {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if session != "" {
				req.AddCookie(&http.Cookie{Name: oidc.SessionCookie, Value: session})
			}
		}
		crossSite = false
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, ck := range resp.Cookies() {
			if ck.Name == oidc.SessionCookie {
				session = ck.Value
			}
		}
		return resp, string(b)
	}
	resp, page := do("GET", authURL, nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("provider page CSP %q", csp)
	}
	u, _ := url.Parse(authURL)
	endpoint := u.Scheme + "://" + u.Host + "/oidc/authorize"
	for step := 0; step < 5; step++ {
		if resp.StatusCode == http.StatusFound {
			return resp.Header.Get("Location"), session
		}
		if m := metaRefresh.FindStringSubmatch(page); m != nil {
			next, err := u.Parse(html.UnescapeString(m[1]))
			if err != nil || next.Host != u.Host {
				t.Fatalf("provider moves on to %q", m[1])
			}
			resp, page = do("GET", next.String(), nil)
			continue
		}
		asksCode := strings.Contains(page, `name="code"`)
		if resp.StatusCode != http.StatusOK && !(asksCode && code != nil) {
			t.Fatalf("provider page: %s: %.300s", resp.Status, page)
		}
		form := url.Values{}
		for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		if form.Get("action") == "login" {
			form.Set("login", login)
			form.Set("password", password)
			if asksCode && code != nil {
				form.Set("code", code())
			}
		} else {
			if form.Get("ticket") == "" {
				t.Fatalf("neither login nor consent page: %.300s", page)
			}
			form.Set("action", "allow")
		}
		resp, page = do("POST", endpoint, form)
	}
	t.Fatal("no redirect from the provider")
	return "", ""
}

func runNode(t *testing.T, dir, script string, args ...string) map[string]any {
	t.Helper()
	src, _ := filepath.Abs(filepath.Join("testdata", script))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "roost-"+script)
	os.WriteFile(run, data, 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{run}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s %v: %v: %s", script, args[0], err, stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("node %s: %v: %s", script, err, out)
	}
	return m
}

// TestOIDCProviderOpenIDClient runs Roost's OpenID provider for an
// independent relying party, npm openid-client: discovery, code flow
// with PKCE through Roost's login and consent pages, token exchange, ID
// token checks, userinfo, refresh (and its replay refused); the access
// token then signs in on IMAP (OAUTHBEARER) and JMAP; signing out
// everywhere and a password change end the refresh tokens. Refused: a
// redirect URI not registered (no redirect), PKCE plain, a public client
// without PKCE, a replayed code, a wrong code verifier, a token without
// the roost scope on IMAP, a forged token.
func TestOIDCProviderOpenIDClient(t *testing.T) {
	nodeDir := openidClientDir(t)
	dir := t.TempDir()
	c := &protoClient{t: t, imap: freePort(t), pop3: freePort(t), smtp: freePort(t), sieve: freePort(t), http: freePort(t)}
	issuer := "http://" + c.http
	admin := startServer(t, dir, fmt.Sprintf("imap_listen = %q\nhttp_listen = %q\nallow_plaintext_auth = true\n"+
		"password_argon2_memory = 8\npassword_argon2_time = 1\noidc_provider_issuer = %q\n", c.imap, c.http, issuer))
	adminCall(t, admin, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","name":"Alice Liddell","password":"account pw"}`, 201)

	// The admin socket is up; the HTTP listener may come a moment later.
	waitFor(t, "http listener", func() bool {
		conn, err := net.Dial("tcp", c.http)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	// No client, no provider.
	if resp, err := http.Get(issuer + "/.well-known/openid-configuration"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("discovery without a client: %v %v", resp, err)
	}
	redirect := "http://127.0.0.1:9/callback"
	var reg map[string]any
	json.Unmarshal([]byte(adminCall(t, admin, "POST", "/v1/oidc/clients", `{"name":"grafana","redirect_uris":["`+redirect+`"]}`, 201)), &reg)
	secret, _ := reg["client_secret"].(string)
	if reg["client_id"] != "grafana" || len(secret) < 32 {
		t.Fatalf("registration: %v", reg)
	}
	adminCall(t, admin, "POST", "/v1/oidc/clients", `{"name":"mobile","redirect_uris":["`+redirect+`"],"public":true}`, 201)
	adminCall(t, admin, "POST", "/v1/oidc/clients", `{"name":"evil","redirect_uris":["javascript:alert(1)"]}`, 400)

	start := runNode(t, nodeDir, "openid-client.mjs", "start", issuer, "grafana", secret, redirect, "openid email profile roost")
	authURL := start["url"].(string)
	back, session := roostBrowser(t, authURL, "alice", "account pw", "")
	if !strings.HasPrefix(back, redirect+"?") || session == "" {
		t.Fatalf("redirect %q, session %q", back, session)
	}
	got := runNode(t, nodeDir, "openid-client.mjs", "finish", issuer, "grafana", secret, back, start["verifier"].(string), start["state"].(string))
	claims, _ := got["claims"].(map[string]any)
	ui, _ := got["userinfo"].(map[string]any)
	if claims["sub"] != "alice" || claims["email"] != "alice@example.org" || claims["name"] != "Alice Liddell" || claims["aud"] != "grafana" {
		t.Errorf("ID token claims %v", claims)
	}
	if ui["sub"] != "alice" || ui["email"] != "alice@example.org" {
		t.Errorf("userinfo %v", ui)
	}
	if got["refresh_replay"] == "accepted" {
		t.Error("a refresh token was accepted twice")
	}
	at, _ := got["access_token"].(string)
	rat, _ := got["refreshed_access_token"].(string)
	for name, tok := range map[string]string{"access": at, "refreshed": rat} {
		if !c.tokenOn("imap", "alice", tok, false) || !c.tokenOn("jmap", "", tok, false) {
			t.Errorf("%s token of the provider refused on IMAP or JMAP", name)
		}
	}
	if c.tokenOn("imap", "alice", at[:len(at)-3]+"AAA", false) && !strings.HasSuffix(at, "AAA") {
		t.Error("forged token accepted")
	}
	// The code was used: a replay is refused.
	code := mustParse(t, back).Query().Get("code")
	exchange := func(client, secret, code, verifier string) (int, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier},
			"client_id": {client}, "client_secret": {secret}}
		resp, err := http.PostForm(issuer+"/oidc/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := exchange("grafana", secret, code, start["verifier"].(string)); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("replayed code: %d %v", st, m)
	}

	// Signed in already: the web session skips the password.
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {"mobile"}, "redirect_uri": {redirect}, "scope": {"openid email"},
		"state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	back2, _ := roostBrowser(t, issuer+"/oidc/authorize?"+q.Encode(), "", "", session)
	code2 := mustParse(t, back2).Query().Get("code")
	if st, _ := exchange("mobile", "", code2, verifier[:len(verifier)-1]+"x"); st != 400 {
		t.Errorf("wrong PKCE verifier: %d", st)
	}
	st, m := exchange("mobile", "", code2, verifier)
	if st != 200 {
		t.Fatalf("public client with PKCE: %d %v", st, m)
	}
	if c.tokenOn("imap", "alice", m["access_token"].(string), false) {
		t.Error("access token without the roost scope accepted on IMAP")
	}

	// Signing out everywhere (roost admin user logout, the web client's
	// button) and a new password end the refresh tokens too.
	refresh := func(client, secret, rt string) (int, map[string]any) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}
		if secret != "" {
			form.Set("client_secret", secret)
		}
		resp, err := http.PostForm(issuer+"/oidc/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	st, m = refresh("mobile", "", m["refresh_token"].(string))
	if st != 200 {
		t.Fatalf("refresh before the sign-out: %d %v", st, m)
	}
	adminCall(t, admin, "DELETE", "/v1/users/alice/sessions", "", 200)
	if st, m := refresh("mobile", "", m["refresh_token"].(string)); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh token after signing out everywhere: %d %v", st, m["error"])
	}
	if rrt, _ := got["refreshed_refresh_token"].(string); rrt == "" {
		t.Error("openid-client got no rotated refresh token")
	} else if st, m := refresh("grafana", secret, rrt); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("confidential client's refresh token after signing out everywhere: %d %v", st, m["error"])
	}
	back3, _ := roostBrowser(t, issuer+"/oidc/authorize?"+q.Encode(), "alice", "account pw", "")
	if st, m = exchange("mobile", "", mustParse(t, back3).Query().Get("code"), verifier); st != 200 {
		t.Fatalf("sign-in after the sign-out: %d %v", st, m)
	}
	adminCall(t, admin, "PATCH", "/v1/users/alice", `{"password":"new account pw"}`, 200)
	if st, m := refresh("mobile", "", m["refresh_token"].(string)); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh token after a password change: %d %v", st, m["error"])
	}

	// A user with TOTP signs in at the provider with password and code;
	// the web session that opens then skips the login on the next request
	// although the browser withholds the SameSite=Strict cookie on the
	// cross-site navigation from the application (the provider's page
	// re-navigates same-site).
	adminCall(t, admin, "POST", "/v1/users", `{"login":"carol","email":"carol@example.org","password":"carol pw"}`, 201)
	var tk struct{ Key string }
	json.Unmarshal([]byte(adminCall(t, admin, "PUT", "/v1/users/carol/totp", "", 201)), &tk)
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(tk.Key)
	if err != nil || len(key) == 0 {
		t.Fatalf("TOTP key %q: %v", tk.Key, err)
	}
	codes := 0
	totp := func() string { codes++; return auth.TOTPCode(key, auth.TOTPStep(time.Now())) }
	start = runNode(t, nodeDir, "openid-client.mjs", "start", issuer, "grafana", secret, redirect, "openid email")
	back, carol := roostBrowserTOTP(t, start["url"].(string), "carol", "carol pw", totp, "")
	if codes != 1 || carol == "" {
		t.Fatalf("TOTP sign-in at the provider: %d codes asked, session %q", codes, carol)
	}
	got = runNode(t, nodeDir, "openid-client.mjs", "finish", issuer, "grafana", secret, back, start["verifier"].(string), start["state"].(string))
	if cl, _ := got["claims"].(map[string]any); cl["sub"] != "carol" {
		t.Errorf("TOTP user's ID token claims %v", cl)
	}
	start = runNode(t, nodeDir, "openid-client.mjs", "start", issuer, "grafana", secret, redirect, "openid email")
	back, _ = roostBrowserTOTP(t, start["url"].(string), "", "", func() string { t.Error("code asked again"); return "" }, carol)
	got = runNode(t, nodeDir, "openid-client.mjs", "finish", issuer, "grafana", secret, back, start["verifier"].(string), start["state"].(string))
	if cl, _ := got["claims"].(map[string]any); cl["sub"] != "carol" {
		t.Errorf("TOTP user's second sign-in (web session): claims %v", cl)
	}

	// A cross-site POST of the login form (login CSRF) is refused.
	csrf, _ := http.NewRequest("POST", issuer+"/oidc/authorize", strings.NewReader(url.Values{"client_id": {"mobile"}, "redirect_uri": {redirect},
		"response_type": {"code"}, "scope": {"openid"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
		"action": {"login"}, "login": {"alice"}, "password": {"new account pw"}}.Encode()))
	csrf.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	csrf.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(csrf); err != nil || resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("cross-site login POST: %v %v", resp, err)
	}

	// Refusals before any code is issued.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	try := func(mod func(url.Values)) (int, string) {
		q := url.Values{"response_type": {"code"}, "client_id": {"mobile"}, "redirect_uri": {redirect}, "scope": {"openid"},
			"state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		mod(q)
		resp, err := noFollow.Get(issuer + "/oidc/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	for name, mod := range map[string]func(url.Values){
		"open redirect":   func(q url.Values) { q.Set("redirect_uri", "https://evil.example/callback") },
		"redirect prefix": func(q url.Values) { q.Set("redirect_uri", redirect+"/../x") },
		"unknown client":  func(q url.Values) { q.Set("client_id", "nobody") },
	} {
		if st, loc := try(mod); st != http.StatusBadRequest || loc != "" {
			t.Errorf("%s: %d to %q", name, st, loc)
		}
	}
	for name, mod := range map[string]func(url.Values){
		"PKCE plain":          func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"PKCE without method": func(q url.Values) { q.Del("code_challenge_method") },
		"public without PKCE": func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
		"implicit flow":       func(q url.Values) { q.Set("response_type", "token") },
	} {
		st, loc := try(mod)
		if st != http.StatusFound || !strings.HasPrefix(loc, redirect+"?") || !strings.Contains(loc, "error=") {
			t.Errorf("%s: %d to %q", name, st, loc)
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
