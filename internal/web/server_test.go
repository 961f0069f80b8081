package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
	"github.com/roost-mail/roost/internal/web"
	roostweb "github.com/roost-mail/roost/web"
)

type env struct {
	t     *testing.T
	st    *testenv.Store
	authn *directory.Authenticator
	srv   *httptest.Server
	c     *http.Client
}

// newEnv serves the web client over TLS on a fresh store with users
// alice, bob and nomail (no "web" feature); wrap, when set, wraps the
// store the server uses (fault injection).
func newEnv(t *testing.T, wrap func(store.Backend) store.Backend, assets map[string]string) *env {
	t.Helper()
	st := testenv.Open(t, testenv.Options{})
	st.Tenants(t, "acme")
	st.User(t, "acme", store.User{Login: "alice", Active: true}, "pw-alice")
	st.User(t, "acme", store.User{Login: "bob", Active: true}, "pw-bob")
	st.User(t, "acme", store.User{Login: "nomail", Active: true, DisabledFeatures: []string{"web"}}, "pw-nomail")
	var backend store.Backend = st
	if wrap != nil {
		backend = wrap(st)
	}
	authn := &directory.Authenticator{Store: backend, Throttle: &auth.Throttle{BaseDelay: 1}}
	fsys := fstest.MapFS{}
	for k, v := range assets {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	var a = roostweb.Dist()
	if assets != nil {
		a = fsys
	}
	s, err := web.New(web.Options{Assets: a, Sessions: authn, Store: backend, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, authn: authn, srv: srv, c: srv.Client()}
}

// do sends a request; hdr may set Cookie, Origin, Sec-Fetch-Site.
func (e *env) do(method, path, body string, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func form(login, pw string) string { return url.Values{"login": {login}, "password": {pw}}.Encode() }

var sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}

// login signs in and returns the session token.
func (e *env) login(login, pw string) string {
	e.t.Helper()
	res, body := e.do("POST", "/web/login", form(login, pw), sameOrigin)
	if res.StatusCode != 204 {
		e.t.Fatalf("login %s: %d %s", login, res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == web.CookieName {
			return c.Value
		}
	}
	e.t.Fatal("no session cookie")
	return ""
}

func cookie(tok string) map[string]string {
	return map[string]string{"Cookie": web.CookieName + "=" + tok, "Sec-Fetch-Site": "same-origin"}
}

// TestLogin: the answers of the sign-in form, the cookie's attributes,
// sign-out revoking the session, login CSRF refused.
func TestLogin(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, c := range []struct {
		name, body string
		hdr        map[string]string
		want       int
	}{
		{"wrong password", form("alice", "nope"), sameOrigin, 401},
		{"unknown user", form("nobody", "nope"), sameOrigin, 401},
		{"empty", form("", ""), sameOrigin, 401},
		{"long login", form(strings.Repeat("a", 600), "x"), sameOrigin, 401},
		{"no web feature", form("nomail", "pw-nomail"), sameOrigin, 403},
		{"cross-site", form("alice", "pw-alice"), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"foreign origin", form("alice", "pw-alice"), map[string]string{"Origin": "https://evil.example"}, 403},
		{"no origin at all", form("alice", "pw-alice"), nil, 403},
		{"same origin by Origin", form("alice", "pw-alice"), map[string]string{"Origin": "https://" + strings.TrimPrefix(e.srv.URL, "https://")}, 204},
	} {
		res, body := e.do("POST", "/web/login", c.body, c.hdr)
		if res.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, res.StatusCode, body, c.want)
		}
		if res.StatusCode != 204 && len(res.Cookies()) > 0 {
			t.Errorf("%s: a cookie on a refusal", c.name)
		}
	}
	res, _ := e.do("POST", "/web/login", form("alice@acme.test", "pw-alice"), sameOrigin)
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == web.CookieName {
			ck = c
		}
	}
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" || ck.MaxAge <= 0 {
		t.Fatalf("cookie %+v", ck)
	}
	if res, body := e.do("GET", "/web/api/me", "", cookie(ck.Value)); res.StatusCode != 200 || !strings.Contains(body, `"login":"alice"`) ||
		!strings.Contains(body, `"addresses":["alice@`) {
		t.Fatalf("me: %d %s", res.StatusCode, body)
	}
	if res, _ := e.do("GET", "/web/api/me", "", nil); res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("me without a session: %d, challenge %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
	if res, _ := e.do("GET", "/web/api/me", "", map[string]string{"Cookie": web.CookieName + "=" + ck.Value, "Sec-Fetch-Site": "cross-site"}); res.StatusCode != 403 {
		t.Errorf("me from another site: %d", res.StatusCode)
	}
	// Sign-out from another site is refused and leaves the session.
	if res, _ := e.do("POST", "/web/logout", "", map[string]string{"Cookie": web.CookieName + "=" + ck.Value, "Sec-Fetch-Site": "cross-site"}); res.StatusCode != 403 {
		t.Errorf("cross-site logout: %d", res.StatusCode)
	}
	if res, _ := e.do("GET", "/web/api/me", "", cookie(ck.Value)); res.StatusCode != 200 {
		t.Fatalf("session lost to a refused logout: %d", res.StatusCode)
	}
	res, _ = e.do("POST", "/web/logout", "", cookie(ck.Value))
	if res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if cs := res.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Value != "" {
		t.Errorf("logout cookie %+v", cs)
	}
	if res, _ := e.do("GET", "/web/api/me", "", cookie(ck.Value)); res.StatusCode != 401 {
		t.Errorf("revoked session still opens: %d", res.StatusCode)
	}
}

