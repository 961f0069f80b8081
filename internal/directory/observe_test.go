package directory_test

import (
	"context"
	"net"
	"slices"
	"testing"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAuthenticateObserve: every outcome reaches Observe once, with the
// protocol and mechanism from WithAuthInfo, and never the password.
func TestAuthenticateObserve(t *testing.T) {
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	s.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	s.User(t, "acme", store.User{Login: "room", Active: false}, "pw")
	db := s.DB
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
