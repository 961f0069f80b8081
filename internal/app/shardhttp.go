package app

// HTTP in the sharded mode (docs/cluster.md, "HTTP on a frontend"): a
// frontend authenticates a request for CalDAV/CardDAV, JMAP or the web
// client's API as any node does, and when the user's home is another node
// reverse-proxies it to that backend's HTTP endpoint with
//
//	X-Roost-Proxy-User: the authenticated login
//	X-Roost-Proxy-Secret: the shard secret (none under mutual TLS: the
//	                      frontend's client certificate on the backend's
//	                      HTTPS endpoint is the proxy identity)
//	X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host: the client's
//
// and the client's Host. The backend believes these headers only from a
// verified frontend (the secret from a registered frontend's address, or
// a client certificate of ssl_ca_file); it then serves the request as
// the named user from the client's address (throttle, logs, audit) and
// never looks at the client's credentials again. Responses are streamed
// (JMAP EventSource flushes each event; WebSocket upgrades pass through).
//
// Reverse-proxying is the default rather than redirecting: CalDAV/CardDAV
// clients and JMAP clients follow redirects poorly for PROPFIND, REPORT
// and POST, and a redirect would put every backend's URL in front of the
// clients. http_routing = "redirect" redirects instead (redirectTo; 451
// with X-MS-Location for ActiveSync).

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/store"
)

// The headers a frontend adds to a proxied request; a frontend removes
// any a client sent.
const (
	hdrProxyUser   = "X-Roost-Proxy-User"
	hdrProxySecret = "X-Roost-Proxy-Secret"
)

// httpService names the user-scoped service of r — "dav", "jmap", "eas"
// (ActiveSync) or "web" (the web client's API) — or "" for what every
// node serves alike (the web client's files, sign-in, discovery, health,
// OIDC).
func httpService(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.EqualFold(strings.TrimSuffix(p, "/"), easserver.Path):
		// Matched as the ActiveSync server matches it: devices vary
		// the case.
		return "eas"
	case strings.HasPrefix(p, "/dav/"),
		p == "/.well-known/caldav", strings.HasPrefix(p, "/.well-known/caldav/"),
		p == "/.well-known/carddav", strings.HasPrefix(p, "/.well-known/carddav/"),
		p == "/" && (r.Method == "PROPFIND" || r.Method == "OPTIONS"):
		return "dav"
	case strings.HasPrefix(p, "/jmap/"), p == "/.well-known/jmap":
		return "jmap"
	case strings.HasPrefix(p, "/web/api/"), strings.HasPrefix(p, "/web/self/"):
		return "web"
	}
	return ""
}

// httpFeature is the directory feature a service needs and the protocol
// named in the audit (as the service's own login checks them: dav.go,
// jmap.go, web.go).
func httpFeature(svc string) (feature, proto string) {
	switch svc {
	case "dav":
		return "dav", "dav"
	case "jmap":
		return "web", "jmap"
	case "eas":
		return "mobile", "eas"
	}
	return "web", "web"
}

// shardHTTP wraps the HTTP handler of a frontend, a backend or both.
func (s *server) shardHTTP(cfg *config.Config, authn *directory.Authenticator, h http.Handler) http.Handler {
	if cfg.IsFrontend() {
		h = s.frontendHTTP(cfg, authn, h)
	}
	if cfg.IsBackend() {
		h = s.backendHTTP(authn, h)
	}
	return h
}

type httpTargetKey struct{}

// httpTarget is where the frontend sends a request, and as whom.
type httpTarget struct {
	url   *url.URL
	login string
}

