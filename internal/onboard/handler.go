package onboard

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// HandlerOptions configure the HTTP endpoints.
type HandlerOptions struct {
	Logger *slog.Logger
	// Authenticate checks a Basic login for /profile.mobileconfig.
	Authenticate func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error)
	// Certificate returns the TLS certificate profiles are signed with.
	Certificate func() tls.Certificate
}

// Paths served by Handler (all on the HTTP and HTTPS listeners).
const (
	PathAutoconfig      = "/.well-known/autoconfig/mail/config-v1.1.xml"
	PathAutoconfigHost  = "/mail/config-v1.1.xml" // on autoconfig.DOMAIN
	PathAutodiscoverXML = "/autodiscover/autodiscover.xml"
	PathAutodiscoverJSN = "/autodiscover/autodiscover.json"
	PathMTASTS          = "/.well-known/mta-sts.txt" // on mta-sts.DOMAIN
	PathProfile         = "/profile.mobileconfig"
)

// Mount registers the onboarding endpoints on mux.
func (s *Service) Mount(mux *http.ServeMux, o HandlerOptions) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{s: s, o: o}
	mux.HandleFunc("GET "+PathAutoconfig, h.autoconfig)
	mux.HandleFunc("GET "+PathAutoconfigHost, h.autoconfig)
	// Outlook spells the path both ways.
	for _, p := range []string{PathAutodiscoverXML, "/Autodiscover/Autodiscover.xml", "/AutoDiscover/AutoDiscover.xml"} {
		mux.HandleFunc("POST "+p, h.autodiscover)
	}
	mux.HandleFunc("GET "+PathAutodiscoverJSN, h.autodiscoverJSON)
	mux.HandleFunc("GET "+PathAutodiscoverJSN+"/v1.0/{email}", h.autodiscoverJSON)
	mux.HandleFunc("GET "+PathMTASTS, h.mtaSTS)
	mux.HandleFunc("GET "+PathProfile, h.profile)
}

type handler struct {
	s *Service
	o HandlerOptions
}

// hostDomain returns the domain named by a Host header prefix
// ("autoconfig.example.org" → "example.org"), or "".
func hostDomain(r *http.Request, prefix string) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if d, ok := strings.CutPrefix(host, prefix+"."); ok {
		return d
	}
	return ""
}

func (h *handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.o.Logger.Error("onboarding request failed", "path", r.URL.Path, "err", err)
	http.Error(w, "temporary failure, try again later", http.StatusServiceUnavailable)
}

// notServed is the one answer for unknown domains and malformed addresses.
func notServed(w http.ResponseWriter) {
	http.Error(w, "no configuration for this address", http.StatusNotFound)
}

// autoconfig serves Thunderbird's config-v1.1.xml. The address comes from
// ?emailaddress=; on the autoconfig.DOMAIN host, a request without one is
// for DOMAIN, and one naming another domain is refused like an unknown
// domain (the Host header must not select a foreign configuration).
func (h *handler) autoconfig(w http.ResponseWriter, r *http.Request) {
	addr := r.URL.Query().Get("emailaddress")
	hd := hostDomain(r, "autoconfig")
	if r.URL.Path == PathAutoconfigHost && hd == "" {
		notServed(w)
		return
	}
	var a Account
	var err error
	if addr != "" {
		a, err = h.s.Lookup(r.Context(), addr)
		if err == nil && hd != "" && hd != a.Domain {
			err = ErrUnknownDomain
		}
	} else if hd != "" {
		a, err = h.s.Domain(r.Context(), hd)
	} else {
		err = ErrUnknownDomain
	}
	if errors.Is(err, ErrUnknownDomain) {
		notServed(w)
		return
	}
	if err != nil {
		h.internal(w, r, err)
		return
	}
	out, err := Autoconfig(a)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Write(out)
}

