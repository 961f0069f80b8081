package directory

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/store"
)

// BasicAuth checks HTTP Basic credentials (RFC 7617) for the HTTP
// adapters (CalDAV/CardDAV, JMAP). It is the one place that maps the
// directory's answers to HTTP: bad credentials are 401 with a challenge,
// an account that may not use the service 403, a throttled login or a
// failing directory 503 with Retry-After (never "wrong password").
//
// With CacheTTL > 0 it also remembers successful logins for that long,
// skipping even the user lookup; a changed password or a disabled
// account then takes effect after at most CacheTTL. The shared
// credential cache (Authenticator.Cache) sees such changes at once, so
// the default is no cache of its own.
type BasicAuth struct {
	// Authenticate checks a login and password from remote.
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// Bearer, when set, checks "Authorization: Bearer" tokens (RFC 6750)
	// for this service (Authenticator.VerifyBearer); ErrScope is answered
	// 403 insufficient_scope. Bearer logins are never cached here, so a
	// revoked token is refused at once.
	Bearer func(ctx context.Context, token string, remote net.Addr) (*store.Principal, error)
	// Negotiate, when set, checks "Authorization: Negotiate" (SPNEGO,
	// RFC 4559: Kerberos) tokens (Authenticator.Negotiate), and the
	// challenge offers Negotiate too. Never cached.
	Negotiate func(ctx context.Context, token []byte, remote net.Addr) (*store.Principal, error)
	Realm     string // of the challenge; "" is "Roost"
	Name      string // of the service in log lines, e.g. "DAV"
	Denied    string // the 403 text for an account without the feature
	CacheTTL  time.Duration
	Now       func() time.Time // nil: time.Now
	Log       *slog.Logger     // nil: no logging

	mu    sync.Mutex
	cache map[[32]byte]basicEntry
}

type basicEntry struct {
	p       *store.Principal
	expires time.Time
}

// maxBasicCache bounds the remembered logins.
const maxBasicCache = 1000

// Check authenticates r. On failure it has written the answer and
// returns false.
func (b *BasicAuth) Check(w http.ResponseWriter, r *http.Request) (*store.Principal, bool) {
	realm := b.Realm
	if realm == "" {
		realm = "Roost"
	}
	challenge := func() {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
		if b.Bearer != nil {
			w.Header().Add("WWW-Authenticate", `Bearer realm="`+realm+`"`)
		}
		if b.Negotiate != nil {
			w.Header().Add("WWW-Authenticate", "Negotiate")
		}
		http.Error(w, "authentication required", http.StatusUnauthorized)
	}
	if p := proxiedPrincipal(r.Context()); p != nil {
		return p, true
	}
	if tok, ok := negotiateToken(r); ok && b.Negotiate != nil {
		return b.checkNegotiate(w, r, tok, challenge)
	}
	if tok, ok := bearerToken(r); ok && b.Bearer != nil {
		return b.checkBearer(w, r, tok, realm, challenge)
	}
	login, pw, ok := r.BasicAuth()
	if !ok || login == "" || len(login) > 512 || len(pw) > 4096 || b.Authenticate == nil {
		challenge()
		return nil, false
	}
	key := sha256.Sum256([]byte(login + "\x00" + pw + "\x00" + realm))
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	// App passwords are cheap to check and must stop working the moment
	// they are revoked: never cached here.
	_, isAppPW := auth.NormalAppPassword(pw)
	cache := b.CacheTTL > 0 && !isAppPW
	if cache {
		b.mu.Lock()
		e, hit := b.cache[key]
		b.mu.Unlock()
		if hit && now.Before(e.expires) {
			return e.p, true
		}
	}
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := b.Authenticate(r.Context(), login, pw, RemoteAddr(r))
	switch {
	case err == nil && p != nil:
	case err == nil || errors.Is(err, ErrBadCredentials):
		log.Info(b.Name+" login failed", "user", login, "remote", r.RemoteAddr)
		challenge()
		return nil, false
	case errors.Is(err, ErrFeature), errors.Is(err, ErrInactive):
		http.Error(w, b.Denied, http.StatusForbidden)
		return nil, false
	default:
		if !errors.Is(err, ErrThrottled) {
			log.Error(b.Name+" login", "user", login, "remote", r.RemoteAddr, "err", err)
		}
		w.Header().Set("Retry-After", "60")
		http.Error(w, "authentication temporarily unavailable", http.StatusServiceUnavailable)
		return nil, false
	}
	if cache {
		b.mu.Lock()
		if b.cache == nil {
			b.cache = map[[32]byte]basicEntry{}
		}
		if len(b.cache) >= maxBasicCache {
			for k, e := range b.cache {
				if !now.Before(e.expires) || len(b.cache) >= maxBasicCache {
					delete(b.cache, k)
				}
			}
		}
		b.cache[key] = basicEntry{p: p, expires: now.Add(b.CacheTTL)}
		b.mu.Unlock()
	}
	return p, true
}

