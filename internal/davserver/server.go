package davserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// Outbound sends iTIP messages to attendees and organizers outside the
// installation (iMIP, RFC 6047); the app wires it to the mail queue.
type Outbound interface {
	SendITIP(ctx context.Context, from string, to []string, method string, ics []byte) error
}

// Options configure a Server.
type Options struct {
	Store  store.Backend
	Logger *slog.Logger
	// Authenticate checks a login and password (HTTP Basic) and returns
	// the principal to act as. Its errors are directory's login sentinels
	// (possibly wrapped): ErrBadCredentials 401, ErrFeature and ErrInactive
	// 403; a throttle or any other error 503, the unexpected logged.
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// VerifyBearer, when set, checks "Authorization: Bearer" tokens
	// (directory.Authenticator.VerifyBearer for "dav"); errors as for
	// Authenticate, directory.ErrScope 403. Nil: Basic only.
	VerifyBearer func(ctx context.Context, token string, remote net.Addr) (*store.Principal, error)
	// Negotiate, when set, checks "Authorization: Negotiate" Kerberos
	// tokens (directory.Authenticator.Negotiate) and offers Negotiate in
	// the challenge.
	Negotiate func(ctx context.Context, token []byte, remote net.Addr) (*store.Principal, error)
	// Prefix is where the handler is mounted; default "/dav".
	Prefix string
	// Realm of the Basic challenge; default "Roost".
	Realm string
	// MaxBodyBytes bounds a resource body (PUT); default 10 MiB.
	MaxBodyBytes int64
	// MaxXMLBytes bounds an XML request body; default 1 MiB.
	MaxXMLBytes int64
	// MaxResults bounds the responses of one REPORT or Depth 1 PROPFIND;
	// default 50000. Above it the multistatus ends with a 507 for the
	// request URI (RFC 4918 §14.32 style truncation, RFC 6578 §3.6).
	MaxResults int
	// MaxInstances bounds the occurrences of one recurring component that
	// calendar-query, expand and free/busy compute; default 2000. A
	// truncated answer says so: a 507 entry with
	// DAV:number-of-matches-within-limits in a REPORT, REQUEST-STATUS 2.11
	// in free/busy.
	MaxInstances int
	// AuthCacheTTL keeps a successful login for this long so that a client
	// sending Basic credentials on every request costs one password hash
	// check per TTL; default 1 minute, negative to turn off.
	AuthCacheTTL time.Duration
	// Outbound delivers iTIP to external addresses; nil skips them.
	Outbound Outbound
	// ScheduleInboxTTL is how long a copy of an iTIP message stays in the
	// schedule inbox (groupware.Scheduler.InboxTTL): 0 means the default
	// (groupware.DefaultInboxTTL), negative keeps none.
	ScheduleInboxTTL time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// OnSharedOpen, when set, is told of every request that names a
	// folder (or an object in it) of another user's or a public store,
	// with the request method (the audit log).
	OnSharedOpen func(ctx context.Context, f *store.Folder, how string)
}

// Server is the CalDAV/CardDAV http.Handler.
type Server struct {
	o     Options
	log   *slog.Logger
	zones *ical.ZoneCache
	sched *groupware.Scheduler

	basic *directory.BasicAuth
}

