package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

var sysCtx = store.SystemContext(context.Background())

// adminEnv is a real admin API on DIR/admin.sock over a real SQLite store,
// driven through runAdmin in-process, as `roost admin --data DIR`.
type adminEnv struct {
	t   *testing.T
	dir string
	db  *sqlstore.DB
	api *adminapi.Server
}

// shortDir makes a temporary directory with a short path: unix socket
// paths are limited to about 108 bytes.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "roost-cli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	dir := shortDir(t)
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs, BlobGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &adminEnv{t: t, dir: dir, db: db}
	e.api = adminapi.New(db, adminapi.Options{Version: "test-7", LoginFormat: func() string { return "%u" }})
	// The socket is the system identity, as internal/app serves it.
	e.serve(dir, func(r *http.Request) (context.Context, error) { return store.SystemContext(r.Context()), nil })
	return e
}

// serve serves the API on dir/admin.sock with principals from auth.
func (e *adminEnv) serve(dir string, authn func(*http.Request) (context.Context, error)) {
	e.t.Helper()
	ln, err := net.Listen("unix", filepath.Join(dir, "admin.sock"))
	if err != nil {
		e.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := authn(r)
		if err != nil {
			http.Error(w, `{"error":"authentication failed"}`, http.StatusUnauthorized)
			return
		}
		e.api.ServeHTTP(w, r.WithContext(ctx))
	})}
	go srv.Serve(ln)
	e.t.Cleanup(func() { srv.Close() })
}

// serveAs starts a second socket, in a data directory of its own, whose
// requests act as the user login (the way the TLS listener authenticates
// tenant administrators), and returns that directory.
func (e *adminEnv) serveAs(login string) string {
	dir := shortDir(e.t)
	e.serve(dir, func(r *http.Request) (context.Context, error) {
		p, err := e.db.Principal(store.SystemContext(r.Context()), login)
		if err != nil {
			return nil, err
		}
		return store.WithPrincipal(r.Context(), p), nil
	})
	return dir
}

type result struct {
	code           int
	stdout, stderr string
}

