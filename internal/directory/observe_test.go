package directory_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// TestAuthenticateObserve: every outcome reaches Observe once, with the
// protocol and mechanism from WithAuthInfo, and never the password.
func TestAuthenticateObserve(t *testing.T) {
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
	for _, u := range []store.User{
		{Login: "alice", Email: "alice@acme.test", Active: true, PasswordHash: h},
		{Login: "room", Active: false, PasswordHash: h},
	} {
		if _, err := db.CreateUser(sys, "acme", u); err != nil {
			t.Fatal(err)
		}
	}
	var got []directory.AuthEvent
	a := &directory.Authenticator{Store: db, Observe: func(_ context.Context, ev directory.AuthEvent) { got = append(got, ev) }}
	ip := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5000}
	ctx := context.Background()
	a.Authenticate(ctx, "alice@acme.test", "pw", ip, "imap")
	a.Authenticate(directory.WithAuthInfo(ctx, "submission", "PLAIN"), "alice", "nope", ip, "")
	a.Authenticate(ctx, "ghost", "pw", ip, "")
	a.Authenticate(ctx, "room", "pw", ip, "dav")
	want := []directory.AuthEvent{
		{Login: "alice@acme.test", User: "alice", IP: "192.0.2.7", Feature: "imap", Protocol: "imap", Mechanism: "password", OK: true},
		{Login: "alice", User: "alice", IP: "192.0.2.7", Protocol: "submission", Mechanism: "PLAIN", Reason: "wrong password"},
		{Login: "ghost", IP: "192.0.2.7", Protocol: "other", Mechanism: "password", Reason: "unknown user"},
		{Login: "room", User: "room", IP: "192.0.2.7", Feature: "dav", Protocol: "dav", Mechanism: "password", Reason: "inactive"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %+v\nwant %+v", got, want)
	}
}
