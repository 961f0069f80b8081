package web

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/store"
)

// Bounds of the directory lookup the composer's address autocomplete
// makes: the query's length and the answers per request.
const (
	maxDirectoryQuery   = 100
	maxDirectoryAnswers = 20
)

// directory answers GET /web/api/directory?q=…: the users of the signed-in
// user's tenant (the global address list; the same list ActiveSync's GAL
// search gives) whose name, login or address contains q, as
// [{"name","email"}], at most maxDirectoryAnswers, sorted by name. Other
// tenants' users are never listed. JMAP has no method for a tenant's
// directory (Principal/query is not offered), hence this endpoint.
func (s *Server) directory(w http.ResponseWriter, r *http.Request) {
	s.authed(w, r, func(w http.ResponseWriter, r *http.Request) {
		q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
		if q == "" || len(q) > maxDirectoryQuery || !utf8.ValidString(q) {
			http.Error(w, "q must be 1 to 100 bytes of UTF-8", http.StatusBadRequest)
			return
		}
		p := store.PrincipalFrom(r.Context())
		// With the user's own principal: the store lists a tenant only
		// to those who see it (a user sees their own).
		users, err := s.o.Store.ListUsers(r.Context(), p.Tenant)
		if err != nil {
			s.log.Error("web directory", "user", p.Login, "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		type entry struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		}
		out := []entry{}
		for _, u := range users {
			if u.Tenant == p.Tenant && u.InAddressList(q) {
				out = append(out, entry{Name: u.FullName, Email: u.Email})
			}
		}
		slices.SortFunc(out, func(a, b entry) int {
			return strings.Compare(strings.ToLower(a.Name+" "+a.Email), strings.ToLower(b.Name+" "+b.Email))
		})
		if len(out) > maxDirectoryAnswers {
			out = out[:maxDirectoryAnswers]
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, out)
	})
}