// runIn runs `roost admin --data dir ARGS` with stdin.
func runIn(dir, stdin string, args ...string) result {
	var out, errb bytes.Buffer
	all := args
	if dir != "" {
		all = append([]string{"--data", dir}, args...)
	}
	code := runAdmin(context.Background(), all, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (e *adminEnv) run(stdin string, args ...string) result { return runIn(e.dir, stdin, args...) }

// ok runs a command that must succeed and returns its output.
func (e *adminEnv) ok(args ...string) string {
	e.t.Helper()
	return e.okIn("", args...)
}

func (e *adminEnv) okIn(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("roost admin %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// okJSON runs a command with --json and decodes its output into v.
func (e *adminEnv) okJSON(v any, args ...string) {
	e.t.Helper()
	out := e.ok(append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("roost admin --json %s: %v in %q", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must fail with exit code and one line on
// stderr containing msg.
func (e *adminEnv) fails(code int, msg string, args ...string) {
	e.t.Helper()
	wantFail(e.t, e.run("", args...), code, msg, args)
}

func wantFail(t *testing.T, r result, code int, msg string, args []string) {
	t.Helper()
	if r.code != code || r.stdout != "" || !strings.HasPrefix(r.stderr, "roost admin: ") ||
		strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, msg) {
		t.Fatalf("roost admin %s: exit %d (want %d)\nstdout: %q\nstderr: %q\nwant stderr with %q",
			strings.Join(args, " "), r.code, code, r.stdout, r.stderr, msg)
	}
}

// wantLine checks that out has a "Key:   value" line.
func wantLine(t *testing.T, out, key, value string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `:\s+` + regexp.QuoteMeta(value) + `$`)
	if !re.MatchString(out) {
		t.Fatalf("no line %q with %q in\n%s", key+":", value, out)
	}
}

func TestAdminUsage(t *testing.T) {
	t.Parallel()
	dir := shortDir(t) // no server: none of these may need one
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := runIn(dir, "", args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%v: %+v", args, r)
		}
		for _, c := range adminCmds {
			first, _, _ := strings.Cut(c.syntax, "\n")
			if !strings.Contains(r.stdout, "roost admin "+first) {
				t.Fatalf("%v: usage lacks %q:\n%s", args, first, r.stdout)
			}
		}
	}
	r := runIn("", "")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Usage: roost admin") {
		t.Fatalf("no arguments: %+v", r)
	}
	for _, args := range [][]string{{"user", "--help"}, {"help", "user"}, {"user", "help"}, {"user", "-h"}} {
		r := runIn(dir, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "roost admin user create LOGIN") ||
			!strings.Contains(r.stdout, "roost admin user update LOGIN") || strings.Contains(r.stdout, "tenant create") {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	r = runIn(dir, "", "user", "create", "--help")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: roost admin user create LOGIN --email ADDR") {
		t.Fatalf("user create --help: %+v", r)
	}
	r = runIn(dir, "", "tenant", "view", "add", "-h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: roost admin tenant view add VIEWER NAME") {
		t.Fatalf("tenant view add -h: %+v", r)
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"frob"}, `unknown command "frob"`},
		{[]string{"help", "frob"}, `help: unknown command "frob"`},
		{[]string{"user"}, "user: missing subcommand: one of create, update, delete, show, list"},
		{[]string{"user", "frob"}, `user: unknown subcommand "frob"`},
		{[]string{"tenant", "view"}, "tenant view: missing subcommand: one of add, remove"},
		{[]string{"tenant", "admin", "frob", "x", "y"}, `tenant admin: unknown subcommand "frob": one of add, remove`},
		{[]string{"user", "show"}, "user show: missing LOGIN (usage: roost admin user show LOGIN)"},
		{[]string{"user", "show", "a", "b"}, `user show: unexpected argument "b"`},
		{[]string{"tenant", "view", "add", "acme"}, "tenant view add: missing NAME"},
		{[]string{"user", "create", "x", "--bogus"}, "user create: unknown flag --bogus"},
		{[]string{"user", "create", "x", "--email"}, "user create: flag --email needs a value"},
		{[]string{"user", "update", "x", "--quota-hard", "abc"}, `--quota-hard: "abc" is not a number of megabytes`},
		{[]string{"user", "update", "x", "--quota-warn=-5"}, `--quota-warn: "-5" is not a number of megabytes`},
		{[]string{"user", "update", "x", "--quota-soft", "1.5"}, `--quota-soft: "1.5" is not a number of megabytes`},
		{[]string{"tenant", "update", "acme", "--user-quota-hard", "lots"}, `--user-quota-hard: "lots" is not a number of megabytes`},
		{[]string{"tenant", "update", "acme"}, "tenant update: nothing to change"},
		{[]string{"user", "update", "x", "--admin", "3"}, `--admin: "3" is not 0 (none), 1 (tenant) or 2 (system)`},
		{[]string{"user", "create", "x", "--admin", "root"}, `--admin: "root" is not 0`},
		{[]string{"user", "update", "x", "--mr-accept", "maybe"}, `--mr-accept: "maybe" is not yes or no`},
		{[]string{"user", "update", "x", "--quota-override", "sometimes"}, `--quota-override: "sometimes" is not yes or no`},
		{[]string{"user", "update", "x", "--capacity", "-1"}, `--capacity: "-1" is not a whole number`},
		{[]string{"user", "update", "x", "--active", "--inactive"}, "--active and --inactive contradict each other"},
		{[]string{"user", "update", "x"}, "user update: nothing to change"},
		{[]string{"softdelete", "purge"}, "softdelete purge: --days N is required"},
		{[]string{"softdelete", "purge", "--days", "soon"}, `--days: "soon" is not a whole number of days`},
		{[]string{"store", "hook", "abc", "--user", "x"}, `store hook: store id "abc" is not a number`},
		{[]string{"store", "remove", "0"}, `store remove: store id "0" is not a number`},
		{[]string{"deliver"}, "deliver: missing ADDR"},
		{[]string{"user", "list", "--data"}, "flag --data needs a value"},
		{[]string{"--json=yes", "user", "list"}, "--json takes no value"},
	} {
		wantFail(t, runIn(dir, "", c.args...), 2, c.msg, c.args)
	}
}

func TestAdminUnreachable(t *testing.T) {
	t.Parallel()
	dir := shortDir(t)
	r := runIn(dir, "", "user", "list")
	want := fmt.Sprintf("roost admin: cannot reach the server at %s: is `roost serve --data %s` running?\n", filepath.Join(dir, "admin.sock"), dir)
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Fatalf("got %+v\nwant stderr %q", r, want)
	}
	// A stale socket file (refused) reads the same.
	ln, err := net.Listen("unix", filepath.Join(dir, "admin.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if r := runIn(dir, "", "tenant", "list"); r.code != 1 || r.stderr != want {
		t.Fatalf("stale socket: %+v", r)
	}
	// --config: the socket and the hint come from the file.
	cfg := filepath.Join(dir, "roost.toml")
	data := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\n", data)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIn("", "", "--config", cfg, "status")
	want = fmt.Sprintf("roost admin: cannot reach the server at %s: is `roost serve --config %s` running?\n", filepath.Join(data, "admin.sock"), cfg)
	if r.code != 1 || r.stderr != want {
		t.Fatalf("got %+v\nwant stderr %q", r, want)
	}
	if err := os.WriteFile(cfg, []byte("no_such_key = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFail(t, runIn("", "", "--config", cfg, "status"), 1, "no_such_key", nil)
	// --data overrides the file's data_dir, as for roost serve.
	e := newAdminEnv(t)
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\n", data)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIn("", "", "--config", cfg, "--data", e.dir, "status")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Roost test-7, up ") {
		t.Fatalf("%+v", r)
	}
}

func TestAdminTenantsAndDomains(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	if out := e.ok("status"); !strings.HasPrefix(out, "Roost test-7, up ") {
		t.Fatalf("status %q", out)
	}
	e.fails(1, "there is no tenant yet: create one with `tenant create NAME`", "domain", "add", "acme.test")
	if out := e.ok("tenant", "create", "acme"); out != "created tenant acme\n" {
		t.Fatalf("%q", out)
	}
	// Global flags anywhere.
	var tn tenantView
	e.okJSON(&tn, "tenant", "create", "globex")
	if tn.Name != "globex" {
		t.Fatalf("%+v", tn)
	}
	e.fails(1, `tenant "ACME" already exists`, "tenant", "create", "ACME")
	e.fails(1, `tenant name "a/b" contains '/'`, "tenant", "create", "a/b")
	out := e.ok("tenant", "list")
	if !regexp.MustCompile(`(?m)^Tenant\s+Public store`).MatchString(out) || !strings.Contains(out, "acme") || !strings.Contains(out, "globex") {
		t.Fatalf("tenant list:\n%s", out)
	}
	var ts []tenantView
	e.okJSON(&ts, "tenant", "list")
	if len(ts) != 2 || ts[0].Name != "acme" {
		t.Fatalf("%+v", ts)
	}

	if out := e.ok("tenant", "update", "acme", "--quota-warn", "100", "--user-quota-warn", "10", "--user-quota-soft=20", "--user-quota-hard", "30"); out != "updated tenant acme\n" {
		t.Fatalf("%q", out)
	}
	out = e.ok("tenant", "show", "acme")
	wantLine(t, out, "Name", "acme")
	wantLine(t, out, "Warning level", "100.00 MB")
	wantLine(t, out, "User warning level", "10.00 MB")
	wantLine(t, out, "User soft level", "20.00 MB")
	wantLine(t, out, "User hard level", "30.00 MB")
	wantLine(t, out, "Store usage", "0 B (0 bytes)")
	wantLine(t, out, "Public store", "none")
	// Flags before the positional argument.
	e.okJSON(&tn, "tenant", "update", "--quota-warn", "0", "acme")
	if tn.QuotaWarn != 0 || tn.UserQuotaHard != 30<<20 {
		t.Fatalf("%+v", tn)
	}
	// The tenant's home node: only a registered backend (this
	// single node is none); cleared with "".
	e.fails(1, `home node "node-b" is not in the node registry (roost admin node list)`, "tenant", "update", "acme", "--home-node", "node-b")
	e.okJSON(&tn, "tenant", "update", "acme", "--home-node", "")
	if tn.HomeNode != "" || tn.UserQuotaHard != 30<<20 {
		t.Fatalf("after clearing the home node: %+v", tn)
	}
	e.fails(1, "soft quota (50 MB) is above hard quota (30 MB)", "tenant", "update", "acme", "--user-quota-soft", "50")
	e.fails(1, `tenant "nope": not found`, "tenant", "update", "nope", "--quota-warn", "1")
	e.fails(1, `tenant "nope": not found`, "tenant", "show", "nope")

	// Address book views and tenant administrators.
	if out := e.ok("tenant", "view", "add", "globex", "acme"); out != "tenant globex may now see the address book of tenant acme\n" {
		t.Fatalf("%q", out)
	}
	e.okJSON(&tn, "tenant", "show", "acme")
	if !slices.Equal(tn.Viewers, []string{"globex"}) {
		t.Fatalf("viewers %v", tn.Viewers)
	}
	wantLine(t, e.ok("tenant", "show", "acme"), "Viewers", "globex")
	e.fails(1, "a tenant always sees itself", "tenant", "view", "add", "acme", "acme")
	e.ok("tenant", "view", "remove", "globex", "acme")
	e.ok("user", "create", "gus", "--tenant", "globex", "--admin", "1")
	if out := e.ok("tenant", "admin", "add", "gus", "acme"); out != "gus now administers tenant acme\n" {
		t.Fatalf("%q", out)
	}
	e.okJSON(&tn, "tenant", "show", "acme")
	if !slices.Equal(tn.Admins, []string{"gus"}) || len(tn.Viewers) != 0 {
		t.Fatalf("%+v", tn)
	}
	e.fails(1, `user "ghost": not found`, "tenant", "admin", "add", "ghost", "acme")
	if out := e.ok("tenant", "admin", "remove", "gus", "acme"); out != "gus no longer administers tenant acme\n" {
		t.Fatalf("%q", out)
	}

	// Domains.
	if out := e.ok("domain", "add", "Acme.Test", "--tenant", "acme"); out != "added domain acme.test to tenant acme\n" {
		t.Fatalf("%q", out)
	}
	e.ok("domain", "add", "--tenant", "globex", "globex.test")
	e.fails(1, "several tenants: use --tenant", "domain", "add", "x.test")
	e.fails(1, `domain "acme.test" already exists`, "domain", "add", "acme.test", "--tenant", "globex")
	e.fails(1, `domain "bad..domain"`, "domain", "add", "bad..domain", "--tenant", "globex")
	out = e.ok("domain", "list")
	if !regexp.MustCompile(`(?m)^acme\.test\s+acme$`).MatchString(out) || !regexp.MustCompile(`(?m)^globex\.test\s+globex$`).MatchString(out) {
		t.Fatalf("domain list:\n%s", out)
	}
	var ds []domainView
	e.okJSON(&ds, "domain", "list")
	if len(ds) != 2 || ds[1] != (domainView{"globex.test", "globex"}) {
		t.Fatalf("%+v", ds)
	}
	e.ok("user", "create", "ceo", "--tenant", "acme", "--email", "ceo@acme.test")
	e.fails(1, `domain "acme.test" is still used by 1 addresses`, "domain", "remove", "acme.test")
	e.fails(1, `domain "globex.test" of tenant "acme": not found`, "domain", "remove", "globex.test", "--tenant", "acme")
	if out := e.ok("domain", "remove", "globex.test", "--tenant", "globex"); out != "removed domain globex.test\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `domain "globex.test": not found`, "domain", "remove", "globex.test")

	// Deleting a tenant: users and their orphaned stores go first.
	e.fails(1, `tenant "globex" still has 1 users; delete them first`, "tenant", "delete", "globex")
	e.ok("user", "delete", "gus")
	e.fails(1, `tenant "globex" still has 1 orphaned stores; remove them first`, "tenant", "delete", "globex")
	var orphans []storeView
	e.okJSON(&orphans, "store", "list-orphans")
	for _, o := range orphans {
		e.ok("store", "remove", fmt.Sprint(o.ID))
	}
	if out := e.ok("tenant", "delete", "globex"); out != "deleted tenant globex\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `tenant "globex": not found`, "tenant", "delete", "globex")
	// Deletes print nothing with --json.
	e.ok("tenant", "create", "tmp")
	if out := e.ok("--json", "tenant", "delete", "tmp"); out != "" {
		t.Fatalf("%q", out)
	}
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.fails(1, "there is no tenant yet", "user", "create", "x")
	e.ok("tenant", "create", "acme")
	e.ok("domain", "add", "acme.test")
	// With one tenant, --tenant may be left out.
	out := e.okIn("pw one\r\n", "user", "create", "alice", "--email", "alice@acme.test", "--name", "Alice Liddell", "--password-stdin")
	if !regexp.MustCompile(`^created user alice in tenant acme \(store \d+\)\n$`).MatchString(out) {
		t.Fatalf("%q", out)
	}
	u, err := e.db.GetUser(sysCtx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.CheckPassword(u.PasswordHash, "pw one"); err != nil {
		t.Fatalf("password from stdin: %v", err)
	}
	e.ok("tenant", "create", "globex")
	e.ok("domain", "add", "globex.test", "--tenant", "globex")
	e.ok("tenant", "update", "acme", "--user-quota-warn", "10", "--user-quota-hard", "30")
	e.fails(1, "several tenants: use --tenant", "user", "create", "carol", "--email", "carol@acme.test")
	e.fails(1, `user "alice" already exists`, "user", "create", "alice", "--tenant", "acme")
	e.fails(1, `user "Alice" already exists`, "user", "create", "Alice", "--tenant", "globex")
	e.fails(1, `address "alice@acme.test" is already in use`, "user", "create", "alice2", "--tenant", "acme", "--email", "alice@acme.test")
	e.fails(1, `domain "acme.test" belongs to another tenant`, "user", "create", "mallory", "--tenant", "globex", "--email", "ceo@acme.test")
	e.fails(1, `tenant "nope": not found`, "user", "create", "x", "--tenant", "nope")
	r := e.run("", "user", "create", "x", "--tenant", "acme", "--password-stdin")
	wantFail(t, r, 1, "--password-stdin: standard input holds no password", nil)
	e.ok("user", "create", "bob", "--tenant", "acme", "--email", "bob@acme.test", "--name", "Bob B", "--admin", "1")
	e.ok("user", "create", "--name", "Room 1", "--inactive", "--tenant", "acme", "room1")
	var uv userView
	e.okJSON(&uv, "user", "create", "eve", "--tenant", "globex", "--email", "eve@globex.test", "--name", "Eve")
	if uv.Login != "eve" || uv.Tenant != "globex" || uv.Store == nil || !uv.Active {
		t.Fatalf("%+v", uv)
	}

	// user show is kopano-admin --details.
	out = e.ok("user", "show", "alice")
	for _, kv := range [][2]string{
		{"Username", "alice"}, {"Fullname", "Alice Liddell"}, {"Emailaddress", "alice@acme.test"}, {"Tenant", "acme"},
		{"Active", "yes"}, {"Administrator", "no"}, {"Features", "imap; pop3; mobile; web; dav"},
		{"Store size", "0 B (0 bytes, 0 messages)"}, {"Quota overrides", "no"}, {"Warning level", "10.00 MB"},
		{"Soft level", "unlimited"}, {"Hard level", "30.00 MB"}, {"Quota source", "tenant"}, {"Groups", "Everyone"},
		{"Auto-accept meeting requests", "no"}, {"Resource capacity", "0"},
	} {
		wantLine(t, out, kv[0], kv[1])
	}
	for _, key := range []string{"Aliases:", "Send-as:", "Home node:", "Store:"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key)).MatchString(out) {
			t.Fatalf("no %s line in\n%s", key, out)
		}
	}
	wantLine(t, e.ok("user", "show", "room1"), "Active", "no")
	wantLine(t, e.ok("user", "show", "bob"), "Administrator", "yes (tenant)")
	e.fails(1, `user "ghost": not found`, "user", "show", "ghost")

	// --json user show carries everything --details prints, and no hash.
	raw := e.ok("user", "show", "alice", "--json")
	if strings.Contains(raw, "argon2") || strings.Contains(raw, "password") {
		t.Fatalf("user show leaks the password hash: %s", raw)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"login", "tenant", "full_name", "email", "aliases", "active", "admin", "features.enabled",
		"features.disabled", "features.effective", "store_id", "store.size", "store.size_human", "store.messages",
		"store.quota.source", "store.quota.warn", "store.quota.soft", "store.quota.hard", "quota.override", "quota.warn",
		"quota.soft", "quota.hard", "send_as", "groups", "home_node", "resource.auto_accept", "resource.decline_conflict",
		"resource.decline_recurring", "resource.capacity"} {
		var v any = m
		for _, k := range strings.Split(path, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: not an object in %s", path, raw)
			}
			if v, ok = obj[k]; !ok {
				t.Fatalf("user show --json lacks %s: %s", path, raw)
			}
		}
	}

	// Every flag of user update.
	out = e.ok("user", "update", "alice", "--email", "al@acme.test", "--name", "Alice L", "--alias-add", "a1@acme.test",
		"--alias-add=a2@acme.test", "--quota-override", "yes", "--quota-warn", "1", "--quota-soft", "2", "--quota-hard", "3",
		"--enable-feature", "imap", "--disable-feature", "pop3", "--disable-feature", "web", "--add-sendas", "bob",
		"--mr-accept", "yes", "--mr-decline-conflict", "yes", "--mr-decline-recurring", "no", "--capacity", "2",
		"--admin", "1", "--inactive")
	if out != "updated user alice\n" {
		t.Fatalf("%q", out)
	}
	e.okJSON(&uv, "user", "show", "alice")
	if uv.Email != "al@acme.test" || uv.FullName != "Alice L" || !slices.Equal(uv.Aliases, []string{"a1@acme.test", "a2@acme.test"}) ||
		!uv.Quota.Override || uv.Quota.Warn != 1<<20 || uv.Quota.Soft != 2<<20 || uv.Quota.Hard != 3<<20 ||
		uv.Store.Quota.Source != "user" || !slices.Equal(uv.Features.Enabled, []string{"imap"}) ||
		!slices.Equal(uv.Features.Disabled, []string{"pop3", "web"}) || !slices.Equal(uv.Features.Effective, []string{"imap", "mobile", "dav"}) ||
		!slices.Equal(uv.SendAs, []string{"bob"}) || !uv.Resource.AutoAccept || !uv.Resource.DeclineConflict ||
		uv.Resource.DeclineRecurring || uv.Resource.Capacity != 2 || uv.Admin != 1 || uv.Active {
		t.Fatalf("after update: %+v", uv)
	}
	out = e.ok("user", "show", "alice")
	wantLine(t, out, "Quota overrides", "yes")
	wantLine(t, out, "Hard level", "3.00 MB")
	wantLine(t, out, "Features", "imap; mobile; dav")
	wantLine(t, out, "Send-as", "bob")
	wantLine(t, out, "Aliases", "a1@acme.test, a2@acme.test")
	e.okJSON(&uv, "user", "update", "alice", "--alias-remove", "a1@acme.test", "--remove-sendas", "bob", "--active", "--mr-accept", "no")
	if !slices.Equal(uv.Aliases, []string{"a2@acme.test"}) || len(uv.SendAs) != 0 || !uv.Active || uv.Resource.AutoAccept {
		t.Fatalf("%+v", uv)
	}
	e.okIn("second pw\n", "user", "update", "alice", "--password-stdin")
	u, _ = e.db.GetUser(sysCtx, "alice")
	if auth.CheckPassword(u.PasswordHash, "second pw") != nil {
		t.Fatal("password not changed")
	}
	if out := e.ok("user", "update", "alice", "--rename", "alicia"); out != "updated user alicia (renamed from alice)\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `user "alice": not found`, "user", "show", "alice")
	e.ok("user", "update", "alicia", "--rename", "alice")

	e.fails(1, `user "ghost": not found`, "user", "update", "ghost", "--name", "x")
	e.fails(1, `user "bob" already exists`, "user", "update", "alice", "--rename", "bob")
	e.fails(2, `roost admin: --quota-hard: "abc" is not a number of megabytes`, "user", "update", "alice", "--quota-hard", "abc")
	e.fails(1, "warn quota (5 MB) is above soft quota (2 MB)", "user", "update", "alice", "--quota-warn", "5")
	e.fails(1, `unknown feature "teleport"`, "user", "update", "alice", "--enable-feature", "teleport")
	e.fails(1, `user "alice" has no alias "never@acme.test"`, "user", "update", "alice", "--alias-remove", "never@acme.test")
	e.fails(1, `send-as delegate "eve" is in another tenant`, "user", "update", "alice", "--add-sendas", "eve")

	// Lists.
	out = e.ok("user", "list")
	if !regexp.MustCompile(`(?m)^Username\s+Fullname\s+Emailaddress\s+Tenant`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^alice\s+Alice L\s+al@acme\.test\s+acme\s+yes\s+yes \(tenant\)$`).MatchString(out) ||
		!strings.Contains(out, "eve") {
		t.Fatalf("user list:\n%s", out)
	}
	out = e.ok("user", "list", "--tenant", "globex")
	if !strings.Contains(out, "eve") || strings.Contains(out, "alice") {
		t.Fatalf("user list --tenant globex:\n%s", out)
	}
	var us []userView
	e.okJSON(&us, "user", "list", "--tenant", "acme")
	if len(us) != 3 || us[0].Login != "alice" {
		t.Fatalf("%+v", us)
	}
	e.fails(1, `tenant "nope": not found`, "user", "list", "--tenant", "nope")

	if out := e.ok("user", "delete", "room1"); !strings.HasPrefix(out, "deleted user room1; its store is kept as an orphan") {
		t.Fatalf("%q", out)
	}
	e.fails(1, `user "room1": not found`, "user", "delete", "room1")
}

func TestAdminGroups(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "alice", "--tenant", "acme", "--name", "Alice")
	e.ok("user", "create", "eve", "--tenant", "globex")
	if out := e.ok("group", "create", "Sales", "--tenant", "acme"); out != "created group Sales in tenant acme\n" {
		t.Fatalf("%q", out)
	}
	var g groupView
	e.okJSON(&g, "group", "create", "--tenant", "globex", "Sales")
	if g.Tenant != "globex" || g.Kind != "security" {
		t.Fatalf("%+v", g)
	}
	e.fails(1, `group "sales" already exists in tenant "acme"`, "group", "create", "sales", "--tenant", "acme")
	e.fails(1, "several tenants: use --tenant", "group", "create", "Ops")
	e.fails(1, `tenant "nope": not found`, "group", "create", "Ops", "--tenant", "nope")

	// The tenant of a member change is the user's unless given.
	if out := e.ok("group", "add-member", "Sales", "alice"); out != "added alice to group Sales\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `user "alice" is already a member of "Sales"`, "group", "add-member", "Sales", "alice")
	e.fails(1, `user "eve" is not in tenant "acme"`, "group", "add-member", "Sales", "eve", "--tenant", "acme")
	e.fails(1, `membership of "Everyone" is automatic`, "group", "add-member", "Everyone", "alice")
	e.fails(1, `user "ghost": not found`, "group", "add-member", "Sales", "ghost")

	e.fails(1, `group "Sales" exists in several tenants (acme, globex): use --tenant`, "group", "show", "Sales")
	out := e.ok("group", "show", "Sales", "--tenant", "acme")
	wantLine(t, out, "Name", "Sales")
	wantLine(t, out, "Tenant", "acme")
	wantLine(t, out, "Kind", "security")
	wantLine(t, out, "Users (1)", "alice")
	e.okJSON(&g, "group", "show", "Everyone", "--tenant", "acme")
	if !g.BuiltIn || !slices.Equal(g.Members, []string{"alice"}) {
		t.Fatalf("%+v", g)
	}
	e.fails(1, `group "nope": not found`, "group", "show", "nope")
	wantLine(t, e.ok("user", "show", "alice"), "Groups", "Everyone, Sales")

	out = e.ok("group", "list")
	if !regexp.MustCompile(`(?m)^Group\s+Tenant\s+Kind`).MatchString(out) || !regexp.MustCompile(`(?m)^Sales\s+acme\s+security\s+1$`).MatchString(out) {
		t.Fatalf("group list:\n%s", out)
	}
	var gs []groupView
	e.okJSON(&gs, "group", "list", "--tenant", "globex")
	if len(gs) != 2 {
		t.Fatalf("%+v", gs)
	}

	if out := e.ok("group", "remove-member", "Sales", "alice", "--tenant", "acme"); out != "removed alice from group Sales\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `user "alice" is not a member of "Sales"`, "group", "remove-member", "Sales", "alice")
	e.fails(1, `group "Everyone" is built in`, "group", "delete", "Everyone", "--tenant", "acme")
	if out := e.ok("group", "delete", "Sales", "--tenant", "globex"); out != "deleted group Sales\n" {
		t.Fatalf("%q", out)
	}
	e.ok("group", "delete", "Sales") // now only in acme
	e.fails(1, `group "Sales": not found`, "group", "delete", "Sales")
}

func TestAdminStoresAndDelivery(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("domain", "add", "acme.test")
	e.ok("user", "create", "alice", "--email", "alice@acme.test")
	e.ok("user", "update", "alice", "--alias-add", "a@acme.test")
	e.ok("user", "create", "bob", "--email", "bob@acme.test")

	msg := "From: x@example.test\r\nTo: alice@acme.test\r\nSubject: hi\r\n\r\nHello\r\n"
	if out := e.okIn(msg, "deliver", "alice@acme.test"); out != "delivered to alice, UID 1\n" {
		t.Fatalf("%q", out)
	}
	if out := e.okIn(msg, "deliver", "A@ACME.TEST"); out != "delivered to alice, UID 2\n" {
		t.Fatalf("%q", out)
	}
	var d struct {
		User     string `json:"user"`
		FolderID int64  `json:"folder_id"`
		UID      uint32 `json:"uid"`
		ItemID   int64  `json:"item_id"`
	}
	if err := json.Unmarshal([]byte(e.okIn(msg, "--json", "deliver", "alice@acme.test")), &d); err != nil {
		t.Fatal(err)
	}
	if d.User != "alice" || d.UID != 3 || d.FolderID == 0 || d.ItemID == 0 {
		t.Fatalf("%+v", d)
	}
	it, err := e.db.GetItem(sysCtx, d.ItemID)
	if err != nil || it.Size != int64(len(msg)) {
		t.Fatalf("%+v %v", it, err)
	}
	wantLine(t, e.ok("user", "show", "alice"), "Store size", fmt.Sprintf("%d B (%d bytes, 3 messages)", 3*len(msg), 3*len(msg)))
	// Delivery failures use sysexits(3) codes for MTAs.
	wantFail(t, e.run(msg, "deliver", "nobody@acme.test"), 67, `address "nobody@acme.test": not found`, nil)
	wantFail(t, e.run("", "deliver", "alice@acme.test"), 65, "empty message", nil)

	// Orphans: bob's store outlives him, and can be hooked to dave.
	var bob userView
	e.okJSON(&bob, "user", "show", "bob")
	e.ok("user", "delete", "bob")
	out := e.ok("store", "list-orphans")
	if !regexp.MustCompile(`(?m)^Store\s+Tenant\s+Former owner\s+Kind\s+Size`).MatchString(out) ||
		!regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+acme\s+bob\s+private\s+0 B\s+0\s`, bob.StoreID)).MatchString(out) {
		t.Fatalf("list-orphans:\n%s", out)
	}
	var orphans []storeView
	e.okJSON(&orphans, "store", "list-orphans")
	if len(orphans) != 1 || orphans[0].ID != bob.StoreID || !orphans[0].Orphan {
		t.Fatalf("%+v", orphans)
	}
	var dave userView
	e.okJSON(&dave, "user", "create", "dave")
	bobID, daveOld := fmt.Sprint(bob.StoreID), fmt.Sprint(dave.StoreID)
	if out := e.ok("store", "hook", bobID, "--user", "dave"); out != "store "+bobID+" now belongs to user dave\n" {
		t.Fatalf("%q", out)
	}
	e.okJSON(&dave, "user", "show", "dave")
	if fmt.Sprint(dave.StoreID) != bobID {
		t.Fatalf("dave's store %d", dave.StoreID)
	}
	e.okJSON(&orphans, "store", "list-orphans")
	if len(orphans) != 1 || fmt.Sprint(orphans[0].ID) != daveOld {
		t.Fatalf("%+v", orphans)
	}
	e.fails(1, "is not an orphan", "store", "hook", bobID, "--user", "alice")
	e.fails(1, "store 999999: not found", "store", "hook", "999999")
	// Without --user, the orphan becomes the public store.
	if out := e.ok("store", "hook", daveOld); out != "store "+daveOld+" is now the public store of tenant acme\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `tenant "acme" already has a public store (`+daveOld+")", "store", "create-public")
	e.ok("tenant", "create", "globex")
	e.fails(1, "several tenants: use --tenant", "store", "create-public")
	out = e.ok("store", "create-public", "--tenant", "globex")
	if !regexp.MustCompile(`^created public store \d+ for tenant globex\n$`).MatchString(out) {
		t.Fatalf("%q", out)
	}
	// Public folders of a type: a calendar under a new mail folder; again
	// it is found, not made twice; another type at that path is refused.
	out = e.ok("store", "public-folder", "Team/Holidays", "--type", "calendar", "--acl", "anyone=lr", "--tenant", "globex")
	if !regexp.MustCompile(`^created calendar folder "Team/Holidays" \(id \d+\) in public store \d+\n$`).MatchString(out) {
		t.Fatalf("%q", out)
	}
	if out := e.ok("store", "public-folder", "team/holidays", "--type", "calendar", "--tenant", "globex"); !strings.HasPrefix(out, "found existing calendar folder") {
		t.Fatalf("%q", out)
	}
	e.fails(1, "exists as a calendar folder", "store", "public-folder", "Team/Holidays", "--type", "contacts", "--tenant", "globex")
	e.fails(1, "must be mail, calendar, contacts or tasks", "store", "public-folder", "X", "--type", "notes", "--tenant", "globex")
	e.fails(1, "must be 1 to 32 folder names", "store", "public-folder", "A//B", "--tenant", "globex")
	e.fails(2, "want SUBJECT=RIGHTS", "store", "public-folder", "X", "--acl", "anyone", "--tenant", "globex")
	e.ok("tenant", "create", "initech")
	e.fails(1, "has no public store", "store", "public-folder", "X", "--tenant", "initech")

	e.ok("user", "delete", "dave")
	if out := e.ok("store", "remove", bobID); !strings.HasPrefix(out, "removed store "+bobID+";") {
		t.Fatalf("%q", out)
	}
	e.fails(1, "store "+bobID+": not found", "store", "remove", bobID)
	e.fails(1, "store 999999: not found", "store", "remove", "999999")

	var pr struct {
		Stores int64 `json:"stores"`
	}
	e.okJSON(&pr, "softdelete", "purge", "--days", "30")
	if pr.Stores != 0 {
		t.Fatalf("purged a young store: %+v", pr)
	}
	out = e.ok("softdelete", "purge", "--days", "0")
	if !regexp.MustCompile(`^purged 0 items, \d+ folders, 1 stores and 0 blobs deleted more than 0 days ago\n$`).MatchString(out) {
		t.Fatalf("%q", out)
	}
}

