package jmapserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// The black-box harness: the real handler on an httptest server bound to
// 127.0.0.1, over a real SQLite store and blob store.

var sys = store.SystemContext(context.Background())

func cheapHash(pw string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 8, 1, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version, b.EncodeToString(salt), b.EncodeToString(key))
}

func password(login string) string { return "secret-" + login }

type env struct {
	t   testing.TB
	db  *sqlstore.DB
	hub *events.Hub
	url string
	h   *jmapserver.Server
}

func testLogger() *slog.Logger {
	if os.Getenv("JMAPTEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newEnv starts the handler over a store with tenant acme (alice, bob)
// and globex (eve).
func newEnv(t testing.TB, opts ...func(*jmapserver.Options)) *env {
	t.Helper()
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	hub := events.NewHub()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"),
		Blobs: blobs, BlobGrace: -1, OnChange: hub.Publish})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, tn := range []string{"acme", "globex"} {
		if _, err := db.CreateTenant(sys, tn); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []store.User{
		{Tenant: "acme", Login: "alice", Active: true},
		{Tenant: "acme", Login: "bob", Active: true},
		{Tenant: "globex", Login: "eve", Active: true},
	} {
		u.Email = u.Login + "@" + u.Tenant + ".test"
		u.PasswordHash = cheapHash(password(u.Login))
		if _, err := db.CreateUser(sys, u.Tenant, u); err != nil {
			t.Fatal(err)
		}
	}
	o := jmapserver.Options{Store: db, Blobs: blobs, Hub: hub, Logger: testLogger(), Authenticate: authenticator(db)}
	for _, f := range opts {
		f(&o)
	}
	h := jmapserver.New(o)
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, hub: hub, url: srv.URL, h: h}
}

func authenticator(b store.Backend) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
		sys := store.SystemContext(ctx)
		u, err := b.GetUser(sys, login)
		if errors.Is(err, store.ErrNotFound) {
			return nil, directory.ErrBadCredentials
		}
		if err != nil {
			return nil, err
		}
		if err := auth.CheckPassword(u.PasswordHash, pw); err != nil {
			return nil, directory.ErrBadCredentials
		}
		return b.Principal(sys, u.Login)
	}
}

// as returns a store context acting as login.
func (e *env) as(login string) context.Context {
	p, err := e.db.Principal(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	return store.WithPrincipal(context.Background(), p)
}

func (e *env) storeOf(login string) *store.Store {
	e.t.Helper()
	st, err := e.db.UserStore(e.as(login), login)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) acct(login string) string { return fmt.Sprintf("A%d", e.storeOf(login).ID) }

func (e *env) folder(login, special string) *store.Folder {
	e.t.Helper()
	fs, err := e.db.ListFolders(e.as(login), e.storeOf(login).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fs {
		if f.Special == special || f.Name == special {
			return f
		}
	}
	e.t.Fatalf("%s has no folder %q", login, special)
	return nil
}

// deliver appends a message to login's folder as the delivery path does.
func (e *env) deliver(login, special, msg string, flags ...string) *store.Item {
	e.t.Helper()
	it, err := e.db.AppendItem(e.as(login), e.folder(login, special).ID, store.NewItem{
		Content: strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")), Flags: flags,
		InternalDate: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// login makes sure login's credentials are in the server's login cache.
func (e *env) login(login string) {
	e.t.Helper()
	if r := e.do(login, "GET", "/jmap/session", nil); r.code != 200 {
		e.t.Fatalf("login %s: %d %s", login, r.code, r.body)
	}
}

type resp struct {
	code int
	hdr  http.Header
	body []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.code, r.body)
	}
	return m
}

func (e *env) do(login, method, path string, body io.Reader, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if login != "" {
		req.SetBasicAuth(login, password(login))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, hdr: res.Header, body: b}
}

const using = `["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"]`

// call posts one request of method calls (a JSON array of invocations)
// and returns the methodResponses.
func (e *env) call(login, calls string) []any {
	e.t.Helper()
	r := e.do(login, "POST", "/jmap/api/", strings.NewReader(`{"using":`+using+`,"methodCalls":`+calls+`}`), "Content-Type", "application/json")
	if r.code != 200 {
		e.t.Fatalf("API %d: %s", r.code, r.body)
	}
	return r.json(e.t)["methodResponses"].([]any)
}

// call1 posts one method call and returns its response name and args.
func (e *env) call1(login, name string, args any) (string, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal([]any{[]any{name, args, "c0"}})
	out := e.call(login, string(b))
	if len(out) != 1 {
		e.t.Fatalf("%d responses", len(out))
	}
	inv := out[0].([]any)
	return inv[0].(string), inv[1].(map[string]any)
}

// must is call1 that fails the test on an error response.
func (e *env) must(login, name string, args any) map[string]any {
	e.t.Helper()
	n, a := e.call1(login, name, args)
	if n != name {
		e.t.Fatalf("%s: %s %v", name, n, a)
	}
	return a
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var _ = bytes.NewReader
