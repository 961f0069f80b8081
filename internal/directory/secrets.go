package directory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/store"
)

// Protocols are the services an app password or a bearer token can be
// limited to ("--protocols", "--scope"). An empty list means all of them.
var Protocols = []string{"imap", "pop3", "smtp", "sieve", "dav", "jmap", "eas"}

// ErrScope is returned for a token or app password that is valid but not
// for the service asked (RFC 6750 §3.1 insufficient_scope). It is also a
// bad credential, so adapters that know no better refuse it as one.
var ErrScope = fmt.Errorf("not valid for this service: %w", ErrBadCredentials)

// errExpired marks an expired token, app password or session: a bad
// credential, told apart in AuthEvent.Reason.
var errExpired = fmt.Errorf("expired: %w", ErrBadCredentials)

// reasonOf is AuthEvent.Reason for a refused token or app password.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, ErrScope):
		return "out of scope"
	case errors.Is(err, errExpired):
		return "expired"
	}
	return "invalid token"
}

// DefaultSessionTTL is how long a web session lasts when
// Authenticator.SessionTTL is 0.
const DefaultSessionTTL = 14 * 24 * time.Hour

// touchEvery bounds how often a secret's last-used time is written: a
// client logging in many times a minute costs one write, not one per login.
const touchEvery = 5 * time.Minute

// featureOf is the per-user feature a protocol requires ("" for none),
// as Authenticate's callers require it.
func featureOf(protocol string) string {
	switch protocol {
	case "imap", "pop3", "dav":
		return protocol
	case "jmap", "web":
		return "web"
	case "eas":
		return "mobile" // ActiveSync
	}
	return ""
}

// protoLabel is the protocol of a service as password logins name it in
// AuthEvent (WithAuthInfo), so both kinds of login count together.
func protoLabel(service string) string {
	switch service {
	case "smtp":
		return "submission"
	case "sieve":
		return "managesieve"
	}
	return service
}

// protocolOf names the protocol a login came through: WithAuthInfo's
// protocol in Roost's scope vocabulary, else the feature.
func protocolOf(ctx context.Context, feature string) string {
	info, _ := ctx.Value(authInfoKey{}).(authInfo)
	switch info.proto {
	case "submission", "smtp":
		return "smtp"
	case "managesieve", "sieve":
		return "sieve"
	case "":
		return feature
	}
	return info.proto
}

// CheckScopes validates a list of protocols for a token or app password.
func CheckScopes(scopes []string) error {
	for _, s := range scopes {
		if !slices.Contains(Protocols, s) {
			return fmt.Errorf("unknown protocol %q (known: %s): %w", s, strings.Join(Protocols, ", "), store.ErrInvalid)
		}
	}
	return nil
}

