package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// Lifetimes of what Roost's OpenID provider issues.
const (
	CodeTTL    = time.Minute
	AccessTTL  = time.Hour
	RefreshTTL = 30 * 24 * time.Hour
	consentTTL = 10 * time.Minute
	// keyRotateEvery is the age at which the signing key is replaced; the
	// old key stays published for RefreshTTL more, until every token
	// signed by it has expired.
	keyRotateEvery = 90 * 24 * time.Hour
	keysCacheTTL   = time.Minute
)

// ScopeRoost is the scope that makes an access token of Roost's provider
// good for Roost's own protocols (JMAP, DAV, IMAP, POP3, SMTP,
// ManageSieve). Tokens without it (Nextcloud's, Grafana's) only sign in.
const ScopeRoost = "roost"

// knownScopes are the scopes the provider grants; others are dropped.
var knownScopes = []string{"openid", "email", "profile", "offline_access", ScopeRoost}

// ProviderStore is the part of the store the provider uses.
type ProviderStore interface {
	store.SSO
	GetUser(ctx context.Context, login string) (*store.User, error)
	CreateSecret(ctx context.Context, login string, s store.Secret) (*store.Secret, error)
	DeleteSecret(ctx context.Context, login string, kind store.SecretKind, name string) (*store.Secret, error)
}

// ProviderAuth signs users in at the provider's login page and finds
// their web session (directory.Authenticator).
type ProviderAuth interface {
	CreateSession(ctx context.Context, login, password string, remote net.Addr) (*directory.Session, error)
	// CreateSessionTOTP signs in a user with a second factor.
	CreateSessionTOTP(ctx context.Context, login, password, code string, remote net.Addr) (*directory.Session, error)
	VerifySession(ctx context.Context, token string, remote net.Addr) (*directory.Session, error)
}

// Client is a relying party registered with Roost's provider.
type Client struct {
	ID           string   `json:"id"`
	SecretHash   string   `json:"secret_hash,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
}

// Provider is Roost's OpenID provider (Konnect's role).
type Provider struct {
	Store ProviderStore
	Auth  ProviderAuth
	// Issuer is the provider's issuer: Roost's public https URL.
	Issuer string
	Log    *slog.Logger
	// SetCookie sets the web session cookie after a sign-in at the login
	// page (nil: SetSessionCookie).
	SetCookie func(w http.ResponseWriter, token string, expires time.Time)
	Now       func() time.Time

	mu     sync.Mutex
	keys   []jose.JSONWebKey // private, oldest first
	keysAt time.Time
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Provider) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// ---- clients ----

// validRedirectURI: absolute https (or http on a loopback address, for
// native apps, RFC 8252 §7.3), no fragment.
func validRedirectURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil || len(s) > 2000 {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return u.Scheme == "http" && (h == "localhost" || (ip != nil && ip.IsLoopback()))
}

// RegisterClient registers a client named name (its client id) with its
// exact redirect URIs and returns its secret ("" for a public client,
// which must use PKCE). ctx's principal must be a system administrator.
func RegisterClient(ctx context.Context, st store.SSO, name string, redirectURIs []string, public bool) (*Client, string, error) {
	if name == "" || len(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == ':' || r == '/' || r > '~' }) {
		return nil, "", fmt.Errorf("client name %q: letters, digits and punctuation without ':' or '/': %w", name, store.ErrInvalid)
	}
	if len(redirectURIs) == 0 || len(redirectURIs) > 20 {
		return nil, "", fmt.Errorf("a client needs 1 to 20 redirect URIs: %w", store.ErrInvalid)
	}
	for _, u := range redirectURIs {
		if !validRedirectURI(u) {
			return nil, "", fmt.Errorf("redirect URI %q is not an https URL without fragment (or http on a loopback address): %w", u, store.ErrInvalid)
		}
	}
	c := &Client{ID: name, RedirectURIs: redirectURIs, Public: public}
	secret := ""
	if !public {
		secret = random()
		c.SecretHash = auth.SecretHash("oidc-client", secret)
	}
	data, _ := json.Marshal(c)
	if err := st.CreateSSO(ctx, store.SSOObject{Kind: store.SSOClient, Name: name, Value: string(data)}); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// ListClients returns the registered clients (without secrets).
func ListClients(ctx context.Context, st store.SSO) ([]*Client, error) {
	objs, err := st.ListSSO(ctx, store.SSOClient)
	if err != nil {
		return nil, err
	}
	out := make([]*Client, 0, len(objs))
	for _, o := range objs {
		var c Client
		if err := json.Unmarshal([]byte(o.Value), &c); err != nil {
			return nil, fmt.Errorf("client %q: %w", o.Name, err)
		}
		c.SecretHash = ""
		out = append(out, &c)
	}
	return out, nil
}

func (p *Provider) client(ctx context.Context, id string) (*Client, error) {
	objs, err := p.Store.ListSSO(store.SystemContext(ctx), store.SSOClient)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.Name == id {
			var c Client
			if err := json.Unmarshal([]byte(o.Value), &c); err != nil {
				return nil, fmt.Errorf("client %q: %w", id, err)
			}
			return &c, nil
		}
	}
	return nil, nil
}

// ---- keys ----

type storedKey struct {
	JWK json.RawMessage `json:"jwk"`
}

// signingKeys returns the keys to publish (oldest first; the last signs),
// from the store, made or rotated as needed. Every node reads the same.
func (p *Provider) signingKeys(ctx context.Context) ([]jose.JSONWebKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if len(p.keys) > 0 && now.Sub(p.keysAt) < keysCacheTTL {
		return p.keys, nil
	}
	sys := store.SystemContext(ctx)
	for range 2 {
		objs, err := p.Store.ListSSO(sys, store.SSOKey)
		if err != nil {
			return nil, fmt.Errorf("oidc provider keys: %w", err)
		}
		var keys []jose.JSONWebKey
		var created []time.Time
		for _, o := range objs {
			var sk storedKey
			var k jose.JSONWebKey
			if err := json.Unmarshal([]byte(o.Value), &sk); err != nil {
				return nil, fmt.Errorf("oidc provider key %s: %w", o.Name, err)
			}
			if err := k.UnmarshalJSON(sk.JWK); err != nil {
				return nil, fmt.Errorf("oidc provider key %s: %w", o.Name, err)
			}
			keys, created = append(keys, k), append(created, o.Created)
		}
		// A key replaced more than RefreshTTL ago signed nothing still valid.
		for i := 0; i+1 < len(keys); {
			if now.Sub(created[i+1]) > RefreshTTL {
				if err := p.Store.DeleteSSO(sys, store.SSOKey, keys[i].KeyID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				keys, created = keys[i+1:], created[i+1:]
				continue
			}
			i++
		}
		if len(keys) > 0 && now.Sub(created[len(created)-1]) < keyRotateEvery {
			p.keys, p.keysAt = keys, now
			return keys, nil
		}
		pk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		k := jose.JSONWebKey{Key: pk, KeyID: now.UTC().Format("20060102") + "-" + random()[:8], Algorithm: string(jose.RS256), Use: "sig"}
		data, err := k.MarshalJSON()
		if err != nil {
			return nil, err
		}
		v, _ := json.Marshal(storedKey{JWK: data})
		if err := p.Store.CreateSSO(sys, store.SSOObject{Kind: store.SSOKey, Name: k.KeyID, Value: string(v), Created: now}); err != nil {
			return nil, fmt.Errorf("oidc provider key: %w", err)
		}
		p.log().Info("oidc provider: new signing key", "kid", k.KeyID)
	}
	return nil, errors.New("oidc provider keys: no key after creating one")
}

// sign signs claims with the current key.
func (p *Provider) sign(ctx context.Context, typ string, claims ...any) (string, error) {
	keys, err := p.signingKeys(ctx)
	if err != nil {
		return "", err
	}
	k := keys[len(keys)-1]
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, opts)
	if err != nil {
		return "", err
	}
	b := jwt.Signed(s)
	for _, c := range claims {
		b = b.Claims(c)
	}
	return b.Serialize()
}

// inner are the claims of the provider's own tokens beyond the standard.
type inner struct {
	Use      string `json:"roost_use"` // code, refresh, access, consent
	Login    string `json:"login,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Redirect string `json:"redirect_uri,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	State    string `json:"state,omitempty"`
	CC       string `json:"cc,omitempty"`
}

