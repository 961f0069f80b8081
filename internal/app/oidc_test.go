package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/oidc"
)

// oidcProviderVersion is the npm oidc-provider release the relying party
// tests run as the independent OpenID provider (exact pin).
const oidcProviderVersion = "9.13.3"

// oidcProviderDir returns a node_modules prefix holding oidc-provider:
// ROOST_OIDC_PROVIDER_DIR if set (scripts/test.sh installs it once), else
// a fresh npm install. Without node the test skips, unless
// ROOST_REQUIRE_CLIENTS is set.
func oidcProviderDir(t *testing.T) string {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("oidc-provider required: %s", why)
		}
		t.Skipf("OIDC provider test skipped: %s (set ROOST_REQUIRE_CLIENTS to make this a failure)", why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not installed")
	}
	if d := os.Getenv("ROOST_OIDC_PROVIDER_DIR"); d != "" {
		return d
	}
	if _, err := exec.LookPath("npm"); err != nil {
		skip("npm is not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "oidc-provider@"+oidcProviderVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		skip("npm install oidc-provider failed: " + err.Error() + ": " + string(out))
	}
	return dir
}

// startOIDCProvider runs oidc-provider at issuer with one client.
func startOIDCProvider(t *testing.T, issuer, clientID, secret, redirect string, env ...string) {
	t.Helper()
	dir := oidcProviderDir(t)
	script, _ := filepath.Abs("testdata/oidc-provider.mjs")
	// Node resolves packages from the script's directory upwards: run a
	// copy that sits next to node_modules.
	run := filepath.Join(dir, "roost-oidc-provider.mjs")
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(run, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", run, issuer, clientID, secret, redirect)
	cmd.Env = append(os.Environ(), env...)
	out, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "listening" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("oidc-provider exited: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("oidc-provider did not start: %s", stderr.String())
	}
}

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// providerSignIn plays the browser at the provider: from the
// authorization URL through its login and consent forms, up to the
// redirect back to redirectPrefix, whose URL it returns.
func providerSignIn(t *testing.T, authURL, redirectPrefix, login string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	var back string
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), redirectPrefix) {
			back = r.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	for step := 0; step < 5; step++ {
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if back != "" {
			return back
		}
		m := formAction.FindSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("provider answered %s: %.500s", resp.Status, body)
		}
		action, _ := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
		form := url.Values{}
		if strings.Contains(string(body), `name="login"`) {
			form.Set("prompt", "login")
			form.Set("login", login)
			form.Set("password", "any")
		} else {
			form.Set("prompt", "consent")
		}
		resp, err = c.PostForm(action.String(), form)
	}
	t.Fatal("no redirect back from the provider after 5 pages")
	return ""
}

func pkce() (verifier, challenge string) {
	var b [32]byte
	rand.Read(b[:])
	verifier = base64.RawURLEncoding.EncodeToString(b[:])
	return verifier, oidc.S256(verifier)
}

