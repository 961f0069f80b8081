package app

import (
	"context"
	"net"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/kerberos"
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

// httpNegotiate is the "Authorization: Negotiate" (Kerberos) check of an
// HTTP service, nil when no keytab is configured.
func httpNegotiate(authn *directory.Authenticator, service string) func(ctx context.Context, token []byte, remote net.Addr) (*store.Principal, error) {
	if authn.Kerberos == nil {
		return nil
	}
	return func(ctx context.Context, token []byte, remote net.Addr) (*store.Principal, error) {
		return authn.Negotiate(ctx, token, service, remote)
	}
}

// saslGSSAPI starts SASL GSSAPI exchanges of a mail protocol, nil when
// no keytab is configured.
func saslGSSAPI(authn *directory.Authenticator, service string) func(remote net.Addr) directory.SASLServer {
	if authn.Kerberos == nil {
		return nil
	}
	return func(remote net.Addr) directory.SASLServer { return authn.GSSAPI(service, remote) }
}

// useKerberos loads the keytab when kerberos_keytab is set.
func useKerberos(cfg *config.Config, authn *directory.Authenticator) error {
	if cfg.KerberosKeytab == "" {
		return nil
	}
	m, err := cfg.KerberosMapping()
	if err != nil {
		return err
	}
	a, err := kerberos.New(kerberos.Config{Keytab: cfg.KerberosKeytab, Principals: cfg.KerberosPrincipals,
		Realms: cfg.KerberosRealms, Map: m})
	if err != nil {
		return err
	}
	authn.Kerberos = a
	return nil
}
