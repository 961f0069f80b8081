package directory_test

import (
	"context"
	"errors"
	"net"
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
	e.clock = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	e.st.Tenants(t, "acme", "globex")
	e.st.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	e.st.User(t, "acme", store.User{Login: "bob", Active: true}, "pw")
	e.st.User(t, "globex", store.User{Login: "eve", Active: true}, "pw")
	e.a = &directory.Authenticator{Store: e.st, Throttle: &auth.Throttle{}, Cache: auth.NewCredCache(100, time.Hour),
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
	if n, err := e.a.RevokeSessions(alice, "alice"); err != nil || n != 2 {
		t.Fatalf("sign out everywhere: %d %v", n, err)
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
