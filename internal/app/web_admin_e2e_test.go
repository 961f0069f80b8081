package app

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWebAdminE2E drives the web admin and the account settings in
// Chromium (web/e2e/admin.mjs): a tenant administrator creates a user,
// sets a quota, adds, edits and deletes contacts and does not see another
// tenant; a system administrator
// sees a domain's DNS table; a user sets out-of-office and creates and
// revokes an app password (IMAP login with it succeeds, then fails);
// cross-site requests refused; axe-core on every new view. Here, before
// and after: the same tenancy at the API level with a direct request,
// and the results through the admin socket (`roost admin user oof`'s
// endpoint).
func TestWebAdminE2E(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr, imapAddr := freePort(t), freePort(t)
	auditPath := filepath.Join(dir, "audit.log")
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\nimap_listen = %q\nallow_plaintext_auth = true\naudit_log_file = %q\n", httpsAddr, imapAddr, auditPath))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/tenants", `{"name":"globex"}`, 201) // after the domain: one tenant then
	adminCall(t, c, "POST", "/v1/domains", `{"name":"globex.test","tenant":"globex"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"tad","tenant":"default","email":"tad@example.org","name":"Tenant Admin","password":"pw-tad-12345","admin":1}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"sysop","tenant":"default","email":"sysop@example.org","name":"System Admin","password":"pw-sysop-12345","admin":2}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"olly","tenant":"default","email":"olly@example.org","name":"Olly","password":"pw-olly-12345"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"gina","tenant":"globex","email":"gina@globex.test","name":"Gina","password":"pw-gina-12345"}`, 201)
	adminCall(t, c, "POST", "/v1/contacts", `{"email":"partner@globex.test","name":"Globex Partner","tenant":"globex"}`, 201)

	base := "https://" + httpsAddr
	// The API level, without a browser: the tenant admin's session
	// cookie, a direct request for the other tenant.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	do := func(method, path, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}
	if st, b := do("POST", "/web/login", url.Values{"login": {"tad"}, "password": {"pw-tad-12345"}}.Encode(),
		map[string]string{"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"}); st != 204 {
		t.Fatalf("tenant admin login: %d %s", st, b)
	}
	if st, b := do("GET", "/web/admin/v1/users", "", same); st != 200 || strings.Contains(b, "gina") || !strings.Contains(b, "olly") {
		t.Fatalf("tenant admin's users: %d %s", st, b)
	}
	if st, b := do("GET", "/web/admin/v1/users/gina", "", same); st != 404 && st != 403 {
		t.Fatalf("another tenant's user: %d %s", st, b)
	}
	if st, b := do("PATCH", "/web/admin/v1/users/gina", `{"active":false}`, same); st/100 == 2 {
		t.Fatalf("disabled another tenant's user: %d %s", st, b)
	}
	if st, b := do("POST", "/web/admin/v1/users", `{"login":"x1","password":"x1-pw-12345"}`, map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}); st != 403 {
		t.Fatalf("cross-site admin request: %d %s", st, b)
	}

	out := runWebE2E(t, node, chromium, webDir, "admin.mjs", "web-admin-e2e",
		"BASE="+base, "IMAP="+imapAddr, "TADMIN=tad", "TADMIN_PW=pw-tad-12345", "ROOT=sysop", "ROOT_PW=pw-sysop-12345", "OTHER=gina", "USER=olly", "USER_PW=pw-olly-12345")

	// The user the tenant admin made, with the quota, in their tenant.
	var u struct {
		Tenant string
		Quota  struct {
			Override bool
			Hard     int64
		}
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/users/newbie", "", 200)), &u)
	if u.Tenant != "default" || !u.Quota.Override || u.Quota.Hard != 100<<20 {
		t.Errorf("newbie as made in the browser: %+v", u)
	}
	// The contacts the tenant admin made, edited and deleted, as
	// `roost admin contact list` reads them; globex's untouched.
	var cs []struct {
		Email, Name, Tenant string
		Hidden              bool
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/contacts?tenant=default", "", 200)), &cs)
	if len(cs) != 1 || cs[0].Email != "supplies@vendor.example" || cs[0].Name != "Vendor Supplies Ltd" || !cs[0].Hidden {
		t.Errorf("contacts as made in the browser: %+v", cs)
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/contacts?tenant=globex", "", 200)), &cs)
	if len(cs) != 1 || cs[0].Email != "partner@globex.test" {
		t.Errorf("globex's contacts: %+v", cs)
	}
	// Out-of-office as `roost admin user oof olly` reads it.
	var oof struct {
		Enabled          bool
		Subject, Message string
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/users/olly/oof", "", 200)), &oof)
	if !oof.Enabled || oof.Subject != "Away this week" || oof.Message != "I am away until Monday." {
		t.Errorf("out-of-office set in the settings, through the admin API: %+v", oof)
	}
	// The revoked app password no longer opens IMAP.
	var secret string
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "APPPW="); ok {
			secret = s
		}
	}
	if secret == "" {
		t.Fatal("the script did not report the app password")
	}
	conn, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	if l := imapLine(t, conn, r, fmt.Sprintf("LOGIN olly %q", secret)); strings.HasPrefix(l, "t OK") {
		t.Errorf("IMAP login with the revoked app password: %s", l)
	}
	// The web admin's changes are in the audit log like `roost admin`'s.
	waitFor(t, "the web admin's user creation in the audit log", func() bool {
		_, err := os.Stat(auditPath)
		return err == nil && hasEvent(auditLines(t, auditPath), map[string]any{"user": "tad", "via": "web session", "action": "POST /v1/users", "status": 201})
	})
	// gina, in the other tenant, is untouched.
	adminCall(t, c, "GET", "/v1/users/gina", "", 200)
}

// TestWebAdminHTTPSOnly: over plain HTTP the web admin and the settings'
// admin API calls are 404; the rest of the web client is served.
func TestWebAdminHTTPSOnly(t *testing.T) {
	h := httpsOnlyAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") }))
	for path, want := range map[string]int{"/admin": 404, "/web/admin/v1/users": 404, "/web/self/oof": 404, "/web/api/password": 404, "/web/api/me": 200, "/web/login": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://roost"+path, nil))
		if rec.Code != want {
			t.Errorf("plain HTTP %s: %d, want %d", path, rec.Code, want)
		}
		req := httptest.NewRequest("GET", "https://roost"+path, nil)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("HTTPS %s: %d", path, rec.Code)
		}
	}
}
