package adminapi

import (
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Contacts are a tenant's address book entries without an account (SPEC
// §3): GET and POST /v1/contacts, PATCH and DELETE /v1/contacts/{email}.
// ?tenant= names the tenant; without it a list covers every tenant the
// principal sees, and a change acts on the tenant that has the address
// (the principal's own first), as groups do. The store decides who may:
// administrators of the tenant change, whoever sees it lists.

// contactTenant names the tenant of the contact email when the request
// names none: the tenant among those the principal sees that has a
// contact with that address, preferring the principal's own.
func (s *Server) contactTenant(r *http.Request, email string) (string, error) {
	if t := r.URL.Query().Get("tenant"); t != "" {
		return t, nil
	}
	cs, err := s.b.ListContacts(r.Context(), "")
	if err != nil {
		return "", err
	}
	var found []string
	for _, c := range cs {
		if strings.EqualFold(c.Email, strings.TrimSpace(email)) {
			found = append(found, c.Tenant)
		}
	}
	return chooseTenant(r, "contact", email, found)
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.b.ListContacts(r.Context(), r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	out := make([]Contact, 0, len(cs))
	for _, c := range cs {
		out = append(out, contactOf(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	var in ContactCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Email) == "" {
		return badRequest("contact address missing")
	}
	tenant, err := s.defaultTenant(r, in.Tenant)
	if err != nil {
		return err
	}
	c, err := s.b.CreateContact(r.Context(), tenant, store.Contact{Email: in.Email, Name: in.Name, Hidden: in.Hidden})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, contactOf(c))
	return nil
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) error {
	email := r.PathValue("email")
	var in ContactUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Email != nil && strings.TrimSpace(*in.Email) == "" {
		return badRequest("contact address missing")
	}
	tenant, err := s.contactTenant(r, email)
	if err != nil {
		return err
	}
	c, err := s.b.UpdateContact(r.Context(), tenant, email, store.ContactUpdate{Email: in.Email, Name: in.Name, Hidden: in.Hidden})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contactOf(c))
	return nil
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	email := r.PathValue("email")
	tenant, err := s.contactTenant(r, email)
	if err != nil {
		return err
	}
	if err := s.b.DeleteContact(r.Context(), tenant, email); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func contactOf(c *store.Contact) Contact {
	return Contact{Email: c.Email, Name: c.Name, Tenant: c.Tenant, Hidden: c.Hidden, ExternalID: c.ExternalID,
		Directory: c.ExternalID != "", Created: c.Created.UTC()}
}