// frontendHTTP routes requests of users whose home is another node to
// it; everything else goes to next.
func (s *server) frontendHTTP(cfg *config.Config, authn *directory.Authenticator, next http.Handler) http.Handler {
	d := proxyDialer(cfg)
	tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: s.shard.client,
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		ExpectContinueTimeout: time.Second}
	s.mu.Lock()
	s.closers = append(s.closers, closerFunc(func() error { tr.CloseIdleConnections(); return nil }))
	s.mu.Unlock()
	secret := string(s.shard.secret)
	log := s.log.With("proto", "http-proxy")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(httpTargetKey{}).(*httpTarget)
			pr.SetURL(t.url)
			pr.Out.Host = pr.In.Host // the backend builds URLs with the name the client used
			pr.Out.Header.Del(hdrProxyUser)
			pr.Out.Header.Del(hdrProxySecret)
			if m, _, _ := strings.Cut(pr.In.Header.Get("Authorization"), " "); strings.EqualFold(m, "Negotiate") {
				// A Kerberos authenticator is for the frontend's own
				// service principal: checked here, of no use (and not
				// to be replayed) on the backend.
				pr.Out.Header.Del("Authorization")
			}
			pr.SetXForwarded() // the inbound X-Forwarded-* are already dropped: only the client's address
			pr.Out.Header.Set(hdrProxyUser, t.login)
			if secret != "" {
				pr.Out.Header.Set(hdrProxySecret, secret)
			}
		},
		Transport:     tr,
		FlushInterval: -1, // stream: EventSource, long polls, large downloads
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			t := r.Context().Value(httpTargetKey{}).(*httpTarget)
			log.Error("proxy to the home backend", "user", t.login, "backend", t.url.Host, "method", r.Method, "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "10")
			http.Error(w, "the mailbox server is unavailable, try again later", http.StatusServiceUnavailable)
		},
	}
	ttl := time.Duration(cfg.DAVAuthCacheTTL) * time.Second
	basic := map[string]*directory.BasicAuth{
		// The same checks and answers as davserver's and jmapserver's own.
		"dav": {Name: "DAV", Denied: "this account may not use calendars and contacts", CacheTTL: ttl, Log: log,
			Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
				return authn.Authenticate(ctx, login, pw, remote, "dav")
			}, Bearer: httpBearer(authn, "dav"), Negotiate: httpNegotiate(authn, "dav")},
		"jmap": {Name: "JMAP", Denied: "this account may not use JMAP", Log: log,
			Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
				return authn.Authenticate(directory.WithAuthInfo(ctx, "jmap", ""), login, pw, remote, "web")
			}, Bearer: httpBearer(authn, "jmap"), Negotiate: httpNegotiate(authn, "jmap")},
		// As mountEAS's: app passwords scoped to ActiveSync, the mobile
		// feature.
		"eas": {Name: "ActiveSync", Realm: "ActiveSync", Denied: "this account may not use mobile devices (ActiveSync)",
			Log: log,
			Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
				return authn.Authenticate(directory.WithAuthInfo(ctx, "eas", ""), login, pw, remote, "mobile")
			}, Bearer: httpBearer(authn, "eas")},
	}
	var warned sync.Map // nodes without a URL to redirect to, logged once
	scheme, proto := "http", "http"
	if s.shard.client != nil {
		scheme, proto = "https", "https"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc := httpService(r)
		if svc == "" {
			next.ServeHTTP(w, r)
			return
		}
		var p *store.Principal
		authz := r.Header.Get("Authorization")
		method, _, _ := strings.Cut(authz, " ")
		switch {
		case basic[svc] != nil && (strings.EqualFold(method, "Basic") || strings.EqualFold(method, "Bearer") ||
			strings.EqualFold(method, "Negotiate") && basic[svc].Negotiate != nil):
			// Checked here, once: a wrong password or a bad Kerberos
			// ticket is answered by the frontend and never reaches a
			// backend.
			var ok bool
			if p, ok = basic[svc].Check(w, r); !ok {
				return
			}
		case authz == "":
			// The web client's session (shared by all nodes): routed by
			// it, checked again where the request is served.
			c, err := r.Cookie(directory.SessionCookie)
			if err != nil || c.Value == "" || len(c.Value) > 512 {
				break
			}
			if sess, err := authn.VerifySession(r.Context(), c.Value, directory.RemoteAddr(r)); err == nil && sess != nil {
				p = sess.Principal
			}
		}
		if p == nil {
			// No credentials, a failed session, Kerberos on a frontend
			// without a keytab: served (and answered) here.
			next.ServeHTTP(w, r)
			return
		}
		home, addr, err := s.homeNodeEndpoint(r.Context(), p, proto)
		if err != nil {
			log.Error("route to the home backend", "user", p.Login, "err", err)
			w.Header().Set("Retry-After", "10")
			http.Error(w, "the mailbox server is unavailable, try again later", http.StatusServiceUnavailable)
			return
		}
		if addr == "" {
			if authz != "" {
				// Served here: not checked a second time.
				r = r.WithContext(directory.WithProxiedPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
			return
		}
		if c := s.cfg.Load(); c.HTTPRouting == "redirect" && authz != "" && svc == "eas" {
			// ActiveSync's own redirect (MS-ASHTTP 3.1.5.2.2): 451 with
			// X-MS-Location, the endpoint every later request of the
			// device goes to (no query: each command carries its own).
			if loc := s.redirectTo(r, c, home, &warned, log); loc != "" {
				u, _ := url.Parse(loc)
				u.RawQuery = ""
				log.Info("redirected to the home node", "user", p.Login, "node", home, "method", r.Method, "cmd", sanitizeHeader(r.URL.Query().Get("Cmd")), "location", u.String())
				w.Header().Set("X-MS-Location", u.String())
				w.Header().Set("Cache-Control", "private")
				w.WriteHeader(451)
				return
			}
		}
		if c := s.cfg.Load(); c.HTTPRouting == "redirect" && authz != "" && svc != "web" && svc != "eas" {
			// Redirect mode: the credentials were checked here; the
			// client sends the request again to its home node. (Cookie
			// sessions stay proxied: a cookie does not follow a
			// redirect to another host. ActiveSync is redirected its
			// own way, above.)
			if loc := s.redirectTo(r, c, home, &warned, log); loc != "" {
				log.Info("redirected to the home node", "user", p.Login, "node", home, "method", r.Method, "path", r.URL.Path, "location", loc)
				w.Header().Set("Location", loc)
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusTemporaryRedirect)
				return
			}
		}
		ctx := context.WithValue(r.Context(), httpTargetKey{}, &httpTarget{url: &url.URL{Scheme: scheme, Host: addr}, login: p.Login})
		rp.ServeHTTP(w, r.WithContext(ctx))
	})
}

