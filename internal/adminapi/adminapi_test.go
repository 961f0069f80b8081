package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

var sys = store.SystemContext(context.Background())

// env is an admin API served on a real unix socket over a real SQLite
// store. Requests act as the system principal unless they name a login in
// the X-Test-As header ("-" for no principal at all), the way internal/app
// puts the authenticated principal into the context.
type env struct {
	t      *testing.T
	b      store.Backend
	db     *sqlstore.DB
	client *http.Client
	format atomic.Value // loginname_format
}

type envOpt func(*adminapi.Options, *env)

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	return newEnvOn(t, testenv.SQLite, opts...)
}

// newEnvOn is newEnv over a store on backend (testenv.SQLite or
// testenv.Postgres).
func newEnvOn(t *testing.T, backend string, opts ...envOpt) *env {
	t.Helper()
	// A short directory: unix socket paths are limited to ~108 bytes.
	dir, err := os.MkdirTemp("", "roost-api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var db *sqlstore.DB
	if backend == testenv.SQLite {
		blobs, err := fs.New(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		db, err = sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs, BlobGrace: -1})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		db = testenv.Open(t, testenv.Options{Backend: backend, BlobGrace: -1}).DB
	}
	e := &env{t: t, b: db, db: db}
	e.format.Store("%u")
	o := adminapi.Options{Version: "test-1", LoginFormat: func() string { return e.format.Load().(string) }}
	for _, fn := range opts {
		fn(&o, e)
	}
	api := adminapi.New(e.b, o)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch as := r.Header.Get("X-Test-As"); as {
		case "":
			r = r.WithContext(store.SystemContext(r.Context()))
		case "-":
		default:
			p, err := db.Principal(store.SystemContext(r.Context()), as)
			if err != nil {
				http.Error(w, err.Error(), http.StatusTeapot)
				return
			}
			r = r.WithContext(store.WithPrincipal(r.Context(), p))
		}
		api.ServeHTTP(w, r)
	})
	sock := filepath.Join(dir, "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		db.Close()
	})
	e.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

type reply struct {
	status int
	body   []byte
	header http.Header
}

func (r reply) errMsg() string {
	var e adminapi.ErrorBody
	json.Unmarshal(r.body, &e)
	return e.Error
}

// req sends a request as the principal as ("" = system). body is JSON
// encoded unless it is a string or an io.Reader.
func (e *env) req(as, method, path string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, "http://roost"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if as != "" {
		r.Header.Set("X-Test-As", as)
	}
	resp, err := e.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNoContent && resp.Header.Get("Content-Type") != "application/json" {
		e.t.Fatalf("%s %s: content type %q", method, path, resp.Header.Get("Content-Type"))
	}
	return reply{resp.StatusCode, b, resp.Header}
}

// call sends a request as the system and decodes a reply with the wanted
// status into out.
func (e *env) call(method, path string, body any, want int, out any) reply {
	e.t.Helper()
	return e.callAs("", method, path, body, want, out)
}

func (e *env) callAs(as, method, path string, body any, want int, out any) reply {
	e.t.Helper()
	r := e.req(as, method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, as, r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, r.body)
		}
	}
	return r
}

// wantErr checks an error reply's status and that its message names what
// it should.
func (e *env) wantErr(as, method, path string, body any, status int, msgPart string) {
	e.t.Helper()
	r := e.req(as, method, path, body)
	if r.status != status {
		e.t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, as, r.status, status, r.body)
	}
	msg := r.errMsg()
	if !strings.Contains(msg, msgPart) || strings.Contains(msg, "\n") {
		e.t.Fatalf("%s %s: error %q does not name %q", method, path, msg, msgPart)
	}
}

// fixture: tenants acme (alice, bob) and globex (eve).
func (e *env) fixture() {
	e.t.Helper()
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "acme"}, 201, nil)
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "globex"}, 201, nil)
	e.call("POST", "/v1/domains", adminapi.Domain{Name: "acme.test", Tenant: "acme"}, 201, nil)
	e.call("POST", "/v1/domains", adminapi.Domain{Name: "globex.test", Tenant: "globex"}, 201, nil)
	for _, u := range []adminapi.UserCreate{
		{Login: "alice", Tenant: "acme", Email: "alice@acme.test", FullName: "Alice A"},
		{Login: "bob", Tenant: "acme", Email: "bob@acme.test", FullName: "Bob B"},
		{Login: "eve", Tenant: "globex", Email: "eve@globex.test", FullName: "Eve E"},
	} {
		e.call("POST", "/v1/users", u, 201, nil)
	}
}

func ptr[T any](v T) *T { return &v }