func inScope(scopes []string, protocol string) bool {
	return protocol != "" && (len(scopes) == 0 || slices.Contains(scopes, protocol))
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// touch records a use of s, at most once per touchEvery; a failure only
// costs the record.
func (a *Authenticator) touch(ctx context.Context, s *store.Secret) {
	now := a.now()
	if now.Sub(s.LastUsed) < touchEvery {
		return
	}
	if err := a.Store.TouchSecret(store.SystemContext(ctx), s.ID, now); err != nil {
		a.log().Warn("recording last use of a secret", "user", s.Login, "kind", s.Kind, "name", s.Name, "err", err)
	}
}

// forget drops a user's credential cache entries after a revocation.
func (a *Authenticator) forget(s *store.Secret) {
	if s != nil {
		a.Cache.Forget(s.UserID)
	}
}

// ---- tokens ----

// CreateToken makes a bearer token for login, named name, good for scopes
// (Protocols; empty: all) until expires (zero: never). ctx's principal
// must be the user or an administrator of its tenant. The token is
// returned once and never stored.
func (a *Authenticator) CreateToken(ctx context.Context, login, name string, scopes []string, expires time.Time) (string, *store.Secret, error) {
	if err := CheckScopes(scopes); err != nil {
		return "", nil, err
	}
	if !expires.IsZero() && !expires.After(a.now()) {
		return "", nil, fmt.Errorf("token expiry %s is in the past: %w", expires.Format(time.RFC3339), store.ErrInvalid)
	}
	tok := auth.NewToken()
	s, err := a.Store.CreateSecret(ctx, login, store.Secret{Kind: store.SecretToken, Name: name, Scopes: scopes,
		Hash: auth.SecretHash(string(store.SecretToken), tok), Expires: expires})
	if err != nil {
		return "", nil, fmt.Errorf("create token %q for %q: %w", name, login, err)
	}
	return tok, s, nil
}

// ListTokens lists login's tokens (ctx as for CreateToken).
func (a *Authenticator) ListTokens(ctx context.Context, login string) ([]*store.Secret, error) {
	return a.Store.ListSecrets(ctx, login, store.SecretToken)
}

// RevokeToken deletes login's token name; it is refused from then on.
func (a *Authenticator) RevokeToken(ctx context.Context, login, name string) error {
	s, err := a.Store.DeleteSecret(ctx, login, store.SecretToken, name)
	a.forget(s)
	return err
}

// TokenVerifier checks bearer tokens Roost did not issue itself (an
// OpenID Connect provider's, issue 13). Authenticator.VerifyBearer asks
// each in turn about a token that is not a Roost token.
type TokenVerifier interface {
	// VerifyToken returns the login of the user token stands for, if it
	// is valid for service (one of Protocols). ErrBadCredentials (or
	// ErrScope) when it is not; any other error is a temporary failure.
	VerifyToken(ctx context.Context, token, service string) (login string, err error)
}

// VerifyBearer checks a bearer token presented to service (one of
// Protocols: HTTP Authorization: Bearer, SASL OAUTHBEARER and XOAUTH2)
// and returns the principal to act as. authzid, when not empty, must name
// the token's user (by login or address). Roost's own tokens are checked
// here (a web session token too, on "jmap": the web client's API), any
// other token by a TokenVerifier. Failures go through the throttle like
// passwords; errors are Authenticate's sentinels, ErrScope for a token
// without service in its scope.
func (a *Authenticator) VerifyBearer(ctx context.Context, token, authzid, service string, remote net.Addr) (*store.Principal, error) {
	ip := hostOf(remote)
	// The throttle's account is the token's hash prefix: failures count
	// against the address, and no token's failures delay another's.
	acct := "token:" + auth.SecretHash("throttle", token)[:16]
	var delay time.Duration
	if a.Throttle != nil {
		var banned bool
		if delay, banned = a.Throttle.Check(ip, acct); banned {
			a.Throttle.Refused(ip, acct)
			a.log().Warn("token refused: throttled", "ip", ip)
			return nil, ErrThrottled
		}
	}
	login, sec, err := a.bearerUser(ctx, token, service)
	if err != nil {
		if errors.Is(err, ErrBadCredentials) {
			if delay > 0 {
				a.wait(ctx, delay)
			}
			if login == "" {
				// An unknown token is a guess; a known one out of
				// scope or expired is not.
				a.fail(ip, acct, err.Error())
			} else {
				a.log().Warn("token refused", "user", login, "ip", ip, "reason", err.Error())
			}
			a.observe(WithAuthInfo(ctx, protoLabel(service), "bearer"), AuthEvent{Login: login, User: login, IP: ip, Feature: featureOf(service), Reason: reasonOf(err)})
		}
		return nil, err
	}
	p, err := a.admit(WithAuthInfo(ctx, protoLabel(service), "bearer"), login, authzid, ip, featureOf(service), true)
	if err != nil {
		if errors.Is(err, ErrBadCredentials) {
			a.fail(ip, acct, "authzid does not match the token")
			a.observe(WithAuthInfo(ctx, protoLabel(service), "bearer"), AuthEvent{Login: authzid, User: login, IP: ip, Feature: featureOf(service), Reason: "wrong user"})
		}
		return nil, err
	}
	if a.Throttle != nil {
		a.Throttle.Succeed(ip, acct)
	}
	if sec != nil {
		a.touch(ctx, sec)
	}
	return p, nil
}

// bearerUser finds whose token it is.
func (a *Authenticator) bearerUser(ctx context.Context, token, service string) (string, *store.Secret, error) {
	sys := store.SystemContext(ctx)
	kind := store.SecretKind("")
	switch {
	case auth.IsToken(token):
		kind = store.SecretToken
	case auth.IsSessionToken(token) && service == "jmap":
		kind = store.SecretSession
	case auth.IsSessionToken(token):
		return "", nil, fmt.Errorf("a web session is not valid for %s: %w", service, ErrScope)
	}
	if kind == "" {
		for _, v := range a.TokenVerifiers {
			login, err := v.VerifyToken(ctx, token, service)
			if errors.Is(err, ErrBadCredentials) && !errors.Is(err, ErrScope) {
				// Not this verifier's token; a token it knows but
				// out of scope is its answer (not a guess).
				continue
			}
			return login, nil, err
		}
		return "", nil, fmt.Errorf("unknown bearer token: %w", ErrBadCredentials)
	}
	s, err := a.Store.SecretByHash(sys, kind, auth.SecretHash(string(kind), token))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, fmt.Errorf("unknown or revoked %s: %w", kind, ErrBadCredentials)
	}
	if err != nil {
		return "", nil, fmt.Errorf("verify %s: %w", kind, err)
	}
	if s.Expired(a.now()) {
		return s.Login, nil, fmt.Errorf("%s %q of %q: %w", kind, s.Name, s.Login, errExpired)
	}
	if kind == store.SecretToken && !inScope(s.Scopes, service) {
		return s.Login, nil, fmt.Errorf("token %q of %q is not valid for %s: %w", s.Name, s.Login, service, ErrScope)
	}
	return s.Login, s, nil
}

