// Package onboard tells mail, calendar and contact clients how to reach
// Roost (Thunderbird autoconfig, Microsoft autodiscover, Apple
// configuration profiles) and tells administrators which DNS records a
// domain needs (RFC 6186, RFC 6764, SPF, DKIM, DMARC, MTA-STS, TLS-RPT).
//
// Invariants:
//   - No answer reveals whether a user exists: autoconfig and autodiscover
//     answer every address of a served domain alike (the user name is the
//     address itself, which every login accepts), and every address of a
//     domain Roost does not serve with the same refusal (ErrUnknownDomain).
//   - Host names and ports are the public ones (public_hostname, a
//     domain's "public_hostname" property, public_ports), never the
//     listeners' bind addresses when those differ.
//   - Request parsers are bounded (MaxRequestBytes) and refuse DTDs, so no
//     entity is ever expanded or fetched (XXE).
package onboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/store"
)

// PropPublicHostname is the domain property that overrides
// public_hostname for the domain's users.
const PropPublicHostname = "public_hostname"

// PropMTASTSMode is the domain property with the MTA-STS policy mode
// ("testing" when unset, "enforce" or "none"; RFC 8461 §3.2).
const PropMTASTSMode = "mta_sts_mode"

// ErrUnknownDomain is the answer for a domain Roost does not serve.
var ErrUnknownDomain = errors.New("not a domain served here")

// Endpoint is one service as clients reach it. Port 0: not offered.
type Endpoint struct {
	Port     int
	Implicit bool // TLS from the first byte; else STARTTLS (or plain HTTP)
}

// Settings are the public names and ports of one server.
type Settings struct {
	Host                     string // public host name (public_hostname or server_name)
	IMAP, IMAPS, POP3, POP3S int
	Submission, Submissions  int
	HTTPS                    int
}

// SettingsFrom derives Settings from the configuration: the port of each
// running listener, replaced by public_ports where given.
func SettingsFrom(c *config.Config) Settings {
	pub, _ := c.PublicPortMap() // validated at load
	port := func(name, role string) int {
		if p, ok := pub[name]; ok {
			return p
		}
		if !c.HasRole(role) && !c.HasRole("all") {
			return 0
		}
		_, ps, err := net.SplitHostPort(c.Listener(name))
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(ps)
		return n
	}
	return Settings{Host: c.PublicHost(),
		IMAP: port("imap", "imap"), IMAPS: port("imaps", "imap"),
		POP3: port("pop3", "pop3"), POP3S: port("pop3s", "pop3"),
		Submission: port("submission", "submission"), Submissions: port("submissions", "submission"),
		HTTPS: port("https", "http")}
}

// Props reads a domain's properties (store.Mail.DomainProps); it answers
// store.ErrNotFound for a domain that is not served.
type Props func(ctx context.Context, domain string) (map[string]string, error)

// Service answers onboarding questions for the domains of one store.
type Service struct {
	Props    Props
	Settings func() Settings
	// User reads a user with the caller's principal (store.Directory.GetUser),
	// for profiles.
	User func(ctx context.Context, login string) (*store.User, error)
	// ProfilePassword, when set, returns the app password a user's
	// profile carries ("" for none: a user without a second factor types
	// the account password on the device).
	ProfilePassword func(ctx context.Context, u *store.User) (string, error)
	// ActiveSync, when set, tells whether u may use ActiveSync (the
	// mobile feature), for the profile's Exchange account.
	ActiveSync func(u *store.User) bool
}

// Account is what a client needs to set up one address.
type Account struct {
	Address  string // the address as given, lower case domain
	Domain   string
	Username string // the login clients use: the address
	Settings
}

// Lookup returns the account settings for address, or ErrUnknownDomain
// when its domain is not served (a malformed address counts as such).
// Whether the user exists is deliberately not looked at.
func (s *Service) Lookup(ctx context.Context, address string) (Account, error) {
	address = strings.TrimSpace(address)
	local, domain, ok := strings.Cut(address, "@")
	if !ok || local == "" || !validDomain(domain) || strings.ContainsAny(local, " \t\r\n<>\"\\") || len(address) > 254 {
		return Account{}, ErrUnknownDomain
	}
	domain = strings.ToLower(domain)
	return s.domainAccount(ctx, local+"@"+domain, domain)
}

// Domain returns the settings of a served domain (Username empty).
func (s *Service) Domain(ctx context.Context, domain string) (Account, error) {
	domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	if !validDomain(domain) {
		return Account{}, ErrUnknownDomain
	}
	return s.domainAccount(ctx, "", domain)
}

func (s *Service) domainAccount(ctx context.Context, address, domain string) (Account, error) {
	st := s.Settings()
	props, err := s.Props(store.SystemContext(ctx), domain)
	if errors.Is(err, store.ErrNotFound) {
		return Account{}, ErrUnknownDomain
	}
	if err != nil {
		return Account{}, fmt.Errorf("domain %s: %w", domain, err)
	}
	if h := props[PropPublicHostname]; h != "" {
		st.Host = h
	}
	return Account{Address: address, Domain: domain, Username: address, Settings: st}, nil
}

// validDomain accepts a DNS name of letters, digits, hyphens and dots.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// ValidHost reports whether h is a usable host name for clients.
func ValidHost(h string) bool { return validDomain(h) }
