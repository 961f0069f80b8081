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
