package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
)

// Bounds of the introspection cache: a token found active is trusted for
// at most introspectCacheTTL (or until it expires, if sooner), so a
// revocation at the provider takes effect within that time.
const (
	introspectCacheTTL = time.Minute
	introspectCacheMax = 10000
)

type introspected struct {
	claims *Claims
	until  time.Time
}

// audience is "aud" of an introspection answer: a string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// introspect asks the provider about an opaque token (RFC 7662),
// authenticated as Roost's client.
func (r *RP) introspect(ctx context.Context, token string) (*Claims, error) {
	sum := sha256.Sum256([]byte(token))
	key := string(sum[:])
	now := r.now()
	r.mu.Lock()
	if e, ok := r.icache[key]; ok && now.Before(e.until) {
		r.mu.Unlock()
		return e.claims, nil
	}
	r.mu.Unlock()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(r.cfg.ClientID), url.QueryEscape(r.cfg.ClientSecret))
	resp, err := r.cfg.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidc introspection: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocSize))
	if err != nil {
		return nil, fmt.Errorf("oidc introspection: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oidc introspection: %s", resp.Status)
	}
	var all map[string]any
	var std struct {
		Active   bool     `json:"active"`
		Iss      string   `json:"iss"`
		Aud      audience `json:"aud"`
		ClientID string   `json:"client_id"`
		Exp      int64    `json:"exp"`
		Nbf      int64    `json:"nbf"`
	}
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("oidc introspection: %w", err)
	}
	if err := json.Unmarshal(data, &std); err != nil {
		return nil, fmt.Errorf("oidc introspection: %w", err)
	}
	switch {
	case !std.Active:
		return nil, fmt.Errorf("token not active: %w", directory.ErrBadCredentials)
	case std.Iss != "" && std.Iss != r.cfg.Issuer:
		return nil, fmt.Errorf("token of issuer %q: %w", std.Iss, directory.ErrBadCredentials)
	case std.Exp != 0 && !now.Before(time.Unix(std.Exp, 0).Add(leeway)):
		return nil, fmt.Errorf("token expired: %w", directory.ErrBadCredentials)
	case std.Nbf != 0 && now.Add(leeway).Before(time.Unix(std.Nbf, 0)):
		return nil, fmt.Errorf("token not yet valid: %w", directory.ErrBadCredentials)
	}
	// The audience: "aud" when the provider names one, else the client
	// the token was issued to.
	auds := []string(std.Aud)
	if len(auds) == 0 && std.ClientID != "" {
		auds = []string{std.ClientID}
	}
	if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(r.cfg.Audiences, a) }) {
		return nil, fmt.Errorf("token for audience %v: %w", auds, directory.ErrBadCredentials)
	}
	c := &Claims{All: all}
	c.Login, _ = all[r.cfg.LoginClaim].(string)
	if ev, ok := all["email_verified"].(bool); ok && !ev && r.cfg.LoginClaim == "email" {
		return nil, fmt.Errorf("token with an unverified email: %w", directory.ErrBadCredentials)
	}
	until := now.Add(introspectCacheTTL)
	if std.Exp != 0 && time.Unix(std.Exp, 0).Before(until) {
		until = time.Unix(std.Exp, 0)
	}
	r.mu.Lock()
	if len(r.icache) >= introspectCacheMax {
		for k, e := range r.icache {
			if !now.Before(e.until) || len(r.icache) >= introspectCacheMax {
				delete(r.icache, k)
			}
		}
	}
	r.icache[key] = introspected{claims: c, until: until}
	r.mu.Unlock()
	return c, nil
}
