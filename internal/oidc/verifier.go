// Package oidc is Roost's OpenID Connect relying party (issue 13): it
// accepts JWT access tokens of a configured external provider as bearer
// tokens (JMAP, DAV, SASL OAUTHBEARER/XOAUTH2) through the directory's
// TokenVerifier hook, and signs browser users in with the authorization
// code flow and PKCE (login.go).
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// Limits on what the provider and clients control.
const (
	// MaxTokenSize bounds a bearer token parsed as a JWT.
	MaxTokenSize = 16 << 10
	// maxDocSize bounds a discovery document or a JWKS read.
	maxDocSize = 1 << 20
	// maxKeys bounds the keys of a JWKS kept.
	maxKeys = 64
	// refetchEvery bounds how often a token signed by an unknown key makes
	// the JWKS be fetched again (key rotation), so forged kids cannot
	// make Roost hammer the provider.
	refetchEvery = time.Minute
	// keysTTL is how long a fetched JWKS is used before it is fetched again.
	keysTTL = time.Hour
	// leeway is the clock skew allowed on exp, nbf and iat.
	leeway = time.Minute
)

// algs are the signature algorithms accepted (never "none", never HMAC:
// a provider's tokens are signed with its published public keys).
var algs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// Users resolves the value of the login claim to a Roost login: a login
// or one of a user's addresses.
type Users interface {
	GetUser(ctx context.Context, login string) (*store.User, error)
	UserByAddress(ctx context.Context, addr string) (*store.User, error)
}

// Config is the relying party's configuration (oidc_* keys).
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are Roost's registration at the provider
	// (the browser sign-in; ClientSecret may be empty for a public client).
	ClientID     string
	ClientSecret string
	// Audiences are the "aud" values an access token must name one of
	// (empty: ClientID).
	Audiences []string
	// Scopes asked for at browser sign-in ("openid" is always included).
	Scopes []string
	// IntrospectionURL, when set, is asked about tokens that are not JWTs
	// (RFC 7662, as ClientID/ClientSecret).
	IntrospectionURL string
	// LoginClaim is the claim naming the Roost user, by login or address
	// ("email" when empty).
	LoginClaim string
	// HTTP fetches discovery and keys (nil: a client with a 10 s timeout).
	HTTP *http.Client
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Discovery is the part of an OpenID provider's metadata Roost uses.
type Discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// RP is a relying party of one provider. It is a directory.TokenVerifier.
type RP struct {
	cfg   Config
	users Users

	mu      sync.Mutex
	disc    *Discovery
	keys    []jose.JSONWebKey
	fetched time.Time // when keys were fetched
	tried   time.Time // when a fetch was last tried
	icache  map[string]introspected
}

// New makes a relying party; nothing is fetched until it is used.
func New(cfg Config, users Users) (*RP, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("oidc_issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if cfg.ClientID == "" && len(cfg.Audiences) == 0 {
		return nil, errors.New("oidc_client_id is required")
	}
	if len(cfg.Audiences) == 0 {
		cfg.Audiences = []string{cfg.ClientID}
	}
	if cfg.LoginClaim == "" {
		cfg.LoginClaim = "email"
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &RP{cfg: cfg, users: users, icache: map[string]introspected{}}, nil
}

func (r *RP) now() time.Time {
	if r.cfg.Now != nil {
		return r.cfg.Now()
	}
	return time.Now()
}

// getJSON fetches a JSON document of at most maxDocSize.
func (r *RP) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocSize+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(data) > maxDocSize {
		return fmt.Errorf("GET %s: larger than %d bytes", u, maxDocSize)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// Discover returns the provider's metadata, fetched once.
func (r *RP) Discover(ctx context.Context) (*Discovery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.discoverLocked(ctx)
}

func (r *RP) discoverLocked(ctx context.Context) (*Discovery, error) {
	if r.disc != nil {
		return r.disc, nil
	}
	var d Discovery
	if err := r.getJSON(ctx, strings.TrimSuffix(r.cfg.Issuer, "/")+"/.well-known/openid-configuration", &d); err != nil {
		return nil, fmt.Errorf("oidc discovery: %w", err)
	}
	// OpenID Connect Discovery §4.3: the issuer must be the one asked.
	if d.Issuer != r.cfg.Issuer {
		return nil, fmt.Errorf("oidc discovery: issuer %q is not the configured %q", d.Issuer, r.cfg.Issuer)
	}
	if d.JWKSURI == "" || d.AuthorizationEndpoint == "" || d.TokenEndpoint == "" {
		return nil, errors.New("oidc discovery: jwks_uri, authorization_endpoint or token_endpoint missing")
	}
	r.disc = &d
	return r.disc, nil
}

// key returns the provider's key kid (any key when kid is empty and there
// is just one), fetching the JWKS when it is stale or the kid unknown
// (rotation) — at most once per refetchEvery.
func (r *RP) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	find := func() *jose.JSONWebKey {
		for i := range r.keys {
			k := &r.keys[i]
			if k.Use != "" && k.Use != "sig" {
				continue
			}
			if k.KeyID == kid || (kid == "" && len(r.keys) == 1) {
				return k
			}
		}
		return nil
	}
	now := r.now()
	k := find()
	stale := now.Sub(r.fetched) > keysTTL
	if (k == nil || stale) && now.Sub(r.tried) >= refetchEvery {
		r.tried = now
		d, err := r.discoverLocked(ctx)
		if err != nil {
			return nil, err
		}
		var set jose.JSONWebKeySet
		if err := r.getJSON(ctx, d.JWKSURI, &set); err != nil {
			if k != nil {
				// A stale key still verifies while the provider is away.
				r.cfg.Log.Warn("oidc: refreshing provider keys failed", "err", err)
				return k, nil
			}
			return nil, fmt.Errorf("oidc keys: %w", err)
		}
		keys := make([]jose.JSONWebKey, 0, min(len(set.Keys), maxKeys))
		for _, k := range set.Keys {
			if k.IsPublic() && len(keys) < maxKeys {
				keys = append(keys, k)
			}
		}
		r.keys, r.fetched = keys, now
		k = find()
	}
	if k == nil {
		return nil, fmt.Errorf("token signed by unknown key %q: %w", kid, directory.ErrBadCredentials)
	}
	return k, nil
}

// Claims are the verified claims of a token.
type Claims struct {
	jwt.Claims
	// Login is the value of the configured login claim.
	Login string
	// Nonce is the ID token's nonce.
	Nonce string
	// All holds every claim.
	All map[string]any
}

// parse parses a compact JWS without checking it: the step fuzzed.
func parse(token string) (*jwt.JSONWebToken, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("token longer than %d bytes: %w", MaxTokenSize, directory.ErrBadCredentials)
	}
	if strings.Count(token, ".") != 2 {
		return nil, fmt.Errorf("not a JWT: %w", directory.ErrBadCredentials)
	}
	tok, err := jwt.ParseSigned(token, algs)
	if err != nil {
		return nil, fmt.Errorf("not a JWT: %v: %w", err, directory.ErrBadCredentials)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("JWT with %d signatures: %w", len(tok.Headers), directory.ErrBadCredentials)
	}
	return tok, nil
}

