package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// DomainDNS is the answer of GET /v1/domains/{domain}/dns: the records
// the domain should publish, and the same as zone-file lines.
type DomainDNS struct {
	Domain  string           `json:"domain"`
	Host    string           `json:"host"`
	Records []onboard.Record `json:"records"`
	Zone    string           `json:"zone"`
}

// DomainCheck is the answer of GET /v1/domains/{domain}/check.
type DomainCheck struct {
	Domain   string           `json:"domain"`
	Resolver string           `json:"resolver"` // "" = the server's system resolver
	Results  []onboard.Result `json:"results"`
}

// DomainUpdate is the body of PATCH /v1/domains/{domain}: nil leaves a
// setting alone, "" removes it.
type DomainUpdate struct {
	PublicHostname *string `json:"public_hostname"`
	MTASTSMode     *string `json:"mta_sts_mode"`
}

// domainRecords reads the domain with the caller's rights (the store
// decides: system admins and the tenant's admins) and lists its records.
func (s *Server) domainRecords(ctx context.Context, domain string) (DomainDNS, error) {
	if s.o.Onboard == nil {
		return DomainDNS{}, errorf(http.StatusNotImplemented, "onboarding is not configured")
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	props, err := s.b.DomainProps(ctx, domain)
	if err != nil {
		return DomainDNS{}, err
	}
	a, err := s.o.Onboard.Domain(ctx, domain)
	if err != nil {
		return DomainDNS{}, fmt.Errorf("domain %s: %w", domain, err)
	}
	var dk *onboard.DKIMKey
	if sel, pk := props[queue.PropDKIMSelector], props[queue.PropDKIMPrivateKey]; sel != "" && pk != "" {
		pub, err := dkimPublicKey(pk)
		if err != nil {
			return DomainDNS{}, fmt.Errorf("dkim key of %s: %w", domain, err)
		}
		txt, err := queue.DKIMRecord(pub)
		if err != nil {
			return DomainDNS{}, fmt.Errorf("dkim key of %s: %w", domain, err)
		}
		dk = &onboard.DKIMKey{Selector: sel, TXT: txt}
	}
	rs := onboard.Records(domain, a, dk)
	return DomainDNS{Domain: domain, Host: a.Host, Records: rs, Zone: onboard.Zone(rs)}, nil
}

func (s *Server) domainDNS(w http.ResponseWriter, r *http.Request) error {
	d, err := s.domainRecords(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// domainCheck resolves the records (?resolver=HOST[:PORT], else the
// server's system resolver) and reports each present, missing or wrong.
func (s *Server) domainCheck(w http.ResponseWriter, r *http.Request) error {
	d, err := s.domainRecords(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	addr := r.URL.Query().Get("resolver")
	// Naming the DNS server makes Roost send packets to any address:
	// system administrators only.
	if p := store.PrincipalFrom(r.Context()); addr != "" && (p == nil || !p.IsSystemAdmin()) {
		return errorf(http.StatusForbidden, "only system administrators may name a resolver")
	}
	if addr != "" && !onboard.ValidResolver(addr) {
		return badRequest("resolver %q is not a DNS server address (HOST or HOST:PORT)", addr)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	writeJSON(w, http.StatusOK, DomainCheck{Domain: d.Domain, Resolver: addr, Results: onboard.Check(ctx, onboard.NewResolver(addr), d.Records)})
	return nil
}

// updateDomain sets a domain's public host name and MTA-STS mode.
func (s *Server) updateDomain(w http.ResponseWriter, r *http.Request) error {
	var in DomainUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	set := map[string]*string{}
	if v := in.PublicHostname; v != nil {
		h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(*v), "."))
		if h != "" && !onboard.ValidHost(h) {
			return badRequest("%q is not a valid host name", *v)
		}
		set[onboard.PropPublicHostname] = nilIfEmpty(h)
	}
	if v := in.MTASTSMode; v != nil {
		switch *v {
		case "", "testing", "enforce", "none":
		default:
			return badRequest("mta_sts_mode must be testing, enforce or none")
		}
		set[onboard.PropMTASTSMode] = nilIfEmpty(*v)
	}
	if len(set) == 0 {
		return badRequest("nothing to change")
	}
	domain := strings.ToLower(strings.TrimSpace(r.PathValue("domain")))
	if err := s.b.SetDomainProps(r.Context(), domain, set); err != nil {
		return err
	}
	d, err := s.domainRecords(r.Context(), domain)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// userProfile answers GET /v1/users/{login}/profile with the user's signed
// Apple configuration profile (DER CMS SignedData).
func (s *Server) userProfile(w http.ResponseWriter, r *http.Request) error {
	if s.o.Onboard == nil || s.o.Certificate == nil {
		return errorf(http.StatusNotImplemented, "onboarding is not configured")
	}
	out, err := s.o.Onboard.Profile(r.Context(), r.PathValue("login"), s.o.Certificate())
	if errors.Is(err, onboard.ErrUnknownDomain) {
		return badRequest("the user's address is not in a domain served here")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	return nil
}
