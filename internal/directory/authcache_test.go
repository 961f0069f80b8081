package directory_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// cheap are argon2id parameters that keep the tests fast; the code paths
// are those of any parameters.
var cheap = auth.Params{Memory: 8, Time: 1, Threads: 1}

// counted is an Authenticator over a real SQLite store whose hash
// computations are counted: checks (argon2id of a login attempt) and
// hashes (new stored hashes).
type counted struct {
	*directory.Authenticator
	db             *sqlstore.DB
	checks, hashes atomic.Int64
}

func newCounted(t testing.TB, params auth.Params) *counted {
	t.Helper()
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme", "globex")
	db := s.DB
	c := &counted{db: db}
	c.Authenticator = &directory.Authenticator{Store: db,
		Throttle: &auth.Throttle{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond},
		Cache:    auth.NewCredCache(100, time.Hour),
		Params:   func() auth.Params { return params },
		CheckPassword: func(enc, pw string) error {
			c.checks.Add(1)
			return auth.CheckPassword(enc, pw)
		},
		HashPassword: func(pw string, p auth.Params) (string, error) {
			c.hashes.Add(1)
			return auth.HashPasswordWith(pw, p)
		},
	}
	return c
}

func (c *counted) addUser(t testing.TB, tenant, login, pw string, p auth.Params) *store.User {
	t.Helper()
	h, err := auth.HashPasswordWith(pw, p)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.db.CreateUser(store.SystemContext(context.Background()), tenant,
		store.User{Login: login, Email: login + "@" + tenant + ".test", Active: true, PasswordHash: h})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var (
	ipA = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}
	ipB = &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 40000}
)

// login authenticates and returns the error and how many password checks
// it cost.
func (c *counted) login(t *testing.T, login, pw string, from net.Addr) (*store.Principal, error, int64) {
	t.Helper()
	before := c.checks.Load()
	p, err := c.Authenticate(context.Background(), login, pw, from, "imap")
	return p, err, c.checks.Load() - before
}

func (c *counted) update(t *testing.T, login string, u store.UserUpdate) {
	t.Helper()
	if _, err := c.db.UpdateUser(store.SystemContext(context.Background()), login, u); err != nil {
		t.Fatal(err)
	}
}

func TestAuthCache(t *testing.T) {
	c := newCounted(t, cheap)
	c.addUser(t, "acme", "alice", "pw", cheap)
	if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 1 {
		t.Fatalf("first login: %v, %d checks", err, n)
	}
	if p, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 0 || p.Login != "alice" {
		t.Fatalf("second login: %+v %v, %d checks (want a cache hit)", p, err, n)
	}
	// The cache is per user, not per login string: the address hits too.
	if _, err, n := c.login(t, "alice@acme.test", "pw", ipB); err != nil || n != 0 {
		t.Fatalf("login by address: %v, %d checks", err, n)
	}
	// A wrong password is never accepted from the cache, and its failure
	// is never cached: it costs a full check each time.
	for _, pw := range []string{"PW", "pw ", "wrong", "wrong"} {
		if _, err, n := c.login(t, "alice", pw, ipB); !errors.Is(err, directory.ErrBadCredentials) || n != 1 {
			t.Fatalf("wrong password %q: %v, %d checks", pw, err, n)
		}
	}
	if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 0 {
		t.Fatalf("after failures: %v, %d checks", err, n)
	}
}

