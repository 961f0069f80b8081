package testenv_test

import (
	"errors"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestStoresAreIsolated: two stores of one backend share nothing (on
// PostgreSQL they are two schemas of one database), users log in with
// their cheap hashes, and inactive users only when allowed.
func TestStoresAreIsolated(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			one := testenv.Open(t, testenv.Options{Backend: b})
			two := testenv.Open(t, testenv.Options{Backend: b})
			if one.Backend != b {
				t.Fatalf("backend %q, want %q", one.Backend, b)
			}
			one.Tenants(t, "acme")
			one.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
			one.User(t, "acme", store.User{Login: "idle"}, "pw")
			if _, err := two.GetTenant(testenv.Sys, "acme"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("tenant of one store seen in another: %v", err)
			}
			two.Tenants(t, "acme") // the same name again: no clash
			u, err := one.GetUser(testenv.Sys, "alice")
			if err != nil || u.Email != "alice@acme.test" || auth.CheckPassword(u.PasswordHash, "pw") != nil {
				t.Fatalf("alice: %+v, %v", u, err)
			}
			strict, lax := testenv.Authenticator(one, false), testenv.Authenticator(one, true)
			if p, err := strict(testenv.Sys, "alice", "pw", nil); err != nil || p.Login != "alice" {
				t.Errorf("alice: %v, %v", p, err)
			}
			if _, err := strict(testenv.Sys, "alice", "wrong", nil); !errors.Is(err, directory.ErrBadCredentials) {
				t.Errorf("wrong password: %v", err)
			}
			if _, err := strict(testenv.Sys, "idle", "pw", nil); !errors.Is(err, directory.ErrInactive) {
				t.Errorf("inactive user: %v", err)
			}
			if _, err := lax(testenv.Sys, "idle", "pw", nil); err != nil {
				t.Errorf("inactive user allowed: %v", err)
			}
			inbox := testenv.Folder(t, testenv.As(t, one, "alice"), one, "alice", store.SpecialInbox)
			if inbox.Special != store.SpecialInbox {
				t.Errorf("folder %+v", inbox)
			}
		})
	}
}