// admit finishes a login by token or session: the user must exist, be
// active, have feature and, when authzid is given, be the user it names.
func (a *Authenticator) admit(ctx context.Context, login, authzid, ip, feature string, observeOK bool) (*store.Principal, error) {
	sys := store.SystemContext(ctx)
	u, err := a.Store.GetUser(sys, login)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("token of unknown user %q: %w", login, ErrBadCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate %q: %w", login, err)
	}
	if authzid != "" && !strings.EqualFold(authzid, u.Login) {
		az, err := a.Store.UserByAddress(sys, authzid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("authenticate %q: %w", authzid, err)
		}
		if az == nil || az.ID != u.ID {
			a.log().Warn("token refused: authzid names another user", "user", u.Login, "authzid", authzid, "ip", ip)
			return nil, fmt.Errorf("authzid %q is not the token's user: %w", authzid, ErrBadCredentials)
		}
	}
	return a.finish(ctx, u, login, ip, feature, observeOK)
}

// finish is the end of every successful credential check: active account,
// feature, the principal. observeOK: tell Observe of the success (not for
// a web session's every request).
func (a *Authenticator) finish(ctx context.Context, u *store.User, login, ip, feature string, observeOK bool) (*store.Principal, error) {
	if err := a.mayLogIn(ctx, u, login, ip, feature); err != nil {
		return nil, err
	}
	pr, err := a.Store.Principal(store.SystemContext(ctx), u.Login)
	if err != nil {
		a.observe(ctx, AuthEvent{Login: login, User: u.Login, IP: ip, Feature: feature, Reason: "error"})
		return nil, fmt.Errorf("authenticate %q: %w", u.Login, err)
	}
	if observeOK {
		a.observe(ctx, AuthEvent{Login: login, User: u.Login, IP: ip, Feature: feature, OK: true})
	}
	return pr, nil
}

// mayLogIn refuses, after a good credential, a non-active account
// (ErrInactive) and one without feature (ErrFeature), logging and
// observing why: the one rule for passwords, tokens, app passwords,
// sessions and single sign-on.
func (a *Authenticator) mayLogIn(ctx context.Context, u *store.User, login, ip, feature string) error {
	if !u.Active {
		a.log().Warn("login refused: non-active account", "user", u.Login, "ip", ip)
		a.observe(ctx, AuthEvent{Login: login, User: u.Login, IP: ip, Feature: feature, Reason: "inactive"})
		return ErrInactive
	}
	if feature != "" {
		var disabled []string
		if a.DisabledFeatures != nil {
			disabled = a.DisabledFeatures()
		}
		if !slices.Contains(store.EffectiveFeatures(u, disabled), feature) {
			a.log().Warn("login refused: feature disabled", "user", u.Login, "feature", feature, "ip", ip)
			a.observe(ctx, AuthEvent{Login: login, User: u.Login, IP: ip, Feature: feature, Reason: "feature disabled"})
			return ErrFeature
		}
	}
	return nil
}