// TestOIDCRelyingParty runs Roost as the relying party of an independent
// OpenID provider (npm oidc-provider, certified by the OpenID
// Foundation): its JWT access tokens sign alice in on every protocol
// (OAUTHBEARER and XOAUTH2, HTTP Bearer), and the browser sign-in through
// the provider's login and consent pages opens a web session; a forged
// token, a state mismatch, a replayed callback are refused.
func TestOIDCRelyingParty(t *testing.T) {
	dir := t.TempDir()
	c := &protoClient{t: t, imap: freePort(t), pop3: freePort(t), smtp: freePort(t), sieve: freePort(t), http: freePort(t)}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 cannot be bound: %v", err)
	}
	issuer := "http://" + ln.Addr().String()
	ln.Close()
	redirect := "http://" + c.http + "/auth/oidc/callback"
	startOIDCProvider(t, issuer, "roost", "roost-secret", redirect)
	admin := startServer(t, dir, fmt.Sprintf("imap_listen = %q\npop3_listen = %q\nsubmission_listen = %q\nmanagesieve_listen = %q\n"+
		"http_listen = %q\nallow_plaintext_auth = true\npassword_argon2_memory = 8\npassword_argon2_time = 1\n"+
		"oidc_issuer = %q\noidc_client_id = \"roost\"\noidc_client_secret = \"roost-secret\"\noidc_redirect_uri = %q\n",
		c.imap, c.pop3, c.smtp, c.sieve, c.http, issuer, redirect))
	adminCall(t, admin, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"account pw"}`, 201)

	// An access token as a mail client gets one: code flow with PKCE.
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {"roost"}, "redirect_uri": {redirect}, "scope": {"openid email mail"},
		"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	back, _ := url.Parse(providerSignIn(t, issuer+"/auth?"+q.Encode(), redirect, "alice"))
	tokenReq := func(code, verifier string) (int, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
		req, _ := http.NewRequest("POST", issuer+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("roost", "roost-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, tr := tokenReq(back.Query().Get("code"), verifier)
	at, _ := tr["access_token"].(string)
	if code != 200 || strings.Count(at, ".") != 2 {
		t.Fatalf("token endpoint: %d %v", code, tr)
	}
	// POP3 limits a command line to 255 octets (RFC 5034 §4): a JWT goes
	// in the continuation line, as a client sends it.
	pop3 := func(mech, msg string) bool {
		send, done := c.dialog(c.pop3, "+OK")
		defer done()
		if out := send("AUTH "+mech, prefix("+OK", "-ERR", "+ ")); !strings.HasPrefix(out, "+ ") {
			t.Fatalf("POP3 AUTH %s: %q", mech, out)
		}
		out := send(b64(msg), prefix("+OK", "-ERR", "+ "))
		if strings.HasPrefix(out, "+ ") {
			out = send(b64("\x01"), prefix("+OK", "-ERR"))
		}
		return strings.HasPrefix(out, "+OK")
	}
	if !pop3("OAUTHBEARER", oauthbearer("alice", at)) || !pop3("XOAUTH2", xoauth2("alice", at)) {
		t.Error("provider's access token refused on pop3")
	}
	for _, p := range allProtocols {
		if p == "pop3" {
			continue
		}
		if !c.tokenOn(p, "alice", at, false) {
			t.Errorf("provider's access token refused on %s", p)
		}
		if p != "jmap" && p != "dav" && !c.tokenOn(p, "alice@example.org", at, true) {
			t.Errorf("provider's access token refused on %s with XOAUTH2", p)
		}
	}
	// The ID token is for the client, not an access token of the mail
	// audience... it names the same audience here, but a tampered token
	// and another user's authzid are refused.
	forged := at[:len(at)-4] + "AAAA"
	if at[len(at)-4:] == "AAAA" {
		forged = at[:len(at)-4] + "BBBB"
	}
	for _, p := range []string{"imap", "jmap"} {
		if c.tokenOn(p, "alice", forged, false) {
			t.Errorf("forged token accepted on %s", p)
		}
	}
	adminCall(t, admin, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","password":"bob pw"}`, 201)
	if c.tokenOn("imap", "bob", at, false) {
		t.Error("alice's provider token accepted as bob")
	}
	// A replayed authorization code gets no second token.
	if code, tr := tokenReq(back.Query().Get("code"), verifier); code == 200 {
		t.Errorf("replayed code exchanged again: %v", tr)
	}

	// The browser sign-in.
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := func() (*http.Cookie, string) {
		resp, err := noFollow.Get("http://" + c.http + "/auth/oidc/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, issuer+"/auth?") {
			t.Fatalf("/auth/oidc/login: %s to %q", resp.Status, loc)
		}
		u, _ := url.Parse(loc)
		if u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("nonce") == "" || u.Query().Get("state") == "" {
			t.Fatalf("authorization request without PKCE S256, nonce or state: %s", loc)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "__Host-roost-oidc" {
				return ck, loc
			}
		}
		t.Fatal("no sign-in cookie")
		return nil, ""
	}
	callback := func(u string, ck *http.Cookie) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		if ck != nil {
			req.AddCookie(ck)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	ck, loc := start()
	cb := providerSignIn(t, loc, redirect, "alice")
	resp := callback(cb, ck)
	var session string
	for _, sc := range resp.Cookies() {
		if sc.Name == oidc.SessionCookie && sc.Secure && sc.HttpOnly && sc.SameSite == http.SameSiteStrictMode {
			session = sc.Value
		}
	}
	if resp.StatusCode != http.StatusOK || session == "" {
		t.Fatalf("callback: %s, cookies %v", resp.Status, resp.Header["Set-Cookie"])
	}
	// The web session works where the web client uses it (JMAP).
	if c.httpDo("jmap", "", session) != http.StatusOK {
		t.Error("web session of the OIDC sign-in refused by JMAP")
	}
	// Sign-out: cross-site refused; same-site ends the session and goes
	// to the provider's end_session_endpoint.
	logout := func(origin string) *http.Response {
		req, _ := http.NewRequest("POST", "http://"+c.http+"/auth/oidc/logout", nil)
		req.Header.Set("Origin", origin)
		req.AddCookie(&http.Cookie{Name: oidc.SessionCookie, Value: session})
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := logout("https://evil.example"); resp.StatusCode != http.StatusForbidden || c.httpDo("jmap", "", session) != http.StatusOK {
		t.Errorf("cross-site sign-out: %s", resp.Status)
	}
	if resp := logout("http://" + c.http); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), issuer+"/session/end") {
		t.Errorf("sign-out: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	if c.httpDo("jmap", "", session) == http.StatusOK {
		t.Error("web session still valid after sign-out")
	}
	// The same callback again (replay), without the cookie, with another
	// sign-in's cookie (state mismatch): refused, no session.
	for name, ck2 := range map[string]*http.Cookie{"replay without cookie": nil, "state mismatch": func() *http.Cookie { c, _ := start(); return c }()} {
		resp := callback(cb, ck2)
		if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) > 1 {
			t.Errorf("%s: %s, cookies %v", name, resp.Status, resp.Header["Set-Cookie"])
		}
	}
	// A user the provider knows but Roost does not: refused.
	ck, loc = start()
	resp = callback(providerSignIn(t, loc, redirect, "mallory"), ck)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in of an unknown user: %s", resp.Status)
	}
}

