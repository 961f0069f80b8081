package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// TestProxyLoginRegistryFailure: a proxied login from an address that is
// no registered frontend is refused as bad credentials, but a node
// registry that cannot be read is a temporary failure, not a wrong
// password (nor a throttled failed login).
func TestProxyLoginRegistryFailure(t *testing.T) {
	db := openSQLiteStore(t)
	s := &server{log: slog.New(slog.DiscardHandler), db: db}
	s.cfg.Store(config.Default())
	login := s.proxyLogin("imap")
	front := &net.TCPAddr{IP: net.ParseIP("127.0.0.9"), Port: 40000}

	_, err := login(context.Background(), "alice", front, front)
	if !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("proxied login from an unregistered address: %v, want ErrBadCredentials", err)
	}

	db.Close()
	_, err = login(context.Background(), "alice", front, front)
	if err == nil || errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("proxied login with the registry unreadable: %v, want a temporary failure", err)
	}
}

// TestFromFrontendAddressForms: a frontend registered with its
// node_address written in another form than the connection's address
// (IPv6 in capitals or with zeros spelled out) is still recognised; a
// node without the frontend role, or another address, is not.
func TestFromFrontendAddressForms(t *testing.T) {
	db := openSQLiteStore(t)
	sys := store.SystemContext(context.Background())
	now := time.Now()
	for _, n := range []store.Node{
		{Name: "front", Address: "2001:DB8:0:0::7", Roles: []string{"frontend"}, Started: now, Instance: "a"},
		{Name: "back", Address: "2001:db8::8", Roles: []string{"backend"}, Started: now, Instance: "b"},
	} {
		if _, err := db.Heartbeat(sys, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{log: slog.New(slog.DiscardHandler), db: db}
	s.cfg.Store(config.Default())
	addr := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000} }
	if err := s.fromFrontend(context.Background(), addr("2001:db8::7")); err != nil {
		t.Errorf("registered frontend refused: %v", err)
	}
	for _, ip := range []string{"2001:db8::8", "2001:db8::9"} {
		if err := s.fromFrontend(context.Background(), addr(ip)); !errors.Is(err, errNotFrontend) {
			t.Errorf("%s: %v, want errNotFrontend", ip, err)
		}
	}
	// The per-address limit's exemption follows the same registry.
	if !s.isFrontendIP("2001:db8::7") || s.isFrontendIP("2001:db8::8") || s.isFrontendIP("") {
		t.Error("isFrontendIP does not follow the registry")
	}
}

// TestTenantHomeNode: a user without a home node of its own lives on its
// tenant's (store.Tenant.HomeNode); its own wins; none for neither.
func TestTenantHomeNode(t *testing.T) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sys := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{{Login: "alice"}, {Login: "bob", HomeNode: "node-b"}} {
		if _, err := db.CreateUser(sys, "acme", u); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{log: slog.New(slog.DiscardHandler), db: db}
	home := func(login string) string {
		t.Helper()
		u, err := db.GetUser(sys, login)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.homeNode(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if a, b := home("alice"), home("bob"); a != "" || b != "node-b" {
		t.Fatalf("without a tenant home node: alice %q, bob %q", a, b)
	}
	node := "node-t"
	if _, err := db.Heartbeat(sys, store.Node{Name: node, Roles: []string{"backend"}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTenant(sys, "acme", store.TenantUpdate{HomeNode: &node}); err != nil {
		t.Fatal(err)
	}
	if a, b := home("alice"), home("bob"); a != "node-t" || b != "node-b" {
		t.Fatalf("with the tenant's home node-t: alice %q, bob %q", a, b)
	}
}

// TestRedirectTo: the redirect mode's Location is the home node's
// public_url, or its proxy_url (path prefix kept) when the request
// carries proxy_header or it is "*", followed by the request's escaped
// path and query; a node without the URL wanted gives "" (proxied), logged
// once per node and kind.
func TestRedirectTo(t *testing.T) {
	db := openSQLiteStore(t)
	sys := store.SystemContext(context.Background())
	for _, n := range []store.Node{
		{Name: "node-a", Roles: []string{"backend"}, Instance: "a", PublicURL: "https://a.example.org", ProxyURL: "https://proxy.example.org/a"},
		{Name: "node-b", Roles: []string{"backend"}, Instance: "b", PublicURL: "https://b.example.org"},
	} {
		if _, err := db.Heartbeat(sys, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{log: slog.New(slog.DiscardHandler), db: db}
	s.cfg.Store(config.Default())
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	var warned sync.Map
	cfg := func(header string) *config.Config {
		c := config.Default()
		c.ProxyHeader = header
		return c
	}
	const path = "/dav/calendars/alice/My%20Cal/?a=1&b=%2F"
	for _, c := range []struct {
		header, sent, node, want string
	}{
		{"", "", "node-a", "https://a.example.org" + path},
		{"", "X-Via", "node-a", "https://a.example.org" + path},
		{"X-Via", "", "node-a", "https://a.example.org" + path},
		{"X-Via", "X-Via", "node-a", "https://proxy.example.org/a" + path},
		{"X-Via", "x-via", "node-a", "https://proxy.example.org/a" + path},
		{"*", "", "node-a", "https://proxy.example.org/a" + path},
		{"*", "", "node-b", ""},
		{"X-Via", "X-Via", "node-b", ""},
		{"X-Via", "", "node-b", "https://b.example.org" + path},
		{"", "", "node-x", ""},
	} {
		r := httptest.NewRequest("PROPFIND", path, nil)
		if c.sent != "" {
			r.Header.Set(c.sent, "1")
		}
		if got := s.redirectTo(r, cfg(c.header), c.node, &warned, log); got != c.want {
			t.Errorf("proxy_header %q, sent %q, %s: %q, want %q", c.header, c.sent, c.node, got, c.want)
		}
	}
	if n := strings.Count(logged.String(), "registers no proxy_url"); n != 1 {
		t.Errorf("node-b's missing proxy_url logged %d times, want once:\n%s", n, logged.String())
	}
	if n := strings.Count(logged.String(), "node=node-x"); n != 1 {
		t.Errorf("node-x's missing public_url logged %d times, want once:\n%s", n, logged.String())
	}
}

// openSQLiteStore opens a store on SQLite and file blobs in a temporary
// directory, closed when t ends.
func openSQLiteStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