func TestAdminTenantAdmin(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "tina", "--tenant", "acme", "--admin", "1")
	e.ok("user", "create", "eve", "--tenant", "globex")
	tina := e.serveAs("tina")
	as := func(args ...string) result { return runIn(tina, "", args...) }

	// Another tenant's objects do not exist for a tenant administrator.
	for _, c := range []struct {
		msg  string
		args []string
	}{
		{`user "eve": not found`, []string{"user", "show", "eve"}},
		{`user "eve": not found`, []string{"user", "update", "eve", "--name", "x"}},
		{`user "eve": not found`, []string{"user", "delete", "eve"}},
		{`tenant "globex": not found`, []string{"tenant", "show", "globex"}},
		{`tenant "globex": not found`, []string{"tenant", "update", "globex", "--quota-warn", "1"}},
		{`tenant "globex": not found`, []string{"user", "create", "x", "--tenant", "globex"}},
		{`tenant "globex": not found`, []string{"user", "list", "--tenant", "globex"}},
		{`tenant "globex": not found`, []string{"group", "create", "g", "--tenant", "globex"}},
		// What only system administrators may do.
		{"only a system administrator may change tenant quotas", []string{"tenant", "update", "acme", "--quota-warn", "1"}},
		{"only a system administrator may do this", []string{"tenant", "create", "mine"}},
		{"only a system administrator may do this", []string{"tenant", "admin", "add", "tina", "globex"}},
		{"only a system administrator may grant admin level 2", []string{"user", "update", "tina", "--admin", "2"}},
		{"only a system administrator may do this", []string{"softdelete", "purge", "--days", "1"}},
	} {
		wantFail(t, as(c.args...), 1, c.msg, c.args)
	}
	// A refused delivery is a temporary failure for the MTA (EX_TEMPFAIL).
	wantFail(t, as("deliver", "eve@globex.test"), 75, "delivery needs the system identity", nil)
	var ts []tenantView
	if err := json.Unmarshal([]byte(as("--json", "tenant", "list").stdout), &ts); err != nil || len(ts) != 1 || ts[0].Name != "acme" {
		t.Fatalf("tina's tenants %+v %v", ts, err)
	}
	// In its own tenant, which is the default, it administers.
	if r := as("user", "create", "dan", "--name", "Dan"); r.code != 0 || !strings.HasPrefix(r.stdout, "created user dan in tenant acme") {
		t.Fatalf("%+v", r)
	}
	if r := as("group", "create", "Team"); r.code != 0 || r.stdout != "created group Team in tenant acme\n" {
		t.Fatalf("%+v", r)
	}
}

