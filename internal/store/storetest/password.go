package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// testPasswordSwap: UserUpdate.PasswordHashWas is a compare-and-swap of
// the stored hash (rehash at login uses it), so of concurrent swaps from
// the same hash exactly one wins, and a swap never undoes a change made
// since the hash was read.
func testPasswordSwap(t *testing.T, in *Instance) {
	b := in.Backend
	must(b.CreateTenant(sys, "acme"))
	must(b.CreateUser(sys, "acme", store.User{Login: "alice", Active: true, PasswordHash: "h0"}))
	old := "h0"
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nh := fmt.Sprintf("h1-%d", i)
			_, errs[i] = b.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &nh, PasswordHashWas: &old})
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatalf("swaps %d and %d both won", won, i)
			}
			won = i
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("swap %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no swap won")
	}
	if u := must(b.GetUser(sys, "alice")); u.PasswordHash != fmt.Sprintf("h1-%d", won) {
		t.Fatalf("stored %q, winner %d", u.PasswordHash, won)
	}
	// A plain change, then a swap from the hash read before it: refused.
	changed, rehash, before := "h2", "h1-rehash", fmt.Sprintf("h1-%d", won)
	must(b.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &changed}))
	_, err := b.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &rehash, PasswordHashWas: &before})
	wantErr(t, err, store.ErrConflict)
	if u := must(b.GetUser(sys, "alice")); u.PasswordHash != changed {
		t.Fatalf("password change undone: %q", u.PasswordHash)
	}
	// Nothing else may ride along.
	on := false
	_, err = b.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &rehash, PasswordHashWas: &changed, Active: &on})
	wantErr(t, err, store.ErrInvalid)
}

// testPasswordRevokesGrants: a new password revokes the user's OpenID
// provider codes and refresh tokens (they would outlive it otherwise);
// a rehash of the same password (PasswordHashWas), the same hash again
// and other changes keep them, as they keep every other secret.
func testPasswordRevokesGrants(t *testing.T, in *Instance) {
	b := in.Backend
	must(b.CreateTenant(sys, "acme"))
	must(b.CreateUser(sys, "acme", store.User{Login: "alice", Active: true, PasswordHash: "h0"}))
	must(b.CreateUser(sys, "acme", store.User{Login: "bob", Active: true, PasswordHash: "b0"}))
	grant := func(login, name string) {
		for _, k := range []store.SecretKind{store.SecretOIDCRefresh, store.SecretOIDCCode, store.SecretSession, store.SecretAppPassword} {
			must(b.CreateSecret(sys, login, store.Secret{Kind: k, Name: name, Hash: hashOf(string(k) + login + name)}))
		}
	}
	count := func(login string, k store.SecretKind) int { return len(must(b.ListSecrets(sys, login, k))) }
	grant("alice", "g1")
	grant("bob", "g1")
	name, same, rehash, old := "Alice", "h0", "h0-rehash", "h0"
	must(b.UpdateUser(sys, "alice", store.UserUpdate{FullName: &name}))
	must(b.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &same}))
	must(b.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &rehash, PasswordHashWas: &old}))
	if n := count("alice", store.SecretOIDCRefresh) + count("alice", store.SecretOIDCCode); n != 2 {
		t.Fatalf("a rename, the same hash or a rehash revoked OIDC grants: %d of 2 left", n)
	}
	changed := "h1"
	must(b.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &changed}))
	if r, c := count("alice", store.SecretOIDCRefresh), count("alice", store.SecretOIDCCode); r != 0 || c != 0 {
		t.Errorf("after a password change: %d refresh tokens and %d codes left", r, c)
	}
	if count("alice", store.SecretSession) != 1 || count("alice", store.SecretAppPassword) != 1 {
		t.Error("a password change removed web sessions or app passwords")
	}
	if count("bob", store.SecretOIDCRefresh) != 1 || count("bob", store.SecretOIDCCode) != 1 {
		t.Error("alice's password change revoked bob's grants")
	}
}
