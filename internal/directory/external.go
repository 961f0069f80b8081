package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/store"
)

// External is a directory that checks passwords itself (an LDAP server:
// user_plugin = ldap) and provisions the Roost user it authenticates.
type External interface {
	// Authenticate checks login and password with the directory and
	// returns the Roost user they belong to, created or updated just in
	// time. ErrBadCredentials when the directory refuses them; any other
	// error means the directory could not answer (a temporary failure).
	Authenticate(ctx context.Context, login, password string) (*store.User, error)
}

// Provisioner is an External directory that can also find a user by
// login without a password, for sign-ins a third party vouched for (a
// Kerberos ticket): the user is provisioned just in time as at a
// password login. store.ErrNotFound when the directory has no such user;
// any other error means the directory could not answer.
type Provisioner interface {
	UserByLogin(ctx context.Context, login string) (*store.User, error)
}

// externalVerifier is what a cached external login is bound to. Roost
// never sees an external password hash, so a cache entry cannot notice a
// password changed in the directory: it is trusted until the cache's TTL
// runs out (the app gives the cache a short TTL with an external
// directory), or until the user is disabled, deleted or moved in Roost.
func externalVerifier(u *store.User) auth.Verifier {
	return auth.Verifier{UserID: u.ID, TenantID: u.TenantID, Hash: "external:" + u.ExternalID}
}

// authenticateExternal is Authenticate with an External directory: a
// cache hit needs the right password for a user linked to the directory;
// a miss asks the directory, which provisions the user.
func (a *Authenticator) authenticateExternal(ctx context.Context, login, password, ip string, delay time.Duration, feature string) (*store.Principal, error) {
	if len(password) > auth.MaxPasswordLen {
		a.fail(ip, login, "password too long")
		return nil, ErrBadCredentials
	}
	if !validLogin(login) {
		// No directory entry has such a login: a bad login, not a
		// failing store, and never a search filter.
		a.fail(ip, login, "login is not valid text or too long")
		return nil, ErrBadCredentials
	}
	sys := store.SystemContext(ctx)
	u, err := a.Store.GetUser(sys, login)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.Store.UserByAddress(sys, login)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("authenticate %q: %w", login, err)
	}
	hit := err == nil && u.ExternalID != "" && a.Cache.Lookup(externalVerifier(u), password)
	if !hit {
		if delay > 0 {
			a.wait(ctx, delay)
		}
		u, err = a.External.Authenticate(ctx, login, password)
		if errors.Is(err, ErrBadCredentials) {
			a.fail(ip, login, "refused by the directory")
			return nil, ErrBadCredentials
		}
		if err != nil {
			// The directory is down or broken: never "wrong password",
			// and no throttle failure (the user did nothing wrong).
			return nil, fmt.Errorf("authenticate %q: %w", login, err)
		}
	}
	if err := a.mayLogIn(ctx, u, login, ip, feature); err != nil {
		return nil, err
	}
	if a.Throttle != nil {
		a.Throttle.Succeed(ip, login)
	}
	pr, err := a.Store.Principal(sys, u.Login)
	if err != nil {
		return nil, fmt.Errorf("authenticate %q: %w", login, err)
	}
	if !hit {
		a.Cache.Add(externalVerifier(u), password)
	}
	a.log().Info("login", "user", u.Login, "ip", ip, "feature", feature, "cached", hit, "directory", "external")
	return pr, nil
}
