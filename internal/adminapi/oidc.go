package adminapi

import (
	"net/http"

	"github.com/roost-mail/roost/internal/oidc"
	"github.com/roost-mail/roost/internal/store"
)

// OIDCClientRequest is the body of POST /v1/oidc/clients: a relying party
// of Roost's OpenID provider.
type OIDCClientRequest struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
}

// OIDCClient is a registered client; Secret only in the answer to its
// registration (it is stored as a keyed hash).
type OIDCClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
}

func (s *Server) createOIDCClient(w http.ResponseWriter, r *http.Request) error {
	var in OIDCClientRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, secret, err := oidc.RegisterClient(r.Context(), s.b, in.Name, in.RedirectURIs, in.Public)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, OIDCClient{ClientID: c.ID, ClientSecret: secret, RedirectURIs: c.RedirectURIs, Public: c.Public})
	return nil
}

func (s *Server) listOIDCClients(w http.ResponseWriter, r *http.Request) error {
	cs, err := oidc.ListClients(r.Context(), s.b)
	if err != nil {
		return err
	}
	out := make([]OIDCClient, 0, len(cs))
	for _, c := range cs {
		out = append(out, OIDCClient{ClientID: c.ID, RedirectURIs: c.RedirectURIs, Public: c.Public})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) removeOIDCClient(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.DeleteSSO(r.Context(), store.SSOClient, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
