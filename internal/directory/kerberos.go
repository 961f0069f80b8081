package directory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/roost-mail/roost/internal/directory/kerberos"
	"github.com/roost-mail/roost/internal/store"
)

// SASLServer is a multi-step SASL mechanism as a protocol server runs
// it (SASL GSSAPI). Next takes the client's response (its first may be
// the initial response) and returns the next challenge, or, when done,
// the principal. Errors are Authenticate's sentinels; any other is a
// temporary failure.
type SASLServer interface {
	Next(ctx context.Context, resp []byte) (challenge []byte, p *store.Principal, done bool, err error)
}

// gssService is the service of the service principal a protocol is
// reached through (RFC 4752 §3.1: IANA's GSSAPI service names).
func gssService(protocol string) string {
	switch protocol {
	case "pop3":
		return "pop"
	case "imap", "smtp", "sieve":
		return protocol
	}
	return "HTTP"
}

// GSSAPI starts a SASL GSSAPI exchange (RFC 4752) on protocol ("imap",
// "pop3", "smtp", "sieve"), or returns nil when Kerberos is not
// configured.
func (a *Authenticator) GSSAPI(protocol string, remote net.Addr) SASLServer {
	if a.Kerberos == nil {
		return nil
	}
	return &gssapiServer{a: a, g: a.Kerberos.SASL(gssService(protocol)), protocol: protocol, remote: remote}
}

type gssapiServer struct {
	a        *Authenticator
	g        *kerberos.SASL
	protocol string
	remote   net.Addr
}

func (s *gssapiServer) Next(ctx context.Context, resp []byte) ([]byte, *store.Principal, bool, error) {
	chal, done, err := s.g.Next(resp)
	if err != nil {
		return nil, nil, false, s.a.refuseKerberos(ctx, s.protocol, "gssapi", s.remote, err)
	}
	if !done {
		return chal, nil, false, nil
	}
	p, err := s.a.admitKerberos(ctx, s.g.Identity(), s.g.AuthzID(), s.protocol, "gssapi", s.remote)
	return nil, p, err == nil, err
}

// Negotiate checks an HTTP Negotiate token (RFC 4559) presented to
// protocol ("dav", "jmap", "web").
func (a *Authenticator) Negotiate(ctx context.Context, token []byte, protocol string, remote net.Addr) (*store.Principal, error) {
	if a.Kerberos == nil {
		return nil, fmt.Errorf("kerberos is not configured: %w", ErrBadCredentials)
	}
	id, err := a.Kerberos.AcceptSPNEGO(token)
	if err != nil {
		return nil, a.refuseKerberos(ctx, protocol, "negotiate", remote, err)
	}
	return a.admitKerberos(ctx, id, "", protocol, "negotiate", remote)
}

// refuseKerberos logs and reports a refused ticket: bad credentials.
func (a *Authenticator) refuseKerberos(ctx context.Context, protocol, mech string, remote net.Addr, err error) error {
	ip := hostOf(remote)
	a.log().Warn("kerberos ticket refused", "proto", protocol, "ip", ip, "err", err)
	a.observe(WithAuthInfo(ctx, protoLabel(protocol), mech), AuthEvent{IP: ip, Feature: featureOf(protocol), Reason: "invalid ticket"})
	// A bad ticket (kerberos.ErrRefused) or a client that does not
	// follow the exchange: its failure, never a temporary one of ours.
	return fmt.Errorf("%v: %w", err, ErrBadCredentials)
}

// admitKerberos finishes a Kerberos sign-in: the mapped login (or
// address) must be a user, active, with the protocol's feature, and an
// authorization identity must name that user.
func (a *Authenticator) admitKerberos(ctx context.Context, id kerberos.Identity, authzid, protocol, mech string, remote net.Addr) (*store.Principal, error) {
	ctx = WithAuthInfo(ctx, protoLabel(protocol), mech)
	ip := hostOf(remote)
	if err := a.checkBan(ctx, ip, id.Login, featureOf(protocol), "kerberos sign-in"); err != nil {
		return nil, err
	}
	sys := store.SystemContext(ctx)
	u, err := a.Store.GetUser(sys, id.Login)
	if errors.Is(err, store.ErrNotFound) && strings.Contains(id.Login, "@") {
		u, err = a.Store.UserByAddress(sys, id.Login)
	}
	if pv, ok := a.External.(Provisioner); ok && (errors.Is(err, store.ErrNotFound) || (err == nil && u == nil)) {
		// Known only to the directory (LDAP, the Unix files): its first
		// sign-in creates the Roost user and store, as a password login
		// would. The directory being down is a temporary failure.
		u, err = pv.UserByLogin(ctx, id.Login)
		if err == nil {
			a.log().Info("kerberos sign-in: user provisioned from the directory", "principal", id.Principal, "user", u.Login)
		}
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && u == nil) {
		a.log().Warn("kerberos sign-in refused: no such user", "principal", id.Principal, "login", id.Login, "ip", ip)
		a.observe(ctx, AuthEvent{Login: id.Principal, IP: ip, Feature: featureOf(protocol), Reason: "unknown user"})
		return nil, fmt.Errorf("principal %s maps to unknown user %q: %w", id.Principal, id.Login, ErrBadCredentials)
	}
	if err != nil {
		a.observe(ctx, AuthEvent{Login: id.Principal, IP: ip, Feature: featureOf(protocol), Reason: "error"})
		return nil, fmt.Errorf("kerberos sign-in of %s: %w", id.Principal, err)
	}
	if authzid != "" && !strings.EqualFold(authzid, u.Login) {
		az, err := a.Store.UserByAddress(sys, authzid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("kerberos sign-in of %s as %q: %w", id.Principal, authzid, err)
		}
		if az == nil || az.ID != u.ID {
			a.log().Warn("kerberos sign-in refused: authzid names another user", "principal", id.Principal, "authzid", authzid, "ip", ip)
			a.observe(ctx, AuthEvent{Login: authzid, User: u.Login, IP: ip, Feature: featureOf(protocol), Reason: "wrong user"})
			return nil, fmt.Errorf("authzid %q is not %s's user: %w", authzid, id.Principal, ErrBadCredentials)
		}
	}
	return a.finish(ctx, u, id.Principal, ip, featureOf(protocol), true)
}