// autodiscover answers the POX protocol.
func (h *handler) autodiscover(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	req, err := ParsePOX(http.MaxBytesReader(w, r.Body, MaxRequestBytes+1))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		w.Write(POXError(600, "Invalid Request"))
		return
	}
	a, err := h.s.Lookup(r.Context(), req.Email)
	if errors.Is(err, ErrUnknownDomain) {
		w.Write(POXError(600, "Invalid Request"))
		return
	}
	if err != nil {
		h.internal(w, r, err)
		return
	}
	out, err := POXResponse(req, a)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	w.Write(out)
}

// autodiscoverJSON answers /autodiscover/autodiscover.json?Email=&Protocol=
// and /autodiscover/autodiscover.json/v1.0/EMAIL?Protocol=.
func (h *handler) autodiscoverJSON(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	if email == "" {
		email = r.URL.Query().Get("Email")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	a, err := h.s.Lookup(r.Context(), email)
	if errors.Is(err, ErrUnknownDomain) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"ErrorCode":"NotFound","ErrorMessage":"No configuration for this address"}`))
		return
	}
	if err != nil {
		h.internal(w, r, err)
		return
	}
	status, out := JSONResponse(r.URL.Query().Get("Protocol"), a)
	w.WriteHeader(status)
	w.Write(out)
}

// mtaSTS serves the MTA-STS policy of the domain named by the Host header
// (mta-sts.DOMAIN, RFC 8461 §3.3); any other host gets 404.
func (h *handler) mtaSTS(w http.ResponseWriter, r *http.Request) {
	d := hostDomain(r, "mta-sts")
	if d == "" {
		notServed(w)
		return
	}
	a, err := h.s.Domain(r.Context(), d)
	if errors.Is(err, ErrUnknownDomain) {
		notServed(w)
		return
	}
	if err != nil {
		h.internal(w, r, err)
		return
	}
	props, err := h.s.Props(store.SystemContext(r.Context()), a.Domain)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(MTASTSPolicy(a, props[PropMTASTSMode])))
}

// profile serves the signed .mobileconfig of the user who logs in with
// HTTP Basic authentication.
func (h *handler) profile(w http.ResponseWriter, r *http.Request) {
	basic := &directory.BasicAuth{Authenticate: h.o.Authenticate, Name: "profile",
		Denied: "this account may not download a configuration profile", Log: h.o.Logger}
	p, ok := basic.Check(w, r)
	if !ok {
		return
	}
	ctx := store.WithPrincipal(r.Context(), p)
	out, err := h.s.Profile(ctx, p.Login, h.o.Certificate())
	if err != nil {
		h.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="roost.mobileconfig"`)
	w.Write(out)
}

// Profile returns the signed configuration profile of login, read with
// the principal in ctx (the store decides who may read whose account).
func (s *Service) Profile(ctx context.Context, login string, cert tls.Certificate) ([]byte, error) {
	if s.User == nil {
		return nil, errors.New("profile: no user source")
	}
	u, err := s.User(ctx, login)
	if err != nil {
		return nil, err
	}
	_, domain, ok := strings.Cut(u.Email, "@")
	if !ok {
		return nil, fmt.Errorf("user %s has no mail address: %w", login, store.ErrInvalid)
	}
	a, err := s.Domain(ctx, domain)
	if err != nil {
		if errors.Is(err, ErrUnknownDomain) {
			// Not the domain of a tenant here: the server-wide names.
			a = Account{Domain: strings.ToLower(domain), Settings: s.Settings()}
		} else {
			return nil, err
		}
	}
	a.Address, a.Username = u.Email, u.Email
	pu := ProfileUser{Login: u.Login, Address: u.Email, FullName: u.FullName}
	if s.ActiveSync != nil {
		pu.ActiveSync = s.ActiveSync(u)
	}
	if s.ProfilePassword != nil {
		if pu.Password, err = s.ProfilePassword(ctx, u); err != nil {
			return nil, fmt.Errorf("profile of %s: app password: %w", login, err)
		}
	}
	return Sign(MobileConfig(pu, a), cert, time.Now())
}
