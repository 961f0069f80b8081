package app

import (
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/oidc"
)

// useOIDC sets up the OpenID Connect relying party when oidc_issuer is
// set: the provider's access tokens become bearer tokens of every
// protocol (authn's TokenVerifiers), and the returned sign-in serves
// /auth/oidc/login and /auth/oidc/callback. Nil when it is off.
func (s *server) useOIDC(cfg *config.Config, authn *directory.Authenticator) (*oidc.Login, error) {
	if cfg.OIDCIssuer == "" {
		return nil, nil
	}
	rp, err := oidc.New(oidc.Config{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
		Audiences: cfg.OIDCAudiences, IntrospectionURL: cfg.OIDCIntrospectionURL, Scopes: cfg.OIDCScopes, LoginClaim: cfg.OIDCLoginClaim,
		Log: s.log.With("proto", "auth")}, s.db)
	if err != nil {
		return nil, err
	}
	authn.TokenVerifiers = append(authn.TokenVerifiers, rp)
	redirect := cfg.OIDCRedirectURI
	if redirect == "" {
		host := cfg.PublicHostname
		if host == "" {
			host = cfg.Hostname()
		}
		redirect = "https://" + host + "/auth/oidc/callback"
	}
	s.log.Info("oidc: accepting tokens and sign-in of an external provider", "issuer", cfg.OIDCIssuer, "client_id", cfg.OIDCClientID, "redirect_uri", redirect)
	return &oidc.Login{RP: rp, Sessions: authn, RedirectURI: redirect}, nil
}

// newOIDCProvider makes Roost's own OpenID provider; its access tokens
// with scope "roost" are bearer tokens of every protocol. It answers
// discovery once a client is registered.
func (s *server) newOIDCProvider(cfg *config.Config, authn *directory.Authenticator) *oidc.Provider {
	iss := strings.TrimSuffix(cfg.OIDCProviderIssuer, "/")
	if iss == "" {
		host := cfg.PublicHostname
		if host == "" {
			host = cfg.Hostname()
		}
		iss = "https://" + host
	}
	p := &oidc.Provider{Store: s.db, Auth: authn, Issuer: iss, Log: s.log.With("proto", "auth")}
	authn.TokenVerifiers = append(authn.TokenVerifiers, p)
	return p
}

// mountOIDC serves the provider and the relying party's browser sign-in,
// if configured.
func mountOIDC(mux *http.ServeMux, p *oidc.Provider, l *oidc.Login) {
	if p != nil {
		p.Mount(mux)
	}
	if l != nil {
		l.Mount(mux)
	}
}
