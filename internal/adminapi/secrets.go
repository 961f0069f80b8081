package adminapi

import (
	"net/http"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// Secret is a bearer token, app password or web session as listed: never
// the secret itself, which only the reply that creates it carries.
type Secret struct {
	Name     string     `json:"name"`
	Scopes   []string   `json:"scopes"` // empty: every protocol
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires,omitempty"`
	LastUsed *time.Time `json:"last_used,omitempty"`
	Remote   string     `json:"remote,omitempty"` // sessions: the address that signed in
}

// TokenCreate is the body of PUT /v1/users/{login}/tokens/{name}.
type TokenCreate struct {
	Scopes  []string   `json:"scopes"`  // of directory.Protocols; empty: all
	Expires *time.Time `json:"expires"` // nil: never
}

// TokenCreated is its reply: the token, shown this once.
type TokenCreated struct {
	Secret
	Token string `json:"token"`
}

// AppPasswordCreate is the body of PUT /v1/users/{login}/app-passwords/{name}.
type AppPasswordCreate struct {
	Protocols []string `json:"protocols"` // of directory.Protocols; empty: all
}

// AppPasswordCreated is its reply: the password, shown this once.
type AppPasswordCreated struct {
	Secret
	Password string `json:"password"`
}

func secretOf(s *store.Secret) Secret {
	out := Secret{Name: s.Name, Scopes: s.Scopes, Created: s.Created, Remote: s.Remote}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if !s.Expires.IsZero() {
		e := s.Expires
		out.Expires = &e
	}
	if !s.LastUsed.IsZero() {
		u := s.LastUsed
		out.LastUsed = &u
	}
	return out
}

func secretsOf(l []*store.Secret) []Secret {
	out := make([]Secret, 0, len(l))
	for _, s := range l {
		out = append(out, secretOf(s))
	}
	return out
}

// authn is the directory's secret API: the app's Authenticator (its
// credential cache forgets a user whose app password is revoked), or one
// over the store alone.
func (s *Server) authn() *directory.Authenticator {
	if s.o.Authenticator != nil {
		return s.o.Authenticator
	}
	return &directory.Authenticator{Store: s.b}
}

// The name of a token or app password is in the path, so the audit log's
// line for its creation or revocation names it; the secret is only ever
// in the creation's reply.

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in TokenCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var exp time.Time
	if in.Expires != nil {
		exp = *in.Expires
	}
	tok, sec, err := s.authn().CreateToken(r.Context(), r.PathValue("login"), r.PathValue("name"), in.Scopes, exp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, TokenCreated{Secret: secretOf(sec), Token: tok})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	l, err := s.authn().ListTokens(r.Context(), r.PathValue("login"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretsOf(l))
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.authn().RevokeToken(r.Context(), r.PathValue("login"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createAppPassword(w http.ResponseWriter, r *http.Request) error {
	var in AppPasswordCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	pw, sec, err := s.authn().CreateAppPassword(r.Context(), r.PathValue("login"), r.PathValue("name"), in.Protocols)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, AppPasswordCreated{Secret: secretOf(sec), Password: pw})
	return nil
}

func (s *Server) listAppPasswords(w http.ResponseWriter, r *http.Request) error {
	l, err := s.authn().ListAppPasswords(r.Context(), r.PathValue("login"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretsOf(l))
	return nil
}

func (s *Server) revokeAppPassword(w http.ResponseWriter, r *http.Request) error {
	if err := s.authn().RevokeAppPassword(r.Context(), r.PathValue("login"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	l, err := s.authn().ListSessions(r.Context(), r.PathValue("login"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretsOf(l))
	return nil
}

// revokeSessions signs the user out of the web client everywhere.
func (s *Server) revokeSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := s.authn().RevokeSessions(r.Context(), r.PathValue("login"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

// TOTPEnabled is the reply of PUT /v1/users/{login}/totp: the new key,
// shown this once, typed (base32) and as an otpauth:// URI.
type TOTPEnabled struct {
	Key string `json:"key"`
	URI string `json:"uri"`
}

func (s *Server) enableTOTP(w http.ResponseWriter, r *http.Request) error {
	key, uri, err := s.authn().EnableTOTP(r.Context(), r.PathValue("login"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, TOTPEnabled{Key: key, URI: uri})
	return nil
}

// TOTPDisabled is the reply of DELETE /v1/users/{login}/totp: whether
// the user had a key, which is now gone.
type TOTPDisabled struct {
	Removed bool `json:"removed"`
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	login := r.PathValue("login")
	had, err := s.authn().HasTOTP(r.Context(), login)
	if err != nil {
		return err
	}
	if err := s.authn().DisableTOTP(r.Context(), login); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, TOTPDisabled{Removed: had})
	return nil
}
