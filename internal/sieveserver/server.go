// Package sieveserver serves ManageSieve (RFC 5804): users upload, list,
// activate and delete their Sieve scripts, which the delivery pipeline
// (internal/mail) runs.
//
// Invariants:
//   - Scripts are stored through mail.Scripts, which validates them with
//     the same parser the delivery pipeline runs, so an active script
//     always parsed when it was stored.
//   - Every store call carries the authenticated principal; the store
//     enforces that users reach only their own scripts.
//   - Lines, literals and argument counts are bounded (Limits); a bad
//     command gets NO and the session goes on; after maxBadCommands bad
//     commands, or a literal far beyond the limit, the server says BYE.
//   - Passwords are refused before TLS unless AllowPlaintextAuth, and
//     commands pipelined after STARTTLS end the connection.
package sieveserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/proto/sieve"
	"github.com/roost-mail/roost/internal/store"
)

// Options configure the server.
type Options struct {
	Store store.Settings
	// Scripts manages the scripts; nil = mail.Scripts on Store with
	// default limits.
	Scripts *mail.Scripts
	Logger  *slog.Logger
	// TLS is used for STARTTLS and implicit TLS; nil disables both.
	TLS      *tls.Config
	Hostname string
	// AllowPlaintextAuth allows AUTHENTICATE without TLS.
	AllowPlaintextAuth bool
	// Authenticate checks a login and password (throttling and the
	// feature gate live there) and returns the principal.
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// VerifyToken, when set, checks an OAuth 2.0 bearer token (SASL
	// OAUTHBEARER, RFC 7628, and XOAUTH2) as imapserver.Options'; nil:
	// the mechanisms are not offered.
	VerifyToken func(ctx context.Context, token, authzid string, remote net.Addr) (*store.Principal, error)
	// GSSAPI, when set, starts a SASL GSSAPI (Kerberos, RFC 4752)
	// exchange: GSSAPI is offered where the other mechanisms are.
	GSSAPI func(remote net.Addr) directory.SASLServer
	Limits Limits
	// IdleTimeout ends an idle session; 0 = 30 minutes.
	IdleTimeout time.Duration
	// MaxConnectionsPerIP bounds simultaneous sessions from one address;
	// 0 = no limit.
	MaxConnectionsPerIP int

	// Sharded multi-server mode (proxy.go, docs/cluster.md), as
	// imapserver.Options': on a frontend Route names the home backend of
	// an authenticated user ("" to serve it here), ProxyDial connects to
	// it and ProxyTLS, when set, makes the frontend STARTTLS with its
	// client certificate first. On a backend ProxyLogin admits a login a
	// frontend proxies (with ProxySecret, or a client certificate of
	// ProxyClientCAs), and ProxyPeer exempts frontends' addresses from
	// MaxConnectionsPerIP.
	Route          func(ctx context.Context, p *store.Principal) (string, error)
	ProxyDial      func(ctx context.Context, addr string) (net.Conn, error)
	ProxySecret    []byte
	ProxyTLS       *tls.Config
	ProxyClientCAs *x509.CertPool
	ProxyLogin     func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error)
	ProxyPeer      func(ip string) bool
	// Watch, when set, is told of every session this server serves once
	// it has logged in, with the user's store; the returned function is
	// called when the session ends (imapserver.Options.Watch; EndUser).
	Watch func(p *store.Principal, storeID int64) (unwatch func())
}

const (
	maxBadCommands   = 10
	maxAuthFailures  = 3
	handshakeTimeout = 30 * time.Second
	writeTimeout     = 2 * time.Minute
)

// Server is a ManageSieve server.
type Server struct {
	o       Options
	log     *slog.Logger
	scripts *mail.Scripts
	t       netserve.Tracker
	ctx     context.Context // the Tracker's: cancelled by Close
	seq     atomic.Uint64

	perIP netserve.PerIP

	mu    sync.Mutex
	users map[string]map[*session]struct{} // logged-in sessions by login
}

// EndUser ends every session of login on this server, telling the
// client text with BYE (TRYLATER): at once for a session waiting for a
// command, after the command in progress otherwise (a PUTSCRIPT still
// uploading completes and is answered). It returns how many sessions
// it ends (the sharded mode's store move, docs/cluster.md).
func (s *Server) EndUser(login, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.users[login] {
		sess.end(text)
	}
	return len(s.users[login])
}

func (s *Server) addUser(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == nil {
		s.users = map[string]map[*session]struct{}{}
	}
	if s.users[sess.p.Login] == nil {
		s.users[sess.p.Login] = map[*session]struct{}{}
	}
	s.users[sess.p.Login][sess] = struct{}{}
}

func (s *Server) removeUser(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if delete(s.users[sess.p.Login], sess); len(s.users[sess.p.Login]) == 0 {
		delete(s.users, sess.p.Login)
	}
}

// New returns a server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	o.Limits = o.Limits.withDefaults()
	sc := o.Scripts
	if sc == nil {
		sc = &mail.Scripts{Store: o.Store}
	}
	s := &Server{o: o, log: o.Logger.With("proto", "managesieve"), scripts: sc,
		perIP: netserve.PerIP{Max: o.MaxConnectionsPerIP}}
	s.ctx = s.t.Context()
	return s
}

// Serve accepts connections on ln until Close; implicitTLS starts TLS at
// once (no standard port, but useful behind some proxies).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	return s.t.Serve(ln, func(c net.Conn) {
		release, ok := func() {}, true
		if s.o.ProxyPeer == nil || !s.o.ProxyPeer(netserve.RemoteIP(c.RemoteAddr())) {
			release, ok = s.perIP.Admit(c)
		}
		if !ok {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("BYE \"too many connections from your address\"\r\n"))
			return
		}
		defer release()
		s.handle(c, implicitTLS)
	})
}

// Close stops the listeners and ends every session.
func (s *Server) Close() error { return s.t.Close() }

// capabilities returns the capability lines (RFC 5804 §1.7).
func (s *Server) capabilities(sess *session) [][2]string {
	caps := [][2]string{{"IMPLEMENTATION", "Roost"}}
	if sess.p == nil {
		mechs := ""
		if sess.tls || s.o.AllowPlaintextAuth {
			mechs = "PLAIN LOGIN"
			if s.o.VerifyToken != nil {
				mechs += " OAUTHBEARER XOAUTH2"
			}
			if s.o.GSSAPI != nil {
				mechs += " GSSAPI"
			}
		}
		caps = append(caps, [2]string{"SASL", mechs})
	}
	caps = append(caps, [2]string{"SIEVE", strings.Join(sieve.Capabilities(), " ")})
	if s.o.TLS != nil && !sess.tls && sess.p == nil {
		caps = append(caps, [2]string{"STARTTLS", ""})
	}
	opts := s.scripts.Limits
	maxRedirects := opts.MaxRedirects
	if maxRedirects <= 0 {
		maxRedirects = 4
	}
	caps = append(caps, [2]string{"MAXREDIRECTS", strconv.Itoa(maxRedirects)})
	if sess.p != nil {
		caps = append(caps, [2]string{"OWNER", sess.p.Login})
	}
	caps = append(caps, [2]string{"UNAUTHENTICATE", ""}, [2]string{"VERSION", "1.0"})
	return caps
}
