package jmapserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/search/extract"
	"github.com/roost-mail/roost/internal/store"
)

// Options configure a Server. Zero limits take the defaults in New.
type Options struct {
	Store store.Backend
	Blobs blob.Store  // uploads; nil refuses uploads
	Hub   *events.Hub // push; nil closes EventSource streams at once
	// Submitter sends mail (EmailSubmission); nil: no submission
	// capability.
	Submitter Submitter
	// SendDelay holds every EmailSubmission this long with undoStatus
	// "pending", so that the user can cancel it; 0 sends at once.
	SendDelay time.Duration
	// PushAllowedNetworks may receive push callbacks although they are
	// loopback, link-local, private or multicast (pushsub.go).
	PushAllowedNetworks []netip.Prefix
	// Scripts manages Sieve scripts (the same as ManageSieve's); nil:
	// no Sieve capability (RFC 9661).
	Scripts *mail.Scripts
	Logger  *slog.Logger
	// Scheduler runs iTIP for CalendarEvent/set (the one CalDAV uses);
	// nil: one on Store without external delivery.
	Scheduler *groupware.Scheduler
	// Authenticate checks HTTP Basic credentials. Its errors are
	// directory's login sentinels: ErrBadCredentials 401, ErrFeature and
	// ErrInactive 403, anything else 503 (logged unless a throttle).
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// Session authenticates a request by the web client's session cookie
	// before HTTP Basic is tried (internal/web's JMAPAuth, wired by the
	// app). It returns handled false when the request carries no
	// session; handled with a nil principal when it refused the request
	// and wrote the answer (a bad session, a cross-origin request).
	Session func(w http.ResponseWriter, r *http.Request) (p *store.Principal, handled bool)
	// VerifyBearer, when set, checks "Authorization: Bearer" tokens
	// (directory.Authenticator.VerifyBearer for "jmap"); errors as for
	// Authenticate, directory.ErrScope 403. Nil: Basic only.
	VerifyBearer func(ctx context.Context, token string, remote net.Addr) (*store.Principal, error)
	// Negotiate, when set, checks "Authorization: Negotiate" Kerberos
	// tokens (directory.Authenticator.Negotiate) and offers Negotiate in
	// the challenge.
	Negotiate func(ctx context.Context, token []byte, remote net.Addr) (*store.Principal, error)
	// BaseURL is the absolute URL clients reach the server at (no
	// trailing slash); empty: taken from each request's Host and TLS.
	BaseURL string
	// AuthCacheTTL keeps a successful login this long, skipping even the
	// user lookup, so a changed password or a disabled account takes
	// effect after at most this long; 0 (the default) or negative: no
	// cache of its own, the directory's credential cache sees such
	// changes at once.
	AuthCacheTTL time.Duration
	// SearchIndex answers Email/query's text conditions and
	// SearchSnippet/get from the full-text index (config search_index,
	// docs/search.md); messages newer than the index are read.
	SearchIndex bool
	// Extractor extracts the text of SearchSnippet/get's previews as the
	// indexer does; nil: the default limits.
	Extractor *extract.Extractor

	// Core capability limits (RFC 8620 §2).
	MaxSizeUpload         int64
	MaxConcurrentUpload   int
	MaxSizeRequest        int64
	MaxConcurrentRequests int
	MaxCallsInRequest     int
	MaxObjectsInGet       int
	MaxObjectsInSet       int
	// MaxEventSources bounds the open EventSource streams of one user;
	// each holds a goroutine and a hub subscription for as long as the
	// client keeps it; default 4.
	MaxEventSources int
	// Watch, when set, is told of every EventSource and WebSocket stream
	// with its user's store; the returned function is called when the
	// stream ends (imapserver.Options.Watch; EndUser).
	Watch func(p *store.Principal, storeID int64) (unwatch func())
	// MaxSizeAttachmentsPerEmail bounds the attachments of an email
	// created with Email/set (RFC 8621 §1.3.1); default 50 MiB.
	MaxSizeAttachmentsPerEmail int64
	// MaxBodyValueBytes caps bodyValues even when a client asks for more
	// (or for everything); default 1 MiB.
	MaxBodyValueBytes int
	// MinPing is the shortest EventSource ping interval granted; default
	// 30 seconds (RFC 8620 §7.3 lets the server raise a client's value).
	MinPing time.Duration
	// UploadTTL is how long an unreferenced upload stays usable; default
	// 24 hours (RFC 8620 §6.1 asks for at least one).
	UploadTTL time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Server is the JMAP http.Handler.
type Server struct {
	o   Options
	log *slog.Logger

	mu        sync.Mutex
	requests  map[string]int // in-flight API requests per login
	uploading map[string]int // in-flight uploads per login
	streams   map[string]int // open EventSource streams per login
	uploads   map[int64]map[blob.ID]upload
	basic     *directory.BasicAuth
	searcher  *search.Searcher // SearchSnippet/get's snippets from the indexed text
	// delayed submissions (submissions.go)
	subMu     sync.Mutex
	subTimers map[string]bool
	// push subscriptions' delivery (pushsub.go)
	push     pushState
	pushOnce sync.Once
	pushHTTP *http.Client
	// hijacked EventSource streams (esloop.go)
	es esLoop
	// long-lived streams by user, for EndUser (enduser.go)
	ends streamEnds
}

type upload struct {
	typ     string
	size    int64
	expires time.Time
}

// New returns the handler.
func New(o Options) *Server {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	if o.MaxSizeUpload <= 0 {
		o.MaxSizeUpload = 50 << 20
	}
	if o.MaxSizeAttachmentsPerEmail <= 0 {
		o.MaxSizeAttachmentsPerEmail = 50 << 20
	}
	if o.MaxSizeRequest <= 0 {
		o.MaxSizeRequest = 10 << 20
	}
	def(&o.MaxConcurrentUpload, 4)
	def(&o.MaxConcurrentRequests, 4)
	def(&o.MaxCallsInRequest, 16)
	def(&o.MaxObjectsInGet, 500)
	def(&o.MaxObjectsInSet, 500)
	def(&o.MaxEventSources, 4)
	def(&o.MaxBodyValueBytes, 1<<20)
	if o.MinPing <= 0 {
		o.MinPing = 30 * time.Second
	}
	if o.UploadTTL <= 0 {
		o.UploadTTL = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Scheduler == nil {
		o.Scheduler = &groupware.Scheduler{Store: o.Store, Logger: o.Logger, Zones: &ical.ZoneCache{}, Now: o.Now}
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, log: lg.With("proto", "jmap"), requests: map[string]int{}, uploading: map[string]int{}, streams: map[string]int{},
		uploads: map[int64]map[blob.ID]upload{}}
	if o.SearchIndex {
		s.searcher = search.NewSearcher(o.Store, o.Extractor)
	}
	s.basic = &directory.BasicAuth{Authenticate: o.Authenticate, Bearer: o.VerifyBearer, Negotiate: o.Negotiate, Name: "JMAP",
		Denied: "this account may not use JMAP", CacheTTL: o.AuthCacheTTL, Now: o.Now, Log: s.log}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in JMAP handler", "panic", v, "method", r.Method, "path", r.URL.Path)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	path := r.URL.Path
	if path == "/.well-known/jmap" {
		// RFC 8620 §2.2: the well-known URL may redirect to the session.
		http.Redirect(w, r, s.base(r)+"/jmap/session", http.StatusTemporaryRedirect)
		return
	}
	if !strings.HasPrefix(path, "/jmap/") {
		http.NotFound(w, r)
		return
	}
	p, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	r = r.WithContext(store.WithPrincipal(r.Context(), p))
	rest := strings.TrimPrefix(path, "/jmap/")
	switch {
	case rest == "session":
		s.onlyMethods(w, r, s.session, http.MethodGet, http.MethodHead)
	case rest == "api" || rest == "api/":
		s.onlyMethods(w, r, s.api, http.MethodPost)
	case strings.HasPrefix(rest, "upload/"):
		s.onlyMethods(w, r, s.upload, http.MethodPost)
	case strings.HasPrefix(rest, "download/"):
		s.onlyMethods(w, r, s.download, http.MethodGet, http.MethodHead)
	case rest == "eventsource" || rest == "eventsource/":
		s.onlyMethods(w, r, s.eventSource, http.MethodGet)
	case rest == "ws" || rest == "ws/": // websocket.go
		s.onlyMethods(w, r, s.webSocket, http.MethodGet)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) onlyMethods(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, methods ...string) {
	for _, m := range methods {
		if r.Method == m {
			h(w, r)
			return
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// base is the absolute URL prefix of the server.
func (s *Server) base(r *http.Request) string {
	if s.o.BaseURL != "" {
		return s.o.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// authenticate checks HTTP Basic credentials (RFC 7617) through the
// directory's one HTTP mapping (directory.BasicAuth).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*store.Principal, bool) {
	if s.o.Session != nil && r.Header.Get("Authorization") == "" {
		if p, handled := s.o.Session(w, r); handled {
			return p, p != nil
		}
	}
	return s.basic.Check(w, r)
}

// acquire takes one of max slots of counter for login; false when all
// are taken.
func (s *Server) acquire(counter map[string]int, login string, max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if counter[login] >= max {
		return false
	}
	counter[login]++
	return true
}

func (s *Server) release(counter map[string]int, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if counter[login]--; counter[login] <= 0 {
		delete(counter, login)
	}
}

// problem writes a request-level error (RFC 8620 §3.6.1).
func problem(w http.ResponseWriter, p *jmap.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// internalError logs err and answers 500: a store failure is never a
// "not found".
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	user := ""
	if p := store.PrincipalFrom(r.Context()); p != nil {
		user = p.Login
	}
	s.log.Error("JMAP "+what, "user", user, "path", r.URL.Path, "err", err)
	problem(w, &jmap.Problem{Type: "about:blank", Status: http.StatusInternalServerError, Detail: "internal error"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	json.NewEncoder(w).Encode(v)
}
