package adminapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.b.ListTenants(r.Context())
	if err != nil {
		return err
	}
	out := make([]Tenant, 0, len(ts))
	for _, t := range ts {
		out = append(out, tenantOf(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in TenantCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return badRequest("tenant name missing")
	}
	t, err := s.b.CreateTenant(r.Context(), in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tenantOf(t))
	return nil
}

// tenantReply loads a tenant with its usage, when the principal may see it.
func (s *Server) tenantReply(r *http.Request, name string) (Tenant, error) {
	t, err := s.b.GetTenant(r.Context(), name)
	if err != nil {
		return Tenant{}, err
	}
	out := tenantOf(t)
	u, err := s.b.TenantUsage(r.Context(), t.Name)
	switch {
	case err == nil:
		out.Usage = &TenantUsage{Size: u.Size, SizeHuman: HumanSize(u.Size), QuotaWarn: u.QuotaWarn}
	case errors.Is(err, store.ErrPermission):
		// Users who see but do not administer the tenant get no usage.
	default:
		return Tenant{}, err
	}
	return out, nil
}

func (s *Server) showTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.tenantReply(r, r.PathValue("tenant"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	var in TenantUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var u store.TenantUpdate
	var err error
	if u.QuotaWarn, err = parseMB("quota_warn_mb", in.QuotaWarnMB); err != nil {
		return err
	}
	if u.UserQuotaWarn, err = parseMB("user_quota_warn_mb", in.UserQuotaWarnMB); err != nil {
		return err
	}
	if u.UserQuotaSoft, err = parseMB("user_quota_soft_mb", in.UserQuotaSoftMB); err != nil {
		return err
	}
	if u.UserQuotaHard, err = parseMB("user_quota_hard_mb", in.UserQuotaHardMB); err != nil {
		return err
	}
	u.HomeNode = in.HomeNode
	t, err := s.b.UpdateTenant(r.Context(), r.PathValue("tenant"), u)
	if err != nil {
		return err
	}
	out, err := s.tenantReply(r, t.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.DeleteTenant(r.Context(), r.PathValue("tenant")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tenantChange runs a change to a tenant's lists and replies with the tenant.
func (s *Server) tenantChange(w http.ResponseWriter, r *http.Request, fn func() error) error {
	if err := fn(); err != nil {
		return err
	}
	t, err := s.tenantReply(r, r.PathValue("tenant"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) addViewer(w http.ResponseWriter, r *http.Request) error {
	return s.tenantChange(w, r, func() error {
		return s.b.AddTenantViewer(r.Context(), r.PathValue("tenant"), r.PathValue("viewer"))
	})
}

func (s *Server) removeViewer(w http.ResponseWriter, r *http.Request) error {
	return s.tenantChange(w, r, func() error {
		return s.b.RemoveTenantViewer(r.Context(), r.PathValue("tenant"), r.PathValue("viewer"))
	})
}

func (s *Server) addTenantAdmin(w http.ResponseWriter, r *http.Request) error {
	return s.tenantChange(w, r, func() error {
		return s.b.AddTenantAdmin(r.Context(), r.PathValue("tenant"), r.PathValue("login"))
	})
}

func (s *Server) removeTenantAdmin(w http.ResponseWriter, r *http.Request) error {
	return s.tenantChange(w, r, func() error {
		return s.b.RemoveTenantAdmin(r.Context(), r.PathValue("tenant"), r.PathValue("login"))
	})
}

// defaultTenant names the tenant a request that names none acts on: the
// principal's own, else the only tenant there is.
func (s *Server) defaultTenant(r *http.Request, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if p := store.PrincipalFrom(r.Context()); p != nil && p.Tenant != "" {
		return p.Tenant, nil
	}
	ts, err := s.b.ListTenants(r.Context())
	if err != nil {
		return "", err
	}
	switch len(ts) {
	case 0:
		return "", badRequest("there is no tenant yet: create one with `tenant create NAME`")
	case 1:
		return ts[0].Name, nil
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return "", badRequest("several tenants: use --tenant (one of %s)", strings.Join(names, ", "))
}
