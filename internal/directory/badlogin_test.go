package directory_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// A login that is not text (invalid UTF-8, or a NUL byte, which
// PostgreSQL refuses in a text column) is an unknown user to the client,
// never a store failure ("temporarily unavailable"), on every backend.
func TestLoginNotText(t *testing.T) {
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := testenv.Open(t, testenv.Options{Backend: backend})
			s.Tenants(t, "acme")
			s.User(t, "acme", store.User{Login: "alice", Active: true}, "pw-alice")
			a := &directory.Authenticator{Store: s.DB}
			remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
			for _, login := range []string{"ali\x00ce", "alice\x00", "\xff\xfe", "al\xc3"} {
				_, err := a.Authenticate(context.Background(), login, "pw-alice", remote, "")
				if !errors.Is(err, directory.ErrBadCredentials) {
					t.Errorf("login %q: %v, want invalid credentials", login, err)
				}
			}
			if _, err := a.Authenticate(context.Background(), "alice", "pw-alice", remote, ""); err != nil {
				t.Errorf("alice: %v", err)
			}
		})
	}
}