func num(s string) *json.Number { n := json.Number(s); return &n }

func TestNoPrincipal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.req("-", "GET", "/v1/tenants", nil)
	if r.status != http.StatusUnauthorized || r.errMsg() != "authentication required" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestStatusAndRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var st adminapi.Status
	e.call("GET", "/v1/status", nil, 200, &st)
	if st.Version != "test-1" || st.Principal != "SYSTEM" || st.Uptime == "" {
		t.Fatalf("%+v", st)
	}
	e.wantErr("", "GET", "/v1/nothing", nil, 404, "no such endpoint: GET /v1/nothing")
	r := e.req("", "PUT", "/v1/tenants", nil)
	if r.status != 405 || !slices.Contains(r.header.Values("Allow"), "POST") || !slices.Contains(r.header.Values("Allow"), "GET") {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
}

func TestTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var tn adminapi.Tenant
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "acme"}, 201, &tn)
	if tn.Name != "acme" || tn.Viewers == nil || tn.Admins == nil {
		t.Fatalf("%+v", tn)
	}
	e.wantErr("", "POST", "/v1/tenants", adminapi.TenantCreate{Name: "ACME"}, 409, `tenant "ACME" already exists`)
	e.wantErr("", "POST", "/v1/tenants", adminapi.TenantCreate{Name: "bad/name"}, 400, `tenant name "bad/name"`)
	e.wantErr("", "POST", "/v1/tenants", adminapi.TenantCreate{}, 400, "tenant name missing")
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "globex"}, 201, nil)

	var ts []adminapi.Tenant
	e.call("GET", "/v1/tenants", nil, 200, &ts)
	if len(ts) != 2 || ts[0].Name != "acme" || ts[1].Name != "globex" {
		t.Fatalf("%+v", ts)
	}

	e.call("PATCH", "/v1/tenants/acme", adminapi.TenantUpdate{QuotaWarnMB: num("100"), UserQuotaWarnMB: num("10"),
		UserQuotaSoftMB: num("20"), UserQuotaHardMB: num("30")}, 200, &tn)
	if tn.QuotaWarn != 100<<20 || tn.UserQuotaWarn != 10<<20 || tn.UserQuotaSoft != 20<<20 || tn.UserQuotaHard != 30<<20 {
		t.Fatalf("%+v", tn)
	}
	if tn.Usage == nil || tn.Usage.QuotaWarn != 100<<20 || tn.Usage.SizeHuman != "0 B" {
		t.Fatalf("usage %+v", tn.Usage)
	}
	for _, bad := range []string{`{"quota_warn_mb":-1}`, `{"quota_warn_mb":1.5}`, `{"user_quota_hard_mb":1e3}`, `{"quota_warn_mb":99999999999999999999}`} {
		e.wantErr("", "PATCH", "/v1/tenants/acme", bad, 400, "is not a whole, non-negative number of megabytes")
	}
	e.wantErr("", "PATCH", "/v1/tenants/acme", `{"quota_warn_mb":"abc"}`, 400, "bad request body")
	e.wantErr("", "PATCH", "/v1/tenants/acme", adminapi.TenantUpdate{UserQuotaSoftMB: num("50")}, 400, "soft quota (50 MB) is above hard quota (30 MB)")
	e.wantErr("", "PATCH", "/v1/tenants/nope", adminapi.TenantUpdate{QuotaWarnMB: num("1")}, 404, `tenant "nope": not found`)

	e.call("PUT", "/v1/tenants/acme/viewers/globex", nil, 200, &tn)
	if !slices.Equal(tn.Viewers, []string{"globex"}) {
		t.Fatalf("viewers %v", tn.Viewers)
	}
	e.wantErr("", "PUT", "/v1/tenants/acme/viewers/acme", nil, 400, "a tenant always sees itself")
	e.wantErr("", "PUT", "/v1/tenants/acme/viewers/nope", nil, 404, `tenant "nope"`)
	e.call("DELETE", "/v1/tenants/acme/viewers/globex", nil, 200, &tn)
	if len(tn.Viewers) != 0 {
		t.Fatalf("viewers %v", tn.Viewers)
	}

	e.call("POST", "/v1/users", adminapi.UserCreate{Login: "gus", Tenant: "globex"}, 201, nil)
	e.call("PUT", "/v1/tenants/acme/admins/gus", nil, 200, &tn)
	if !slices.Equal(tn.Admins, []string{"gus"}) {
		t.Fatalf("admins %v", tn.Admins)
	}
	e.wantErr("", "PUT", "/v1/tenants/acme/admins/nobody", nil, 404, `user "nobody"`)
	e.call("DELETE", "/v1/tenants/acme/admins/gus", nil, 200, &tn)
	if len(tn.Admins) != 0 {
		t.Fatalf("admins %v", tn.Admins)
	}

	e.wantErr("", "DELETE", "/v1/tenants/globex", nil, 409, `tenant "globex" still has 1 users`)
	e.call("DELETE", "/v1/tenants/acme", nil, 204, nil)
	e.wantErr("", "GET", "/v1/tenants/acme", nil, 404, `tenant "acme": not found`)
	e.wantErr("", "DELETE", "/v1/tenants/acme", nil, 404, `tenant "acme": not found`)
}