// ---- app passwords ----

// CreateAppPassword makes an app password for login, named name, good
// for protocols (Protocols; empty: all). ctx's principal must be the
// user or an administrator of its tenant. The password is returned once.
func (a *Authenticator) CreateAppPassword(ctx context.Context, login, name string, protocols []string) (string, *store.Secret, error) {
	if err := CheckScopes(protocols); err != nil {
		return "", nil, err
	}
	pw := auth.NewAppPassword()
	norm, _ := auth.NormalAppPassword(pw)
	s, err := a.Store.CreateSecret(ctx, login, store.Secret{Kind: store.SecretAppPassword, Name: name, Scopes: protocols,
		Hash: auth.SecretHash(string(store.SecretAppPassword), norm)})
	if err != nil {
		return "", nil, fmt.Errorf("create app password %q for %q: %w", name, login, err)
	}
	return pw, s, nil
}

// ListAppPasswords lists login's app passwords.
func (a *Authenticator) ListAppPasswords(ctx context.Context, login string) ([]*store.Secret, error) {
	return a.Store.ListSecrets(ctx, login, store.SecretAppPassword)
}

// RevokeAppPassword deletes login's app password name and drops the
// user's cached credentials: it is refused from the next login on.
func (a *Authenticator) RevokeAppPassword(ctx context.Context, login, name string) error {
	s, err := a.Store.DeleteSecret(ctx, login, store.SecretAppPassword, name)
	a.forget(s)
	return err
}

// authenticateAppPassword is Authenticate for a password with an app
// password's shape (norm is its canonical form). handled is false when
// no app password has that hash: the caller goes on with the account
// password, so a real password of that shape still works. App passwords
// cost one HMAC and one indexed lookup, never argon2id, and are not put
// in the credential cache: every login reads the row, so a revoked one
// is refused at once.
func (a *Authenticator) authenticateAppPassword(ctx context.Context, login, norm, ip string, delay time.Duration, feature string) (p *store.Principal, handled bool, err error) {
	sys := store.SystemContext(ctx)
	s, err := a.Store.SecretByHash(sys, store.SecretAppPassword, auth.SecretHash(string(store.SecretAppPassword), norm))
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		a.observe(ctx, AuthEvent{Login: login, IP: ip, Feature: feature, Reason: "error"})
		return nil, true, fmt.Errorf("authenticate %q: %w", login, err)
	}
	u, err := a.Store.GetUser(sys, login)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.Store.UserByAddress(sys, login)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.observe(ctx, AuthEvent{Login: login, IP: ip, Feature: feature, Reason: "error"})
		return nil, true, fmt.Errorf("authenticate %q: %w", login, err)
	}
	// A refusal here is not a guess (whoever sent it holds a real
	// 256-bit secret: of another user, out of scope or expired), so it
	// waits out the throttle's delay but does not count as a failure.
	refuse := func(why string, e error) (*store.Principal, bool, error) {
		if delay > 0 {
			a.wait(ctx, delay)
		}
		a.log().Warn("login refused", "user", login, "ip", ip, "reason", why)
		ev := AuthEvent{Login: login, IP: ip, Feature: feature, Reason: reasonOf(e)}
		if ev.Reason == "invalid token" {
			ev.Reason = "wrong password" // another user's: a wrong password for this one
		}
		if u != nil {
			ev.User = u.Login
		}
		a.observe(ctx, ev)
		return nil, true, e
	}
	proto := protocolOf(ctx, feature)
	switch {
	case u == nil || u.ID != s.UserID:
		return refuse("app password of another user", fmt.Errorf("app password of another user: %w", ErrBadCredentials))
	case s.Expired(a.now()):
		return refuse("app password expired", fmt.Errorf("app password %q of %q: %w", s.Name, u.Login, errExpired))
	case !inScope(s.Scopes, proto):
		return refuse("app password "+s.Name+" not valid for "+proto, fmt.Errorf("app password %q of %q for %s: %w", s.Name, u.Login, proto, ErrScope))
	}
	info, _ := ctx.Value(authInfoKey{}).(authInfo)
	p, err = a.finish(WithAuthInfo(ctx, info.proto, "app-password"), u, login, ip, feature, true)
	if err != nil {
		return nil, true, err
	}
	if a.Throttle != nil {
		a.Throttle.Succeed(ip, login)
	}
	a.touch(ctx, s)
	a.log().Info("login", "user", u.Login, "ip", ip, "feature", feature, "app_password", s.Name)
	return p, true, nil
}