// TestLogoutEverywhere ends every session of the user, not another user's.
func TestLogoutEverywhere(t *testing.T) {
	e := newEnv(t, nil, nil)
	a1, a2, b := e.login("alice", "pw-alice"), e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	if res, _ := e.do("POST", "/web/logout", "everywhere=1", cookie(a1)); res.StatusCode != 204 {
		t.Fatalf("logout everywhere: %d", res.StatusCode)
	}
	for tok, want := range map[string]int{a1: 401, a2: 401, b: 200} {
		if res, _ := e.do("GET", "/web/api/me", "", cookie(tok)); res.StatusCode != want {
			t.Errorf("after logout everywhere: %d, want %d", res.StatusCode, want)
		}
	}
}

// TestLoginThrottled: sign-in shares the authenticator's throttle; a
// throttled login is a temporary failure, not a wrong password.
func TestLoginThrottled(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.authn.Throttle = &auth.Throttle{BaseDelay: 1, BanAfter: 3, BanFor: time.Hour}
	for range 3 {
		e.do("POST", "/web/login", form("alice", "wrong"), sameOrigin)
	}
	res, body := e.do("POST", "/web/login", form("alice", "pw-alice"), sameOrigin)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || strings.Contains(body, "wrong") {
		t.Fatalf("throttled login: %d %s", res.StatusCode, body)
	}
}

// TestStoreFailure: a failing store is a temporary failure at sign-in and
// on every session check, never "wrong password" or "not signed in".
func TestStoreFailure(t *testing.T) {
	var fb *storefault.Backend
	e := newEnv(t, func(b store.Backend) store.Backend { fb = storefault.New(b); return fb }, nil)
	tok := e.login("alice", "pw-alice")
	fb.SetHook(func(context.Context, string) error { return errors.New("disk on fire") })
	if res, body := e.do("POST", "/web/login", form("alice", "pw-alice"), sameOrigin); res.StatusCode != 503 {
		t.Errorf("login with the store down: %d %s", res.StatusCode, body)
	}
	if res, _ := e.do("GET", "/web/api/me", "", cookie(tok)); res.StatusCode != 503 {
		t.Errorf("session check with the store down: %d", res.StatusCode)
	}
}

