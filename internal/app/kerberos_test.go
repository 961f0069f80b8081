package app

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/testenv"
)

// krbSetup is a KDC, Roost with its keytab, and client environments.
type krbSetup struct {
	kdc              *testenv.KDC
	alice, carol     []string
	http, imap, pop3 string
	smtp, sieve      string
}

// kerberosServer starts a KDC with service keys for localhost and users
// alice (also a Roost user) and carol (only in the realm), and Roost
// (users alice and bob) with the keytab and extra configuration. It
// returns the client environments with alice's and carol's tickets and
// the listeners' addresses.
func kerberosServer(t *testing.T, extra string) *krbSetup {
	t.Helper()
	k := testenv.StartKDC(t)
	kt := k.ServiceKeytab("HTTP/localhost", "imap/localhost", "pop/localhost", "smtp/localhost", "sieve/localhost")
	k.AddUser("alice", "pw-alice")
	k.AddUser("carol", "pw-carol")
	s := &krbSetup{kdc: k, http: freePort(t), imap: freePort(t), pop3: freePort(t), smtp: freePort(t), sieve: freePort(t)}
	dir := t.TempDir()
	admin := startServer(t, dir, fmt.Sprintf("http_listen = %q\nimap_listen = %q\npop3_listen = %q\nsubmission_listen = %q\nmanagesieve_listen = %q\nallow_plaintext_auth = true\nkerberos_keytab = %q\n%s",
		s.http, s.imap, s.pop3, s.smtp, s.sieve, kt, extra))
	adminCall(t, admin, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"pw"}`, 201)
	adminCall(t, admin, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","password":"pw"}`, 201)
	s.alice = k.Kinit("alice", "pw-alice", k.Dir()+"/alice.cc")
	s.carol = k.Kinit("carol", "pw-carol", k.Dir()+"/carol.cc")
	return s
}

func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

// curlNegotiate runs curl --negotiate and returns the status code.
func curlNegotiate(t *testing.T, env []string, url string) string {
	t.Helper()
	cmd := exec.Command("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--negotiate", "-u", ":", url)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s: %v %s", url, err, out)
	}
	return string(out)
}

// TestKerberosHTTP: curl --negotiate (Debian curl, MIT GSS-API) with
// a ticket from a real MIT KDC signs in to JMAP and DAV; the challenge
// offers Negotiate next to Basic; a principal with no Roost user, a
// client without a ticket and a realm not allowed are refused.
func TestKerberosHTTP(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	s := kerberosServer(t, "")
	base := "http://localhost:" + port(s.http)
	for _, path := range []string{"/jmap/session", "/dav/calendars/alice/"} {
		if code := curlNegotiate(t, s.alice, base+path); code != "200" && code != "207" {
			t.Fatalf("alice %s: %s", path, code)
		}
		if code := curlNegotiate(t, s.carol, base+path); code != "401" {
			t.Fatalf("carol (no Roost user) %s: %s", path, code)
		}
	}
	noTicket := append(append([]string(nil), s.alice...), "KRB5CCNAME=FILE:"+s.kdc.Dir()+"/none.cc")
	if code := curlNegotiate(t, noTicket, base+"/jmap/session"); code != "401" {
		t.Fatalf("no ticket: %s", code)
	}
	out, err := exec.Command("curl", "-s", "-D", "-", "-o", "/dev/null", base+"/jmap/session").Output()
	if h := strings.ToLower(string(out)); err != nil || !strings.Contains(h, "www-authenticate: negotiate\r\n") || !strings.Contains(h, "www-authenticate: basic") {
		t.Fatalf("challenge: %v\n%s", err, out)
	}
}

// TestKerberosWeb: GET /auth/negotiate with curl --negotiate opens a
// web session: the cookie it sets works on the web client's API; a
// principal without a Roost user gets 401 and no cookie.
func TestKerberosWeb(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	s := kerberosServer(t, "")
	url := "http://localhost:" + port(s.http) + "/auth/negotiate"
	run := func(env []string) (string, string) {
		cmd := exec.Command("curl", "-s", "-D", "-", "-o", "/dev/null", "--negotiate", "-u", ":", url)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		status, cookie := "", ""
		for _, l := range strings.Split(string(out), "\r\n") {
			if strings.HasPrefix(l, "HTTP/") {
				status = strings.Fields(l)[1]
			}
			if strings.HasPrefix(strings.ToLower(l), "set-cookie: ") {
				cookie = strings.SplitN(l[len("set-cookie: "):], ";", 2)[0]
			}
		}
		return status, cookie
	}
	status, cookie := run(s.alice)
	if status != "303" || cookie == "" {
		t.Fatalf("alice: %s %q", status, cookie)
	}
	out, err := exec.Command("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Cookie: "+cookie,
		"http://localhost:"+port(s.http)+"/web/api/me").Output()
	if err != nil || string(out) != "200" {
		t.Fatalf("session cookie on /web/api/me: %v %s", err, out)
	}
	if status, cookie := run(s.carol); status != "401" || cookie != "" {
		t.Fatalf("carol: %s %q", status, cookie)
	}
}