// ---- web sessions ----

// Session is a web client login session.
type Session struct {
	// Token is the secret the browser presents (a cookie's value); set
	// only by CreateSession, never stored.
	Token string
	// ID names the session among the user's (ListSessions,
	// RevokeSessionID); it is not a credential.
	ID        string
	Principal *store.Principal
	Created   time.Time
	Expires   time.Time
	Remote    string // the address it was created from
}

// CreateSession checks login and password as a web client login (feature
// "web"; throttled like every login; app passwords are not accepted) and
// opens a session of SessionTTL. Errors are Authenticate's, and
// ErrSecondFactor for a user with TOTP enabled (use CreateSessionTOTP).
//
// The web session API: CreateSession at sign-in, VerifySession on every
// request, RevokeSession at sign-out, RevokeSessions to sign out
// everywhere, ListSessions and RevokeSessionID for a "your devices" page.
func (a *Authenticator) CreateSession(ctx context.Context, login, password string, remote net.Addr) (*Session, error) {
	p, err := a.Authenticate(WithAuthInfo(ctx, "web", "session"), login, password, remote, "web")
	if err != nil {
		return nil, err
	}
	if has, err := a.HasTOTP(store.SystemContext(ctx), p.Login); err != nil {
		return nil, err
	} else if has {
		return nil, ErrSecondFactor
	}
	return a.OpenSession(ctx, p, remote)
}

// CreateSessionFor opens a web session for login, already authenticated
// by someone Roost trusts (an OpenID Connect provider's ID token): no
// password and no second factor are asked (the provider asks for its
// own), but the account must exist, be active and have the "web"
// feature, and the sign-in is told to Observe (audit log, metrics) with
// mechanism "oidc". Errors are VerifyBearer's.
func (a *Authenticator) CreateSessionFor(ctx context.Context, login string, remote net.Addr) (*Session, error) {
	ctx = WithAuthInfo(ctx, "web", "oidc")
	if err := a.checkBan(ctx, hostOf(remote), login, "web", "single sign-on"); err != nil {
		return nil, err
	}
	p, err := a.admit(ctx, login, "", hostOf(remote), "web", true)
	if err != nil {
		return nil, err
	}
	return a.OpenSession(ctx, p, remote)
}

// OpenSession opens a web session for a principal authenticated some
// other way (a second factor checked, single sign-on).
func (a *Authenticator) OpenSession(ctx context.Context, p *store.Principal, remote net.Addr) (*Session, error) {
	ttl := a.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("session id: %w", err)
	}
	tok := auth.NewSessionToken()
	s, err := a.Store.CreateSecret(store.SystemContext(ctx), p.Login, store.Secret{Kind: store.SecretSession,
		Name: hex.EncodeToString(id[:]), Hash: auth.SecretHash(string(store.SecretSession), tok),
		Remote: hostOf(remote), Expires: a.now().Add(ttl)})
	if err != nil {
		return nil, fmt.Errorf("open web session for %q: %w", p.Login, err)
	}
	return &Session{Token: tok, ID: s.Name, Principal: p, Created: s.Created, Expires: s.Expires, Remote: s.Remote}, nil
}

