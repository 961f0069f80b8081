package app

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// protoClient logs in over one protocol with a password (PLAIN or the
// protocol's own command) or a bearer token (OAUTHBEARER or XOAUTH2) and
// reports whether the server accepted it.
type protoClient struct {
	t                                    *testing.T
	imap, pop3, smtp, sieve, http, audit string
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func oauthbearer(user, tok string) string {
	return "n,a=" + user + ",\x01auth=Bearer " + tok + "\x01\x01"
}
func xoauth2(user, tok string) string { return "user=" + user + "\x01auth=Bearer " + tok + "\x01\x01" }

// dialog connects to addr, reads the greeting (through the line starting
// with greetEnd) and returns a function that sends a line and reads the
// reply through a line for which done reports true.
func (c *protoClient) dialog(addr, greetEnd string) (func(line string, done func(string) bool) string, func()) {
	c.t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	read := func(done func(string) bool) string {
		var all strings.Builder
		for {
			l, err := r.ReadString('\n')
			all.WriteString(l)
			if err != nil {
				c.t.Fatalf("%s: %v after %q", addr, err, all.String())
			}
			if done(l) {
				return all.String()
			}
		}
	}
	read(func(l string) bool { return strings.HasPrefix(l, greetEnd) })
	send := func(line string, done func(string) bool) string {
		fmt.Fprintf(conn, "%s\r\n", line)
		return read(done)
	}
	return send, func() { conn.Close() }
}

func prefix(p ...string) func(string) bool {
	return func(l string) bool {
		for _, x := range p {
			if strings.HasPrefix(l, x) {
				return true
			}
		}
		return false
	}
}

func (c *protoClient) imapLogin(user, pw string) bool {
	send, done := c.dialog(c.imap, "* OK")
	defer done()
	return strings.HasPrefix(send(fmt.Sprintf("a LOGIN %s %q", user, pw), prefix("a ")), "a OK")
}

// imapBearer runs AUTHENTICATE with an initial response; a refused
// token's error challenge is answered with %x01 (RFC 7628 §3.2.3).
func (c *protoClient) imapBearer(mech, msg string) bool {
	send, done := c.dialog(c.imap, "* OK")
	defer done()
	out := send("a AUTHENTICATE "+mech+" "+b64(msg), prefix("a ", "+"))
	if strings.HasPrefix(out, "+") {
		out = send(b64("\x01"), prefix("a "))
	}
	return strings.HasPrefix(out, "a OK")
}

func (c *protoClient) pop3Login(user, pw string) bool {
	send, done := c.dialog(c.pop3, "+OK")
	defer done()
	send("USER "+user, prefix("+OK", "-ERR"))
	return strings.HasPrefix(send("PASS "+pw, prefix("+OK", "-ERR")), "+OK")
}

func (c *protoClient) pop3Bearer(mech, msg string) bool {
	send, done := c.dialog(c.pop3, "+OK")
	defer done()
	out := send("AUTH "+mech+" "+b64(msg), prefix("+OK", "-ERR", "+ "))
	if strings.HasPrefix(out, "+ ") {
		out = send(b64("\x01"), prefix("+OK", "-ERR"))
	}
	return strings.HasPrefix(out, "+OK")
}

func (c *protoClient) smtpAuth(mech, msg string) bool {
	send, done := c.dialog(c.smtp, "220 ")
	defer done()
	send("EHLO client.test", prefix("250 "))
	out := send("AUTH "+mech+" "+b64(msg), prefix("235", "535", "454", "334", "5"))
	if strings.HasPrefix(out, "334") {
		out = send(b64("\x01"), prefix("235", "535", "454", "5"))
	}
	return strings.HasPrefix(out, "235")
}

func (c *protoClient) sieveAuth(mech, msg string) bool {
	send, done := c.dialog(c.sieve, "OK")
	defer done()
	out := send(fmt.Sprintf("AUTHENTICATE %q %q", mech, b64(msg)), prefix("OK", "NO", "BYE", "\""))
	if strings.HasPrefix(out, "\"") {
		out = send(fmt.Sprintf("%q", b64("\x01")), prefix("OK", "NO", "BYE"))
	}
	return strings.HasPrefix(out, "OK")
}

// httpDo sends a JMAP session or DAV PROPFIND request with Basic (user,
// pw) or, with user "", Bearer pw, and returns the status.
func (c *protoClient) httpDo(service, user, pw string) int {
	c.t.Helper()
	method, path := "GET", "/.well-known/jmap"
	switch service {
	case "dav":
		method, path = "PROPFIND", "/dav/"
	case "eas":
		method, path = "OPTIONS", "/Microsoft-Server-ActiveSync"
	}
	req, _ := http.NewRequest(method, "http://"+c.http+path, nil)
	req.Header.Set("Depth", "0")
	if user != "" {
		req.SetBasicAuth(user, pw)
	} else {
		req.Header.Set("Authorization", "Bearer "+pw)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// passwordOn logs in with a password on one protocol.
func (c *protoClient) passwordOn(proto, user, pw string) bool {
	switch proto {
	case "imap":
		return c.imapLogin(user, pw)
	case "pop3":
		return c.pop3Login(user, pw)
	case "smtp":
		return c.smtpAuth("PLAIN", "\x00"+user+"\x00"+pw)
	case "sieve":
		return c.sieveAuth("PLAIN", "\x00"+user+"\x00"+pw)
	case "dav":
		return c.httpDo("dav", user, pw) == http.StatusMultiStatus
	case "jmap":
		return c.httpDo("jmap", user, pw) == http.StatusOK
	case "eas":
		return c.httpDo("eas", user, pw) == http.StatusOK
	}
	c.t.Fatalf("protocol %s", proto)
	return false
}

// tokenOn presents a bearer token on one protocol (XOAUTH2 when x).
func (c *protoClient) tokenOn(proto, user, tok string, x bool) bool {
	mech, msg := "OAUTHBEARER", oauthbearer(user, tok)
	if x {
		mech, msg = "XOAUTH2", xoauth2(user, tok)
	}
	switch proto {
	case "imap":
		return c.imapBearer(mech, msg)
	case "pop3":
		return c.pop3Bearer(mech, msg)
	case "smtp":
		return c.smtpAuth(mech, msg)
	case "sieve":
		return c.sieveAuth(mech, msg)
	case "dav":
		return c.httpDo("dav", "", tok) == http.StatusMultiStatus
	case "jmap":
		return c.httpDo("jmap", "", tok) == http.StatusOK
	case "eas":
		return c.httpDo("eas", "", tok) == http.StatusOK
	}
	c.t.Fatalf("protocol %s", proto)
	return false
}

var allProtocols = []string{"imap", "pop3", "smtp", "sieve", "dav", "jmap", "eas"}

// isHTTP: the protocols whose bearer tokens travel in an HTTP header.
func isHTTP(p string) bool { return p == "jmap" || p == "dav" || p == "eas" }

// TestTokensAndAppPasswordsEverywhere runs the composed server: app
// passwords and bearer tokens made through the admin API work on the
// protocols they are scoped to and no other, stop at once when revoked,
// and expire; the audit log names each creation and revocation but never
// the secret.
func TestTokensAndAppPasswordsEverywhere(t *testing.T) {
	dir := t.TempDir()
	c := &protoClient{t: t, imap: freePort(t), pop3: freePort(t), smtp: freePort(t), sieve: freePort(t), http: freePort(t),
		audit: filepath.Join(dir, "audit.log")}
	admin := startServer(t, dir, fmt.Sprintf("imap_listen = %q\npop3_listen = %q\nsubmission_listen = %q\nmanagesieve_listen = %q\n"+
		"http_listen = %q\nallow_plaintext_auth = true\naudit_log_file = %q\npassword_argon2_memory = 8\npassword_argon2_time = 1\n",
		c.imap, c.pop3, c.smtp, c.sieve, c.http, c.audit))
	adminCall(t, admin, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"account pw"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","password":"bob pw"}`, 201)
	secret := func(path, body, field string) string {
		t.Helper()
		var m map[string]any
		json.Unmarshal([]byte(adminCall(t, admin, "PUT", path, body, 201)), &m)
		s, _ := m[field].(string)
		if s == "" {
			t.Fatalf("PUT %s: no %s in %v", path, field, m)
		}
		return s
	}
	for _, p := range allProtocols {
		if !c.passwordOn(p, "alice", "account pw") {
			t.Fatalf("account password refused on %s", p)
		}
	}

	// App passwords: one for everything, one per protocol.
	all := secret("/v1/users/alice/app-passwords/laptop", `{}`, "password")
	per := map[string]string{}
	for _, p := range allProtocols {
		per[p] = secret("/v1/users/alice/app-passwords/only-"+p, `{"protocols":["`+p+`"]}`, "password")
	}
	for _, p := range allProtocols {
		if !c.passwordOn(p, "alice", all) {
			t.Errorf("app password for all refused on %s", p)
		}
		if !c.passwordOn(p, "alice@example.org", per[p]) {
			t.Errorf("app password for %s refused there", p)
		}
		for _, q := range allProtocols {
			if q != p && c.passwordOn(q, "alice", per[p]) {
				t.Errorf("app password for %s accepted on %s", p, q)
			}
		}
		if c.passwordOn(p, "bob", all) {
			t.Errorf("alice's app password accepted for bob on %s", p)
		}
	}

	// Bearer tokens: scoped, XOAUTH2 too, and on HTTP.
	mail := secret("/v1/users/alice/tokens/mail", `{"scopes":["imap","pop3","smtp","sieve"]}`, "token")
	web := secret("/v1/users/alice/tokens/web", `{"scopes":["jmap","dav","eas"]}`, "token")
	for _, p := range allProtocols {
		good, bad := mail, web
		if isHTTP(p) {
			good, bad = web, mail
		}
		if !c.tokenOn(p, "alice", good, false) {
			t.Errorf("token refused on %s", p)
		}
		if !isHTTP(p) && !c.tokenOn(p, "alice", good, true) {
			t.Errorf("token refused on %s with XOAUTH2", p)
		}
		if c.tokenOn(p, "alice", bad, false) {
			t.Errorf("token of another scope accepted on %s", p)
		}
		if !isHTTP(p) && c.tokenOn(p, "bob", good, false) {
			t.Errorf("alice's token accepted as bob on %s", p)
		}
	}
	// A token out of scope is 403 insufficient_scope on HTTP.
	if code := c.httpDo("dav", "", mail); code != http.StatusForbidden {
		t.Errorf("DAV with a mail-only token: %d", code)
	}

	// Revocation: refused at once everywhere.
	adminCall(t, admin, "DELETE", "/v1/users/alice/app-passwords/laptop", "", 204)
	adminCall(t, admin, "DELETE", "/v1/users/alice/tokens/mail", "", 204)
	adminCall(t, admin, "DELETE", "/v1/users/alice/tokens/web", "", 204)
	for _, p := range allProtocols {
		if c.passwordOn(p, "alice", all) {
			t.Errorf("revoked app password accepted on %s", p)
		}
		tok := mail
		if isHTTP(p) {
			tok = web
		}
		if c.tokenOn(p, "alice", tok, false) {
			t.Errorf("revoked token accepted on %s", p)
		}
		// Those were failures the throttle counts: a success from the
		// same address clears its counter, so the test need not wait
		// out growing delays.
		if !c.passwordOn("imap", "alice", "account pw") {
			t.Fatal("account password refused")
		}
	}

	// Expiry (the API takes whole seconds): a token good for a moment.
	exp := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
	short := secret("/v1/users/alice/tokens/short", `{"expires":"`+exp+`"}`, "token")
	if !c.tokenOn("imap", "alice", short, false) {
		t.Fatal("token refused before its expiry")
	}
	until, _ := time.Parse(time.RFC3339, exp)
	time.Sleep(time.Until(until) + 50*time.Millisecond)
	for _, p := range allProtocols {
		if c.tokenOn(p, "alice", short, false) {
			t.Errorf("expired token accepted on %s", p)
		}
	}

	// The audit log names what was made and revoked, never the secret,
	// and records logins by app password and bearer token.
	var audit string
	waitFor(t, "audit lines", func() bool {
		b, _ := os.ReadFile(c.audit)
		audit = string(b)
		return strings.Contains(audit, "DELETE /v1/users/alice/tokens/web")
	})
	for _, want := range []string{"PUT /v1/users/alice/app-passwords/laptop", "DELETE /v1/users/alice/app-passwords/laptop",
		"PUT /v1/users/alice/tokens/mail", `"mechanism":"app-password"`, `"mechanism":"bearer"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	for _, s := range append([]string{all, mail, web, short}, per["imap"]) {
		if strings.Contains(audit, s) {
			t.Fatalf("audit log holds a secret")
		}
	}
}

// TestPythonOAuthBearer: Python's own imaplib and smtplib log in with
// AUTHENTICATE/AUTH OAUTHBEARER and a token made with the admin API,
// SMTP sends a message; a revoked token is refused by both (after the
// RFC 7628 error challenge, which the libraries answer).
func TestPythonOAuthBearer(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("python3 required")
		}
		t.Skip("no /usr/bin/python3")
	}
	dir := t.TempDir()
	imapAddr, smtpAddr := freePort(t), freePort(t)
	admin := startServer(t, dir, fmt.Sprintf("imap_listen = %q\nsubmission_listen = %q\nallow_plaintext_auth = true\n", imapAddr, smtpAddr))
	adminCall(t, admin, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"pw"}`, 201)
	adminCall(t, admin, "POST", "/v1/deliver?rcpt=alice@example.org", "Subject: hi\r\n\r\nhello\r\n", 201)
	var created struct {
		Token string `json:"token"`
	}
	json.Unmarshal([]byte(adminCall(t, admin, "PUT", "/v1/users/alice/tokens/python", `{"scopes":["imap","smtp"]}`, 201)), &created)
	script, _ := filepath.Abs("testdata/oauthbearer.py")
	run := func() map[string]map[string]any {
		t.Helper()
		out, err := exec.Command(py, script, imapAddr, smtpAddr, "alice", created.Token).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("python: %v\n%s\n%s", err, out, stderr)
		}
		var r map[string]map[string]any
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return r
	}
	r := run()
	if r["imap"]["ok"] != true || r["imap"]["exists"] != 1.0 || r["smtp"]["ok"] != true || r["smtp"]["auth"] != 235.0 {
		t.Fatalf("valid token: %v", r)
	}
	adminCall(t, admin, "DELETE", "/v1/users/alice/tokens/python", "", 204)
	r = run()
	if r["imap"]["ok"] != false || !strings.Contains(fmt.Sprint(r["imap"]["error"]), "AUTHENTICATIONFAILED") ||
		r["smtp"]["ok"] != false || r["smtp"]["code"] != 535.0 {
		t.Fatalf("revoked token: %v", r)
	}
}

// sasl_oauthbearer decides whether the mail protocols offer the bearer
// mechanisms (default on); HTTP Bearer is not affected.
func TestSASLBearerSwitch(t *testing.T) {
	for _, on := range []bool{true, false} {
		dir := t.TempDir()
		c := &protoClient{t: t, imap: freePort(t), pop3: freePort(t), smtp: freePort(t), sieve: freePort(t), http: freePort(t)}
		admin := startServer(t, dir, fmt.Sprintf("imap_listen = %q\npop3_listen = %q\nsubmission_listen = %q\nmanagesieve_listen = %q\n"+
			"http_listen = %q\nallow_plaintext_auth = true\nsasl_oauthbearer = %v\n", c.imap, c.pop3, c.smtp, c.sieve, c.http, on))
		adminCall(t, admin, "POST", "/v1/users", `{"login":"alice","password":"pw"}`, 201)
		var created struct {
			Token string `json:"token"`
		}
		json.Unmarshal([]byte(adminCall(t, admin, "PUT", "/v1/users/alice/tokens/t", `{}`, 201)), &created)
		send, done := c.dialog(c.imap, "* OK")
		imapCaps := send("a CAPABILITY", prefix("a "))
		done()
		send, done = c.dialog(c.pop3, "+OK")
		pop3Caps := send("CAPA", prefix("."))
		done()
		send, done = c.dialog(c.smtp, "220 ")
		smtpCaps := send("EHLO x", prefix("250 "))
		done()
		for name, caps := range map[string]string{"IMAP": imapCaps, "POP3": pop3Caps, "SMTP": smtpCaps} {
			if strings.Contains(caps, "OAUTHBEARER") != on || strings.Contains(caps, "XOAUTH2") != on {
				t.Errorf("sasl_oauthbearer = %v: %s offers %q", on, name, caps)
			}
		}
		if got := c.tokenOn("imap", "alice", created.Token, false); got != on {
			t.Errorf("sasl_oauthbearer = %v: IMAP OAUTHBEARER login %v", on, got)
		}
		if !c.tokenOn("jmap", "", created.Token, false) {
			t.Errorf("sasl_oauthbearer = %v: JMAP Bearer refused", on)
		}
	}
}

// TestLDAPAppPassword: a user of an LDAP directory (user_plugin = ldap,
// a real slapd) gets an app password once Roost knows it; the app
// password is checked by Roost alone, so it works with the directory
// down, and a revoked one is refused.
func TestLDAPAppPassword(t *testing.T) {
	srv := testenv.StartSlapd(t)
	srv.AddUser("alice", "alice-pw", "alice@example.org")
	dir := t.TempDir()
	c := &protoClient{t: t, imap: freePort(t)}
	admin := startServer(t, dir, fmt.Sprintf("imap_listen = %q\nallow_plaintext_auth = true\n"+
		"user_plugin = \"ldap\"\nldap_uri = %q\nldap_bind_user = %q\nldap_bind_passwd = %q\nldap_search_base = %q\n"+
		"ldap_tenant = \"example\"\nldap_network_timeout = 2\n",
		c.imap, srv.URI, testenv.SlapdSvcDN, testenv.SlapdSvcPW, testenv.SlapdSuffix))
	if !c.imapLogin("alice", "alice-pw") { // provisions alice in Roost
		t.Fatal("LDAP login refused")
	}
	var created struct {
		Password string `json:"password"`
	}
	json.Unmarshal([]byte(adminCall(t, admin, "PUT", "/v1/users/alice/app-passwords/phone", `{"protocols":["imap"]}`, 201)), &created)
	if !c.imapLogin("alice", created.Password) {
		t.Fatal("app password of an LDAP user refused")
	}
	srv.Stop()
	if !c.imapLogin("alice@example.org", created.Password) {
		t.Fatal("app password refused with the directory down")
	}
	adminCall(t, admin, "DELETE", "/v1/users/alice/app-passwords/phone", "", 204)
	if c.imapLogin("alice", created.Password) {
		t.Fatal("revoked app password accepted")
	}
}
