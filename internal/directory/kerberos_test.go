package directory_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/kerberos"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestKerberosDirectoryDown: a good ticket meeting a failing directory
// is a temporary failure (503 on HTTP), never bad credentials; the same
// principal signs in once the directory is back, and an inactive user is
// refused as such.
func TestKerberosDirectoryDown(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		t.Skip("python3-gssapi not installed")
	}
	k := testenv.StartKDC(t)
	kt := k.ServiceKeytab("HTTP/localhost")
	k.AddUser("alice", "pw-alice")
	k.AddUser("room", "pw-room")
	env := k.Kinit("alice", "pw-alice", "")
	roomEnv := k.Kinit("room", "pw-room", filepath.Join(k.Dir(), "room.cc"))
	acc, err := kerberos.New(kerberos.Config{Keytab: kt})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "db"), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sys := store.SystemContext(context.Background())
	db.CreateTenant(sys, "acme")
	h, _ := auth.HashPassword("pw")
	for _, u := range []store.User{{Login: "alice", Email: "alice@acme.test", Active: true, PasswordHash: h},
		{Login: "room", Active: false, PasswordHash: h}} {
		if _, err := db.CreateUser(sys, "acme", u); err != nil {
			t.Fatal(err)
		}
	}
	f := storefault.New(db)
	a := &directory.Authenticator{Store: f, Kerberos: acc}
	ip := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	ctx := context.Background()

	f.Fail(errors.New("database is down"), "GetUser")
	_, err = a.Negotiate(ctx, k.InitToken(env, "HTTP"), "jmap", ip)
	if err == nil || errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("directory down: %v, want a temporary failure", err)
	}
	basic := &directory.BasicAuth{Negotiate: func(ctx context.Context, tok []byte, remote net.Addr) (*store.Principal, error) {
		return a.Negotiate(ctx, tok, "jmap", remote)
	}}
	code := func(tok []byte) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/jmap/session", nil)
		req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(tok))
		basic.Check(rec, req)
		return rec.Code
	}
	if c := code(k.InitToken(env, "HTTP")); c != 503 {
		t.Fatalf("HTTP with the directory down: %d, want 503", c)
	}
	f.Heal()
	if p, err := a.Negotiate(ctx, k.InitToken(env, "HTTP"), "jmap", ip); err != nil || p.Login != "alice" {
		t.Fatalf("directory back: %v %v", p, err)
	}
	if _, err := a.Negotiate(ctx, k.InitToken(roomEnv, "HTTP"), "jmap", ip); !errors.Is(err, directory.ErrInactive) {
		t.Fatalf("inactive user: %v", err)
	}
	if c := code([]byte("not a token")); c != 401 {
		t.Fatalf("garbage token: %d", c)
	}
}

// TestKerberosBanned: a good ticket from an address the throttle banned
// (password guessing) is refused with ErrThrottled (503 on HTTP, not a
// fresh challenge), as every other sign-in from it; another address
// signs in with the same ticket's principal.
func TestKerberosBanned(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import gssapi").Run(); err != nil {
		t.Skip("python3-gssapi not installed")
	}
	k := testenv.StartKDC(t)
	kt := k.ServiceKeytab("HTTP/localhost")
	k.AddUser("alice", "pw-alice")
	env := k.Kinit("alice", "pw-alice", "")
	acc, err := kerberos.New(kerberos.Config{Keytab: kt})
	if err != nil {
		t.Fatal(err)
	}
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	s.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	a := &directory.Authenticator{Store: s.DB, Kerberos: acc, Throttle: &auth.Throttle{BaseDelay: 1, BanAfter: 3}}
	ctx := context.Background()
	banned := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 5000}
	for range 4 {
		a.Authenticate(ctx, "alice", "bad", banned, "imap")
	}
	if p, err := a.Negotiate(ctx, k.InitToken(env, "HTTP"), "jmap", banned); !errors.Is(err, directory.ErrThrottled) {
		t.Errorf("banned address: %v %v, want ErrThrottled", p, err)
	}
	basic := &directory.BasicAuth{Negotiate: func(ctx context.Context, tok []byte, _ net.Addr) (*store.Principal, error) {
		return a.Negotiate(ctx, tok, "jmap", banned)
	}}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/jmap/session", nil)
	req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(k.InitToken(env, "HTTP")))
	if basic.Check(rec, req); rec.Code != 503 {
		t.Errorf("HTTP from a banned address: %d, want 503", rec.Code)
	}
	other := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 8), Port: 5000}
	if p, err := a.Negotiate(ctx, k.InitToken(env, "HTTP"), "jmap", other); err != nil || p.Login != "alice" {
		t.Errorf("another address: %v %v", p, err)
	}
}