// TestAuthCacheInvalidation: each event that must end a cached login
// does so at once, against a real store.
func TestAuthCacheInvalidation(t *testing.T) {
	sys := store.SystemContext(context.Background())
	warm := func(t *testing.T, c *counted, login, pw string) {
		t.Helper()
		c.login(t, login, pw, ipB)
		if _, err, n := c.login(t, login, pw, ipB); err != nil || n != 0 {
			t.Fatalf("not cached: %v, %d checks", err, n)
		}
	}
	t.Run("password change", func(t *testing.T) {
		c := newCounted(t, cheap)
		c.addUser(t, "acme", "alice", "old", cheap)
		warm(t, c, "alice", "old")
		h, _ := auth.HashPasswordWith("new", cheap)
		c.update(t, "alice", store.UserUpdate{PasswordHash: &h})
		if _, err, n := c.login(t, "alice", "old", ipB); !errors.Is(err, directory.ErrBadCredentials) || n != 1 {
			t.Fatalf("old password after change: %v, %d checks", err, n)
		}
		if _, err, _ := c.login(t, "alice", "new", ipB); err != nil {
			t.Fatalf("new password: %v", err)
		}
	})
	t.Run("password set to the same password", func(t *testing.T) {
		// A reset to the same text makes a new salted hash: the entry
		// goes, and the next login checks the password again.
		c := newCounted(t, cheap)
		c.addUser(t, "acme", "alice", "pw", cheap)
		warm(t, c, "alice", "pw")
		h, _ := auth.HashPasswordWith("pw", cheap)
		c.update(t, "alice", store.UserUpdate{PasswordHash: &h})
		if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 1 {
			t.Fatalf("after reset: %v, %d checks", err, n)
		}
	})
	t.Run("disable", func(t *testing.T) {
		c := newCounted(t, cheap)
		c.addUser(t, "acme", "alice", "pw", cheap)
		warm(t, c, "alice", "pw")
		off := false
		c.update(t, "alice", store.UserUpdate{Active: &off})
		if _, err, _ := c.login(t, "alice", "pw", ipB); !errors.Is(err, directory.ErrInactive) {
			t.Fatalf("disabled account: %v", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		c := newCounted(t, cheap)
		c.addUser(t, "acme", "alice", "pw", cheap)
		warm(t, c, "alice", "pw")
		if err := c.db.DeleteUser(sys, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err, n := c.login(t, "alice", "pw", ipB); !errors.Is(err, directory.ErrBadCredentials) || n != 1 {
			t.Fatalf("deleted user: %v, %d checks", err, n)
		}
	})
	t.Run("tenant change", func(t *testing.T) {
		// The same login and even the same stored hash in another tenant
		// (deleted and recreated, or imported) is another account: the
		// entry verified for the old one does not count.
		c := newCounted(t, cheap)
		u := c.addUser(t, "acme", "alice", "pw", cheap)
		warm(t, c, "alice", "pw")
		if err := c.db.DeleteUser(sys, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.CreateUser(sys, "globex", store.User{Login: "alice", Active: true, PasswordHash: u.PasswordHash}); err != nil {
			t.Fatal(err)
		}
		p, err, n := c.login(t, "alice", "pw", ipB)
		if err != nil || n != 1 || p.Tenant != "globex" {
			t.Fatalf("moved user: %+v %v, %d checks", p, err, n)
		}
	})
	t.Run("forget", func(t *testing.T) {
		// The explicit hook (for app-password revocation and the like).
		c := newCounted(t, cheap)
		u := c.addUser(t, "acme", "alice", "pw", cheap)
		warm(t, c, "alice", "pw")
		c.Cache.Forget(u.ID)
		if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 1 {
			t.Fatalf("after Forget: %v, %d checks", err, n)
		}
	})
}

// TestAuthUnknownUserCost: a login that does not exist costs exactly one
// password check, like a wrong password or a cache miss for a user that
// exists, so the work done (and so the time taken) does not tell which
// logins exist. Only the right password can hit the cache.
func TestAuthUnknownUserCost(t *testing.T) {
	for _, p := range []auth.Params{cheap, {Memory: 64, Time: 2, Threads: 1}} {
		c := newCounted(t, p)
		c.addUser(t, "acme", "alice", "pw", p)
		cases := []struct {
			login, pw string
			want      error
		}{
			{"ghost", "pw", directory.ErrBadCredentials},
			{"ghost@acme.test", "pw", directory.ErrBadCredentials},
			{"alice", "wrong", directory.ErrBadCredentials},
			{"alice", "pw", nil}, // a cache miss
		}
		for _, cs := range cases {
			if _, err, n := c.login(t, cs.login, cs.pw, ipB); !errors.Is(err, cs.want) || n != 1 {
				t.Errorf("%v %s/%s: %v, %d checks, want 1", p, cs.login, cs.pw, err, n)
			}
		}
		// And the dummy hash an unknown login is checked against has the
		// configured parameters, so that one check costs the same.
		var seen []string
		c.CheckPassword = func(enc, pw string) error {
			seen = append(seen, enc)
			return auth.CheckPassword(enc, pw)
		}
		c.login(t, "nobody", "x", ipB)
		if len(seen) != 1 || auth.NeedsRehash(seen[0], p) {
			t.Errorf("dummy hash %q is not made with %+v", seen, p)
		}
	}
}

func TestAuthRehash(t *testing.T) {
	sys := store.SystemContext(context.Background())
	old := auth.Params{Memory: 8, Time: 1, Threads: 1}
	cur := auth.Params{Memory: 16, Time: 2, Threads: 1}
	c := newCounted(t, cur)
	c.addUser(t, "acme", "alice", "pw", old)
	if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 1 || c.hashes.Load() != 1 {
		t.Fatalf("login: %v, %d checks, %d hashes", err, n, c.hashes.Load())
	}
	u, err := c.db.GetUser(sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=16,t=2,p=1$") || auth.CheckPassword(u.PasswordHash, "pw") != nil {
		t.Fatalf("not rehashed: %q", u.PasswordHash)
	}
	// The cache holds the new hash; a cold cache verifies it without
	// rehashing again.
	if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 0 {
		t.Fatalf("after rehash: %v, %d checks", err, n)
	}
	c.Cache.Forget(u.ID)
	if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 1 || c.hashes.Load() != 1 {
		t.Fatalf("cold: %v, %d checks, %d hashes", err, n, c.hashes.Load())
	}
	// A wrong password never rehashes.
	c.Params = func() auth.Params { return old }
	c.login(t, "alice", "nope", ipB)
	if c.hashes.Load() != 1 {
		t.Fatal("rehashed on a failure")
	}
}

// TestRehashNeverUndoesAPasswordChange: the store's conditional update,
// which the rehash uses, refuses when the hash changed meanwhile.
func TestRehashNeverUndoesAPasswordChange(t *testing.T) {
	sys := store.SystemContext(context.Background())
	c := newCounted(t, cheap)
	u := c.addUser(t, "acme", "alice", "pw", cheap)
	changed, _ := auth.HashPasswordWith("new", cheap)
	c.update(t, "alice", store.UserUpdate{PasswordHash: &changed})
	rehashed, _ := auth.HashPasswordWith("pw", cheap)
	_, err := c.db.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &rehashed, PasswordHashWas: &u.PasswordHash})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("conditional update over a changed hash: %v", err)
	}
	got, _ := c.db.GetUser(sys, "alice")
	if got.PasswordHash != changed {
		t.Fatal("password change undone")
	}
	name := "x"
	if _, err := c.db.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &rehashed, PasswordHashWas: &changed, FullName: &name}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("conditional update with other changes: %v", err)
	}
	if _, err := c.db.UpdateUser(sys, "alice", store.UserUpdate{PasswordHash: &rehashed, PasswordHashWas: &changed}); err != nil {
		t.Fatal(err)
	}
}