// TestKerberosHTTPRealm: with kerberos_realms naming another realm the
// same ticket is refused, and kerberos_map maps it.
func TestKerberosHTTPRealm(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	s := kerberosServer(t, "kerberos_realms = [\"OTHER.TEST\"]\nkerberos_map = [\"carol@"+testenv.KDCRealm+"=bob@example.org\"]\n")
	base := "http://localhost:" + port(s.http)
	if code := curlNegotiate(t, s.alice, base+"/jmap/session"); code != "401" {
		t.Fatalf("alice of a realm not allowed: %s", code)
	}
	if code := curlNegotiate(t, s.carol, base+"/jmap/session"); code != "200" {
		t.Fatalf("carol mapped to bob: %s", code)
	}
}

// gssMail runs testdata/gssapi_mail.py (imaplib, or a raw POP3 AUTH)
// and returns its JSON answer.
func gssMail(t *testing.T, env []string, proto, addr string, args ...string) map[string]any {
	t.Helper()
	script, _ := filepath.Abs("testdata/gssapi_mail.py")
	cmd := exec.Command("/usr/bin/python3", append([]string{script, proto, port(addr)}, args...)...)
	cmd.Env = env
	out, err := cmd.Output()
	var r map[string]any
	if jerr := json.Unmarshal(out, &r); err != nil || jerr != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python %s: %v %v\n%s\n%s", proto, err, jerr, out, stderr)
	}
	return r
}

// TestKerberosSASL: Python's imaplib (AUTHENTICATE GSSAPI) and POP3,
// SMTP submission and ManageSieve AUTH GSSAPI clients, all on MIT's
// libgssapi, sign in with a ticket from
// a real MIT KDC; GSSAPI is advertised; a principal without a Roost
// user, an authorization identity of another user and a ticket of a
// realm not allowed are refused.
func TestKerberosSASL(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("python3-gssapi required")
		}
		t.Skip("python3-gssapi not installed")
	}
	s := kerberosServer(t, "")
	r := gssMail(t, s.alice, "imap", s.imap)
	if r["ok"] != true || r["selected"] != true || !strings.Contains(fmt.Sprint(r["caps"]), "AUTH=GSSAPI") {
		t.Fatalf("imap alice: %v", r)
	}
	r = gssMail(t, s.alice, "imap", s.imap, "alice@example.org")
	if r["ok"] != true {
		t.Fatalf("imap alice as her own address: %v", r)
	}
	r = gssMail(t, s.alice, "imap", s.imap, "bob")
	if r["ok"] != false || !strings.Contains(fmt.Sprint(r["error"]), "AUTHENTICATIONFAILED") {
		t.Fatalf("imap alice as bob: %v", r)
	}
	r = gssMail(t, s.carol, "imap", s.imap)
	if r["ok"] != false || !strings.Contains(fmt.Sprint(r["error"]), "AUTHENTICATIONFAILED") {
		t.Fatalf("imap carol (no Roost user): %v", r)
	}
	r = gssMail(t, s.alice, "pop3", s.pop3)
	if r["ok"] != true || !strings.HasPrefix(fmt.Sprint(r["stat"]), "+OK") || !strings.Contains(fmt.Sprint(r["caps"]), "GSSAPI") {
		t.Fatalf("pop3 alice: %v", r)
	}
	r = gssMail(t, s.carol, "pop3", s.pop3)
	if r["ok"] != false || !strings.Contains(fmt.Sprint(r["error"]), "[AUTH]") {
		t.Fatalf("pop3 carol: %v", r)
	}
	r = gssMail(t, s.alice, "smtp", s.smtp)
	if r["ok"] != true || !strings.Contains(fmt.Sprint(r["caps"]), "GSSAPI") {
		t.Fatalf("smtp alice: %v", r)
	}
	r = gssMail(t, s.carol, "smtp", s.smtp)
	if r["ok"] != false || !strings.HasPrefix(fmt.Sprint(r["error"]), "535") {
		t.Fatalf("smtp carol: %v", r)
	}
	r = gssMail(t, s.alice, "sieve", s.sieve)
	if r["ok"] != true || !strings.Contains(fmt.Sprint(r["caps"]), "GSSAPI") {
		t.Fatalf("sieve alice: %v", r)
	}
	r = gssMail(t, s.carol, "sieve", s.sieve)
	if r["ok"] != false || !strings.HasPrefix(fmt.Sprint(r["error"]), "NO") {
		t.Fatalf("sieve carol: %v", r)
	}
}
