package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// issuer publishes discovery and a JWKS whose keys the test rotates.
type issuer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys []jose.JSONWebKey // private
	jwks int               // JWKS fetches
	down bool
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(Discovery{Issuer: is.srv.URL, AuthorizationEndpoint: is.srv.URL + "/auth",
			TokenEndpoint: is.srv.URL + "/token", JWKSURI: is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		is.jwks++
		if is.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var set jose.JSONWebKeySet
		for _, k := range is.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.addKey(t, "k1")
	return is
}

func (is *issuer) addKey(t *testing.T, kid string) jose.JSONWebKey {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k := jose.JSONWebKey{Key: pk, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}
	is.mu.Lock()
	is.keys = append(is.keys, k)
	is.mu.Unlock()
	return k
}

func sign(t *testing.T, k jose.JSONWebKey, alg jose.SignatureAlgorithm, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type claims struct {
	jwt.Claims
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// TestVerifier checks JWT access tokens of a provider against a real
// store's users: accepted when signed by a published key for the right
// issuer and audience within their lifetime, refused otherwise; key
// rotation is followed; a provider that is down is a temporary failure.
func TestVerifier(t *testing.T) {
	env := testenv.Open(t, testenv.Options{})
	env.Tenants(t, "acme")
	env.User(t, "acme", store.User{Login: "alice", Active: true}, "pw")
	is := newIssuer(t)
	now := time.Now()
	clock := now
	rp, err := New(Config{Issuer: is.srv.URL, ClientID: "roost", Now: func() time.Time { return clock }}, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := func(mod func(*claims)) claims {
		c := claims{Claims: jwt.Claims{Issuer: is.srv.URL, Subject: "s1", Audience: jwt.Audience{"roost"},
			Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), IssuedAt: jwt.NewNumericDate(now)}, Email: "alice@acme.test"}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	k1 := is.keys[0]
	login, err := rp.VerifyToken(ctx, sign(t, k1, jose.RS256, good(nil)), "imap")
	if err != nil || login != "alice" {
		t.Fatalf("good token: %q, %v", login, err)
	}
	f := false
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := json.Marshal(k1.Public())
	bad := map[string]string{
		"expired":                   sign(t, k1, jose.RS256, good(func(c *claims) { c.Expiry = jwt.NewNumericDate(now.Add(-2 * time.Minute)) })),
		"not yet valid":             sign(t, k1, jose.RS256, good(func(c *claims) { c.NotBefore = jwt.NewNumericDate(now.Add(10 * time.Minute)) })),
		"no exp":                    sign(t, k1, jose.RS256, good(func(c *claims) { c.Expiry = nil })),
		"other audience":            sign(t, k1, jose.RS256, good(func(c *claims) { c.Audience = jwt.Audience{"grafana"} })),
		"other issuer":              sign(t, k1, jose.RS256, good(func(c *claims) { c.Issuer = "https://evil.example" })),
		"unverified email":          sign(t, k1, jose.RS256, good(func(c *claims) { c.EmailVerified = &f })),
		"unknown user":              sign(t, k1, jose.RS256, good(func(c *claims) { c.Email = "nobody@example.org" })),
		"no login claim":            sign(t, k1, jose.RS256, good(func(c *claims) { c.Email = "" })),
		"forged key, published kid": sign(t, jose.JSONWebKey{Key: other, KeyID: "k1"}, jose.RS256, good(nil)),
		"forged key, unknown kid":   sign(t, jose.JSONWebKey{Key: ec, KeyID: "evil"}, jose.ES256, good(nil)),
		"HS256 with the public key": sign(t, jose.JSONWebKey{Key: pub, KeyID: "k1"}, jose.HS256, good(nil)),
		"not a JWT":                 "eyJhbGciOiJub25lIn0.e30.",
		"garbage":                   "abc.def.ghi",
		"huge":                      strings.Repeat("a", MaxTokenSize+1),
	}
	tampered := sign(t, k1, jose.RS256, good(nil))
	parts := strings.Split(tampered, ".")
	body, _ := json.Marshal(good(func(c *claims) { c.Email = "bob@acme.test" }))
	bad["tampered payload"] = parts[0] + "." + strings.TrimRight(b64url(body), "=") + "." + parts[2]
	for name, tok := range bad {
		if login, err := rp.VerifyToken(ctx, tok, "imap"); !errors.Is(err, directory.ErrBadCredentials) {
			t.Errorf("%s: %q, %v; want ErrBadCredentials", name, login, err)
		}
	}

	// Rotation: a token of a new key is accepted once the JWKS is fetched
	// again, at most once a minute however many unknown kids come.
	k2 := is.addKey(t, "k2")
	clock = now.Add(2 * time.Minute)
	if _, err := rp.VerifyToken(ctx, sign(t, k2, jose.RS256, good(nil)), "jmap"); err != nil {
		t.Fatalf("token of a rotated-in key: %v", err)
	}
	is.mu.Lock()
	fetches := is.jwks
	is.mu.Unlock()
	for range 5 {
		rp.VerifyToken(ctx, sign(t, jose.JSONWebKey{Key: other, KeyID: "k9"}, jose.RS256, good(nil)), "imap")
	}
	is.mu.Lock()
	if is.jwks != fetches {
		t.Errorf("unknown kids fetched the JWKS %d more times within a minute", is.jwks-fetches)
	}
	// The provider down: known keys still verify, unknown ones are a
	// temporary failure, not a wrong credential.
	is.down = true
	is.mu.Unlock()
	clock = now.Add(2 * time.Hour)
	good2 := func(c *claims) {
		c.Expiry = jwt.NewNumericDate(clock.Add(time.Minute))
		c.IssuedAt = jwt.NewNumericDate(clock)
	}
	if _, err := rp.VerifyToken(ctx, sign(t, k1, jose.RS256, good(good2)), "imap"); err != nil {
		t.Errorf("known key with the provider down: %v", err)
	}
	clock = clock.Add(2 * time.Minute)
	k3 := is.addKey(t, "k3")
	_, err = rp.VerifyToken(ctx, sign(t, k3, jose.RS256, good(good2)), "imap")
	if err == nil || errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("unknown key with the provider down: %v; want a temporary failure", err)
	}
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// FuzzParse feeds the JWT parser arbitrary tokens: it must not panic,
// and whatever it accepts has exactly one signature header.
func FuzzParse(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJ4In0.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		j, err := parse(tok)
		if err == nil && len(j.Headers) != 1 {
			t.Fatalf("accepted %d headers", len(j.Headers))
		}
		if err != nil && !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("parse error not a bad credential: %v", err)
		}
	})
}

// FuzzReadFlow feeds the sign-in cookie parser arbitrary values: it must
// not panic, and accepts only complete, unexpired flows.
func FuzzReadFlow(f *testing.F) {
	f.Add(b64url([]byte(`{"s":"a","n":"b","v":"c","e":99999999999}`)))
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/auth/oidc/callback", nil)
		r.Header.Set("Cookie", flowCookie+"="+v)
		fl, err := readFlow(httptest.NewRecorder(), r)
		if err == nil && (fl.State == "" || fl.Nonce == "" || fl.Verifier == "" || fl.Expires < time.Now().Unix()) {
			t.Fatalf("accepted %+v", fl)
		}
	})
}
