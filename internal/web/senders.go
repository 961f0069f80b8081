package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// The senders whose mail shows its remote content (images, style sheets)
// without asking: "Always show from this sender" in the reading pane,
// revocable in Settings. One store property of the user's own store,
// the addresses lowercased, one a line, sorted; outside /private/ and
// /shared/ like the display preferences, so IMAP METADATA never shows
// it. The sanitiser's blocking stays the default for everyone else.
const (
	prefRemoteSenders = "web:remote-senders"

	// maxRemoteSenders bounds the list, maxSenderBody a request.
	maxRemoteSenders = 1000
	maxSenderBody    = 1 << 10
	maxAddress       = 254 // RFC 5321 §4.5.3.1.3, a path's address
)

// senderChange is POST /web/api/prefs/remote-senders's body: one of add
// and remove.
type senderChange struct {
	Add    string `json:"add"`
	Remove string `json:"remove"`
}

// canonSender returns the address lowercased when s is one bare address
// (local@domain, no name, no comment, no spaces, at most maxAddress
// bytes), else "".
func canonSender(s string) string {
	if s == "" || len(s) > maxAddress || strings.ContainsAny(s, " \t\r\n<>\",;()\\") {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return ""
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return ""
	}
	l := strings.ToLower(s)
	if l != s && canonSender(l) != l { // lowercasing made it longer or odd
		return ""
	}
	return l
}

// parseSenders reads the stored property: the valid addresses, once
// each, sorted, at most maxRemoteSenders (a damaged value loses only
// its bad lines).
func parseSenders(v string) []string {
	out := []string{}
	for line := range strings.SplitSeq(v, "\n") {
		if a := canonSender(line); a != "" {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxRemoteSenders {
		out = out[:maxRemoteSenders]
	}
	return out
}

// remoteSenders answers GET /web/api/prefs/remote-senders ({"senders":
// [...]}) and POST with {"add": ADDRESS} or {"remove": ADDRESS},
// answering the list after the change. An address already there is
// added once; removing one not there changes nothing; the 1,001st is
// refused (409 full). Only the session cookie of the app's own origin
// is taken (CSRF); the store lets only the owner change the property.
// Two changes at the same instant from two sessions of one user may
// lose one of them (the list is read and written whole).
func (s *Server) remoteSenders(w http.ResponseWriter, r *http.Request) {
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	ctx := store.WithPrincipal(r.Context(), p)
	r = r.WithContext(ctx)
	st, err := s.o.Store.UserStore(ctx, p.Login)
	if err != nil {
		s.storeRefusal(w, r, "remote senders: user store", fmt.Errorf("user store: %w", err))
		return
	}
	props, err := s.o.Store.StorePropsPrefix(ctx, st.ID, prefRemoteSenders)
	if err != nil {
		s.storeRefusal(w, r, "remote senders: get", err)
		return
	}
	list := parseSenders(props[prefRemoteSenders])
	if r.Method == http.MethodPost {
		var in senderChange
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSenderBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || (in.Add == "") == (in.Remove == "") {
			refuse(w, http.StatusBadRequest, "badRequest", `the body must be {"add": ADDRESS} or {"remove": ADDRESS}`)
			return
		}
		addr := canonSender(in.Add + in.Remove)
		if addr == "" {
			refuse(w, http.StatusBadRequest, "invalid", "not an email address (local@domain, at most 254 bytes)")
			return
		}
		i, found := slices.BinarySearch(list, addr)
		switch {
		case in.Add != "" && !found:
			if len(list) >= maxRemoteSenders {
				refuse(w, http.StatusConflict, "full", fmt.Sprintf("at most %d senders; remove one first", maxRemoteSenders))
				return
			}
			list = slices.Insert(list, i, addr)
		case in.Remove != "" && found:
			list = slices.Delete(list, i, i+1)
		default:
			writeJSON(w, http.StatusOK, map[string][]string{"senders": list})
			return
		}
		v := strings.Join(list, "\n")
		set := map[string]*string{prefRemoteSenders: &v}
		if len(list) == 0 {
			set[prefRemoteSenders] = nil
		}
		if err := s.o.Store.SetStoreProps(ctx, st.ID, set); err != nil {
			s.storeRefusal(w, r, "remote senders: set", err)
			return
		}
		s.log.Info("web remote senders", "user", p.Login, "add", in.Add != "", "count", len(list))
	}
	writeJSON(w, http.StatusOK, map[string][]string{"senders": list})
}
