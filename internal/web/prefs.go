package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // validate zone names on hosts without a zoneinfo database too

	"github.com/roost-mail/roost/internal/store"
)

// The user's display preferences are properties of their own mail store
// (store.StoreProps), so they follow the user from browser to browser.
// The keys are outside /private/ and /shared/, so IMAP METADATA never
// shows them.
const (
	prefZone  = "web:time-zone"
	prefDate  = "web:date-format"
	prefTime  = "web:time-format"
	prefWeek  = "web:week-start"
	prefsKeys = "web:"

	maxPrefsBody = 1 << 10
	maxZoneName  = 64
)

// Prefs are the display preferences of GET and PUT /web/api/prefs. An
// empty field is the browser's own (its zone, its language's format).
type Prefs struct {
	// TimeZone is an IANA zone name ("Europe/Berlin").
	TimeZone string `json:"timeZone"`
	// DateFormat orders a short date: "dmy" (31.12.2026), "mdy"
	// (12/31/2026) or "ymd" (2026-12-31).
	DateFormat string `json:"dateFormat"`
	// TimeFormat is "24" (13:00) or "12" (1:00 PM).
	TimeFormat string `json:"timeFormat"`
	// WeekStart is the first day of the week: "mon", "sun" or "sat".
	WeekStart string `json:"weekStart"`
}

var (
	dateFormats = []string{"", "dmy", "mdy", "ymd"}
	timeFormats = []string{"", "24", "12"}
	weekStarts  = []string{"", "mon", "sun", "sat"}
)

// validZone reports whether name is an IANA zone name the server knows:
// bounded, of the characters zone names use, and found in the zoneinfo
// database ("Local" and "" are not zones a user picks).
func validZone(name string) bool {
	if name == "" || name == "Local" || len(name) > maxZoneName || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+-", c)) {
			return false
		}
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// validate checks every field; the error names the first bad one.
func (p Prefs) validate() error {
	switch {
	case p.TimeZone != "" && !validZone(p.TimeZone):
		return fmt.Errorf("timeZone must be an IANA time zone name such as Europe/Berlin")
	case !slices.Contains(dateFormats, p.DateFormat):
		return fmt.Errorf("dateFormat must be dmy, mdy, ymd or empty")
	case !slices.Contains(timeFormats, p.TimeFormat):
		return fmt.Errorf("timeFormat must be 24, 12 or empty")
	case !slices.Contains(weekStarts, p.WeekStart):
		return fmt.Errorf("weekStart must be mon, sun, sat or empty")
	}
	return nil
}

// prefs answers GET /web/api/prefs (the user's preferences, fields
// never set empty) and PUT /web/api/prefs with a whole Prefs as JSON
// (at most maxPrefsBody bytes, no other fields; an empty field removes
// the preference), answering the stored preferences. Only the session
// cookie of the app's own origin is taken (CSRF); the store lets only
// the owner (and its administrators) read and change the properties.
func (s *Server) prefs(w http.ResponseWriter, r *http.Request) {
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	ctx := store.WithPrincipal(r.Context(), p)
	r = r.WithContext(ctx)
	st, err := s.o.Store.UserStore(ctx, p.Login)
	if err != nil {
		s.storeRefusal(w, r, "prefs: user store", fmt.Errorf("user store: %w", err))
		return
	}
	if r.Method == http.MethodPut {
		var in Prefs
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPrefsBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			refuse(w, http.StatusBadRequest, "badRequest", "the body must be a JSON object of timeZone, dateFormat, timeFormat and weekStart")
			return
		}
		if err := in.validate(); err != nil {
			refuse(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		set := map[string]*string{}
		for k, v := range map[string]string{prefZone: in.TimeZone, prefDate: in.DateFormat, prefTime: in.TimeFormat, prefWeek: in.WeekStart} {
			if v == "" {
				set[k] = nil
			} else {
				set[k] = &v
			}
		}
		if err := s.o.Store.SetStoreProps(ctx, st.ID, set); err != nil {
			s.storeRefusal(w, r, "prefs: set", err)
			return
		}
		s.log.Info("web prefs", "user", p.Login, "zone", in.TimeZone, "date", in.DateFormat, "time", in.TimeFormat, "week", in.WeekStart)
	}
	props, err := s.o.Store.StorePropsPrefix(ctx, st.ID, prefsKeys)
	if err != nil {
		s.storeRefusal(w, r, "prefs: get", err)
		return
	}
	out := Prefs{TimeZone: props[prefZone], DateFormat: props[prefDate], TimeFormat: props[prefTime], WeekStart: props[prefWeek]}
	if out.TimeZone != "" && !validZone(out.TimeZone) { // a zone the database no longer has: the browser's
		out.TimeZone = ""
	}
	writeJSON(w, http.StatusOK, out)
}
