package directory_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

func TestAuthenticate(t *testing.T) {
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
		{Login: "room", Email: "room@acme.test", Active: false, PasswordHash: h},
		{Login: "nopop", Active: true, PasswordHash: h, DisabledFeatures: []string{"pop3"}},
	} {
		if _, err := db.CreateUser(sys, "acme", u); err != nil {
			t.Fatal(err)
		}
	}
	var disabled []string
	a := &directory.Authenticator{Store: db, Throttle: &auth.Throttle{BaseDelay: 1, BanAfter: 6}, DisabledFeatures: func() []string { return disabled }}
	ip := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	ctx := context.Background()
	p, err := a.Authenticate(ctx, "alice", "pw", ip, "imap")
	if err != nil || p.Login != "alice" || p.Tenant != "acme" {
		t.Fatalf("%+v %v", p, err)
	}
	if p, err := a.Authenticate(ctx, "ALICE@acme.test", "pw", ip, "imap"); err != nil || p.Login != "alice" {
		t.Fatalf("login by address: %+v %v", p, err)
	}
	for _, c := range []struct {
		login, pw, feature string
		want               error
	}{
		{"alice", "wrong", "imap", directory.ErrBadCredentials},
		{"ghost", "pw", "imap", directory.ErrBadCredentials},
		{"room", "pw", "imap", directory.ErrInactive},
		{"nopop", "pw", "pop3", directory.ErrFeature},
	} {
		if _, err := a.Authenticate(ctx, c.login, c.pw, ip, c.feature); !errors.Is(err, c.want) {
			t.Errorf("%s/%s: %v, want %v", c.login, c.feature, err, c.want)
		}
	}
	// disabled_features applies unless the user enables the feature.
	disabled = []string{"imap"}
	if _, err := a.Authenticate(ctx, "alice", "pw", ip, "imap"); !errors.Is(err, directory.ErrFeature) {
		t.Fatalf("disabled_features: %v", err)
	}
	disabled = nil
	// Repeated failures ban the IP, whatever the account.
	for i := 0; i < 6; i++ {
		a.Authenticate(ctx, "alice", "bad", ip, "imap")
	}
	if _, err := a.Authenticate(ctx, "nopop", "pw", ip, "imap"); !errors.Is(err, directory.ErrThrottled) {
		t.Fatalf("after failures: %v", err)
	}
}
