package directory_test

import (
	"context"
	"errors"
	"net"
	"strings"
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

// countingExternal counts what reaches the external directory.
type countingExternal struct{ calls int }

func (c *countingExternal) Authenticate(ctx context.Context, login, password string) (*store.User, error) {
	c.calls++
	return nil, directory.ErrBadCredentials
}

// A login longer than any address is refused as invalid credentials
// without reaching the store or an external directory (an LDAP search
// filter as large as the client's command line).
func TestLoginTooLong(t *testing.T) {
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	long := strings.Repeat("a", 400) + "@acme.test"
	s.User(t, "acme", store.User{Login: long[:255], Email: "long@acme.test", Active: true}, "pw")
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	ext := &countingExternal{}
	for _, a := range []*directory.Authenticator{{Store: s.DB}, {Store: s.DB, External: ext}} {
		if _, err := a.Authenticate(context.Background(), long, "pw", remote, ""); !errors.Is(err, directory.ErrBadCredentials) {
			t.Errorf("external %v: %v, want invalid credentials", a.External != nil, err)
		}
	}
	if ext.calls != 0 {
		t.Errorf("the directory was asked %d times", ext.calls)
	}
	if _, err := (&directory.Authenticator{Store: s.DB}).Authenticate(context.Background(), long[:255], "pw", remote, ""); err != nil {
		t.Errorf("a login of 255 bytes: %v", err)
	}
}