// TestHeaders: the app's security headers and caching.
func TestHeaders(t *testing.T) {
	e := newEnv(t, nil, map[string]string{"index.html": "<!doctype html><p>app</p>", "assets/app-ABC.js": "console.log(1)"})
	res, body := e.do("GET", "/", "", nil)
	if res.StatusCode != 200 || !strings.Contains(body, "<p>app</p>") {
		t.Fatalf("/: %d %s", res.StatusCode, body)
	}
	h := res.Header
	for k, want := range map[string]string{
		"Content-Security-Policy": web.AppCSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "Cache-Control": "no-cache", "Cross-Origin-Opener-Policy": "same-origin",
	} {
		if h.Get(k) != want {
			t.Errorf("/ %s: %q, want %q", k, h.Get(k), want)
		}
	}
	for _, d := range []string{"script-src 'self';", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "default-src 'none'"} {
		if !strings.Contains(web.AppCSP, d) {
			t.Errorf("CSP lacks %s", d)
		}
	}
	directives := map[string]string{}
	for _, d := range strings.Split(web.AppCSP, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if directives["script-src"] != "'self'" || directives["style-src"] != "'self'" || strings.Contains(web.AppCSP, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval script or inline style sheets: %s", web.AppCSP)
	}
	res, _ = e.do("GET", "/assets/app-ABC.js", "", nil)
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("asset: %d %v", res.StatusCode, res.Header)
	}
	for _, p := range []string{"/assets/nope.js", "/assets/../index.html", "/assets/", "/nothing"} {
		if res, _ := e.do("GET", p, "", nil); res.StatusCode != 404 && res.StatusCode != 301 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	if res, _ := e.do("POST", "/", "", nil); res.StatusCode != 405 {
		t.Errorf("POST /: %d", res.StatusCode)
	}
}

// TestEmbeddedBuild: the committed build has an index.html that loads
// only hashed same-origin assets, and no inline script.
func TestEmbeddedBuild(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, body := e.do("GET", "/", "", nil)
	if !strings.Contains(body, `<script type="module" src="/assets/app-`) || strings.Contains(body, "<script>") {
		t.Fatalf("index.html:\n%s", body)
	}
	i := strings.Index(body, `src="/assets/`)
	src := body[i+5 : i+5+strings.Index(body[i+5:], `"`)]
	if res, js := e.do("GET", src, "", nil); res.StatusCode != 200 || len(js) < 1000 {
		t.Fatalf("%s: %d, %d bytes", src, res.StatusCode, len(js))
	}
}

const attack = "From: m@example.com\r\nTo: alice@acme.test\r\nSubject: attack\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n" +
	"--b\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"<p>Gr=FC=DFe</p><script>alert(1)</script><img src=3Dx onerror=3Dalert(1)><a href=3D\"javascript:alert(1)\">j</a>\r\n--b--\r\n"

// TestHTMLView: the sanitised HTML body of one's own message, decoded;
// another user's message is not found; a message without HTML too.
func TestHTMLView(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := testenv.As(t, e.st, "alice")
	inbox := testenv.Folder(t, ctx, e.st, "alice", store.SpecialInbox)
	it, err := e.st.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(attack)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.st.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader("Subject: p\r\n\r\njust text\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := e.login("alice", "pw-alice"), e.login("bob", "pw-bob")
	path := "/web/api/html/" + jmap.FormatID('E', it.ID)
	res, body := e.do("GET", path, "", cookie(alice))
	if res.StatusCode != 200 || !strings.Contains(body, "<p>Grüße</p>") {
		t.Fatalf("html view: %d %q", res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("html view Cache-Control %q: a message would stay in the browser's cache after sign-out", cc)
	}
	for _, bad := range []string{"<script", "onerror", "javascript:", "alert"} {
		if strings.Contains(body, bad) {
			t.Errorf("html view kept %q: %s", bad, body)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != web.HTMLCSP || !strings.HasPrefix(csp, "sandbox") {
		t.Errorf("html view CSP %q", csp)
	}
	for _, c := range []struct {
		name, path, tok string
		want            int
	}{
		{"another user's message", path, bob, 404},
		{"no HTML body", "/web/api/html/" + jmap.FormatID('E', plain.ID), alice, 404},
		{"bad id", "/web/api/html/x1", alice, 404},
		{"no such message", "/web/api/html/E999999", alice, 404},
		{"not signed in", path, "", 401},
	} {
		if res, _ := e.do("GET", c.path, "", cookie(c.tok)); res.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.want)
		}
	}
}

// TestJMAPAuth: the hook the JMAP handler calls. No cookie: not handled
// (Basic applies); a bad cookie 401; cross-origin writes 403; reads from
// the app pass.
func TestJMAPAuth(t *testing.T) {
	st := testenv.Open(t, testenv.Options{})
	st.Tenants(t, "acme")
	st.User(t, "acme", store.User{Login: "alice", Active: true}, "pw-alice")
	authn := &directory.Authenticator{Store: st}
	s, err := web.New(web.Options{Assets: fstest.MapFS{"index.html": {Data: []byte("x")}}, Sessions: authn, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := authn.CreateSession(context.Background(), "alice", "pw-alice", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, token string
		hdr                 map[string]string
		handled             bool
		principal           bool
		code                int
	}{
		{"no cookie", "POST", "", nil, false, false, 200},
		{"no cookie, the app's script", "POST", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, true, false, 401},
		{"no cookie, a navigation", "GET", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}, false, false, 200},
		{"bad cookie", "POST", "roost-nope", map[string]string{"Sec-Fetch-Site": "same-origin"}, true, false, 401},
		{"same-origin write", "POST", sess.Token, map[string]string{"Sec-Fetch-Site": "same-origin"}, true, true, 200},
		{"cross-site write", "POST", sess.Token, map[string]string{"Sec-Fetch-Site": "cross-site"}, true, false, 403},
		{"same-site write", "POST", sess.Token, map[string]string{"Sec-Fetch-Site": "same-site"}, true, false, 403},
		{"write without metadata or Origin", "POST", sess.Token, nil, true, false, 403},
		{"write with our Origin", "POST", sess.Token, map[string]string{"Origin": "https://roost.test"}, true, true, 200},
		{"cross-site read", "GET", sess.Token, map[string]string{"Sec-Fetch-Site": "cross-site"}, true, false, 403},
		{"typed-in read", "GET", sess.Token, map[string]string{"Sec-Fetch-Site": "none"}, true, true, 200},
	} {
		r := httptest.NewRequest(c.method, "https://roost.test/jmap/api/", nil)
		if c.token != "" {
			r.AddCookie(&http.Cookie{Name: web.CookieName, Value: c.token})
		}
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		p, handled := s.JMAPAuth(w, r)
		if handled != c.handled || (p != nil) != c.principal || w.Code != c.code {
			t.Errorf("%s: handled %v principal %v code %d, want %v %v %d", c.name, handled, p != nil, w.Code, c.handled, c.principal, c.code)
		}
		if p != nil && p.Login != "alice" {
			t.Errorf("%s: principal %s", c.name, p.Login)
		}
		// Whatever JMAP answers to the browser (a downloaded attachment
		// of type text/html too) runs nothing and cannot be framed.
		if csp := w.Header().Get("Content-Security-Policy"); c.handled && (!strings.Contains(csp, "sandbox") || !strings.Contains(csp, "frame-ancestors 'none'")) {
			t.Errorf("%s: CSP %q on a cookie-authenticated JMAP answer", c.name, csp)
		}
	}
}

// TestLoginTOTP: a user with a second factor gets secondFactor after the
// right password, then signs in with password and code; a wrong or
// reused code is refused like a wrong password.
func TestLoginTOTP(t *testing.T) {
	e := newEnv(t, nil, nil)
	if _, _, err := e.authn.EnableTOTP(testenv.As(t, e.st, "alice"), "alice"); err != nil {
		t.Fatal(err)
	}
	key, err := e.st.GetTOTP(store.SystemContext(context.Background()), "alice")
	if err != nil {
		t.Fatal(err)
	}
	code := auth.TOTPCode(key.Key, auth.TOTPStep(time.Now()))
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1000000)
	withCode := func(c string) string {
		return url.Values{"login": {"alice"}, "password": {"pw-alice"}, "code": {c}}.Encode()
	}
	for _, c := range []struct {
		name, body, want string
		code             int
	}{
		{"password only", form("alice", "pw-alice"), `"secondFactor"`, 401},
		{"wrong password with the code", url.Values{"login": {"alice"}, "password": {"nope"}, "code": {code}}.Encode(), `"badCredentials"`, 401},
		{"wrong code", withCode(wrong), `"badCredentials"`, 401},
		{"right code", withCode(code), "", 204},
		{"the same code again", withCode(code), `"badCredentials"`, 401},
	} {
		res, body := e.do("POST", "/web/login", c.body, sameOrigin)
		if res.StatusCode != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.StatusCode, body, c.code, c.want)
		}
		if (res.StatusCode == 204) != (len(res.Cookies()) == 1) {
			t.Errorf("%s: cookies %v", c.name, res.Cookies())
		}
	}
	// Bob has no second factor: a code is ignored.
	if res, _ := e.do("POST", "/web/login", url.Values{"login": {"bob"}, "password": {"pw-bob"}, "code": {"123456"}}.Encode(), sameOrigin); res.StatusCode != 204 {
		t.Errorf("bob with a stray code: %d", res.StatusCode)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestHTMLViewShared: a message of a folder shared with the user with
// the read right is shown to it (the web client reads shared folders);
// one only looked up ("l"), or of a folder not shared, is 404; a share
// taken away ends it; the owner still reads it.
func TestHTMLViewShared(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.st.User(t, "acme", store.User{Login: "carol", Active: true}, "pw-carol")
	ctx := testenv.As(t, e.st, "alice")
	inbox := testenv.Folder(t, ctx, e.st, "alice", store.SpecialInbox)
	it, err := e.st.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(attack)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetACL(ctx, inbox.ID, store.UserSubject("bob"), "lr"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetACL(ctx, inbox.ID, store.UserSubject("carol"), "l"); err != nil {
		t.Fatal(err)
	}
	alice, bob, carol := e.login("alice", "pw-alice"), e.login("bob", "pw-bob"), e.login("carol", "pw-carol")
	path := "/web/api/html/" + jmap.FormatID('E', it.ID)
	res, body := e.do("GET", path, "", cookie(bob))
	if res.StatusCode != 200 || !strings.Contains(body, "<p>Grüße</p>") || strings.Contains(body, "<script") {
		t.Fatalf("a message shared with bob: %d %q", res.StatusCode, body)
	}
	if res, _ := e.do("GET", path, "", cookie(carol)); res.StatusCode != 404 {
		t.Errorf("carol, lookup right only: %d, want 404", res.StatusCode)
	}
	if err := e.st.DeleteACL(ctx, inbox.ID, store.UserSubject("bob")); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.do("GET", path, "", cookie(bob)); res.StatusCode != 404 {
		t.Errorf("bob after the share was taken away: %d, want 404", res.StatusCode)
	}
	if res, _ := e.do("GET", path, "", cookie(alice)); res.StatusCode != 200 {
		t.Errorf("alice, the owner: %d, want 200", res.StatusCode)
	}
}

// TestHTMLViewArchiveLookupFails: when the archive store cannot be
// looked up, a message of another store (here one shared with the user)
// is a temporary failure (503), not "no such message"; so is a failing
// lookup of the shared folders.
func TestHTMLViewArchiveLookupFails(t *testing.T) {
	var fb *storefault.Backend
	e := newEnv(t, func(b store.Backend) store.Backend { fb = storefault.New(b); return fb }, nil)
	ctx := testenv.As(t, e.st, "alice")
	inbox := testenv.Folder(t, ctx, e.st, "alice", store.SpecialInbox)
	it, err := e.st.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(attack)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetACL(ctx, inbox.ID, store.UserSubject("bob"), "lr"); err != nil {
		t.Fatal(err)
	}
	bob := e.login("bob", "pw-bob")
	path := "/web/api/html/" + jmap.FormatID('E', it.ID)
	if res, body := e.do("GET", path, "", cookie(bob)); res.StatusCode != 200 {
		t.Fatalf("a shared message: %d %s, want 200", res.StatusCode, body)
	}
	fb.Fail(nil, "UserArchive")
	if res, body := e.do("GET", path, "", cookie(bob)); res.StatusCode != 503 {
		t.Errorf("archive lookup failing: %d %s, want 503", res.StatusCode, body)
	}
	fb.Heal("UserArchive")
	fb.Fail(nil, "SharedFolders")
	if res, body := e.do("GET", path, "", cookie(bob)); res.StatusCode != 503 {
		t.Errorf("shared folders lookup failing: %d %s, want 503", res.StatusCode, body)
	}
}
