package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// The web admin and the settings pages reach the admin API (the Admin
// handler, internal/adminapi) through the session cookie:
//
//   - /web/admin/v1/… is the admin API itself, for a principal with an
//     admin level (tenant or system administrator; others get 403). The
//     API runs with the session's principal, so the store limits a tenant
//     administrator to their own tenant exactly as on the admin listener.
//   - /web/self/{oof|app-passwords[/NAME]|tokens[/NAME]|sessions|profile|
//     devices[/ID[/wipe]]} is the signed-in user's own part of it
//     (/v1/users/{login}/…), for every user: the settings page. Devices
//     are the user's ActiveSync devices: listed (GET devices), wiped
//     (POST devices/ID/wipe, as `roost admin device wipe`) and removed
//     (DELETE devices/ID). Other paths are 404.
//   - POST /web/api/password changes the user's password after checking
//     the current one with the shared authenticator (throttled like every
//     login; an app password is not accepted as the current password).
//
// All of them take only the cookie (no Basic, no app password, no
// bearer token: a request with an Authorization header is refused) and
// the CSRF rules of the rest of the app: a state-changing request must be
// same-origin, a read must not be cross-site.

// maxAdminBody bounds a request body passed to the admin API through the
// web (the API bounds JSON bodies itself; imports are not offered here).
const maxAdminBody = 1 << 20

// cookieOnly checks the CSRF rules and the session and returns the
// principal, or answers and returns nil.
func (s *Server) cookieOnly(w http.ResponseWriter, r *http.Request) *store.Principal {
	if r.Header.Get("Authorization") != "" {
		refuse(w, http.StatusUnauthorized, "noSession", "the web admin takes only the session cookie")
		return nil
	}
	allowed := sameOrigin(r)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		allowed = safeRead(r)
	}
	if !allowed {
		refuse(w, http.StatusForbidden, "crossOrigin", "cross-origin request refused")
		return nil
	}
	p, ok, err := s.principal(r)
	if err != nil {
		s.log.Error("web session (admin)", "remote", r.RemoteAddr, "err", err)
		w.Header().Set("Retry-After", "10")
		refuse(w, http.StatusServiceUnavailable, "unavailable", "temporarily unavailable")
		return nil
	}
	if !ok {
		refuse(w, http.StatusUnauthorized, "noSession", "not signed in")
		return nil
	}
	return p
}

// callAdmin runs the admin API with p for the API path apiPath.
func (s *Server) callAdmin(w http.ResponseWriter, r *http.Request, p *store.Principal, apiPath string) {
	if s.o.Admin == nil {
		refuse(w, http.StatusNotImplemented, "noAdmin", "the admin API is not served by this server (role admin)")
		return
	}
	r2 := r.Clone(store.WithPrincipal(r.Context(), p))
	r2.URL = &url.URL{Path: apiPath, RawQuery: r.URL.RawQuery}
	r2.RequestURI = apiPath
	r2.Header.Del("Cookie") // the API needs the principal, not the token
	if r2.Body != nil {
		r2.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.o.Admin.ServeHTTP(w, r2)
}

// adminAPI serves /web/admin/v1/… for administrators.
func (s *Server) adminAPI(w http.ResponseWriter, r *http.Request) {
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	if p.Admin < store.AdminTenant {
		refuse(w, http.StatusForbidden, "notAdmin", "only administrators may use the web admin")
		return
	}
	s.callAdmin(w, r, p, strings.TrimPrefix(r.URL.Path, "/web/admin"))
}

// selfAPI serves /web/self/…: the user's own out-of-office, app
// passwords, tokens and sessions.
func (s *Server) selfAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/web/self/")
	first, name, _ := strings.Cut(rest, "/")
	ok := false
	switch first {
	case "profile": // the Apple configuration profile, to download
		ok = name == "" && r.Method == http.MethodGet
	case "oof":
		ok = name == "" && (r.Method == http.MethodGet || r.Method == http.MethodPatch)
	case "sessions":
		ok = name == "" && (r.Method == http.MethodGet || r.Method == http.MethodDelete)
	case "app-passwords", "tokens":
		ok = (name == "" && r.Method == http.MethodGet) ||
			(name != "" && !strings.Contains(name, "/") && (r.Method == http.MethodPut || r.Method == http.MethodDelete))
	case "devices":
		dev, wipe, sub := strings.Cut(name, "/")
		ok = (name == "" && r.Method == http.MethodGet) ||
			(dev != "" && !sub && r.Method == http.MethodDelete) ||
			(dev != "" && sub && wipe == "wipe" && r.Method == http.MethodPost)
	}
	if !ok {
		refuse(w, http.StatusNotFound, "notFound", "no such settings endpoint")
		return
	}
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	s.callAdmin(w, r, p, "/v1/users/"+url.PathEscape(p.Login)+"/"+rest)
}

// changePassword: POST /web/api/password, JSON {"current": …, "new": …}.
// 204 on success; 401 wrongPassword when the current password is wrong
// (or is an app password); 400 for a new password the API refuses; 503
// when the check could not be made (throttled, directory down).
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	var in struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxForm)).Decode(&in); err != nil {
		refuse(w, http.StatusBadRequest, "badRequest", "bad request")
		return
	}
	if in.Current == "" || len(in.Current) > maxPassword || len(in.New) > maxPassword {
		refuse(w, http.StatusUnauthorized, "wrongPassword", "the current password is wrong")
		return
	}
	if s.o.CheckPassword == nil {
		refuse(w, http.StatusNotImplemented, "noAdmin", "password change is not available")
		return
	}
	switch err := s.o.CheckPassword(r.Context(), p.Login, in.Current, directory.RemoteAddr(r)); {
	case err == nil:
	case errors.Is(err, directory.ErrBadCredentials), errors.Is(err, directory.ErrInactive), errors.Is(err, directory.ErrFeature):
		refuse(w, http.StatusUnauthorized, "wrongPassword", "the current password is wrong")
		return
	default:
		if !errors.Is(err, directory.ErrThrottled) {
			s.log.Error("web password change: check", "user", p.Login, "err", err)
		}
		w.Header().Set("Retry-After", "60")
		refuse(w, http.StatusServiceUnavailable, "unavailable", "temporarily unavailable; try again later")
		return
	}
	body, _ := json.Marshal(map[string]string{"password": in.New})
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodPatch
	r2.Body = nopCloser{bytes.NewReader(body)}
	r2.ContentLength = int64(len(body))
	r2.Header.Set("Content-Type", "application/json")
	rec := &recorder{h: http.Header{}, code: http.StatusOK}
	s.callAdmin(rec, r2, p, "/v1/users/"+url.PathEscape(p.Login))
	if rec.code/100 != 2 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.code)
		w.Write(rec.body.Bytes())
		return
	}
	s.log.Info("web password changed", "user", p.Login, "remote", r.RemoteAddr)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// recorder keeps the admin API's answer to an internal call.
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