// VerifySession checks a session token and returns its session (without
// Token). A revoked, expired or unknown token, a disabled account or one
// without the "web" feature: ErrBadCredentials, ErrInactive, ErrFeature;
// any other error is a temporary failure.
func (a *Authenticator) VerifySession(ctx context.Context, token string, remote net.Addr) (*Session, error) {
	if !auth.IsSessionToken(token) {
		return nil, fmt.Errorf("not a session token: %w", ErrBadCredentials)
	}
	s, err := a.Store.SecretByHash(store.SystemContext(ctx), store.SecretSession, auth.SecretHash(string(store.SecretSession), token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("unknown or revoked session: %w", ErrBadCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("verify session: %w", err)
	}
	if s.Expired(a.now()) {
		return nil, fmt.Errorf("session of %q expired: %w", s.Login, ErrBadCredentials)
	}
	p, err := a.admit(WithAuthInfo(ctx, "web", "session"), s.Login, "", hostOf(remote), "web", false)
	if err != nil {
		return nil, err
	}
	a.touch(ctx, s)
	return &Session{ID: s.Name, Principal: p, Created: s.Created, Expires: s.Expires, Remote: s.Remote}, nil
}

// RevokeSession ends the session of token (sign out). An unknown token
// is not an error: the session is gone either way.
func (a *Authenticator) RevokeSession(ctx context.Context, token string) error {
	if !auth.IsSessionToken(token) {
		return nil
	}
	sys := store.SystemContext(ctx)
	s, err := a.Store.SecretByHash(sys, store.SecretSession, auth.SecretHash(string(store.SecretSession), token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	if _, err := a.Store.DeleteSecret(sys, s.Login, store.SecretSession, s.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("sign out %q: %w", s.Login, err)
	}
	return nil
}

// RevokeSessionID ends login's session id (from ListSessions). ctx's
// principal must be the user or an administrator of its tenant.
func (a *Authenticator) RevokeSessionID(ctx context.Context, login, id string) error {
	_, err := a.Store.DeleteSecret(ctx, login, store.SecretSession, id)
	return err
}

// RevokeSessions ends every session of login ("sign out everywhere") and
// returns how many there were. It also revokes what the user granted
// other applications through Roost's OpenID provider (its codes and
// refresh tokens, docs/sso.md), which would otherwise outlive the
// sign-out. ctx as for RevokeSessionID.
func (a *Authenticator) RevokeSessions(ctx context.Context, login string) (int, error) {
	n, err := a.Store.DeleteSecrets(ctx, login, store.SecretSession)
	if err != nil {
		return 0, err
	}
	for _, k := range []store.SecretKind{store.SecretOIDCRefresh, store.SecretOIDCCode} {
		if _, err := a.Store.DeleteSecrets(ctx, login, k); err != nil {
			return 0, fmt.Errorf("sign %q out everywhere: %w", login, err)
		}
	}
	return n, nil
}

// ListSessions lists login's sessions (Name is the session's ID). ctx as
// for RevokeSessionID.
func (a *Authenticator) ListSessions(ctx context.Context, login string) ([]*store.Secret, error) {
	return a.Store.ListSecrets(ctx, login, store.SecretSession)
}

// ProxyLogin admits login for a session that a frontend of the sharded
// mode authenticated and proxies here (docs/cluster.md, Sharded mode):
// the frontend checked the credentials, this node checks what it would
// check after any credential check (active account, feature) and the
// throttle's ban of the real client address, remote, so that a banned
// address stays banned whichever frontend it comes through. The caller
// has verified the frontend (shared secret, registered node).
func (a *Authenticator) ProxyLogin(ctx context.Context, login string, remote net.Addr, feature string) (*store.Principal, error) {
	ip := hostOf(remote)
	if err := a.checkBan(ctx, ip, login, feature, "proxied login"); err != nil {
		return nil, err
	}
	proto := feature // the protocol in the audit: the caller's, else the feature
	if info, ok := ctx.Value(authInfoKey{}).(authInfo); ok && info.proto != "" {
		proto = info.proto
	}
	return a.admit(WithAuthInfo(ctx, proto, "proxy"), login, "", ip, feature, true)
}

// checkBan refuses, with ErrThrottled, a sign-in of login from ip that
// another party vouched for (a proxying frontend, an OpenID provider, a
// Kerberos ticket) while the throttle bans the address or the account
// from it: such sign-ins are not guesses and do not count as failures,
// but a banned source stays banned whichever way it signs in.
func (a *Authenticator) checkBan(ctx context.Context, ip, login, feature, what string) error {
	if a.Throttle == nil {
		return nil
	}
	if _, banned := a.Throttle.Check(ip, login); banned {
		a.Throttle.Refused(ip, login)
		a.log().Warn(what+" refused: throttled", "user", login, "ip", ip)
		a.observe(ctx, AuthEvent{Login: login, IP: ip, Feature: feature, Reason: "throttled"})
		return ErrThrottled
	}
	return nil
}