// TestOIDCIntrospection: with oidc_introspection_url, the provider's
// opaque access tokens (oidc-provider without resource indicators) are
// accepted on IMAP and JMAP after RFC 7662 introspection; a made-up
// opaque token is refused.
func TestOIDCIntrospection(t *testing.T) {
	dir := t.TempDir()
	c := &protoClient{t: t, imap: freePort(t), http: freePort(t)}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 cannot be bound: %v", err)
	}
	issuer := "http://" + ln.Addr().String()
	ln.Close()
	redirect := "http://" + c.http + "/auth/oidc/callback"
	startOIDCProvider(t, issuer, "roost", "roost-secret", redirect, "OPAQUE=1")
	admin := startServer(t, dir, fmt.Sprintf("imap_listen = %q\nhttp_listen = %q\nallow_plaintext_auth = true\n"+
		"password_argon2_memory = 8\npassword_argon2_time = 1\noidc_issuer = %q\noidc_client_id = \"roost\"\n"+
		"oidc_client_secret = \"roost-secret\"\noidc_login_claim = \"sub\"\noidc_introspection_url = %q\n",
		c.imap, c.http, issuer, issuer+"/token/introspection"))
	adminCall(t, admin, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"account pw"}`, 201)
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {"roost"}, "redirect_uri": {redirect}, "scope": {"openid email"},
		"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	back, _ := url.Parse(providerSignIn(t, issuer+"/auth?"+q.Encode(), redirect, "alice"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("roost", "roost-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	at, _ := tr["access_token"].(string)
	if at == "" || strings.Count(at, ".") == 2 {
		t.Fatalf("want an opaque access token: %v", tr)
	}
	if !c.tokenOn("imap", "alice", at, false) || !c.tokenOn("jmap", "", at, false) {
		t.Error("opaque token refused after introspection")
	}
	if c.tokenOn("imap", "alice", at[:len(at)-2]+"xx", false) {
		t.Error("made-up opaque token accepted")
	}
}
