package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// Bounds of the directory lookups: the query's length, the answers per
// autocomplete request, a browse page's size and its offset.
const (
	maxDirectoryQuery   = 100
	maxDirectoryAnswers = 20
	maxDirectoryPage    = 100
	maxDirectoryOffset  = 1 << 20
)

// directoryEntry is one entry of the tenant's global address list.
type directoryEntry struct {
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Aliases []string `json:"aliases,omitempty"`
	// Kind is "user", "shared" (a shared mailbox), "room", "equipment"
	// or "contact" (a tenant contact: an address with no account here).
	Kind string `json:"kind,omitempty"`
}

// directoryPage is the browse mode's answer.
type directoryPage struct {
	Total   int              `json:"total"`
	Offset  int              `json:"offset"`
	Entries []directoryEntry `json:"entries"`
}

func directoryKind(u *store.User) string {
	switch {
	case u.Active:
		return "user"
	case u.CalendarUserType() == "RESOURCE":
		return "equipment"
	case u.CalendarUserType() == "ROOM":
		return "room"
	}
	return "shared"
}

// directory answers GET /web/api/directory, the signed-in user's tenant's
// global address list (the same list ActiveSync's GAL search gives,
// directory.TenantAddressBook): users, shared mailboxes, rooms and
// equipment, the tenant's contacts that are not hidden (kind
// "contact"), and its groups with an address that are not hidden (kind
// "group": mail to one reaches its members). Other
// tenants' entries are never listed: the store lists a tenant only to
// those who see it, and each entry's tenant is checked again. JMAP's
// Principal/query lists principals (users and groups), not contacts,
// and does not match aliases, hence this endpoint for addressing mail.
// Two modes:
//
//   - ?q=… (the composer's autocomplete): entries whose name, login,
//     address or alias (a contact's or group's name or address) contains q, as
//     [{"name","email"}], at most maxDirectoryAnswers, sorted by name;
//     q is required.
//   - ?browse=1&q=…&offset=N&limit=M (the contacts view's Directory):
//     one page of the matching entries (q may be empty: all of them),
//     sorted by name, as {"total","offset","entries":[{"name","email",
//     "aliases","kind"}]}; limit is 1 to maxDirectoryPage (default 50).
func (s *Server) directory(w http.ResponseWriter, r *http.Request) {
	s.authed(w, r, func(w http.ResponseWriter, r *http.Request) {
		qv := r.URL.Query()
		browse := qv.Get("browse") == "1"
		q := strings.ToLower(strings.TrimSpace(qv.Get("q")))
		if (q == "" && !browse) || len(q) > maxDirectoryQuery || !utf8.ValidString(q) {
			http.Error(w, "q must be 1 to 100 bytes of UTF-8", http.StatusBadRequest)
			return
		}
		offset, limit := 0, 50
		if browse {
			var ok bool
			if offset, ok = intParam(qv.Get("offset"), 0, 0, maxDirectoryOffset); !ok {
				http.Error(w, "offset must be 0 to 1048576", http.StatusBadRequest)
				return
			}
			if limit, ok = intParam(qv.Get("limit"), 50, 1, maxDirectoryPage); !ok {
				http.Error(w, "limit must be 1 to 100", http.StatusBadRequest)
				return
			}
		}
		p := store.PrincipalFrom(r.Context())
		// With the user's own principal: the store lists a tenant only
		// to those who see it (a user sees their own).
		book, err := directory.TenantAddressBook(r.Context(), s.o.Store, q)
		if err != nil {
			s.log.Error("web directory", "user", p.Login, "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		out := make([]directoryEntry, 0, len(book))
		for _, a := range book {
			if c := a.Contact; c != nil {
				e := directoryEntry{Name: c.Name, Email: c.Email}
				if browse {
					e.Kind = "contact"
				}
				out = append(out, e)
				continue
			}
			if g := a.Group; g != nil {
				e := directoryEntry{Name: g.Name, Email: g.Email}
				if browse {
					e.Kind = "group"
				}
				out = append(out, e)
				continue
			}
			u := a.User
			e := directoryEntry{Name: u.FullName, Email: u.Email}
			if browse {
				e.Aliases, e.Kind = u.Aliases, directoryKind(u)
			}
			out = append(out, e)
		}
		slices.SortFunc(out, func(a, b directoryEntry) int {
			return strings.Compare(strings.ToLower(a.Name+" "+a.Email), strings.ToLower(b.Name+" "+b.Email))
		})
		w.Header().Set("Cache-Control", "no-store")
		if browse {
			page := directoryPage{Total: len(out), Offset: offset, Entries: []directoryEntry{}}
			if offset < len(out) {
				page.Entries = out[offset:min(len(out), offset+limit)]
			}
			writeJSON(w, http.StatusOK, page)
			return
		}
		if len(out) > maxDirectoryAnswers {
			out = out[:maxDirectoryAnswers]
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// intParam parses a decimal query parameter within [lo, hi]; "" is def.
func intParam(s string, def, lo, hi int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}
