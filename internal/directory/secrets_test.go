package directory_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

type secretsEnv struct {
	st    *testenv.Store
	a     *directory.Authenticator
	ip    net.Addr
	clock time.Time
	hashs int // argon2id checks
}

func newSecretsEnv(t *testing.T) *secretsEnv {
	e := &secretsEnv{st: testenv.Open(t, testenv.Options{}), ip: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}}
	e.clock = time.Now().Truncate(time.Microsecond)
	e.st.Tenants(t, "acme", "globex")
	e.st.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	e.st.User(t, "acme", store.User{Login: "bob", Active: true}, "pw")
	e.st.User(t, "globex", store.User{Login: "eve", Active: true}, "pw")
	e.a = &directory.Authenticator{Store: e.st, Throttle: &auth.Throttle{BaseDelay: 1}, Cache: auth.NewCredCache(100, time.Hour),
		Now: func() time.Time { return e.clock },
		CheckPassword: func(h, pw string) error {
			e.hashs++
			return auth.CheckPassword(h, pw)
		}}
	return e
}

func TestWebSessions(t *testing.T) {
	e := newSecretsEnv(t)
	ctx := context.Background()
	if _, err := e.a.CreateSession(ctx, "alice", "wrong", e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	s1, err := e.a.CreateSession(ctx, "alice@acme.test", "pw", e.ip)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s1.Token, auth.SessionPrefix) || s1.Principal.Login != "alice" || s1.ID == "" || s1.Remote != "127.0.0.1" {
		t.Fatalf("session %+v", s1)
	}
	if !s1.Expires.Equal(e.clock.Add(directory.DefaultSessionTTL)) {
		t.Fatalf("expires %v", s1.Expires)
	}
	s2, err := e.a.CreateSession(ctx, "alice", "pw", e.ip)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.a.VerifySession(ctx, s1.Token, e.ip)
	if err != nil || got.Principal.Login != "alice" || got.ID != s1.ID || got.Token != "" {
		t.Fatalf("verify: %+v %v", got, err)
	}
	for _, bad := range []string{"", "roost_s_x", s1.Token + "x", strings.Replace(s1.Token, "roost_s_", "roost_t_", 1)} {
		if _, err := e.a.VerifySession(ctx, bad, e.ip); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("verify %q: %v", bad, err)
		}
	}
	// Sign out of one session: the other lives on.
	if err := e.a.RevokeSession(ctx, s1.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.VerifySession(ctx, s1.Token, e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("revoked session: %v", err)
	}
	if _, err := e.a.VerifySession(ctx, s2.Token, e.ip); err != nil {
		t.Fatalf("other session: %v", err)
	}
	// The user lists and ends its sessions; another user of the tenant
	// cannot, an administrator of another tenant does not see it.
	alice, bob, eve := testenv.As(t, e.st, "alice"), testenv.As(t, e.st, "bob"), testenv.As(t, e.st, "eve")
	l, err := e.a.ListSessions(alice, "alice")
	if err != nil || len(l) != 1 || l[0].Name != s2.ID || l[0].Hash != "" {
		t.Fatalf("list: %+v %v", l, err)
	}
	if _, err := e.a.ListSessions(bob, "alice"); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("bob lists alice's sessions: %v", err)
	}
	if _, err := e.a.RevokeSessions(eve, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("eve revokes alice's sessions: %v", err)
	}
	s3, _ := e.a.CreateSession(ctx, "alice", "pw", e.ip)
	// What alice granted other applications through Roost's OpenID
	// provider ends with her sessions; bob's grants stay.
	for _, login := range []string{"alice", "bob"} {
		for _, k := range []store.SecretKind{store.SecretOIDCRefresh, store.SecretOIDCCode} {
			if _, err := e.st.CreateSecret(testenv.Sys, login, store.Secret{Kind: k, Name: "grafana", Hash: auth.SecretHash(string(k), login)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := e.a.RevokeSessions(alice, "alice"); err != nil || n != 2 {
		t.Fatalf("sign out everywhere: %d %v", n, err)
	}
	for _, login := range []string{"alice", "bob"} {
		for _, k := range []store.SecretKind{store.SecretOIDCRefresh, store.SecretOIDCCode} {
			l, err := e.st.ListSecrets(testenv.Sys, login, k)
			if want := map[string]int{"alice": 0, "bob": 1}[login]; err != nil || len(l) != want {
				t.Errorf("after alice signed out everywhere, %s has %d %s secrets (%v), want %d", login, len(l), k, err, want)
			}
		}
	}
	for _, s := range []*directory.Session{s2, s3} {
		if _, err := e.a.VerifySession(ctx, s.Token, e.ip); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("after sign out everywhere: %v", err)
		}
	}
	// Expiry, a disabled account, a disabled feature.
	s4, _ := e.a.CreateSession(ctx, "alice", "pw", e.ip)
	off := false
	e.st.UpdateUser(testenv.Sys, "alice", store.UserUpdate{Active: &off})
	if _, err := e.a.VerifySession(ctx, s4.Token, e.ip); !errors.Is(err, directory.ErrInactive) {
		t.Fatalf("disabled account: %v", err)
	}
	on := true
	e.st.UpdateUser(testenv.Sys, "alice", store.UserUpdate{Active: &on, DisableFeat: []string{"web"}})
	if _, err := e.a.VerifySession(ctx, s4.Token, e.ip); !errors.Is(err, directory.ErrFeature) {
		t.Fatalf("web feature off: %v", err)
	}
	e.st.UpdateUser(testenv.Sys, "alice", store.UserUpdate{EnableFeature: []string{"web"}})
	if _, err := e.a.VerifySession(ctx, s4.Token, e.ip); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(directory.DefaultSessionTTL)
	if _, err := e.a.VerifySession(ctx, s4.Token, e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("expired session: %v", err)
	}
}

func TestBearerTokens(t *testing.T) {
	e := newSecretsEnv(t)
	ctx := context.Background()
	alice := testenv.As(t, e.st, "alice")
	if _, _, err := e.a.CreateToken(alice, "alice", "x", []string{"jmap", "smtpx"}, time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown scope: %v", err)
	}
	if _, _, err := e.a.CreateToken(alice, "alice", "x", nil, e.clock.Add(-time.Second)); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("expiry in the past: %v", err)
	}
	tok, s, err := e.a.CreateToken(alice, "alice", "sync", []string{"jmap", "imap"}, e.clock.Add(time.Hour))
	if err != nil || !auth.IsToken(tok) || s.Name != "sync" {
		t.Fatalf("%q %+v %v", tok, s, err)
	}
	all, _, err := e.a.CreateToken(alice, "alice", "all", nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tok, authz, service string
		want                error
	}{
		{tok, "", "jmap", nil},
		{tok, "alice", "imap", nil},
		{tok, "alice@acme.test", "imap", nil},
		{tok, "bob", "imap", directory.ErrBadCredentials},                               // authzid of another user
		{tok, "", "dav", directory.ErrScope},                                            // not in scope
		{tok, "", "smtp", directory.ErrScope},                                           // not in scope
		{all, "", "dav", nil},                                                           // no scope: all
		{all, "", "sieve", nil},                                                         //
		{tok + "A", "", "jmap", directory.ErrBadCredentials},                            // not a token
		{"roost_t_" + strings.Repeat("A", 43), "", "jmap", directory.ErrBadCredentials}, // unknown
		{"garbage", "", "jmap", directory.ErrBadCredentials},
	} {
		p, err := e.a.VerifyBearer(ctx, c.tok, c.authz, c.service, e.ip)
		if c.want == nil && (err != nil || p.Login != "alice") {
			t.Fatalf("%s as %q: %+v %v", c.service, c.authz, p, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Fatalf("%s as %q: %v, want %v", c.service, c.authz, err, c.want)
		}
	}
	// Last use is recorded, once per burst.
	l, _ := e.a.ListTokens(alice, "alice")
	if len(l) != 2 || l[1].Name != "sync" || !l[1].LastUsed.Equal(e.clock) {
		t.Fatalf("tokens %+v", l)
	}
	// Expiry.
	e.clock = e.clock.Add(time.Hour)
	if _, err := e.a.VerifyBearer(ctx, tok, "", "jmap", e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("expired token: %v", err)
	}
	// A session token is good for JMAP (the web client's API) only.
	sess, err := e.a.CreateSession(ctx, "alice", "pw", e.ip)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := e.a.VerifyBearer(ctx, sess.Token, "", "jmap", e.ip); err != nil || p.Login != "alice" {
		t.Fatalf("session on jmap: %v", err)
	}
	if _, err := e.a.VerifyBearer(ctx, sess.Token, "", "imap", e.ip); !errors.Is(err, directory.ErrScope) {
		t.Fatalf("session on imap: %v", err)
	}
	// Revocation is effective at once; another user cannot revoke it.
	bob := testenv.As(t, e.st, "bob")
	if err := e.a.RevokeToken(bob, "alice", "all"); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("bob revokes: %v", err)
	}
	if err := e.a.RevokeToken(alice, "alice", "all"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.VerifyBearer(ctx, all, "", "dav", e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("revoked token: %v", err)
	}
	// A disabled account's token is refused.
	all2, _, _ := e.a.CreateToken(alice, "alice", "all", nil, time.Time{})
	off := false
	e.st.UpdateUser(testenv.Sys, "alice", store.UserUpdate{Active: &off})
	if _, err := e.a.VerifyBearer(ctx, all2, "", "dav", e.ip); !errors.Is(err, directory.ErrInactive) {
		t.Fatalf("disabled account: %v", err)
	}
	if e.hashs != 1 { // the one CreateSession
		t.Fatalf("%d argon2id checks for token logins", e.hashs)
	}
}

type fakeOIDC struct{ login string }

func (f fakeOIDC) VerifyToken(ctx context.Context, token, service string) (string, error) {
	if token == "eyJ.good" {
		return f.login, nil
	}
	return "", directory.ErrBadCredentials
}

// Tokens Roost did not issue go to the configured verifiers (OIDC).
func TestTokenVerifierHook(t *testing.T) {
	e := newSecretsEnv(t)
	e.a.TokenVerifiers = []directory.TokenVerifier{fakeOIDC{"bob"}}
	if p, err := e.a.VerifyBearer(context.Background(), "eyJ.good", "", "imap", e.ip); err != nil || p.Login != "bob" {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := e.a.VerifyBearer(context.Background(), "eyJ.bad", "", "imap", e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatal(err)
	}
}

func TestAppPasswords(t *testing.T) {
	e := newSecretsEnv(t)
	ctx := context.Background()
	alice := testenv.As(t, e.st, "alice")
	if _, _, err := e.a.CreateAppPassword(alice, "alice", "x", []string{"web"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("web is not a protocol for app passwords: %v", err)
	}
	pw, _, err := e.a.CreateAppPassword(alice, "alice", "phone", []string{"imap", "smtp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auth.NormalAppPassword(pw); !ok || len(pw) != 64 {
		t.Fatalf("app password %q", pw)
	}
	bobPW, _, _ := e.a.CreateAppPassword(testenv.As(t, e.st, "bob"), "bob", "phone", nil)
	login := func(ctx context.Context, user, pw, feature string) error {
		_, err := e.a.Authenticate(ctx, user, pw, e.ip, feature)
		return err
	}
	smtp := directory.WithAuthInfo(ctx, "submission", "")
	sieve := directory.WithAuthInfo(ctx, "managesieve", "")
	for _, c := range []struct {
		ctx          context.Context
		user, pw, ft string
		want         error
	}{
		{ctx, "alice", pw, "imap", nil},
		{ctx, "alice@acme.test", strings.ToUpper(strings.ReplaceAll(pw, "-", " ")), "imap", nil}, // typed loosely
		{smtp, "alice", pw, "", nil},
		{ctx, "alice", pw, "pop3", directory.ErrScope},
		{sieve, "alice", pw, "", directory.ErrScope},
		{ctx, "alice", pw, "dav", directory.ErrScope},
		{ctx, "alice", pw, "web", directory.ErrScope},                                        // the web login wants the real password
		{directory.WithAuthInfo(ctx, "admin", "basic"), "alice", pw, "", directory.ErrScope}, // nor the admin API
		{ctx, "alice", bobPW, "imap", directory.ErrBadCredentials},
		{ctx, "alice", "pw", "pop3", nil}, // the account password still works
	} {
		if err := login(c.ctx, c.user, c.pw, c.ft); !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Fatalf("%s %q %s: %v, want %v", c.user, c.pw, c.ft, err, c.want)
		}
	}
	if e.hashs != 1 { // alice's "pw"
		t.Fatalf("%d argon2id checks", e.hashs)
	}
	l, _ := e.a.ListAppPasswords(alice, "alice")
	if len(l) != 1 || !l[0].LastUsed.Equal(e.clock) || !slices.Equal(l[0].Scopes, []string{"imap", "smtp"}) {
		t.Fatalf("list %+v", l)
	}
	// Revoked: refused at once, and the user's cached credentials are
	// dropped.
	if err := login(ctx, "alice", "pw", "imap"); err != nil {
		t.Fatal(err)
	}
	if e.a.Cache.Len() == 0 {
		t.Fatal("password not cached")
	}
	if err := e.a.RevokeAppPassword(alice, "alice", "phone"); err != nil {
		t.Fatal(err)
	}
	if e.a.Cache.Len() != 0 {
		t.Fatal("cache kept entries of a user whose app password was revoked")
	}
	if err := login(ctx, "alice", pw, "imap"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("revoked app password: %v", err)
	}
	if err := e.a.RevokeAppPassword(alice, "alice", "phone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
	// An expired one (the store takes any expiry; the admin CLI sets none).
	norm, _ := auth.NormalAppPassword(auth.NewAppPassword())
	e.st.CreateSecret(alice, "alice", store.Secret{Kind: store.SecretAppPassword, Name: "old",
		Hash: auth.SecretHash("app-password", norm), Expires: e.clock.Add(time.Minute)})
	if err := login(ctx, "alice", norm, "imap"); err != nil {
		t.Fatalf("app password before expiry: %v", err)
	}
	e.clock = e.clock.Add(2 * time.Minute)
	if err := login(ctx, "alice", norm, "imap"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("expired app password: %v", err)
	}
}

// Tokens and app passwords go through the password throttle: guessed
// tokens count against the address, and a banned address is refused
// even with a valid token or app password.
func TestSecretsThrottled(t *testing.T) {
	e := newSecretsEnv(t)
	e.a.Throttle = &auth.Throttle{FreeFailures: 1, BaseDelay: 1, BanAfter: 3, PairBanAfter: 3}
	ctx := context.Background()
	alice := testenv.As(t, e.st, "alice")
	tok, _, _ := e.a.CreateToken(alice, "alice", "t", nil, time.Time{})
	pw, _, _ := e.a.CreateAppPassword(alice, "alice", "p", nil)
	// Known secrets out of scope are not guesses: no ban from them.
	imapOnly, _, _ := e.a.CreateToken(alice, "alice", "imap", []string{"imap"}, time.Time{})
	for range 5 {
		if _, err := e.a.VerifyBearer(ctx, imapOnly, "", "dav", e.ip); !errors.Is(err, directory.ErrScope) {
			t.Fatal(err)
		}
	}
	if _, err := e.a.VerifyBearer(ctx, tok, "", "jmap", e.ip); err != nil {
		t.Fatalf("after out-of-scope attempts: %v", err)
	}
	for i := range 3 {
		guess := auth.NewToken()
		if _, err := e.a.VerifyBearer(ctx, guess, "", "jmap", e.ip); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := e.a.VerifyBearer(ctx, tok, "", "jmap", e.ip); !errors.Is(err, directory.ErrThrottled) {
		t.Fatalf("valid token from a banned address: %v", err)
	}
	if _, err := e.a.Authenticate(ctx, "alice", pw, e.ip, "imap"); !errors.Is(err, directory.ErrThrottled) {
		t.Fatalf("valid app password from a banned address: %v", err)
	}
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 1}
	if _, err := e.a.Authenticate(ctx, "alice", pw, other, "imap"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
}

// CreateSessionFor opens a web session without a password for a user an
// OpenID provider signed in, but only an existing, active user with the
// web feature.
func TestCreateSessionFor(t *testing.T) {
	e := newSecretsEnv(t)
	ctx := context.Background()
	s, err := e.a.CreateSessionFor(ctx, "alice", e.ip)
	if err != nil || s.Principal.Login != "alice" || s.Token == "" {
		t.Fatalf("session %+v, %v", s, err)
	}
	if v, err := e.a.VerifySession(ctx, s.Token, e.ip); err != nil || v.Principal.Login != "alice" {
		t.Fatalf("verify: %v", err)
	}
	if _, err := e.a.CreateSessionFor(ctx, "ghost", e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	inactive := false
	if _, err := e.st.UpdateUser(store.SystemContext(ctx), "bob", store.UserUpdate{Active: &inactive}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.CreateSessionFor(ctx, "bob", e.ip); !errors.Is(err, directory.ErrInactive) {
		t.Errorf("inactive user: %v", err)
	}
}
