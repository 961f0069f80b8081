package app

import (
	"context"
	"net"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// saslBearer is the OAUTHBEARER/XOAUTH2 verifier of a mail protocol
// (imap, pop3, smtp, sieve): Roost's bearer tokens scoped to it, and any
// directory.TokenVerifier configured (OIDC). Nil, so the mechanisms are
// not offered, when sasl_oauthbearer is off.
func saslBearer(cfg *config.Config, authn *directory.Authenticator, service string) func(ctx context.Context, token, authzid string, remote net.Addr) (*store.Principal, error) {
	if !cfg.SASLBearer {
		return nil
	}
	return func(ctx context.Context, token, authzid string, remote net.Addr) (*store.Principal, error) {
		return authn.VerifyBearer(ctx, token, authzid, service, remote)
	}
}

// httpBearer is the "Authorization: Bearer" check of an HTTP service
// (jmap, dav).
func httpBearer(authn *directory.Authenticator, service string) func(ctx context.Context, token string, remote net.Addr) (*store.Principal, error) {
	return func(ctx context.Context, token string, remote net.Addr) (*store.Principal, error) {
		return authn.VerifyBearer(ctx, token, "", service, remote)
	}
}
