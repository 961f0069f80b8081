package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
	"github.com/roost-mail/roost/internal/web"
	roostweb "github.com/roost-mail/roost/web"
)

// newAdminEnv is newEnv with the admin API behind the web server, tenants
// acme and globex, a tenant administrator of each (ada, gil), a system
// administrator (root) and a user (alice).
func newAdminEnv(t *testing.T) *env {
	t.Helper()
	st := testenv.Open(t, testenv.Options{})
	st.Tenants(t, "acme", "globex")
	st.User(t, "acme", store.User{Login: "alice", Active: true}, "pw-alice")
	st.User(t, "acme", store.User{Login: "ada", Active: true, Admin: store.AdminTenant}, "pw-ada")
	st.User(t, "globex", store.User{Login: "gil", Active: true, Admin: store.AdminTenant}, "pw-gil")
	st.User(t, "globex", store.User{Login: "gina", Active: true}, "pw-gina")
	st.User(t, "acme", store.User{Login: "root", Active: true, Admin: store.AdminSystem}, "pw-root")
	authn := &directory.Authenticator{Store: st, Throttle: &auth.Throttle{BaseDelay: 1}}
	api := adminapi.New(st, adminapi.Options{Authenticator: authn, Logger: testenv.Logger(t)})
	s, err := web.New(web.Options{Assets: roostweb.Dist(), Sessions: authn, Store: st, Logger: testenv.Logger(t), Admin: api,
		CheckPassword: func(ctx context.Context, login, pw string, remote net.Addr) error {
			if _, ok := auth.NormalAppPassword(pw); ok {
				return directory.ErrBadCredentials
			}
			_, err := authn.Authenticate(ctx, login, pw, remote, "web")
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, authn: authn, srv: srv, c: srv.Client()}
}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestWebAdminTenancy: a tenant administrator reaches the admin API with
// the cookie and sees and changes only their own tenant (the store's
// check: the request goes straight at the API, not through the app's
// pages); a plain user gets no admin API; a system administrator sees
// every tenant.
func TestWebAdminTenancy(t *testing.T) {
	e := newAdminEnv(t)
	ada := cookie(e.login("ada", "pw-ada"))
	jsonHdr := with(ada, "Content-Type", "application/json")

	res, body := e.do("GET", "/web/admin/v1/users", "", ada)
	if res.StatusCode != 200 || !strings.Contains(body, `"alice"`) || strings.Contains(body, "gina") || strings.Contains(body, "gil") {
		t.Fatalf("tenant admin's user list: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/admin/v1/users/gina", "", ada); res.StatusCode != 404 && res.StatusCode != 403 {
		t.Fatalf("another tenant's user: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/admin/v1/tenants", "", ada); res.StatusCode == 200 && strings.Contains(body, "globex") {
		t.Fatalf("another tenant listed: %s", body)
	}
	if res, body := e.do("POST", "/web/admin/v1/users", `{"login":"intruder","tenant":"globex","password":"x-very-long-pw"}`, jsonHdr); res.StatusCode/100 == 2 {
		t.Fatalf("created a user in another tenant: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/admin/v1/users", `{"login":"newbie","tenant":"acme","password":"newbie-pw-123"}`, jsonHdr); res.StatusCode != 201 {
		t.Fatalf("create user: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("PATCH", "/web/admin/v1/users/newbie", `{"quota_override":true,"quota_hard_mb":50}`, jsonHdr); res.StatusCode != 200 {
		t.Fatalf("set quota: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("DELETE", "/web/admin/v1/users/gina", "", ada); res.StatusCode/100 == 2 {
		t.Fatalf("deleted another tenant's user: %d %s", res.StatusCode, body)
	}
	if u, err := e.st.GetUser(testenv.Sys, "gina"); err != nil || u == nil {
		t.Fatalf("gina after the attempt: %v %v", u, err)
	}

	// A system administrator sees both tenants.
	root := cookie(e.login("root", "pw-root"))
	if res, body := e.do("GET", "/web/admin/v1/tenants", "", root); res.StatusCode != 200 || !strings.Contains(body, "globex") || !strings.Contains(body, "acme") {
		t.Fatalf("system admin's tenants: %d %s", res.StatusCode, body)
	}

	// A plain user: no admin API, but the settings.
	alice := cookie(e.login("alice", "pw-alice"))
	if res, body := e.do("GET", "/web/admin/v1/users", "", alice); res.StatusCode != 403 {
		t.Fatalf("user on the admin API: %d %s", res.StatusCode, body)
	}
	// No cookie, or Basic credentials instead of it: 401.
	if res, _ := e.do("GET", "/web/admin/v1/users", "", sameOrigin); res.StatusCode != 401 {
		t.Fatalf("no cookie: %d", res.StatusCode)
	}
	if res, _ := e.do("GET", "/web/admin/v1/users", "", with(ada, "Authorization", "Basic YWRhOnB3LWFkYQ==")); res.StatusCode != 401 {
		t.Fatalf("with Authorization: %d", res.StatusCode)
	}
}

// TestWebAdminCSRF: state-changing calls to the admin API and the
// settings from another site, or without fetch metadata or Origin, are
// refused and change nothing; cross-site reads too.
func TestWebAdminCSRF(t *testing.T) {
	e := newAdminEnv(t)
	tok := e.login("ada", "pw-ada")
	for _, site := range []map[string]string{
		{"Cookie": web.CookieName + "=" + tok, "Sec-Fetch-Site": "cross-site"},
		{"Cookie": web.CookieName + "=" + tok, "Sec-Fetch-Site": "same-site"},
		{"Cookie": web.CookieName + "=" + tok, "Origin": "https://evil.example"},
		{"Cookie": web.CookieName + "=" + tok}, // neither: refused for writes
	} {
		h := with(site, "Content-Type", "application/json")
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/web/admin/v1/users", `{"login":"csrf","tenant":"acme","password":"csrf-pw-12345"}`},
			{"DELETE", "/web/admin/v1/users/alice", ""},
			{"PATCH", "/web/self/oof", `{"enabled":true,"message":"csrf"}`},
			{"PUT", "/web/self/app-passwords/csrf", `{}`},
			{"POST", "/web/api/password", `{"current":"pw-ada","new":"csrf-csrf-csrf"}`},
		} {
			if res, body := e.do(c.method, c.path, c.body, h); res.StatusCode != 403 {
				t.Errorf("%s %s with %v: %d %s", c.method, c.path, site, res.StatusCode, body)
			}
		}
	}
	if res, _ := e.do("GET", "/web/admin/v1/users", "", map[string]string{"Cookie": web.CookieName + "=" + tok, "Sec-Fetch-Site": "cross-site"}); res.StatusCode != 403 {
		t.Errorf("cross-site read: %d", res.StatusCode)
	}
	if u, _ := e.st.GetUser(testenv.Sys, "csrf"); u != nil {
		t.Error("a cross-site request created a user")
	}
	if u, _ := e.st.GetUser(testenv.Sys, "alice"); u == nil {
		t.Error("a cross-site request deleted a user")
	}
	if _, err := e.authn.Authenticate(context.Background(), "ada", "pw-ada", nil, ""); err != nil {
		t.Errorf("password changed by a cross-site request: %v", err)
	}
}

// TestWebSettings: a user's own out-of-office, app passwords (shown
// once, usable, revoked) and password change through the settings
// endpoints; another user's paths are not reachable; an app password
// opens no web session and is no current password.
func TestWebSettings(t *testing.T) {
	e := newAdminEnv(t)
	alice := cookie(e.login("alice", "pw-alice"))
	jh := with(alice, "Content-Type", "application/json")
	if res, body := e.do("PATCH", "/web/self/oof", `{"enabled":true,"subject":"Away","message":"Back on Monday"}`, jh); res.StatusCode != 200 {
		t.Fatalf("set oof: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/self/oof", "", alice); res.StatusCode != 200 || !strings.Contains(body, "Back on Monday") {
		t.Fatalf("oof: %d %s", res.StatusCode, body)
	}
	// Only the own paths: /web/self/ has no login in it.
	for _, p := range []string{"/web/self/../admin/v1/users", "/web/self/oof/x", "/web/self/totp", "/web/self/app-passwords/a/b"} {
		if res, body := e.do("PUT", p, `{}`, jh); res.StatusCode != 404 && res.StatusCode != 405 {
			t.Errorf("PUT %s: %d %s", p, res.StatusCode, body)
		}
	}
	res, body := e.do("PUT", "/web/self/app-passwords/phone", `{}`, jh)
	if res.StatusCode != 201 {
		t.Fatalf("create app password: %d %s", res.StatusCode, body)
	}
	var created struct{ Password string }
	json.Unmarshal([]byte(body), &created)
	if created.Password == "" {
		t.Fatalf("no password shown: %s", body)
	}
	if _, err := e.authn.Authenticate(context.Background(), "alice", created.Password, nil, "imap"); err != nil {
		t.Fatalf("app password for IMAP: %v", err)
	}
	if res, body := e.do("POST", "/web/login", form("alice", created.Password), sameOrigin); res.StatusCode == 204 {
		t.Fatalf("a web session from an app password: %s", body)
	}
	if res, body := e.do("POST", "/web/api/password", `{"current":"`+created.Password+`","new":"new-alice-pw-1"}`, jh); res.StatusCode != 401 {
		t.Fatalf("app password as the current one: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/self/app-passwords", "", alice); res.StatusCode != 200 || !strings.Contains(body, "phone") || strings.Contains(body, created.Password) {
		t.Fatalf("list app passwords: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("DELETE", "/web/self/app-passwords/phone", "", alice); res.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", res.StatusCode, body)
	}
	if _, err := e.authn.Authenticate(context.Background(), "alice", created.Password, nil, "imap"); err == nil {
		t.Fatal("revoked app password still works")
	}
	// Password change: the wrong current password is refused.
	if res, body := e.do("POST", "/web/api/password", `{"current":"nope","new":"new-alice-pw-1"}`, jh); res.StatusCode != 401 {
		t.Fatalf("wrong current password: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("POST", "/web/api/password", `{"current":"pw-alice","new":"new-alice-pw-1"}`, jh); res.StatusCode != 204 {
		t.Fatalf("password change: %d %s", res.StatusCode, body)
	}
	if _, err := e.authn.Authenticate(context.Background(), "alice", "new-alice-pw-1", nil, ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

// TestWebSettingsDevices: a user lists, wipes and removes their own
// ActiveSync devices through /web/self/devices (the admin API's device
// calls, as `roost admin device` makes them); another user's device is
// not reachable; cross-site writes are refused.
func TestWebSettingsDevices(t *testing.T) {
	e := newAdminEnv(t)
	for _, d := range []struct{ login, id, version string }{{"alice", "PHONE1", "14.1"}, {"alice", "PHONE2", "16.1"}, {"gina", "GINAPHONE", "14.1"}} {
		st, err := e.st.UserStore(testenv.Sys, d.login)
		if err != nil {
			t.Fatal(err)
		}
		if err := mail.SaveDevice(testenv.Sys, e.st, st.ID, &mail.Device{ID: d.id, Type: "iPhone", Model: "iPhone15,2",
			Version: d.version, FirstSync: time.Now(), LastSync: time.Now(), PolicyKey: 42}); err != nil {
			t.Fatal(err)
		}
	}
	alice := cookie(e.login("alice", "pw-alice"))
	jh := with(alice, "Content-Type", "application/json")
	var list []mail.DeviceStatus
	res, body := e.do("GET", "/web/self/devices", "", alice)
	if json.Unmarshal([]byte(body), &list); res.StatusCode != 200 || len(list) != 2 || list[0].ID != "PHONE1" || list[1].Version != "16.1" {
		t.Fatalf("list: %d %s", res.StatusCode, body)
	}
	// Cross-site writes are refused and change nothing.
	cross := with(jh, "Sec-Fetch-Site", "cross-site")
	if res, _ := e.do("POST", "/web/self/devices/PHONE1/wipe", `{}`, cross); res.StatusCode != 403 {
		t.Fatalf("cross-site wipe: %d", res.StatusCode)
	}
	if res, _ := e.do("DELETE", "/web/self/devices/PHONE1", "", cross); res.StatusCode != 403 {
		t.Fatalf("cross-site remove: %d", res.StatusCode)
	}
	// gina's device is not alice's: not found.
	if res, body := e.do("POST", "/web/self/devices/GINAPHONE/wipe", `{}`, jh); res.StatusCode != 404 {
		t.Fatalf("another user's device: %d %s", res.StatusCode, body)
	}
	// Other paths under devices are 404.
	for _, p := range []string{"/web/self/devices/PHONE1/erase", "/web/self/devices/PHONE1/wipe/x"} {
		if res, _ := e.do("POST", p, `{}`, jh); res.StatusCode != 404 {
			t.Errorf("POST %s: %d", p, res.StatusCode)
		}
	}
	var d mail.DeviceStatus
	res, body = e.do("POST", "/web/self/devices/PHONE1/wipe", `{}`, jh)
	if json.Unmarshal([]byte(body), &d); res.StatusCode != 200 || d.Wipe == nil || d.Wipe.State != mail.WipeRequested || d.Wipe.By != "alice" {
		t.Fatalf("wipe: %d %s", res.StatusCode, body)
	}
	res, body = e.do("POST", "/web/self/devices/PHONE2/wipe", `{"account_only":true}`, jh)
	if json.Unmarshal([]byte(body), &d); res.StatusCode != 200 || d.Wipe == nil || d.Wipe.State != mail.WipeAccount {
		t.Fatalf("account-only wipe: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("DELETE", "/web/self/devices/PHONE2", "", alice); res.StatusCode != 204 {
		t.Fatalf("remove: %d %s", res.StatusCode, body)
	}
	ds, err := mail.Devices(testenv.Sys, e.st, "alice")
	if err != nil || len(ds) != 1 || ds[0].ID != "PHONE1" || ds[0].Wipe == nil {
		t.Fatalf("alice's devices after: %+v %v", ds, err)
	}
	if ds, _ := mail.Devices(testenv.Sys, e.st, "gina"); len(ds) != 1 || ds[0].Wipe != nil {
		t.Fatalf("gina's device touched: %+v", ds)
	}
}

// TestWebDirectory: the composer's autocomplete finds users of the own
// tenant by name, login or address, never another tenant's, and needs a
// session and a query.
func TestWebDirectory(t *testing.T) {
	e := newAdminEnv(t)
	alice := cookie(e.login("alice", "pw-alice"))
	res, body := e.do("GET", "/web/api/directory?q=ad", "", alice)
	if res.StatusCode != 200 || !strings.Contains(body, `"email":"ada@`) || strings.Contains(body, "alice@") {
		t.Fatalf("directory q=ad: %d %s", res.StatusCode, body)
	}
	// A shared mailbox (a user that does not log in but receives mail)
	// is in the GAL, as in ActiveSync's: the composer suggests it too.
	e.st.User(t, "acme", store.User{Login: "support", FullName: "Support desk"}, "")
	if res, body := e.do("GET", "/web/api/directory?q=support", "", alice); res.StatusCode != 200 || !strings.Contains(body, `"email":"support@acme.test"`) {
		t.Fatalf("shared mailbox not suggested: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/api/directory?q=gi", "", alice); res.StatusCode != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("another tenant's users listed: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/api/directory?q=", "", alice); res.StatusCode != 400 {
		t.Fatalf("empty query: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/api/directory?q="+strings.Repeat("a", 101), "", alice); res.StatusCode != 400 {
		t.Fatalf("long query: %d %s", res.StatusCode, body)
	}
	if res, body := e.do("GET", "/web/api/directory?q=ad", "", nil); res.StatusCode != 401 {
		t.Fatalf("without a session: %d %s", res.StatusCode, body)
	}
}

// TestWebDirectoryBrowse: the contacts view's Directory pages through the
// tenant's global address list (users, shared mailboxes, rooms,
// equipment), bounded, and never shows another tenant's entries.
func TestWebDirectoryBrowse(t *testing.T) {
	e := newAdminEnv(t)
	alice := cookie(e.login("alice", "pw-alice"))
	for i := range 60 {
		e.st.User(t, "acme", store.User{Login: fmt.Sprintf("staff%02d", i), FullName: fmt.Sprintf("Staff %02d", i), Active: true}, "")
	}
	e.st.User(t, "acme", store.User{Login: "room1", FullName: "Room One", Resource: store.ResourceSettings{AutoAccept: true}}, "")
	e.st.User(t, "acme", store.User{Login: "beamer", FullName: "Beamer", Resource: store.ResourceSettings{Capacity: 3}}, "")
	e.st.User(t, "acme", store.User{Login: "support", FullName: "Support desk", Aliases: []string{"help@acme.test"}}, "")
	type directoryPage struct {
		Total   int
		Offset  int
		Entries []struct {
			Name, Email, Kind string
			Aliases           []string
		}
	}
	get := func(query string) directoryPage {
		t.Helper()
		res, body := e.do("GET", "/web/api/directory?browse=1&"+query, "", alice)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", query, res.StatusCode, body)
		}
		var p directoryPage
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%s: %v %s", query, err, body)
		}
		return p
	}
	// alice, ada, root, 60 staff, room, equipment, shared mailbox.
	const total = 66
	first := get("q=")
	if first.Total != total || len(first.Entries) != 50 || first.Offset != 0 {
		t.Fatalf("first page: total %d, %d entries", first.Total, len(first.Entries))
	}
	seen := map[string]bool{}
	for off := 0; off < total; off += 20 {
		p := get(fmt.Sprintf("q=&offset=%d&limit=20", off))
		if want := min(20, total-off); len(p.Entries) != want || p.Total != total {
			t.Fatalf("offset %d: %d entries of %d, want %d", off, len(p.Entries), p.Total, want)
		}
		for _, x := range p.Entries {
			if seen[x.Email] {
				t.Fatalf("%s on two pages", x.Email)
			}
			seen[x.Email] = true
			if !strings.HasSuffix(x.Email, "@acme.test") {
				t.Fatalf("another tenant's entry: %+v", x)
			}
		}
	}
	if len(seen) != total {
		t.Fatalf("paged through %d entries, want %d", len(seen), total)
	}
	if p := get("offset=1000"); len(p.Entries) != 0 || p.Total != total {
		t.Fatalf("past the end: %+v", p)
	}
	kinds := map[string]string{}
	for _, x := range get("q=&limit=100").Entries {
		kinds[x.Email] = x.Kind
	}
	for addr, k := range map[string]string{"alice@acme.test": "user", "room1@acme.test": "room", "beamer@acme.test": "equipment", "support@acme.test": "shared"} {
		if kinds[addr] != k {
			t.Errorf("%s: kind %q, want %q", addr, kinds[addr], k)
		}
	}
	if p := get("q=help"); p.Total != 1 || p.Entries[0].Email != "support@acme.test" || !slices.Contains(p.Entries[0].Aliases, "help@acme.test") {
		t.Fatalf("search by alias: %+v", p)
	}
	if p := get("q=staff+1"); p.Total != 10 {
		t.Fatalf("q=staff 1: %d entries, want 10", p.Total)
	}
	// Another tenant's user sees only their own tenant.
	gina := cookie(e.login("gina", "pw-gina"))
	res, body := e.do("GET", "/web/api/directory?browse=1&q=", "", gina)
	if res.StatusCode != 200 || strings.Contains(body, "acme.test") || !strings.Contains(body, "gina@globex.test") {
		t.Fatalf("gina's directory: %d %s", res.StatusCode, body)
	}
	for _, bad := range []string{"limit=0", "limit=101", "offset=-1", "offset=x", "offset=2000000", "q=" + strings.Repeat("a", 101)} {
		if res, body := e.do("GET", "/web/api/directory?browse=1&"+bad, "", alice); res.StatusCode != 400 {
			t.Errorf("%s: %d %s", bad, res.StatusCode, body)
		}
	}
	if res, _ := e.do("GET", "/web/api/directory?browse=1&q=", "", nil); res.StatusCode != 401 {
		t.Fatalf("without a session: %d", res.StatusCode)
	}
}