// Verify checks a JWT of the provider: signature by one of its published
// keys, iss, aud (one of audiences), exp (required), nbf and iat. A
// refused token is directory.ErrBadCredentials; any other error is a
// temporary failure (the provider could not be reached).
func (r *RP) Verify(ctx context.Context, token string, audiences []string) (*Claims, error) {
	tok, err := parse(token)
	if err != nil {
		return nil, err
	}
	k, err := r.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var c Claims
	if err := tok.Claims(k.Key, &c.Claims, &c.All); err != nil {
		return nil, fmt.Errorf("bad token signature: %v: %w", err, directory.ErrBadCredentials)
	}
	if c.Expiry == nil {
		return nil, fmt.Errorf("token without exp: %w", directory.ErrBadCredentials)
	}
	if c.Issuer != r.cfg.Issuer {
		return nil, fmt.Errorf("token of issuer %q: %w", c.Issuer, directory.ErrBadCredentials)
	}
	if !slices.ContainsFunc(audiences, c.Audience.Contains) {
		return nil, fmt.Errorf("token for audience %v: %w", []string(c.Audience), directory.ErrBadCredentials)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Time: r.now()}, leeway); err != nil {
		return nil, fmt.Errorf("token %v: %w", err, directory.ErrBadCredentials)
	}
	c.Login, _ = c.All[r.cfg.LoginClaim].(string)
	c.Nonce, _ = c.All["nonce"].(string)
	if ev, ok := c.All["email_verified"].(bool); ok && !ev && r.cfg.LoginClaim == "email" {
		return nil, fmt.Errorf("token with an unverified email: %w", directory.ErrBadCredentials)
	}
	return &c, nil
}

// VerifyToken is the directory.TokenVerifier: a JWT access token of the
// provider for one of the configured audiences, whose login claim names a
// Roost user. Any service is accepted (the provider's token is a sign-in).
func (r *RP) VerifyToken(ctx context.Context, token, service string) (string, error) {
	if r.cfg.IntrospectionURL != "" && strings.Count(token, ".") != 2 && len(token) <= MaxTokenSize {
		c, err := r.introspect(ctx, token)
		if err != nil {
			return "", err
		}
		return r.Login(ctx, c)
	}
	c, err := r.Verify(ctx, token, r.cfg.Audiences)
	if err != nil {
		return "", err
	}
	return r.Login(ctx, c)
}

// Login maps verified claims to a Roost login: the login claim as a
// login, or as an address of a user.
func (r *RP) Login(ctx context.Context, c *Claims) (string, error) {
	v := strings.TrimSpace(c.Login)
	if v == "" {
		return "", fmt.Errorf("token without the %q claim: %w", r.cfg.LoginClaim, directory.ErrBadCredentials)
	}
	sys := store.SystemContext(ctx)
	u, err := r.users.GetUser(sys, v)
	if errors.Is(err, store.ErrNotFound) && strings.Contains(v, "@") {
		u, err = r.users.UserByAddress(sys, v)
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("token of %q, who is no Roost user: %w", v, directory.ErrBadCredentials)
	}
	if err != nil {
		return "", fmt.Errorf("oidc user %q: %w", v, err)
	}
	return u.Login, nil
}
