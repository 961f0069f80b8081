package adminapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// groupTenant names the tenant of group when the request names none
// (?tenant=): the tenant among those the principal sees that has a group of
// that name, preferring the principal's own.
func (s *Server) groupTenant(r *http.Request, group string) (string, error) {
	if t := r.URL.Query().Get("tenant"); t != "" {
		return t, nil
	}
	gs, err := s.b.ListGroups(r.Context(), "")
	if err != nil {
		return "", err
	}
	var found []string
	for _, g := range gs {
		if strings.EqualFold(g.Name, group) {
			found = append(found, g.Tenant)
		}
	}
	return chooseTenant(r, "group", group, found)
}

// chooseTenant picks, among the tenants found to have a what named name,
// the principal's own, else the only one; none is not found, several
// are ambiguous (400, "use --tenant").
func chooseTenant(r *http.Request, what, name string, found []string) (string, error) {
	p := store.PrincipalFrom(r.Context())
	for _, t := range found {
		if p != nil && strings.EqualFold(t, p.Tenant) {
			return t, nil
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s %q: %w", what, name, store.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return "", badRequest("%s %q exists in several tenants (%s): use --tenant", what, name, strings.Join(found, ", "))
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.b.ListGroups(r.Context(), r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	out := make([]Group, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupOf(g))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	var in GroupCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return badRequest("group name missing")
	}
	tenant, err := s.defaultTenant(r, in.Tenant)
	if err != nil {
		return err
	}
	g, err := s.b.CreateGroup(r.Context(), tenant, store.Group{Name: in.Name, Email: in.Email,
		Kind: store.GroupKind(in.Kind), Hidden: in.Hidden})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, groupOf(g))
	return nil
}

func (s *Server) showGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("group")
	tenant, err := s.groupTenant(r, name)
	if err != nil {
		return err
	}
	g, err := s.b.GetGroup(r.Context(), tenant, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupOf(g))
	return nil
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("group")
	tenant, err := s.groupTenant(r, name)
	if err != nil {
		return err
	}
	if err := s.b.DeleteGroup(r.Context(), tenant, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// memberTenant is the tenant of a membership change that names none: the
// user's, since members always belong to the group's tenant.
func (s *Server) memberTenant(r *http.Request) (string, error) {
	if t := r.URL.Query().Get("tenant"); t != "" {
		return t, nil
	}
	u, err := s.b.GetUser(r.Context(), r.PathValue("login"))
	if err != nil {
		return "", err
	}
	return u.Tenant, nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	return s.memberChange(w, r, s.b.AddGroupMember)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	return s.memberChange(w, r, s.b.RemoveGroupMember)
}

func (s *Server) memberChange(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, tenant, group, login string) error) error {
	tenant, err := s.memberTenant(r)
	if err != nil {
		return err
	}
	group, login := r.PathValue("group"), r.PathValue("login")
	if err := fn(r.Context(), tenant, group, login); err != nil {
		return err
	}
	g, err := s.b.GetGroup(r.Context(), tenant, group)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupOf(g))
	return nil
}

func (s *Server) addGroupContact(w http.ResponseWriter, r *http.Request) error {
	return s.groupContactChange(w, r, s.b.AddGroupContact)
}

func (s *Server) removeGroupContact(w http.ResponseWriter, r *http.Request) error {
	return s.groupContactChange(w, r, s.b.RemoveGroupContact)
}

// groupContactChange makes a contact of the group's tenant a member of
// the group, or no longer one; it answers the group.
func (s *Server) groupContactChange(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, tenant, group, email string) error) error {
	group, email := r.PathValue("group"), r.PathValue("email")
	tenant, err := s.groupTenant(r, group)
	if err != nil {
		return err
	}
	if err := fn(r.Context(), tenant, group, email); err != nil {
		return err
	}
	g, err := s.b.GetGroup(r.Context(), tenant, group)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupOf(g))
	return nil
}

// GroupUpdate is the body of PATCH /v1/groups/{group}: the fields given
// change ("email": "" removes the address).
type GroupUpdate struct {
	Name   *string `json:"name,omitempty"`
	Email  *string `json:"email,omitempty"`
	Kind   *string `json:"kind,omitempty"`
	Hidden *bool   `json:"hidden,omitempty"`
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	var in GroupUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("group")
	tenant, err := s.groupTenant(r, name)
	if err != nil {
		return err
	}
	u := store.GroupUpdate{Name: in.Name, Email: in.Email, Hidden: in.Hidden}
	if in.Kind != nil {
		k := store.GroupKind(*in.Kind)
		u.Kind = &k
	}
	g, err := s.b.UpdateGroup(r.Context(), tenant, name, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, groupOf(g))
	return nil
}
