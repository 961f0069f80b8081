package app

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"slices"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/store"
)

// onboarding returns the client-onboarding service over the running
// configuration (public_hostname and public_ports reload with SIGHUP).
func (s *server) onboarding() *onboard.Service {
	return &onboard.Service{Props: s.db.DomainProps, User: s.db.GetUser,
		Settings: func() onboard.Settings { return onboard.SettingsFrom(s.cfg.Load()) },
		ActiveSync: func(u *store.User) bool {
			return slices.Contains(store.EffectiveFeatures(u, s.cfg.Load().DisabledFeatures), "mobile")
		},
		ProfilePassword: s.profilePassword}
}

// profileAppPassword names the app password a profile of a user with a
// second factor carries; a newer profile replaces it.
const profileAppPassword = "apple-profile"

// profilePassword makes the app password the profile of a user with a
// second factor (TOTP) carries: the device cannot answer the second
// factor, so the account password alone would not do for a web sign-in,
// and the user should not put it on a device either (issue 18). Users
// without one get no password in the profile.
func (s *server) profilePassword(ctx context.Context, u *store.User) (string, error) {
	a := s.authn
	if a == nil {
		return "", nil
	}
	has, err := a.HasTOTP(ctx, u.Login)
	if err != nil || !has {
		return "", err
	}
	if err := a.RevokeAppPassword(ctx, u.Login, profileAppPassword); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	pw, _, err := a.CreateAppPassword(ctx, u.Login, profileAppPassword, []string{"imap", "smtp", "dav", "eas"})
	return pw, err
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
