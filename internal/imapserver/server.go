package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// Options configure a Server.
type Options struct {
	Store  store.Backend
	Events *events.Hub // nil: IDLE polls the journal instead
	Logger *slog.Logger
	// TLS is used for STARTTLS and implicit TLS; nil disables both.
	TLS      *tls.Config
	Hostname string
	// AllowPlaintextAuth allows LOGIN and AUTHENTICATE on a connection
	// without TLS. Otherwise they are refused there and LOGINDISABLED is
	// announced (RFC 9051 §6.2.3).
	AllowPlaintextAuth bool
	// Limits bound what one command may cost (line length, literal size,
	// nesting, …); zero fields take the imap package's defaults.
	Limits imap.Limits
	// SearchIndex answers SEARCH TEXT, BODY and the address and subject
	// keys from the full-text index (store.Index, kept current by
	// search.Indexer) and announces SEARCH=FUZZY (RFC 6203). Without it
	// every search reads the messages it tests.
	SearchIndex bool
	// MaxMessageBytes is the APPENDLIMIT (RFC 7889); 0 takes
	// Limits.MaxLiteral or its default.
	MaxMessageBytes int64
	// Authenticate checks a login and password and returns the principal to
	// act as. The app does the password check, throttling and the per-user
	// feature gate here. Its errors are directory's login sentinels
	// (possibly wrapped), answered by authFailure; any other error is a
	// temporary failure, logged.
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// VerifyToken, when set, checks an OAuth 2.0 bearer token (SASL
	// OAUTHBEARER, RFC 7628, and XOAUTH2) and returns the principal it
	// stands for; authzid is the user the client names, possibly empty,
	// and the verifier refuses a token that does not stand for that user
	// (no proxy authorization). Errors as for Authenticate. Nil: the mechanisms are not offered.
	// (The hook for SSO: the token verifier is configured by the app.)
	VerifyToken func(ctx context.Context, token, authzid string, remote net.Addr) (*store.Principal, error)
	// GSSAPI, when set, starts a SASL GSSAPI (Kerberos, RFC 4752)
	// exchange: AUTH=GSSAPI is offered, with or without TLS (no
	// password crosses the wire).
	GSSAPI func(remote net.Addr) directory.SASLServer

	// Sharded multi-server mode (proxy.go, docs/cluster.md).
	//
	// Route, when set, makes this server a frontend: after a successful
	// login it names the backend (host:port) the principal's session is
	// proxied to, or "" to serve it here.
	Route func(ctx context.Context, p *store.Principal) (string, error)
	// ProxyDial connects a frontend to a backend; nil uses a plain
	// net.Dialer.
	ProxyDial func(ctx context.Context, addr string) (net.Conn, error)
	// ProxySecret is the secret frontends and backends share: a frontend
	// logs in to the backend with it, a backend accepts it (when
	// ProxyClientCAs is nil).
	ProxySecret []byte
	// ProxyTLS, on a frontend, makes it STARTTLS with the backend before
	// the proxy login, presenting its client certificate (mutual TLS);
	// ServerName is set to the backend's host when empty.
	ProxyTLS *tls.Config
	// ProxyClientCAs, on a backend, makes a client certificate that
	// chains to it the only proof a proxy login is accepted with (the
	// service identity, ssl_ca_file): the connection must be TLS (the TLS
	// configuration should ask for client certificates) and the secret
	// is not consulted.
	ProxyClientCAs *x509.CertPool
	// ProxyLogin, when set with ProxySecret, makes this server a backend:
	// it admits login for a session a frontend authenticated. frontend is
	// the address the session comes from, remote the client's address
	// the frontend passed on (IMAP ID x-originating-ip).
	ProxyLogin func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error)
	// ProxyPeer, on a backend, reports whether a connection's address
	// (netserve.RemoteIP) is a frontend's: a frontend carries many
	// clients' sessions, so its connections are not held to
	// MaxConnectionsPerIP (each client was counted by the frontend).
	ProxyPeer func(ip string) bool

	// MaxConnectionsPerIP and MaxConnectionsPerUser bound simultaneous IMAP
	// connections from one IP address and authenticated sessions of one
	// user; 0 is no limit. (They count IMAP only; a limit across protocols
	// belongs in Authenticate and the app's listener.)
	MaxConnectionsPerIP   int
	MaxConnectionsPerUser int

	// OnCommand, when set, is told each command's name, how long its
	// handler ran and its error (metrics); it must not block.
	OnCommand func(name string, d time.Duration, err error)
	// Watch, when set, is told of every session this server serves once
	// it is authenticated (not of those a frontend passes on to a
	// backend), with the user's private store; the function it returns
	// is called when the session ends. The sharded mode's store move
	// uses it to end the sessions of a user whose home node moved away
	// (EndUser).
	Watch func(p *store.Principal, storeID int64) (unwatch func())
	// OnSharedOpen, when set, is told when a folder of another user's or
	// a public store is selected or examined, with the rights it was
	// opened with (the audit log).
	OnSharedOpen func(ctx context.Context, f *store.Folder, rights, how string)
}

