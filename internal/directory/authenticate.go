package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory/kerberos"
	"github.com/roost-mail/roost/internal/store"
)

// Authentication failures. Protocols answer all of them with the same
// generic message, so a client learns nothing about which accounts exist.
var (
	ErrBadCredentials = errors.New("invalid credentials")
	ErrThrottled      = errors.New("too many failed logins, try again later")
	ErrFeature        = errors.New("service disabled for this account")
	ErrInactive       = errors.New("account cannot log in")
)

// Authenticator checks passwords for every protocol, with one throttle
// and one credential cache shared by all of them.
//
// Every login reads the user's row (one indexed query). A credential
// cache hit needs the right password, an active account and an unchanged
// stored hash, user id and tenant; anything else costs exactly one
// argon2id check, an unknown login included (it is checked against a
// dummy hash made with the same parameters), so the time a failure takes
// does not tell whether the login exists.
type Authenticator struct {
	Store    store.Directory
	Throttle *auth.Throttle
	// Cache holds verified credentials (nil: none); see auth.CredCache.
	Cache *auth.CredCache
	Log   *slog.Logger
	// DisabledFeatures returns disabled_features (nil: none).
	DisabledFeatures func() []string
	// Params returns the argon2id parameters new hashes are made with
	// (nil: auth.DefaultParams). A stored hash made with others is
	// replaced at the next successful login.
	Params func() auth.Params
	// MaxConcurrent bounds password checks running at once (each holds
	// the hash's memory); 0 means 4.
	MaxConcurrent int
	// CheckPassword and HashPassword replace auth.CheckPassword and
	// auth.HashPasswordWith when set (tests count hash computations).
	CheckPassword func(encoded, pw string) error
	HashPassword  func(pw string, p auth.Params) (string, error)
	// Observe, when set, is told the outcome of every Authenticate call
	// (metrics, the audit log); it must not block.
	Observe func(ctx context.Context, ev AuthEvent)
	// External, when set, checks every password instead of the stored
	// hashes (user_plugin = ldap); see authenticateExternal.
	External External
	// TokenVerifiers check bearer tokens Roost did not issue (OIDC,
	// issue 13); see VerifyBearer.
	TokenVerifiers []TokenVerifier
	// Kerberos, when set, accepts Kerberos 5 sign-ins: HTTP Negotiate
	// (Negotiate) and SASL GSSAPI (GSSAPI).
	Kerberos *kerberos.Acceptor
	// SessionTTL is how long a web session lasts (0: DefaultSessionTTL).
	SessionTTL time.Duration
	// TOTPIssuer names the service in authenticator apps ("" is "Roost").
	TOTPIssuer string
	// Now is the clock for expiries (nil: time.Now).
	Now   func() time.Time
	sleep func(time.Duration)

	once  sync.Once
	slots chan struct{}

	dummyMu sync.Mutex
	dummy   map[auth.Params]string
}