func TestDomains(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.wantErr("", "POST", "/v1/domains", adminapi.Domain{Name: "acme.test"}, 400, "there is no tenant yet")
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "acme"}, 201, nil)
	var d adminapi.Domain
	// With one tenant, it is the default.
	e.call("POST", "/v1/domains", adminapi.Domain{Name: "Acme.Test"}, 201, &d)
	if d != (adminapi.Domain{Name: "acme.test", Tenant: "acme"}) {
		t.Fatalf("%+v", d)
	}
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "globex"}, 201, nil)
	e.wantErr("", "POST", "/v1/domains", adminapi.Domain{Name: "globex.test"}, 400, "several tenants: use --tenant")
	e.wantErr("", "POST", "/v1/domains", adminapi.Domain{Name: "acme.test", Tenant: "globex"}, 409, `domain "acme.test" already exists`)
	e.wantErr("", "POST", "/v1/domains", adminapi.Domain{Name: "bad domain", Tenant: "globex"}, 400, `domain "bad domain"`)
	e.wantErr("", "POST", "/v1/domains", adminapi.Domain{Name: "x.test", Tenant: "nope"}, 404, `tenant "nope"`)
	e.call("POST", "/v1/domains", adminapi.Domain{Name: "globex.test", Tenant: "globex"}, 201, nil)
	var ds []adminapi.Domain
	e.call("GET", "/v1/domains", nil, 200, &ds)
	if len(ds) != 2 || ds[0].Name != "acme.test" || ds[1].Tenant != "globex" {
		t.Fatalf("%+v", ds)
	}
	e.call("POST", "/v1/users", adminapi.UserCreate{Login: "ceo", Tenant: "acme", Email: "ceo@acme.test"}, 201, nil)
	e.wantErr("", "DELETE", "/v1/domains/acme.test", nil, 409, `domain "acme.test" is still used by 1 addresses`)
	e.call("DELETE", "/v1/domains/globex.test", nil, 204, nil)
	e.wantErr("", "DELETE", "/v1/domains/globex.test", nil, 404, `domain "globex.test": not found`)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "x"}, 400, "there is no tenant yet")
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "acme"}, 201, nil)
	e.call("POST", "/v1/domains", adminapi.Domain{Name: "acme.test"}, 201, nil)

	var u adminapi.User
	r := e.call("POST", "/v1/users", adminapi.UserCreate{Login: "alice", Email: "Alice@acme.test", FullName: "Alice A",
		Password: ptr("s3cret pass"), Admin: ptr(1), Aliases: []string{"a@acme.test"}}, 201, &u)
	if u.Login != "alice" || u.Tenant != "acme" || u.Email != "alice@acme.test" || !u.Active || u.Admin != 1 ||
		!slices.Equal(u.Aliases, []string{"a@acme.test"}) || u.StoreID == 0 || u.Store == nil || u.Store.Quota.Source != "global" ||
		!slices.Equal(u.Groups, []string{"Everyone"}) || !slices.Equal(u.Features.Effective, store.Features) {
		t.Fatalf("created %+v", u)
	}
	if bytes.Contains(r.body, []byte("argon2")) || bytes.Contains(r.body, []byte("password")) {
		t.Fatalf("reply leaks the password hash: %s", r.body)
	}
	stored, err := e.b.GetUser(sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.CheckPassword(stored.PasswordHash, "s3cret pass"); err != nil {
		t.Fatalf("password not hashed and stored: %v", err)
	}

	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "ALICE"}, 409, `user "ALICE" already exists`)
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "x", Admin: ptr(3)}, 400, "admin: 3 is not an admin level")
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "x", Email: "nope"}, 400, `"nope" is not a valid mail address`)
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "x", Password: ptr("")}, 400, "password: empty password")
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "x", Tenant: "nope"}, 404, `tenant "nope": not found`)
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{}, 400, "login missing")
	e.call("POST", "/v1/users", adminapi.UserCreate{Login: "room1", FullName: "Room", Active: ptr(false)}, 201, &u)
	if u.Active {
		t.Fatal("room is active")
	}

	// Several tenants: the API no longer guesses.
	e.call("POST", "/v1/tenants", adminapi.TenantCreate{Name: "globex"}, 201, nil)
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "y"}, 400, "several tenants: use --tenant")
	e.call("POST", "/v1/users", adminapi.UserCreate{Login: "eve", Tenant: "globex"}, 201, nil)
	e.call("POST", "/v1/domains", adminapi.Domain{Name: "globex.test", Tenant: "globex"}, 201, nil)

	// loginname_format "%u@%c" is checked against the tenant.
	e.format.Store("%u@%c")
	e.wantErr("", "POST", "/v1/users", adminapi.UserCreate{Login: "bob", Tenant: "acme"}, 400, `login "bob" does not match loginname_format "%u@%c"`)
	e.call("POST", "/v1/users", adminapi.UserCreate{Login: "bob@acme", Tenant: "acme"}, 201, nil)
	e.wantErr("", "PATCH", "/v1/users/bob@acme", adminapi.UserUpdate{Rename: ptr("robert")}, 400, "does not match loginname_format")
	e.call("PATCH", "/v1/users/bob@acme", adminapi.UserUpdate{Rename: ptr("robert@acme")}, 200, &u)
	if u.Login != "robert@acme" {
		t.Fatalf("renamed to %q", u.Login)
	}
	e.format.Store("%u")

	var us []adminapi.User
	e.call("GET", "/v1/users", nil, 200, &us)
	if len(us) != 4 || us[0].Store != nil {
		t.Fatalf("list %+v", us)
	}
	e.call("GET", "/v1/users?tenant=globex", nil, 200, &us)
	if len(us) != 1 || us[0].Login != "eve" {
		t.Fatalf("globex list %+v", us)
	}
	e.wantErr("", "GET", "/v1/users?tenant=nope", nil, 404, `tenant "nope"`)

	// Everything PATCH can change.
	e.call("PATCH", "/v1/users/alice", adminapi.UserUpdate{
		Email: ptr("al@acme.test"), FullName: ptr("Alice Liddell"), Password: ptr("new pass"), Admin: ptr(0),
		Active: ptr(false), AliasAdd: []string{"liddell@acme.test"}, AliasRemove: []string{"a@acme.test"},
		QuotaOverride: ptr(true), QuotaWarnMB: num("1"), QuotaSoftMB: num("2"), QuotaHardMB: num("3"),
		EnableFeature: []string{"imap"}, DisableFeature: []string{"pop3", "web"}, SendAsAdd: []string{"robert@acme"},
		AutoAccept: ptr(true), DeclineConflict: ptr(true), DeclineRecurring: ptr(true), Capacity: ptr(4),
		HomeNode: ptr("node2"),
	}, 200, &u)
	want := adminapi.User{Login: "alice", Tenant: "acme", FullName: "Alice Liddell", Email: "al@acme.test",
		Aliases: []string{"liddell@acme.test"}, Active: false, Admin: 0,
		Features: adminapi.Features{Enabled: []string{"imap"}, Disabled: []string{"pop3", "web"}, Effective: []string{"imap", "mobile", "dav"}},
		StoreID:  u.StoreID, Quota: adminapi.UserQuota{Override: true, Warn: 1 << 20, Soft: 2 << 20, Hard: 3 << 20},
		SendAs: []string{"robert@acme"}, Groups: []string{"Everyone"}, HomeNode: "node2",
		Resource: adminapi.Resource{AutoAccept: true, DeclineConflict: true, DeclineRecurring: true, Capacity: 4},
		Created:  u.Created,
		Store: &adminapi.UserStore{ID: u.StoreID, SizeHuman: "0 B",
			Quota: adminapi.EffectiveQuota{Source: "user", Warn: 1 << 20, Soft: 2 << 20, Hard: 3 << 20}},
	}
	gotJ, _ := json.Marshal(u)
	wantJ, _ := json.Marshal(want)
	if !bytes.Equal(gotJ, wantJ) {
		t.Fatalf("updated\n got %s\nwant %s", gotJ, wantJ)
	}
	stored, _ = e.b.GetUser(sys, "alice")
	if auth.CheckPassword(stored.PasswordHash, "new pass") != nil {
		t.Fatal("password not changed")
	}
	e.call("PATCH", "/v1/users/alice", adminapi.UserUpdate{SendAsRemove: []string{"robert@acme"}}, 200, &u)
	if len(u.SendAs) != 0 {
		t.Fatalf("send-as %v", u.SendAs)
	}
	var shown adminapi.User
	e.call("GET", "/v1/users/alice", nil, 200, &shown)
	if shown.Store == nil || shown.Store.Quota.Hard != 3<<20 || shown.FullName != "Alice Liddell" {
		t.Fatalf("show %+v", shown)
	}

	for _, c := range []struct {
		body   any
		status int
		msg    string
	}{
		{`{"quota_hard_mb":"abc"}`, 400, "bad request body"},
		{`{"quota_hard_mb":-5}`, 400, `quota_hard_mb: "-5" is not a whole, non-negative number of megabytes`},
		{adminapi.UserUpdate{QuotaWarnMB: num("10")}, 400, "warn quota (10 MB) is above soft quota (2 MB)"},
		{adminapi.UserUpdate{Admin: ptr(7)}, 400, "admin: 7 is not an admin level"},
		{adminapi.UserUpdate{Capacity: ptr(-1)}, 400, "capacity: -1 is negative"},
		{adminapi.UserUpdate{EnableFeature: []string{"teleport"}}, 400, `unknown feature "teleport"`},
		{adminapi.UserUpdate{AliasRemove: []string{"never@acme.test"}}, 404, `user "alice" has no alias "never@acme.test"`},
		{adminapi.UserUpdate{Rename: ptr("robert@acme")}, 409, `user "robert@acme" already exists`},
		{adminapi.UserUpdate{SendAsAdd: []string{"eve"}}, 400, `send-as delegate "eve" is in another tenant`},
		{adminapi.UserUpdate{SendAsAdd: []string{"ghost"}}, 404, `user "ghost": not found`},
		{adminapi.UserUpdate{Email: ptr("x@globex.test")}, 400, `domain "globex.test" belongs to another tenant`},
		{`{"nmae":"typo"}`, 400, `unknown field "nmae"`},
	} {
		e.wantErr("", "PATCH", "/v1/users/alice", c.body, c.status, c.msg)
	}
	e.wantErr("", "PATCH", "/v1/users/ghost", adminapi.UserUpdate{FullName: ptr("x")}, 404, `user "ghost": not found`)
	e.wantErr("", "GET", "/v1/users/ghost", nil, 404, `user "ghost": not found`)

	e.call("DELETE", "/v1/users/room1", nil, 204, nil)
	e.wantErr("", "DELETE", "/v1/users/room1", nil, 404, `user "room1": not found`)
}

func TestGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fixture()
	var g adminapi.Group
	e.call("POST", "/v1/groups", adminapi.GroupCreate{Name: "Sales", Tenant: "acme", Email: "sales@acme.test", Kind: "distribution"}, 201, &g)
	if g.Name != "Sales" || g.Tenant != "acme" || g.Kind != "distribution" || g.Members == nil {
		t.Fatalf("%+v", g)
	}
	e.call("POST", "/v1/groups", adminapi.GroupCreate{Name: "Sales", Tenant: "globex"}, 201, nil)
	e.call("POST", "/v1/groups", adminapi.GroupCreate{Name: "Ops", Tenant: "acme"}, 201, nil)
	e.wantErr("", "POST", "/v1/groups", adminapi.GroupCreate{Name: "sales", Tenant: "acme"}, 409, `group "sales" already exists in tenant "acme"`)
	e.wantErr("", "POST", "/v1/groups", adminapi.GroupCreate{Name: "x"}, 400, "several tenants: use --tenant")
	e.wantErr("", "POST", "/v1/groups", adminapi.GroupCreate{Name: "x", Tenant: "acme", Kind: "weird"}, 400, `group kind "weird"`)

	// The tenant of a member change is the user's.
	e.call("PUT", "/v1/groups/Sales/members/alice", nil, 200, &g)
	if g.Tenant != "acme" || !slices.Equal(g.Members, []string{"alice"}) {
		t.Fatalf("%+v", g)
	}
	e.wantErr("", "PUT", "/v1/groups/Sales/members/alice", nil, 409, `user "alice" is already a member of "Sales"`)
	e.wantErr("", "PUT", "/v1/groups/Sales/members/eve?tenant=acme", nil, 400, `user "eve" is not in tenant "acme"`)
	e.wantErr("", "PUT", "/v1/groups/Everyone/members/bob", nil, 400, `membership of "Everyone" is automatic`)
	e.wantErr("", "PUT", "/v1/groups/Sales/members/ghost", nil, 404, `user "ghost"`)
	e.wantErr("", "PUT", "/v1/groups/Nope/members/bob", nil, 404, `group "Nope"`)

	// Names present in two tenants need ?tenant=.
	e.wantErr("", "GET", "/v1/groups/sales", nil, 400, `group "sales" exists in several tenants (acme, globex): use --tenant`)
	e.call("GET", "/v1/groups/sales?tenant=acme", nil, 200, &g)
	if !slices.Equal(g.Members, []string{"alice"}) {
		t.Fatalf("%+v", g)
	}
	e.call("GET", "/v1/groups/ops", nil, 200, &g)
	if g.Name != "Ops" || g.Tenant != "acme" {
		t.Fatalf("%+v", g)
	}
	e.wantErr("", "GET", "/v1/groups/nope", nil, 404, `group "nope": not found`)

	var gs []adminapi.Group
	e.call("GET", "/v1/groups", nil, 200, &gs)
	if len(gs) != 5 { // Everyone ×2, Ops, Sales ×2
		t.Fatalf("%+v", gs)
	}
	e.call("GET", "/v1/groups?tenant=globex", nil, 200, &gs)
	if len(gs) != 2 {
		t.Fatalf("%+v", gs)
	}
	var u adminapi.User
	e.call("GET", "/v1/users/alice", nil, 200, &u)
	if !slices.Equal(u.Groups, []string{"Everyone", "Sales"}) {
		t.Fatalf("groups %v", u.Groups)
	}

	e.call("DELETE", "/v1/groups/Sales/members/alice", nil, 200, &g)
	if len(g.Members) != 0 {
		t.Fatalf("%+v", g)
	}
	e.wantErr("", "DELETE", "/v1/groups/Sales/members/alice", nil, 404, `user "alice" is not a member of "Sales"`)
	e.wantErr("", "DELETE", "/v1/groups/Everyone?tenant=acme", nil, 400, `group "Everyone" is built in`)
	e.call("DELETE", "/v1/groups/ops", nil, 204, nil)
	e.call("DELETE", "/v1/groups/Sales?tenant=globex", nil, 204, nil)
	e.wantErr("", "DELETE", "/v1/groups/ops", nil, 404, `group "ops": not found`)
}

func TestStoresAndPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fixture()
	var u adminapi.User
	e.call("GET", "/v1/users/bob", nil, 200, &u)
	bobStore := u.StoreID
	e.call("DELETE", "/v1/users/bob", nil, 204, nil)

	var orphans []adminapi.Store
	e.call("GET", "/v1/stores/orphans", nil, 200, &orphans)
	if len(orphans) != 1 || orphans[0].ID != bobStore || !orphans[0].Orphan || orphans[0].Tenant != "acme" || orphans[0].Kind != "private" {
		t.Fatalf("orphans %+v", orphans)
	}
	var st adminapi.Store
	e.call("GET", fmt.Sprintf("/v1/stores/%d", bobStore), nil, 200, &st)
	if st.ID != bobStore {
		t.Fatalf("%+v", st)
	}
	e.wantErr("", "GET", "/v1/stores/abc", nil, 400, `store id "abc" is not a positive number`)
	e.wantErr("", "GET", "/v1/stores/99999", nil, 404, "store 99999: not found")

	// Hook bob's old store to carol: her own new store becomes the orphan.
	e.call("POST", "/v1/users", adminapi.UserCreate{Login: "carol", Tenant: "acme"}, 201, &u)
	carolOld := u.StoreID
	e.wantErr("", "POST", fmt.Sprintf("/v1/stores/%d/hook", bobStore), adminapi.StoreHook{User: "eve"}, 400, `belongs to another tenant than user "eve"`)
	e.call("POST", fmt.Sprintf("/v1/stores/%d/hook", bobStore), adminapi.StoreHook{User: "carol"}, 200, &st)
	if st.Owner != "carol" || st.Orphan {
		t.Fatalf("hooked %+v", st)
	}
	e.wantErr("", "POST", fmt.Sprintf("/v1/stores/%d/hook", bobStore), adminapi.StoreHook{User: "alice"}, 400, "is not an orphan")
	// An orphan becomes the public store.
	e.call("POST", fmt.Sprintf("/v1/stores/%d/hook", carolOld), adminapi.StoreHook{}, 200, &st)
	if st.Kind != "public" {
		t.Fatalf("public %+v", st)
	}
	e.wantErr("", "POST", "/v1/stores/public", adminapi.PublicStoreCreate{Tenant: "acme"}, 409, `tenant "acme" already has a public store`)
	e.wantErr("", "POST", "/v1/stores/public", adminapi.PublicStoreCreate{}, 400, "several tenants: use --tenant")
	e.call("POST", "/v1/stores/public", adminapi.PublicStoreCreate{Tenant: "globex"}, 201, &st)
	if st.Kind != "public" || st.Tenant != "globex" {
		t.Fatalf("%+v", st)
	}

	// Remove an orphan and purge it.
	e.call("DELETE", "/v1/users/carol", nil, 204, nil)
	e.wantErr("", "DELETE", fmt.Sprintf("/v1/stores/%d", st.ID), nil, 400, "is not an orphan")
	e.call("DELETE", fmt.Sprintf("/v1/stores/%d", bobStore), nil, 204, nil)
	e.call("GET", "/v1/stores/orphans", nil, 200, &orphans)
	if len(orphans) != 0 {
		t.Fatalf("orphans %+v", orphans)
	}
	var pr adminapi.PurgeResult
	e.call("POST", "/v1/softdelete/purge", adminapi.Purge{Days: num("30")}, 200, &pr)
	if pr.Stores != 0 {
		t.Fatalf("purged a young store: %+v", pr)
	}
	e.call("POST", "/v1/softdelete/purge", adminapi.Purge{Days: num("0")}, 200, &pr)
	if pr.Stores != 1 {
		t.Fatalf("%+v", pr)
	}
	e.wantErr("", "POST", "/v1/softdelete/purge", adminapi.Purge{Days: num("-1")}, 400, `days: "-1" is not a whole number of days`)
	e.wantErr("", "POST", "/v1/softdelete/purge", `{}`, 400, "days missing")
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *adminapi.Options, _ *env) { o.MaxMessageBytes = func() int64 { return 512 << 10 } })
	e.fixture()
	e.call("PATCH", "/v1/users/alice", adminapi.UserUpdate{AliasAdd: []string{"a@acme.test"}}, 200, nil)
	msg := "From: x@example.test\r\nSubject: hi\r\n\r\nHello\r\n"
	var d adminapi.Delivery
	e.call("POST", "/v1/deliver?rcpt=A@ACME.TEST", msg, 201, &d)
	if d.User != "alice" || d.UID != 1 || d.ItemID == 0 || d.FolderID == 0 {
		t.Fatalf("%+v", d)
	}
	f, err := e.b.GetFolder(sys, d.FolderID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Special != store.SpecialInbox || f.Messages != 1 {
		t.Fatalf("folder %+v", f)
	}
	rc, err := e.b.OpenItem(sys, d.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != msg {
		t.Fatalf("stored %q", got)
	}
	e.call("POST", "/v1/deliver?rcpt=alice@acme.test", msg, 201, &d)
	if d.UID != 2 {
		t.Fatalf("second UID %d", d.UID)
	}

	e.wantErr("", "POST", "/v1/deliver?rcpt=nobody@acme.test", msg, 404, `address "nobody@acme.test": not found`)
	e.wantErr("", "POST", "/v1/deliver", msg, 400, "rcpt missing")
	e.wantErr("", "POST", "/v1/deliver?rcpt=alice@acme.test", "", 400, "empty message")
	big := strings.Repeat("x", 600<<10)
	e.wantErr("", "POST", "/v1/deliver?rcpt=alice@acme.test", big, 413, "larger than the limit of 524288 bytes")
	// Without a Content-Length (chunked), the limit stops the stream.
	e.wantErr("", "POST", "/v1/deliver?rcpt=alice@acme.test", io.MultiReader(strings.NewReader(big)), 413, "larger than the limit of 524288 bytes")
	// Only the system delivers.
	e.wantErr("bob", "POST", "/v1/deliver?rcpt=alice@acme.test", msg, 403, "delivery needs the system identity")
	// Over quota.
	e.call("PATCH", "/v1/users/bob", adminapi.UserUpdate{QuotaOverride: ptr(true), QuotaHardMB: num("1")}, 200, nil)
	e.call("POST", "/v1/deliver?rcpt=bob@acme.test", strings.Repeat("y", 4000), 201, nil)
	var u adminapi.User
	e.call("GET", "/v1/users/bob", nil, 200, &u)
	if u.Store.Size != 4000 || u.Store.Messages != 1 {
		t.Fatalf("store %+v", u.Store)
	}
	for i := 0; i < 5; i++ {
		r := e.req("", "POST", "/v1/deliver?rcpt=bob@acme.test", strings.Repeat("z", 500<<10)+fmt.Sprint(i))
		if r.status == 507 {
			if !strings.Contains(r.errMsg(), "hard quota") {
				t.Fatalf("over quota message %q", r.errMsg())
			}
			return
		}
		if r.status != 201 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	t.Fatal("never over quota")
}

func TestTenantAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fixture()
	e.call("PATCH", "/v1/users/bob", adminapi.UserUpdate{Admin: ptr(1)}, 200, nil)

	var ts []adminapi.Tenant
	e.callAs("bob", "GET", "/v1/tenants", nil, 200, &ts)
	if len(ts) != 1 || ts[0].Name != "acme" {
		t.Fatalf("bob sees %+v", ts)
	}
	// Another tenant does not exist for bob...
	e.wantErr("bob", "GET", "/v1/tenants/globex", nil, 404, `tenant "globex": not found`)
	e.wantErr("bob", "GET", "/v1/users/eve", nil, 404, `user "eve": not found`)
	e.wantErr("bob", "PATCH", "/v1/users/eve", adminapi.UserUpdate{FullName: ptr("x")}, 404, `user "eve": not found`)
	e.wantErr("bob", "DELETE", "/v1/users/eve", nil, 404, `user "eve": not found`)
	e.wantErr("bob", "POST", "/v1/users", adminapi.UserCreate{Login: "mallory", Tenant: "globex"}, 404, `tenant "globex": not found`)
	e.wantErr("bob", "GET", "/v1/users?tenant=globex", nil, 404, `tenant "globex"`)
	e.wantErr("bob", "POST", "/v1/groups", adminapi.GroupCreate{Name: "g", Tenant: "globex"}, 404, `tenant "globex"`)
	// ...and what only system administrators do is refused.
	e.wantErr("bob", "PATCH", "/v1/tenants/acme", adminapi.TenantUpdate{QuotaWarnMB: num("1")}, 403, "only a system administrator may change tenant quotas")
	e.wantErr("bob", "POST", "/v1/tenants", adminapi.TenantCreate{Name: "mine"}, 403, "only a system administrator")
	e.wantErr("bob", "PUT", "/v1/tenants/acme/viewers/globex", nil, 403, "only a system administrator")
	e.wantErr("bob", "POST", "/v1/domains", adminapi.Domain{Name: "mine.test"}, 403, "only a system administrator")
	e.wantErr("bob", "PATCH", "/v1/users/alice", adminapi.UserUpdate{Admin: ptr(2)}, 403, "only a system administrator may grant admin level 2")
	e.wantErr("bob", "POST", "/v1/softdelete/purge", adminapi.Purge{Days: num("1")}, 403, "only a system administrator")
	// Within acme, bob administers (the default tenant is his own).
	var u adminapi.User
	e.callAs("bob", "POST", "/v1/users", adminapi.UserCreate{Login: "dave", FullName: "Dave"}, 201, &u)
	if u.Tenant != "acme" || u.Store == nil {
		t.Fatalf("%+v", u)
	}
	e.callAs("bob", "PATCH", "/v1/users/dave", adminapi.UserUpdate{QuotaHardMB: num("5")}, 200, nil)
	e.callAs("bob", "POST", "/v1/groups", adminapi.GroupCreate{Name: "Team"}, 201, nil)
	e.callAs("bob", "PUT", "/v1/groups/Team/members/dave", nil, 200, nil)
	// An ordinary user administers nothing.
	e.wantErr("alice", "DELETE", "/v1/users/dave", nil, 403, `user "dave": not an administrator of tenant "acme"`)
	e.wantErr("alice", "POST", "/v1/groups", adminapi.GroupCreate{Name: "x"}, 403, `not an administrator of tenant "acme"`)
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	huge := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	e.wantErr("", "POST", "/v1/tenants", huge, 413, "request body larger than 1048576 bytes")
	e.wantErr("", "POST", "/v1/tenants", "", 400, "empty request body")
	e.wantErr("", "POST", "/v1/tenants", `{"name":"a"} {"name":"b"}`, 400, "data after the JSON object")
	e.wantErr("", "POST", "/v1/tenants", `{"name":`, 400, "bad request body")
	e.wantErr("", "POST", "/v1/tenants", `[1]`, 400, "bad request body")
	// Nothing was created by the refused requests.
	var ts []adminapi.Tenant
	e.call("GET", "/v1/tenants", nil, 200, &ts)
	if len(ts) != 0 {
		t.Fatalf("%+v", ts)
	}
}

// failing is a backend whose ListDomains fails with an error that is none
// of the store's sentinels.
type failing struct{ store.Backend }

func (failing) ListDomains(context.Context) ([]store.Domain, error) {
	return nil, errors.New("disk on fire at /var/secret")
}

func TestInternalErrorIsGeneric(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *adminapi.Options, e *env) { e.b = failing{e.b} })
	r := e.req("", "GET", "/v1/domains", nil)
	if r.status != 500 || strings.Contains(r.errMsg(), "secret") || r.errMsg() == "" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestHumanSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.00 KB", 484861952: "462.40 MB", 3 << 30: "3.00 GB", 5 << 40: "5.00 TB", 5 << 50: "5120.00 TB"} {
		if got := adminapi.HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
