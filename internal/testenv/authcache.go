package testenv

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// AuthCounter is the app's directory.Authenticator (the shared credential
// cache and throttle) over a test store, with its argon2id checks
// counted, so that a test sees whether a login was answered from the
// cache without measuring time.
type AuthCounter struct {
	A      *directory.Authenticator
	dir    store.Directory
	checks atomic.Int64
	tenant atomic.Value // tenant of the last principal returned
}

// NewAuthCounter returns an AuthCounter over dir, with a throttle that
// does not wait and a cache of 100 entries.
func NewAuthCounter(dir store.Directory) *AuthCounter {
	c := &AuthCounter{dir: dir}
	c.A = &directory.Authenticator{Store: dir,
		Throttle: &auth.Throttle{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond},
		Cache:    auth.NewCredCache(100, time.Hour),
		Params:   func() auth.Params { return auth.Params{Memory: 8, Time: 1, Threads: 1} },
		CheckPassword: func(enc, pw string) error {
			c.checks.Add(1)
			return auth.CheckPassword(enc, pw)
		}}
	return c
}

// Authenticate is c's check of login and pw for feature ("" for none), in
// the shape of a protocol server's Authenticate option.
func (c *AuthCounter) Authenticate(feature string) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
		p, err := c.A.Authenticate(ctx, login, pw, remote, feature)
		if p != nil {
			c.tenant.Store(p.Tenant)
		}
		return p, err
	}
}

// AuthCacheScenario runs each event that must end a cached login through
// login (one fresh connection per call, true when the server accepted
// the credentials), for user whose password is pw: a cache hit, wrong
// passwords (never cached nor accepted from the cache), a password
// change, a disabled and re-enabled account, and a move to another
// tenant with the very same stored hash.
func AuthCacheScenario(t *testing.T, c *AuthCounter, login func(user, pw string) bool, user, pw string) {
	t.Helper()
	sys := store.SystemContext(context.Background())
	try := func(step, u, p string, wantOK bool, wantChecks int64) {
		t.Helper()
		before := c.checks.Load()
		ok := login(u, p)
		n := c.checks.Load() - before
		if ok != wantOK || (wantChecks >= 0 && n != wantChecks) {
			t.Fatalf("%s: accepted %v (want %v), %d password checks (want %d)", step, ok, wantOK, n, wantChecks)
		}
	}
	try("first login", user, pw, true, 1)
	try("second login (cache hit)", user, pw, true, 0)
	// A wrong password is never accepted from the cache, nor cached.
	try("wrong password", user, pw+"x", false, 1)
	try("wrong password again", user, pw+"x", false, 1)
	try("right password after failures", user, pw, true, 0)

	// Password change: the old password is refused at once.
	nh, err := auth.HashPasswordWith("changed-"+pw, auth.Params{Memory: 8, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.dir.UpdateUser(sys, user, store.UserUpdate{PasswordHash: &nh}); err != nil {
		t.Fatal(err)
	}
	try("old password after a change", user, pw, false, 1)
	try("new password", user, "changed-"+pw, true, 1)
	try("new password cached", user, "changed-"+pw, true, 0)

	// Disable: refused at once, though the credentials are cached.
	off, on := false, true
	if _, err := c.dir.UpdateUser(sys, user, store.UserUpdate{Active: &off}); err != nil {
		t.Fatal(err)
	}
	try("disabled account", user, "changed-"+pw, false, -1)
	if _, err := c.dir.UpdateUser(sys, user, store.UserUpdate{Active: &on}); err != nil {
		t.Fatal(err)
	}
	try("enabled again", user, "changed-"+pw, true, -1)

	// Tenant change: the same login with the very same stored hash in
	// another tenant is another account; the cached entry does not count.
	if _, err := c.dir.CreateTenant(sys, "othertenant"); err != nil {
		t.Fatal(err)
	}
	if err := c.dir.DeleteUser(sys, user); err != nil {
		t.Fatal(err)
	}
	if _, err := c.dir.CreateUser(sys, "othertenant", store.User{Login: user, Email: user + "@other.test", Active: true, PasswordHash: nh}); err != nil {
		t.Fatal(err)
	}
	try("moved to another tenant", user, "changed-"+pw, true, 1)
	if got, _ := c.tenant.Load().(string); got != "othertenant" {
		t.Fatalf("principal of tenant %q after the move", got)
	}
}