// slot waits for a place among the password checks running at once and
// returns its release.
func (a *Authenticator) slot(ctx context.Context) (func(), error) {
	a.once.Do(func() {
		n := a.MaxConcurrent
		if n <= 0 {
			n = 4
		}
		a.slots = make(chan struct{}, n)
	})
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// check runs a password check within the concurrency bound.
func (a *Authenticator) check(ctx context.Context, hash, password string) error {
	release, err := a.slot(ctx)
	if err != nil {
		return err
	}
	defer release()
	if a.CheckPassword != nil {
		return a.CheckPassword(hash, password)
	}
	return auth.CheckPassword(hash, password)
}

// hash makes a new hash within the concurrency bound.
func (a *Authenticator) hash(ctx context.Context, password string, p auth.Params) (string, error) {
	release, err := a.slot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	if a.HashPassword != nil {
		return a.HashPassword(password, p)
	}
	return auth.HashPasswordWith(password, p)
}

func (a *Authenticator) params() auth.Params {
	if a.Params == nil {
		return auth.DefaultParams
	}
	return a.Params()
}

// dummyHash is checked for unknown users so that timing does not tell
// which logins exist: it is made with the configured parameters, so it
// costs what a real user's check costs.
func (a *Authenticator) dummyHash(p auth.Params) string {
	a.dummyMu.Lock()
	defer a.dummyMu.Unlock()
	if h, ok := a.dummy[p]; ok {
		return h
	}
	h, err := auth.HashPasswordWith("roost-dummy-password", p)
	if err != nil {
		h, _ = auth.HashPassword("roost-dummy-password")
	}
	if a.dummy == nil {
		a.dummy = map[auth.Params]string{}
	}
	a.dummy[p] = h
	return h
}

func verifierOf(u *store.User) auth.Verifier {
	return auth.Verifier{UserID: u.ID, TenantID: u.TenantID, Hash: u.PasswordHash}
}

// Authenticate checks login and password for a connection from remote,
// requiring feature ("imap", "pop3", "mobile", "web", "dav"; "" for none).
// It returns the principal to act as.
func (a *Authenticator) Authenticate(ctx context.Context, login, password string, remote net.Addr, feature string) (*store.Principal, error) {
	ip := hostOf(remote)
	var delay time.Duration
	if a.Throttle != nil {
		var banned bool
		delay, banned = a.Throttle.Check(ip, login)
		if banned {
			// A refused attempt counts: an address that keeps trying an
			// account banned there gets banned itself.
			a.Throttle.Refused(ip, login)
			a.log().Warn("login refused: throttled", "user", login, "ip", ip)
			a.observe(ctx, AuthEvent{Login: login, IP: ip, Feature: feature, Reason: "throttled"})
			return nil, ErrThrottled
		}
	}
	if norm, ok := auth.NormalAppPassword(password); ok && validLogin(login) {
		// An app password (issue 13), for LDAP users too: checked with a
		// fast keyed hash, never argon2id (issue 10).
		if p, handled, err := a.authenticateAppPassword(ctx, login, norm, ip, delay, feature); handled {
			return p, err
		}
	}
	if a.External != nil {
		p, err := a.authenticateExternal(ctx, login, password, ip, delay, feature)
		ev := AuthEvent{Login: login, IP: ip, Feature: feature, OK: err == nil}
		switch {
		case err == nil:
			ev.User = p.Login
		case errors.Is(err, ErrBadCredentials):
			ev.Reason = "wrong password"
		case errors.Is(err, ErrInactive):
			ev.Reason = "inactive"
		case errors.Is(err, ErrFeature):
			ev.Reason = "feature disabled"
		default:
			ev.Reason = "error"
		}
		a.observe(ctx, ev)
		return p, err
	}
	sys := store.SystemContext(ctx)
	var u *store.User
	var err error
	valid := validLogin(login)
	if !valid {
		// No user has such a login: an unknown user (same cost below),
		// not a failing store.
		err = fmt.Errorf("login is not valid text: %w", store.ErrNotFound)
	} else {
		u, err = a.Store.GetUser(sys, login)
	}
	if errors.Is(err, store.ErrNotFound) && u == nil && valid && len(password) <= auth.MaxPasswordLen {
		// Users may log in with their mail address too.
		u, err = a.Store.UserByAddress(sys, login)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.observe(ctx, AuthEvent{Login: login, IP: ip, Feature: feature, Reason: "error"})
		return nil, fmt.Errorf("authenticate %q: %w", login, err)
	}
	// A cache hit is possible only with the right password for this very
	// stored hash, so skipping the delay and the hash reveals nothing an
	// attacker could use; every miss costs the same as an unknown user.
	hit := err == nil && a.Cache.Lookup(verifierOf(u), password)
	if !hit {
		if delay > 0 {
			a.wait(ctx, delay)
		}
		p := a.params()
		if err != nil { // not found
			if err := a.check(ctx, a.dummyHash(p), password); ctx.Err() != nil {
				return nil, fmt.Errorf("authenticate %q: %w", login, ctx.Err())
			} else if err == nil {
				a.log().Error("login: dummy hash verified", "user", login) // cannot happen
			}
			a.fail(ip, login, "unknown user")
			a.observe(ctx, AuthEvent{Login: login, IP: ip, Feature: feature, Reason: "unknown user"})
			return nil, ErrBadCredentials
		}
		if err := a.check(ctx, u.PasswordHash, password); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("authenticate %q: %w", login, ctx.Err())
			}
			if !errors.Is(err, auth.ErrMismatch) {
				a.log().Error("login: stored password hash unusable", "user", u.Login, "err", err)
			}
			a.fail(ip, login, "wrong password")
			a.observe(ctx, AuthEvent{Login: login, User: u.Login, IP: ip, Feature: feature, Reason: "wrong password"})
			return nil, ErrBadCredentials
		}
		if u.Active && auth.NeedsRehash(u.PasswordHash, p) {
			a.rehash(ctx, u, password, p)
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
		a.observe(ctx, AuthEvent{Login: login, User: u.Login, IP: ip, Feature: feature, Reason: "error"})
		return nil, fmt.Errorf("authenticate %q: %w", login, err)
	}
	if !hit {
		// Only now, with every check passed: never a failure.
		a.Cache.Add(verifierOf(u), password)
	}
	a.log().Info("login", "user", u.Login, "ip", ip, "feature", feature, "cached", hit)
	a.observe(ctx, AuthEvent{Login: login, User: u.Login, IP: ip, Feature: feature, OK: true})
	return pr, nil
}

// rehash replaces u's stored hash, just verified with password, by one
// made with p. It changes the hash only if it is still the one verified
// (a concurrent password change wins), and a failure only costs the
// rehash: the login goes on. On success u carries the new hash.
func (a *Authenticator) rehash(ctx context.Context, u *store.User, password string, p auth.Params) {
	nh, err := a.hash(ctx, password, p)
	if err != nil {
		a.log().Warn("login: rehash failed", "user", u.Login, "err", err)
		return
	}
	old := u.PasswordHash
	nu, err := a.Store.UpdateUser(store.SystemContext(ctx), u.Login, store.UserUpdate{PasswordHash: &nh, PasswordHashWas: &old})
	if err != nil {
		a.log().Warn("login: storing rehashed password failed", "user", u.Login, "err", err)
		return
	}
	a.log().Info("login: password rehashed with the configured argon2id parameters", "user", u.Login,
		"memory_kib", p.Memory, "time", p.Time, "threads", p.Threads)
	u.PasswordHash = nu.PasswordHash
}

func (a *Authenticator) wait(ctx context.Context, d time.Duration) {
	if a.sleep != nil {
		a.sleep(d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (a *Authenticator) fail(ip, login, why string) {
	if a.Throttle != nil {
		a.Throttle.Fail(ip, login)
	}
	a.log().Warn("login failed", "user", login, "ip", ip, "reason", why)
}

func (a *Authenticator) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

// maxLoginLen bounds a login: none is longer than a mail address (RFC
// 5321 §4.5.3.1: 64 + 1 + 255 octets). A longer one names nobody and is
// never sent to the store or an external directory's search filter.
const maxLoginLen = 320

// validLogin reports whether login can name a user: at most maxLoginLen
// bytes of UTF-8 without NUL (PostgreSQL refuses NUL bytes in text).
func validLogin(login string) bool {
	return len(login) <= maxLoginLen && utf8.ValidString(login) && !strings.ContainsRune(login, 0)
}

func hostOf(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return h
}
