package app

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/store"
)

// onboarding returns the client-onboarding service over the running
// configuration (public_hostname and public_ports reload with SIGHUP).
func (s *server) onboarding() *onboard.Service {
	return &onboard.Service{Props: s.db.DomainProps, User: s.db.GetUser,
		Settings: func() onboard.Settings { return onboard.SettingsFrom(s.cfg.Load()) }}
}

// mountOnboard serves autoconfig, autodiscover, MTA-STS policies and
// /profile.mobileconfig (docs/clients.md) on the HTTP listeners.
func (s *server) mountOnboard(mux *http.ServeMux, authn *directory.Authenticator) {
	s.onboarding().Mount(mux, onboard.HandlerOptions{Logger: s.log.With("proto", "onboard"),
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return authn.Authenticate(ctx, login, pw, remote, "imap")
		},
		Certificate: func() tls.Certificate { return s.cert }})
}