// Timeouts (RFC 9051 §5.4: the autologout timer of an authenticated session
// is at least 30 minutes).
const (
	preAuthTimeout   = 2 * time.Minute
	authTimeout      = 31 * time.Minute
	writeTimeout     = 5 * time.Minute
	handshakeTimeout = 30 * time.Second
	closeGrace       = 5 * time.Second
)

// Server serves IMAP sessions. It is safe for concurrent use. Its
// lifecycle (accept loop, per-address limit, shutdown) is netserve's, as
// for every TCP service.
type Server struct {
	o   Options
	log *slog.Logger

	t   netserve.Tracker
	ip  netserve.PerIP
	ctx context.Context // the Tracker's: canceled by Close once sessions had their grace
	// ending is cancelled when Close begins: sessions say BYE after the
	// command in progress.
	ending context.Context

	mu      sync.Mutex
	perUser map[string]int
	// users are the authenticated sessions served here, by login
	// (EndUser).
	users   map[string]map[*session]struct{}
	connSeq atomic.Uint64

	headers *headerCache // parsed headers for SEARCH and SORT
	// trees are personal folder trees for resolving names, shared by
	// the sessions of a store (mailbox.go, resolvedTree).
	trees treeCache
	// previews are PREVIEW texts by item id (preview.go).
	previews *previewCache
	// readers and writers hold the buffers of idling sessions (cmd_idle.go).
	readers, writers sync.Pool

	// onPanic, if set, is called with a recovered panic (tests).
	onPanic func(v any)
	// idlePoll overrides how often IDLE polls the journal (tests).
	idlePoll time.Duration
	// messageLimit overrides the MESSAGELIMIT (tests, messagelimit.go).
	messageLimit atomic.Int64
	// progressEvery overrides how often INPROGRESS is sent (tests).
	progressEvery atomic.Int64
}

// New returns a server; call Serve for each listener.
func New(o Options) *Server {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = o.Limits.MaxLiteral
		if o.MaxMessageBytes <= 0 {
			o.MaxMessageBytes = imap.DefaultMaxLiteral
		}
	}
	if o.Limits.MaxLiteral <= 0 || o.Limits.MaxLiteral < o.MaxMessageBytes {
		// The Reader refuses literals above MaxLiteral before our hook sees
		// them; messages are streamed, so let them through to the hook,
		// which answers NO [TOOBIG] with the APPENDLIMIT in mind.
		o.Limits.MaxLiteral = o.MaxMessageBytes
	}
	s := &Server{
		o: o, log: log.With("proto", "imap"),
		t:       netserve.Tracker{Grace: closeGrace},
		ip:      netserve.PerIP{Max: o.MaxConnectionsPerIP},
		perUser: map[string]int{}, users: map[string]map[*session]struct{}{}, headers: newHeaderCache(headerCacheBytes), previews: newPreviewCache(previewCacheEntries),
		readers: sync.Pool{New: func() any { return bufio.NewReader(nil) }},
		writers: sync.Pool{New: func() any { return bufio.NewWriter(nil) }},
	}
	s.ctx, s.ending = s.t.Context(), s.t.Ending()
	return s
}

