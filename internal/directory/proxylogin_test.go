package directory_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestProxyLogin: a login a frontend proxies is admitted without a
// password, but the account must be active and have the feature, and an
// address the throttle banned stays banned through a frontend; the
// audit/observe hook hears of it with the client's address.
func TestProxyLogin(t *testing.T) {
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	s.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	s.User(t, "acme", store.User{Login: "room", Active: false}, "pw")
	s.User(t, "acme", store.User{Login: "nopop", Active: true, DisabledFeatures: []string{"pop3"}}, "pw")
	var events []directory.AuthEvent
	a := &directory.Authenticator{Store: s.DB, Throttle: &auth.Throttle{BaseDelay: 1, BanAfter: 3},
		Observe: func(_ context.Context, ev directory.AuthEvent) { events = append(events, ev) }}
	ctx := context.Background()
	client := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 4242}
	p, err := a.ProxyLogin(ctx, "alice", client, "imap")
	if err != nil || p.Login != "alice" {
		t.Fatalf("ProxyLogin(alice) = %+v, %v", p, err)
	}
	if len(events) != 1 || !events[0].OK || events[0].IP != "198.51.100.7" {
		t.Errorf("observed %+v, want one success from 198.51.100.7", events)
	}
	if _, err := a.ProxyLogin(ctx, "room", client, "imap"); !errors.Is(err, directory.ErrInactive) {
		t.Errorf("inactive: %v", err)
	}
	if _, err := a.ProxyLogin(ctx, "nopop", client, "pop3"); !errors.Is(err, directory.ErrFeature) {
		t.Errorf("feature: %v", err)
	}
	// Failures from the client's address (on any node) ban it, and a
	// frontend's proxied login from it is refused as well.
	for range 4 {
		a.Authenticate(ctx, "alice", "bad", client, "imap")
	}
	if _, err := a.ProxyLogin(ctx, "alice", client, "imap"); !errors.Is(err, directory.ErrThrottled) {
		t.Errorf("banned address: %v, want ErrThrottled", err)
	}
	other := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 8), Port: 1}
	if _, err := a.ProxyLogin(ctx, "alice", other, "imap"); err != nil {
		t.Errorf("another address: %v", err)
	}
}

// TestSingleSignOnBanned: a sign-in another party vouched for (an OpenID
// provider's ID token through CreateSessionFor) is refused with
// ErrThrottled from an address the throttle banned, and no session is
// opened; another address still signs in.
func TestSingleSignOnBanned(t *testing.T) {
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	s.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	a := &directory.Authenticator{Store: s.DB, Throttle: &auth.Throttle{BaseDelay: 1, BanAfter: 3}}
	ctx := context.Background()
	client := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 4242}
	for range 4 {
		a.Authenticate(ctx, "alice", "bad", client, "imap")
	}
	if sess, err := a.CreateSessionFor(ctx, "alice", client); !errors.Is(err, directory.ErrThrottled) || sess != nil {
		t.Errorf("banned address: %+v, %v, want ErrThrottled", sess, err)
	}
	sys := store.SystemContext(ctx)
	if list, err := a.ListSessions(sys, "alice"); err != nil || len(list) != 0 {
		t.Errorf("sessions after a refused sign-in: %d, %v", len(list), err)
	}
	other := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 8), Port: 1}
	if _, err := a.CreateSessionFor(ctx, "alice", other); err != nil {
		t.Errorf("another address: %v", err)
	}
}