// bearerToken returns the token of "Authorization: Bearer <token>" (the
// scheme is case-insensitive, RFC 7235 §2.1).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// checkBearer is Check for a bearer token, with RFC 6750 §3's errors.
func (b *BasicAuth) checkBearer(w http.ResponseWriter, r *http.Request, tok, realm string, challenge func()) (*store.Principal, bool) {
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(tok) > 16<<10 {
		challenge()
		return nil, false
	}
	p, err := b.Bearer(r.Context(), tok, RemoteAddr(r))
	switch {
	case err == nil && p != nil:
		return p, true
	case errors.Is(err, ErrScope):
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`", error="insufficient_scope"`)
		http.Error(w, "the token is not valid for this service", http.StatusForbidden)
	case err == nil || errors.Is(err, ErrBadCredentials):
		log.Info(b.Name+" bearer token refused", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="`+realm+`", error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
	case errors.Is(err, ErrFeature), errors.Is(err, ErrInactive):
		http.Error(w, b.Denied, http.StatusForbidden)
	default:
		if !errors.Is(err, ErrThrottled) {
			log.Error(b.Name+" bearer token", "remote", r.RemoteAddr, "err", err)
		}
		w.Header().Set("Retry-After", "60")
		http.Error(w, "authentication temporarily unavailable", http.StatusServiceUnavailable)
	}
	return nil, false
}

// negotiateToken returns the token of "Authorization: Negotiate <base64>".
func negotiateToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Negotiate") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// checkNegotiate is Check for a Negotiate token (RFC 4559 §4).
func (b *BasicAuth) checkNegotiate(w http.ResponseWriter, r *http.Request, tok string, challenge func()) (*store.Principal, bool) {
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || len(tok) > 96<<10 {
		challenge()
		return nil, false
	}
	p, err := b.Negotiate(r.Context(), raw, RemoteAddr(r))
	switch {
	case err == nil && p != nil:
		return p, true
	case err == nil || errors.Is(err, ErrBadCredentials):
		log.Info(b.Name+" negotiate refused", "remote", r.RemoteAddr, "err", err)
		challenge()
	case errors.Is(err, ErrFeature), errors.Is(err, ErrInactive):
		http.Error(w, b.Denied, http.StatusForbidden)
	default:
		if !errors.Is(err, ErrThrottled) {
			log.Error(b.Name+" negotiate", "remote", r.RemoteAddr, "err", err)
		}
		w.Header().Set("Retry-After", "60")
		http.Error(w, "authentication temporarily unavailable", http.StatusServiceUnavailable)
	}
	return nil, false
}

type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

// RemoteAddr is the client's address of r as a net.Addr, for the
// throttle and the logs.
func RemoteAddr(r *http.Request) net.Addr {
	if ap, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		return ap
	}
	return tcpAddr(r.RemoteAddr)
}

type proxiedKey struct{}

// WithProxiedPrincipal marks a request's context as authenticated as p by
// a frontend of the sharded mode whose proxy identity the backend has
// verified (ProxyLogin admitted p): BasicAuth.Check then returns p
// without looking at the request's credentials, which the frontend
// checked. Only the app's backend handler sets it; nothing a client
// sends can.
func WithProxiedPrincipal(ctx context.Context, p *store.Principal) context.Context {
	return context.WithValue(ctx, proxiedKey{}, p)
}

func proxiedPrincipal(ctx context.Context) *store.Principal {
	p, _ := ctx.Value(proxiedKey{}).(*store.Principal)
	return p
}