// redirectTo is where the redirect mode sends r of a user whose home is
// node: the node's proxy_url when r carries proxy_header (or it is "*"),
// else its public_url, followed by r's path and query. "" when the node
// registers no such URL (the request is proxied instead, which is logged
// once per node and kind of URL).
func (s *server) redirectTo(r *http.Request, c *config.Config, node string, warned *sync.Map, log *slog.Logger) string {
	nodes, err := s.registry(r.Context(), false)
	if err != nil {
		log.Error("redirect: node registry", "node", node, "err", err)
		return ""
	}
	viaProxy := c.ProxyHeader == "*" || (c.ProxyHeader != "" && len(r.Header.Values(c.ProxyHeader)) > 0)
	key, base := "public_url", ""
	if viaProxy {
		key = "proxy_url"
	}
	for _, n := range nodes {
		if n.Name == node {
			base = n.PublicURL
			if viaProxy {
				base = n.ProxyURL
			}
		}
	}
	if base == "" {
		if _, had := warned.LoadOrStore(node+" "+key, true); !had {
			log.Warn("redirect mode: the home node registers no "+key+"; its users' requests are proxied", "node", node)
		}
		return ""
	}
	return strings.TrimSuffix(base, "/") + r.URL.RequestURI()
}

// closerFunc makes a function an io.Closer (server.closers).
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// backendHTTP serves requests a frontend proxies: it verifies the
// frontend's proxy identity, takes the client's address from
// X-Forwarded-For and the user from X-Roost-Proxy-User. A request with
// the headers from anyone else is refused (403).
func (s *server) backendHTTP(authn *directory.Authenticator, next http.Handler) http.Handler {
	log := s.log.With("proto", "http-proxy")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		login, secret := r.Header.Get(hdrProxyUser), r.Header.Get(hdrProxySecret)
		if login == "" && secret == "" {
			next.ServeHTTP(w, r)
			return
		}
		front := r.RemoteAddr
		fh, _, _ := net.SplitHostPort(front)
		if err := s.verifyHTTPFrontend(r, secret); err != nil {
			if errors.Is(err, errNotFrontend) {
				log.Warn("proxied request refused", "user", sanitizeHeader(login), "remote", front, "err", err)
				http.Error(w, "proxy identity refused", http.StatusForbidden)
				return
			}
			log.Error("proxied request", "user", sanitizeHeader(login), "remote", front, "err", err)
			w.Header().Set("Retry-After", "10")
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		// The client, as the frontend saw it.
		client := fh
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			list := strings.Split(xff[len(xff)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(list[len(list)-1])); ip != nil {
				client = ip.String()
			}
		}
		r = r.Clone(r.Context())
		r.RemoteAddr = net.JoinHostPort(client, "0")
		// The scheme the client used (for the URLs the backend builds,
		// and the web admin's HTTPS-only paths).
		if strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			if r.TLS == nil {
				r.TLS = &tls.ConnectionState{HandshakeComplete: true}
			}
		} else {
			r.TLS = nil
		}
		r.Header.Del(hdrProxyUser)
		r.Header.Del(hdrProxySecret)
		svc := httpService(r)
		if login != "" && (svc == "dav" || svc == "jmap" || svc == "eas") {
			feature, proto := httpFeature(svc)
			p, err := authn.ProxyLogin(directory.WithAuthInfo(r.Context(), proto, ""), login, directory.RemoteAddr(r), feature)
			switch {
			case err == nil && p != nil:
				r = r.WithContext(directory.WithProxiedPrincipal(r.Context(), p))
			case errors.Is(err, directory.ErrFeature), errors.Is(err, directory.ErrInactive), errors.Is(err, directory.ErrBadCredentials):
				http.Error(w, "this account may not use this service", http.StatusForbidden)
				return
			default:
				if !errors.Is(err, directory.ErrThrottled) {
					log.Error("proxied request", "user", sanitizeHeader(login), "err", err)
				}
				w.Header().Set("Retry-After", "60")
				http.Error(w, "authentication temporarily unavailable", http.StatusServiceUnavailable)
				return
			}
		}
		// The web client's API checks its session cookie itself.
		attrs := []any{"method", r.Method, "path", r.URL.Path, "user", sanitizeHeader(login), "remote", client, "via", fh}
		if svc == "eas" {
			// Every ActiveSync command has the one path: name it.
			attrs = append(attrs, "cmd", sanitizeHeader(r.URL.Query().Get("Cmd")))
		}
		log.Info("proxied request", attrs...)
		next.ServeHTTP(w, r)
	})
}

// verifyHTTPFrontend checks a proxied request's identity: the client
// certificate of a TLS connection when ssl_ca_file is set, else the
// shard secret from a registered frontend's address.
func (s *server) verifyHTTPFrontend(r *http.Request, secret string) error {
	if s.shard.cas != nil {
		if r.TLS == nil {
			return fmt.Errorf("no TLS connection, so no client certificate: %w", errNotFrontend)
		}
		if _, err := netserve.VerifyClientState(*r.TLS, s.shard.cas); err != nil {
			return errors.Join(err, errNotFrontend)
		}
		return nil
	}
	if len(s.shard.secret) == 0 || subtle.ConstantTimeCompare([]byte(secret), s.shard.secret) != 1 {
		return errors.Join(errors.New("wrong shard secret"), errNotFrontend)
	}
	a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil {
		return errors.Join(err, errNotFrontend)
	}
	return s.fromFrontend(r.Context(), a)
}

// sanitizeHeader keeps a header value printable and short for the log.
func sanitizeHeader(v string) string {
	if len(v) > 100 {
		v = v[:100]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, v)
}
