// Package web serves Roost's web client on the HTTP listeners: the built
// single-page app (embedded from web/dist), sign-in and sign-out with a
// session cookie, and the server-side sanitised HTML of a message. The app
// talks JMAP (internal/jmapserver) for everything else; the JMAP handler
// accepts the session cookie through Server.JMAPAuth, which the app wires.
//
// Invariants (docs/web.md):
//   - Every response carries a strict Content-Security-Policy (no inline
//     script, no framing) and the other security headers.
//   - The session cookie is __Host- prefixed, Secure, HttpOnly and
//     SameSite=Strict; it carries only the session token, which the store
//     keeps (Sessions).
//   - A request authenticated by the cookie that changes state must come
//     from the app's own origin (Sec-Fetch-Site, else Origin), so a
//     cross-site form or fetch cannot use it (CSRF).
//   - HTML mail leaves the server only through Sanitize (bluemonday); the
//     browser runs DOMPurify over it again and shows it in a sandboxed
//     iframe without scripts.
package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// Sessions is the web session API of the directory (implemented by
// *directory.Authenticator): sign-in checks the password through the
// shared authenticator (throttling, the "web" feature) and opens a
// session whose token only the cookie carries; the store keeps a hash of
// it.
type Sessions interface {
	CreateSession(ctx context.Context, login, password string, remote net.Addr) (*directory.Session, error)
	CreateSessionTOTP(ctx context.Context, login, password, code string, remote net.Addr) (*directory.Session, error)
	VerifySession(ctx context.Context, token string, remote net.Addr) (*directory.Session, error)
	RevokeSession(ctx context.Context, token string) error
	RevokeSessions(ctx context.Context, login string) (int, error)
}

// Options configure a Server.
type Options struct {
	// Assets is the built client (web.Dist()): index.html at the root,
	// content-hashed files under assets/.
	Assets   fs.FS
	Sessions Sessions
	// Store reads messages for the sanitised HTML view; the principal in
	// the request context limits it to what the user may read.
	Store  store.Backend
	Logger *slog.Logger
	// Admin is the admin API handler (internal/adminapi), run with the
	// session's principal for the web admin (/web/admin/) and the
	// settings (/web/self/, /web/api/password); nil answers 501.
	Admin http.Handler
	// CheckPassword checks a user's current password with the shared
	// authenticator (throttled) before a password change; it must not
	// accept an app password. nil: no password change.
	CheckPassword func(ctx context.Context, login, password string, remote net.Addr) error
	// KeepDeletedDays is how many days a deleted item stays restorable
	// (softdelete_lifetime, which a reload may change), shown in the
	// settings' restore section; nil or 0: not purged automatically.
	KeepDeletedDays func() int
	// Negotiate, when set, serves GET /auth/negotiate: Kerberos single
	// sign-on (HTTP Negotiate, RFC 4559) that opens a web session with
	// OpenSession and sets the same cookie as the password sign-in.
	Negotiate   func(ctx context.Context, token []byte, remote net.Addr) (*store.Principal, error)
	OpenSession func(ctx context.Context, p *store.Principal, remote net.Addr) (*directory.Session, error)
}

// Server is the web client's http.Handler.
type Server struct {
	o     Options
	log   *slog.Logger
	index []byte // index.html
}

// New returns the handler. It fails when Assets has no index.html.
func New(o Options) (*Server, error) {
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	index, err := fs.ReadFile(o.Assets, "index.html")
	if err != nil {
		return nil, errors.New("web: the built client has no index.html (run npm run build in web/)")
	}
	return &Server{o: o, log: lg.With("proto", "web"), index: index}, nil
}

// AppCSP is the policy of the app's pages. Scripts and styles come only
// from the server's own files (no inline script, no eval); style
// attributes are allowed (style-src-attr) because the sanitised mail in
// the reading pane's iframe keeps its inline styles and inherits this
// policy; images may be remote, but only the mail iframe shows remote
// images, and only after the user allowed them (its own policy blocks
// them before). No framing of the app (frame-ancestors), no plugins, no
// <base>, forms post only to the app.
const AppCSP = "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; " +
	"img-src 'self' data: blob: http: https:; font-src 'self'; connect-src 'self'; frame-src 'self'; " +
	"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; manifest-src 'self'"

// securityHeaders sets the headers every web response carries.
func securityHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

// ServeHTTP serves the app (/ and /assets/…) and the web API (/web/…).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in web handler", "panic", v, "method", r.Method, "path", r.URL.Path)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	securityHeaders(w.Header(), AppCSP)
	p := r.URL.Path
	switch {
	case p == "/web/login":
		s.only(w, r, s.login, http.MethodPost)
	case p == "/auth/negotiate" && s.o.Negotiate != nil && s.o.OpenSession != nil:
		s.only(w, r, s.negotiate, http.MethodGet)
	case p == "/web/logout":
		s.only(w, r, s.logout, http.MethodPost)
	case p == "/web/api/password":
		s.only(w, r, s.changePassword, http.MethodPost)
	case strings.HasPrefix(p, "/web/admin/v1/"):
		s.adminAPI(w, r)
	case strings.HasPrefix(p, "/web/self/"):
		s.selfAPI(w, r)
	case p == "/web/api/directory":
		s.only(w, r, s.directory, http.MethodGet)
	case p == "/web/api/deleted":
		s.only(w, r, s.deleted, http.MethodGet)
	case p == "/web/api/deleted-folders":
		s.only(w, r, s.deletedFolders, http.MethodGet)
	case p == "/web/api/restore":
		s.only(w, r, s.restore, http.MethodPost)
	case p == "/web/api/prefs":
		s.only(w, r, s.prefs, http.MethodGet, http.MethodPut)
	case p == "/web/api/prefs/remote-senders":
		s.only(w, r, s.remoteSenders, http.MethodGet, http.MethodPost)
	case p == "/web/api/me":
		s.only(w, r, s.me, http.MethodGet)
	case strings.HasPrefix(p, "/web/api/html/"):
		s.only(w, r, s.html, http.MethodGet)
	case strings.HasPrefix(p, "/assets/"):
		s.only(w, r, s.asset, http.MethodGet, http.MethodHead)
	case p == "/" || p == "/index.html" || p == "/admin" || p == "/settings":
		s.only(w, r, s.app, http.MethodGet, http.MethodHead)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) only(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, methods ...string) {
	for _, m := range methods {
		if r.Method == m {
			h(w, r)
			return
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// app serves index.html: never cached, so a new build is picked up at
// once (the assets it names are content-hashed).
func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(s.index))
}

// asset serves a built file. Their names carry a hash of their content,
// so they are cached for a year and never revalidated.
func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if !fs.ValidPath(name) || !strings.HasPrefix(name, "assets/") {
		http.NotFound(w, r)
		return
	}
	f, err := s.o.Assets.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, path.Base(name), time.Time{}, rs)
}