// verifyOwn checks a token the provider issued for use: signature by a
// published key, issuer, expiry, use.
func (p *Provider) verifyOwn(ctx context.Context, token, use string) (*jwt.Claims, *inner, error) {
	tok, err := parse(token)
	if err != nil {
		return nil, nil, err
	}
	// Another issuer's token (the relying party's) is not looked at
	// further: no key is read or made for it.
	var pre jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&pre); err != nil || pre.Issuer != p.Issuer {
		return nil, nil, fmt.Errorf("not a token of this provider: %w", directory.ErrBadCredentials)
	}
	keys, err := p.signingKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	kid := tok.Headers[0].KeyID
	i := slices.IndexFunc(keys, func(k jose.JSONWebKey) bool { return k.KeyID == kid })
	if i < 0 {
		return nil, nil, fmt.Errorf("token of unknown key %q: %w", kid, directory.ErrBadCredentials)
	}
	var c jwt.Claims
	var in inner
	if err := tok.Claims(keys[i].Public().Key, &c, &in); err != nil {
		return nil, nil, fmt.Errorf("bad token signature: %w", directory.ErrBadCredentials)
	}
	if c.Issuer != p.Issuer || c.Expiry == nil || in.Use != use {
		return nil, nil, fmt.Errorf("not a %s token of this provider: %w", use, directory.ErrBadCredentials)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Time: p.now()}, leeway); err != nil {
		return nil, nil, fmt.Errorf("token %v: %w", err, directory.ErrBadCredentials)
	}
	return &c, &in, nil
}

// VerifyToken is the directory.TokenVerifier of the provider's own
// access tokens: good for every Roost protocol when granted ScopeRoost.
func (p *Provider) VerifyToken(ctx context.Context, token, service string) (string, error) {
	_, in, err := p.verifyOwn(ctx, token, "access")
	if err != nil {
		return "", err
	}
	if !slices.Contains(strings.Fields(in.Scope), ScopeRoost) {
		return in.Login, fmt.Errorf("access token without scope %q: %w", ScopeRoost, directory.ErrScope)
	}
	return in.Login, nil
}

// checkClientSecret compares a presented secret with the stored hash.
func checkClientSecret(c *Client, secret string) bool {
	if c.Public {
		return secret == ""
	}
	return secret != "" && subtle.ConstantTimeCompare([]byte(auth.SecretHash("oidc-client", secret)), []byte(c.SecretHash)) == 1
}

// grantScopes keeps the known scopes of a request, in a stable order.
func grantScopes(req string) []string {
	var out []string
	for _, s := range strings.Fields(req) {
		if slices.Contains(knownScopes, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