// Serve accepts connections on ln until Close, one goroutine per
// connection. With implicitTLS every connection starts with a TLS handshake
// (port 993). It returns nil after Close, or the error that stopped
// accepting.
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	if implicitTLS && s.o.TLS == nil {
		return errors.New("imapserver: implicit TLS without a TLS configuration")
	}
	err := s.t.Serve(ln, func(c net.Conn) { s.handle(c, implicitTLS) })
	if err != nil && !errors.Is(err, netserve.ErrClosed) {
		return fmt.Errorf("imapserver: accept: %w", err)
	}
	return nil
}

// handle runs one connection's session, within the per-address limit.
func (s *Server) handle(c net.Conn, implicitTLS bool) {
	ip := netserve.RemoteIP(c.RemoteAddr())
	release, ok := func() {}, true
	if s.o.ProxyPeer == nil || !s.o.ProxyPeer(ip) {
		release, ok = s.ip.Admit(c)
	}
	if !ok {
		s.log.Info("too many connections", "remote", ip)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "* BYE [LIMIT] Too many connections from your address\r\n")
		return
	}
	defer release()
	sess := newSession(s, c, ip)
	defer s.releaseUser(sess)
	defer func() {
		if sess.unwatch != nil {
			sess.unwatch()
		}
	}()
	// Close begins: the session says BYE as soon as its current command
	// is done (at once when it is idle or waiting).
	defer context.AfterFunc(s.ending, sess.shutdown)()
	sess.serve(implicitTLS)
}

// serveConn starts a session on c outside any listener (tests over
// net.Pipe). The returned channel is closed when the session has ended.
func (s *Server) serveConn(c net.Conn, implicitTLS bool) <-chan struct{} {
	done := make(chan struct{})
	if !s.t.Run(c, func(c net.Conn) {
		defer close(done)
		s.handle(c, implicitTLS)
	}) {
		close(done)
	}
	return done
}

// releaseUser uncounts a session's user (at its end, or a login that
// failed late).
func (s *Server) releaseUser(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := sess.countedUser; u != "" {
		if s.perUser[u]--; s.perUser[u] <= 0 {
			delete(s.perUser, u)
		}
		if delete(s.users[u], sess); len(s.users[u]) == 0 {
			delete(s.users, u)
		}
		sess.countedUser = ""
	}
}

// admitUser counts an authenticated session of login against
// MaxConnectionsPerUser.
func (s *Server) admitUser(sess *session, login string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lim := s.o.MaxConnectionsPerUser; lim > 0 && s.perUser[login] >= lim {
		return false
	}
	s.perUser[login]++
	sess.countedUser = login
	if s.users[login] == nil {
		s.users[login] = map[*session]struct{}{}
	}
	s.users[login][sess] = struct{}{}
	return true
}

// EndUser ends every session of login served here as Close ends them
// all: a session waiting for a command (or in IDLE) is told
// "* BYE [code] text" at once, one in a command after answering it. It
// returns how many sessions were told. The sharded mode ends a user's
// sessions with [UNAVAILABLE] when the user's home node moved to another
// backend: clients reconnect, and the frontend routes them there.
func (s *Server) EndUser(login string, code imap.Code, text string) int {
	s.mu.Lock()
	ss := make([]*session, 0, len(s.users[login]))
	for sess := range s.users[login] {
		ss = append(ss, sess)
	}
	s.mu.Unlock()
	for _, sess := range ss {
		sess.end(code, text)
	}
	return len(ss)
}

// Close stops every listener and ends every session: each client gets
// "* BYE" as soon as its current command is done (at once when it is idle
// or waiting for input); the command in progress still completes. Close
// waits a few seconds for sessions to end, then cancels what still runs
// and closes their connections.
func (s *Server) Close() error { return s.t.CloseGently() }

func connID(n uint64) string { return strconv.FormatUint(n, 36) }