// TestAuthLockout is issue 9 item 10 at the directory: an attacker at
// address A failing 50 times gets A banned and the (alice, A) pair
// banned, and the owner at address B logs in with the right password,
// with a cold cache.
func TestAuthLockout(t *testing.T) {
	c := newCounted(t, cheap)
	c.addUser(t, "acme", "alice", "pw", cheap)
	c.addUser(t, "acme", "carol", "pw", cheap)
	throttled := 0
	for range 50 {
		_, err, _ := c.login(t, "alice", "guess", ipA)
		switch {
		case errors.Is(err, directory.ErrThrottled):
			throttled++
		case !errors.Is(err, directory.ErrBadCredentials):
			t.Fatal(err)
		}
	}
	if throttled == 0 {
		t.Fatal("attacker never throttled")
	}
	if _, err, n := c.login(t, "alice", "pw", ipB); err != nil || n != 1 {
		t.Fatalf("owner from another address: %v, %d checks", err, n)
	}
	// The pair is refused even with the right password (cached or not),
	// and so is the address for another account.
	if _, err, _ := c.login(t, "alice", "pw", ipA); !errors.Is(err, directory.ErrThrottled) {
		t.Fatalf("pair (alice, A): %v", err)
	}
	if _, err, _ := c.login(t, "carol", "pw", ipA); !errors.Is(err, directory.ErrThrottled) {
		t.Fatalf("address A for carol: %v", err)
	}
	// Still the owner, repeatedly, from B.
	for range 3 {
		if _, err, _ := c.login(t, "alice", "pw", ipB); err != nil {
			t.Fatalf("owner again: %v", err)
		}
	}
}
