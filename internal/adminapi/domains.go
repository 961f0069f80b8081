package adminapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.b.ListDomains(r.Context())
	if err != nil {
		return err
	}
	out := make([]Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, Domain{Name: d.Name, Tenant: d.Tenant})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addDomain(w http.ResponseWriter, r *http.Request) error {
	var in Domain
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return badRequest("domain name missing")
	}
	tenant, err := s.defaultTenant(r, in.Tenant)
	if err != nil {
		return err
	}
	if err := s.b.AddDomain(r.Context(), tenant, in.Name); err != nil {
		return err
	}
	// Reply with the stored spelling (lower case) and the tenant's.
	ds, err := s.b.ListDomains(r.Context())
	if err != nil {
		return err
	}
	out := Domain{Name: strings.ToLower(strings.TrimSpace(in.Name)), Tenant: tenant}
	for _, d := range ds {
		if strings.EqualFold(d.Name, out.Name) {
			out = Domain{Name: d.Name, Tenant: d.Tenant}
		}
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// removeDomain removes a domain; with ?tenant= only if it is that tenant's.
func (s *Server) removeDomain(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("domain")
	if t := r.URL.Query().Get("tenant"); t != "" {
		ds, err := s.b.ListDomains(r.Context())
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ds, func(d store.Domain) bool { return strings.EqualFold(d.Name, strings.TrimSpace(name)) })
		if i < 0 || !strings.EqualFold(ds[i].Tenant, t) {
			return fmt.Errorf("domain %q of tenant %q: %w", name, t, store.ErrNotFound)
		}
	}
	if err := s.b.RemoveDomain(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