// TestAdminGroupContacts: `group add-contact` and `remove-contact` make
// a tenant's contacts members of a group; show and --json list them.
func TestAdminGroupContacts(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("group", "create", "Partners", "--tenant", "acme")
	sys := store.SystemContext(context.Background())
	if _, err := e.db.CreateContact(sys, "acme", store.Contact{Email: "ann@partner.example", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateContact(sys, "globex", store.Contact{Email: "gus@globex-partner.example"}); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("group", "add-contact", "Partners", "ann@partner.example"); out != "added contact ann@partner.example to group Partners\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `contact "ann@partner.example" is already a member of "Partners"`, "group", "add-contact", "Partners", "ANN@partner.example")
	e.fails(1, `contact "gus@globex-partner.example": not found`, "group", "add-contact", "Partners", "gus@globex-partner.example")
	e.fails(1, `membership of "Everyone" is automatic`, "group", "add-contact", "Everyone", "ann@partner.example", "--tenant", "acme")
	out := e.ok("group", "show", "Partners")
	wantLine(t, out, "Contacts (1)", "ann@partner.example")
	var g groupView
	e.okJSON(&g, "group", "show", "Partners")
	if !slices.Equal(g.Contacts, []string{"ann@partner.example"}) || len(g.Members) != 0 {
		t.Fatalf("%+v", g)
	}
	if out := e.ok("group", "remove-contact", "Partners", "ann@partner.example", "--tenant", "acme"); out != "removed contact ann@partner.example from group Partners\n" {
		t.Fatalf("%q", out)
	}
	e.fails(1, `contact "ann@partner.example" is not a member of "Partners"`, "group", "remove-contact", "Partners", "ann@partner.example")
	e.okJSON(&g, "group", "show", "Partners")
	if g.Contacts == nil || len(g.Contacts) != 0 {
		t.Fatalf("contacts after removal %+v (want an empty list)", g)
	}
}