// New returns the handler.
func New(o Options) *Server {
	if o.Prefix == "" {
		o.Prefix = "/dav"
	}
	o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	if o.Realm == "" {
		o.Realm = "Roost"
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.MaxXMLBytes <= 0 {
		o.MaxXMLBytes = 1 << 20
	}
	if o.MaxResults <= 0 {
		o.MaxResults = 50000
	}
	if o.MaxInstances <= 0 {
		o.MaxInstances = 2000
	}
	if o.AuthCacheTTL == 0 {
		o.AuthCacheTTL = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, log: lg.With("proto", "dav"), zones: &ical.ZoneCache{}}
	s.basic = &directory.BasicAuth{Authenticate: o.Authenticate, Bearer: o.VerifyBearer, Negotiate: o.Negotiate, Realm: o.Realm, Name: "DAV",
		Denied: "this account may not use calendars and contacts", CacheTTL: o.AuthCacheTTL, Now: o.Now, Log: s.log}
	var out groupware.Outbound
	if o.Outbound != nil {
		out = o.Outbound
	}
	s.sched = &groupware.Scheduler{Store: o.Store, Logger: s.log, Outbound: out, Zones: s.zones, InboxTTL: o.ScheduleInboxTTL, Now: o.Now}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in DAV handler", "panic", v, "method", r.Method, "path", r.URL.Path)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	path := r.URL.EscapedPath()
	switch {
	case isDiscoveryPath(path) && r.Method != "PROPFIND" && r.Method != http.MethodOptions:
		// RFC 6764 §5: point the client at the context path; it finds its
		// principal with current-user-principal there.
		s.redirectToPrefix(w, r)
		return
	case isDiscoveryPath(path):
		// OPTIONS and PROPFIND are answered here, as the context path would answer
		// it (see propfind): a client that does not follow
		// redirects (cadaver) or drops the body when it does
		// (python-requests after a 301) still finds its principal.
	case path == s.o.Prefix || strings.HasPrefix(path, s.o.Prefix+"/"):
	default:
		http.NotFound(w, r)
		return
	}
	p, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	ctx := context.WithValue(store.WithPrincipal(r.Context(), p), methodKey{}, r.Method)
	r = r.WithContext(ctx)
	w.Header().Set("DAV", davHeader)
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		s.dispatch(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	start := time.Now()
	s.dispatch(sw, r)
	s.log.Debug("dav request", "user", p.Login, "tenant", p.Tenant, "method", r.Method, "path", r.URL.Path,
		"depth", r.Header.Get("Depth"), "status", sw.code, "duration", time.Since(start))
}

// isDiscoveryPath reports whether path is where clients start discovery:
// the well-known URLs (RFC 6764 §5), with or without the trailing slash
// that some clients add, and the bare host (when the app mounts the
// handler there for PROPFIND).
func isDiscoveryPath(path string) bool {
	switch path {
	case "/", "/.well-known/caldav", "/.well-known/carddav", "/.well-known/caldav/", "/.well-known/carddav/":
		return true
	}
	return false
}

// redirectToPrefix sends a discovery request to the context path. A
// PROPFIND (or any method but GET and HEAD) gets 308, which keeps the
// method and the body (RFC 9110 §15.4.9): HTTP libraries that follow a
// 301 drop the body (python-requests does), and a PROPFIND without a body
// asks for allprop, which does not hold current-user-principal.
func (s *Server) redirectToPrefix(w http.ResponseWriter, r *http.Request) {
	code := http.StatusPermanentRedirect
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		code = http.StatusMovedPermanently
	}
	http.Redirect(w, r, s.o.Prefix+"/", code)
}

// statusWriter remembers the status of a response, for the request log.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

const davHeader = "1, 3, access-control, calendar-access, addressbook, extended-mkcol, calendar-auto-schedule, calendar-no-timezone"

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	var err error
	switch r.Method {
	case http.MethodOptions:
		err = s.options(w, r)
	case "PROPFIND":
		err = s.propfind(w, r)
	case "PROPPATCH":
		err = s.proppatch(w, r)
	case "MKCOL", "MKCALENDAR":
		err = s.mkcol(w, r)
	case http.MethodGet, http.MethodHead:
		err = s.get(w, r)
	case http.MethodPut:
		err = s.put(w, r)
	case http.MethodDelete:
		err = s.delete(w, r)
	case "COPY", "MOVE":
		err = s.copyMove(w, r)
	case "REPORT":
		err = s.report(w, r)
	case http.MethodPost:
		err = s.post(w, r)
	default:
		err = &httpError{code: http.StatusMethodNotAllowed}
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

// authenticate checks HTTP Basic credentials (RFC 7617) through the
// directory's one HTTP mapping (directory.BasicAuth).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*store.Principal, bool) {
	return s.basic.Check(w, r)
}

// httpError is a reply chosen by a handler: a status, and for RFC 4918
// §16 / RFC 4791 preconditions the condition element.
type httpError struct {
	code int
	cond string // encoded precondition element, e.g. <C:valid-calendar-data/>
	msg  string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%d %s %s", e.code, e.cond, e.msg)
}

func errStatus(code int, msg string) error { return &httpError{code: code, msg: msg} }

func precondition(code int, cond, msg string) error {
	return &httpError{code: code, cond: cond, msg: msg}
}

// writeError maps an error to its reply: the one place where store
// sentinels become HTTP statuses.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
	case errors.Is(err, errTooLarge):
		he = &httpError{code: http.StatusRequestEntityTooLarge, msg: "request body too large"}
	case errors.Is(err, errBadXML):
		he = &httpError{code: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, store.ErrNotFound):
		he = &httpError{code: http.StatusNotFound, msg: "not found"}
	case errors.Is(err, store.ErrPermission):
		he = &httpError{code: http.StatusForbidden, cond: "<D:need-privileges/>", msg: "permission denied"}
	case errors.Is(err, store.ErrOverQuota):
		he = &httpError{code: http.StatusInsufficientStorage, cond: "<D:quota-not-exceeded/>", msg: "over quota"}
	case errors.Is(err, store.ErrConflict):
		he = &httpError{code: http.StatusConflict, msg: "conflict"}
	case errors.Is(err, store.ErrInvalid):
		he = &httpError{code: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		he = &httpError{code: http.StatusServiceUnavailable, msg: "request canceled"}
	default:
		p := store.PrincipalFrom(r.Context())
		user := ""
		if p != nil {
			user = p.Login
		}
		s.log.Error("DAV request failed", "method", r.Method, "path", r.URL.Path, "user", user, "err", err)
		he = &httpError{code: http.StatusInternalServerError, msg: "internal error"}
	}
	if he.code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allowHeader)
	}
	if he.cond != "" {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(he.code)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav">%s</D:error>`, he.cond)
		return
	}
	msg := he.msg
	if msg == "" {
		msg = http.StatusText(he.code)
	}
	http.Error(w, msg, he.code)
}

const allowHeader = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, COPY, MOVE, REPORT, POST"

func (s *Server) options(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Allow", allowHeader)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

func statusLine(code int) string {
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code)
}
