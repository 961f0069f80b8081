package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestProviderKeyRotation: the signing key lives in the store, so two
// providers (two nodes) publish and sign with the same key; after
// keyRotateEvery a new key signs while the old one stays published until
// RefreshTTL later, and tokens it signed verify meanwhile.
func TestProviderKeyRotation(t *testing.T) {
	env := testenv.Open(t, testenv.Options{})
	env.Tenants(t, "acme")
	env.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	clock := time.Now()
	now := func() time.Time { return clock }
	a := &Provider{Store: env, Issuer: "https://mail.example.com", Now: now}
	b := &Provider{Store: env, Issuer: "https://mail.example.com", Now: now}
	ctx := context.Background()
	token := func(p *Provider) string {
		tok, err := p.sign(ctx, "at+jwt", jwt.Claims{Issuer: p.Issuer, Expiry: jwt.NewNumericDate(clock.Add(AccessTTL))},
			inner{Use: "access", Login: "alice", Scope: "openid roost"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	kids := func(p *Provider) []string {
		rec := httptest.NewRecorder()
		p.jwks(rec, httptest.NewRequest("GET", "/oidc/jwks", nil))
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
				D   string `json:"d"`
			} `json:"keys"`
		}
		json.Unmarshal(rec.Body.Bytes(), &set)
		var out []string
		for _, k := range set.Keys {
			if k.D != "" {
				t.Fatal("JWKS publishes a private key")
			}
			out = append(out, k.Kid)
		}
		return out
	}
	old := token(a)
	if login, err := b.VerifyToken(ctx, old, "imap"); err != nil || login != "alice" {
		t.Fatalf("token of node a on node b: %q %v", login, err)
	}
	if ka, kb := kids(a), kids(b); len(ka) != 1 || len(kb) != 1 || ka[0] != kb[0] {
		t.Fatalf("nodes publish %v and %v", ka, kb)
	}
	// Just before rotation the old key signs a refresh-length token.
	clock = clock.Add(keyRotateEvery - time.Hour)
	long, err := a.sign(ctx, "JWT", jwt.Claims{Issuer: a.Issuer, Expiry: jwt.NewNumericDate(clock.Add(RefreshTTL))}, inner{Use: "refresh", Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Hour)
	fresh := token(b)
	k := kids(a)
	if len(k) != 2 {
		t.Fatalf("after rotation: %v", k)
	}
	// Tokens signed by the old key still verify (bounded by their own
	// expiry), as long as the old key is published.
	if _, _, err := a.verifyOwn(ctx, old, "access"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("old token past its expiry: %v", err)
	}
	if _, err := a.VerifyToken(ctx, fresh, "jmap"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.verifyOwn(ctx, long, "refresh"); err != nil {
		t.Fatalf("token of the previous key after rotation: %v", err)
	}
	clock = clock.Add(RefreshTTL + time.Hour)
	if k2 := kids(b); len(k2) != 1 || k2[0] != k[1] {
		t.Fatalf("old key still published after RefreshTTL: %v (were %v)", k2, k)
	}
}

// TestProviderTokenOutOfScope: an access token of Roost's provider
// without the roost scope, presented as a bearer token, is refused as
// out of scope (ErrScope: insufficient_scope), not as an unknown token,
// and does not count as a guess against the address.
func TestProviderTokenOutOfScope(t *testing.T) {
	env := testenv.Open(t, testenv.Options{})
	env.Tenants(t, "acme")
	env.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	ctx := context.Background()
	p := &Provider{Store: env, Issuer: "https://mail.example.com"}
	tok, err := p.sign(ctx, "at+jwt", jwt.Claims{Issuer: p.Issuer, Expiry: jwt.NewNumericDate(time.Now().Add(AccessTTL))},
		inner{Use: "access", Login: "alice", Scope: "openid email"})
	if err != nil {
		t.Fatal(err)
	}
	a := &directory.Authenticator{Store: env, Throttle: &auth.Throttle{BaseDelay: 1, FreeFailures: 1, BanAfter: 2},
		TokenVerifiers: []directory.TokenVerifier{p}}
	ip := &net.TCPAddr{IP: net.IPv4(198, 51, 100, 7), Port: 1}
	for range 3 {
		if _, err := a.VerifyBearer(ctx, tok, "", "imap", ip); !errors.Is(err, directory.ErrScope) {
			t.Fatalf("token without the roost scope: %v, want ErrScope", err)
		}
	}
	// The address is not banned: a password sign-in from it still works.
	if _, err := a.Authenticate(ctx, "alice", "pw", ip, "imap"); err != nil {
		t.Fatalf("password sign-in after out-of-scope tokens: %v", err)
	}
}
