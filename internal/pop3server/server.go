// Package pop3server serves POP3 (RFC 1939) with CAPA (RFC 2449), STLS
// (RFC 2595) and SASL PLAIN (RFC 5034) on the Inbox of the user's store.
//
// Invariants:
//   - UIDL is "<UIDVALIDITY>.<UID>" of the message in the Inbox, so it is
//     stable across sessions and restarts and never reused.
//   - DELE only marks; the marked messages are soft-deleted (restorable for
//     softdelete_lifetime) when the client ends the session with QUIT, and
//     not at all if the connection drops (RFC 1939 §6).
//   - Passwords are refused on a connection without TLS unless
//     allow_plaintext_auth is set; the capability list says so.
package pop3server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/store"
)

// Options configure a Server.
type Options struct {
	Store              store.Maildrop
	Logger             *slog.Logger
	TLS                *tls.Config // nil: no STLS and no implicit TLS
	Hostname           string
	AllowPlaintextAuth bool
	// Authenticate checks credentials (throttling and the "pop3" feature
	// gate included) and returns the principal to act as.
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// VerifyToken, when set, checks an OAuth 2.0 bearer token (SASL
	// OAUTHBEARER, RFC 7628, and XOAUTH2) as imapserver.Options'; nil:
	// the mechanisms are not offered.
	VerifyToken func(ctx context.Context, token, authzid string, remote net.Addr) (*store.Principal, error)

	// Sharded multi-server mode (proxy.go, docs/cluster.md), as for IMAP:
	// Route makes this server a frontend (the backend of a principal, ""
	// to serve it here), ProxyDial connects to a backend, ProxySecret is
	// the shared secret and ProxyLogin makes this server a backend.
	Route       func(ctx context.Context, p *store.Principal) (string, error)
	ProxyDial   func(ctx context.Context, addr string) (net.Conn, error)
	ProxySecret []byte
	ProxyLogin  func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error)
	// ProxyTLS (frontend) and ProxyClientCAs (backend) are mutual TLS
	// between them, as imapserver.Options': the frontend STLSes and
	// presents its client certificate; the backend then accepts the proxy
	// login only from a peer whose certificate chains to ProxyClientCAs.
	ProxyTLS       *tls.Config
	ProxyClientCAs *x509.CertPool
	// ProxyPeer, on a backend, reports whether a connection's address
	// (netserve.RemoteIP) is a frontend's, whose connections are not held
	// to MaxConnectionsPerIP (each client was counted by the frontend).
	ProxyPeer func(ip string) bool
	// GSSAPI, when set, starts a SASL GSSAPI (Kerberos, RFC 4752)
	// exchange: SASL GSSAPI is offered, with or without TLS (no password
	// crosses the wire).
	GSSAPI func(remote net.Addr) directory.SASLServer
	// IdleTimeout ends a session without commands for this long
	// (RFC 1939 §3: at least 10 minutes). Zero means 10 minutes.
	IdleTimeout time.Duration
	// MaxConnectionsPerIP bounds simultaneous sessions from one address;
	// 0 is no limit.
	MaxConnectionsPerIP int
	// OnCommand, when set, is told each command's verb and how long it
	// took (metrics); it must not block.
	OnCommand func(verb string, d time.Duration)
	// Watch, when set, is told of every session this server serves once
	// it is logged in (not of those a frontend passes on), with the
	// user's private store; the function it returns is called when the
	// session ends (imapserver.Options.Watch; EndUser).
	Watch func(p *store.Principal, storeID int64) (unwatch func())
	// CommandTimeout bounds the store and directory calls of one command
	// (its context's deadline), not the transfer of a message to the
	// client, which only writeTimeout per write bounds. Zero means 5
	// minutes.
	CommandTimeout time.Duration
}

// Limits of what a client can make a session hold.
const (
	maxLine        = 512 // RFC 2449 §4: 255 octets for a command with arguments; a little slack
	maxBadCommands = 10
	maxMessages    = 200000
	// writeTimeout bounds a write to a client that stopped reading.
	writeTimeout = 5 * time.Minute
)

// Server is a POP3 server.
type Server struct {
	o   Options
	log *slog.Logger
	t   netserve.Tracker
	ip  netserve.PerIP

	mu    sync.Mutex
	users map[string]map[*session]struct{} // logged-in sessions by login (EndUser)
}

// EndUser ends every session of login served here at its next command:
// the command is answered "-ERR [SYS/TEMP] text" and the connection
// closed, without entering the UPDATE state (RFC 1939 §6: messages
// marked for deletion stay), except QUIT, which is carried out. It
// returns how many sessions were told. The sharded mode calls it when the
// user's home node moved to another backend: the client's next
// connection goes there through the frontend.
func (s *Server) EndUser(login, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.users[login] {
		ss.endText.Store(&text)
	}
	return len(s.users[login])
}

func (s *Server) addUser(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == nil {
		s.users = map[string]map[*session]struct{}{}
	}
	if s.users[ss.who] == nil {
		s.users[ss.who] = map[*session]struct{}{}
	}
	s.users[ss.who][ss] = struct{}{}
}

func (s *Server) removeUser(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if delete(s.users[ss.who], ss); len(s.users[ss.who]) == 0 {
		delete(s.users, ss.who)
	}
}

// New returns a server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = 5 * time.Minute
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	return &Server{o: o, log: o.Logger, ip: netserve.PerIP{Max: o.MaxConnectionsPerIP}}
}

// Serve accepts connections on ln until Close. With implicitTLS every
// connection starts with a TLS handshake (port 995).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	if implicitTLS && s.o.TLS == nil {
		return errors.New("pop3s: no TLS certificate configured")
	}
	return s.t.Serve(ln, func(c net.Conn) {
		release, ok := func() {}, true
		if s.o.ProxyPeer == nil || !s.o.ProxyPeer(netserve.RemoteIP(c.RemoteAddr())) {
			release, ok = s.ip.Admit(c)
		}
		if !ok {
			// RFC 2449 §8.1.2: a temporary system problem, before any TLS.
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("-ERR [SYS/TEMP] too many connections from your address\r\n"))
			return
		}
		defer release()
		if implicitTLS {
			// Closing the tracked plain connection ends this one too.
			c = tls.Server(c, s.o.TLS)
		}
		s.handle(c, implicitTLS)
	})
}

// Close stops the listeners and ends every session.
func (s *Server) Close() error { return s.t.Close() }

func (s *Server) handle(c net.Conn, isTLS bool) {
	log := s.log.With("proto", "pop3", "conn", c.RemoteAddr().String())
	defer func() {
		if p := recover(); p != nil {
			log.Error("session panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if tc, ok := c.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(30 * time.Second))
		if err := tc.Handshake(); err != nil {
			log.Debug("TLS handshake failed", "err", err)
			return
		}
		tc.SetDeadline(time.Time{})
	}
	ss := &session{srv: s, conn: c, tls: isTLS, log: log, base: s.t.Context(),
		r: bufio.NewReaderSize(c, 4096), w: bufio.NewWriter(deadlineWriter{c})}
	defer func() {
		if ss.unwatch != nil {
			s.removeUser(ss)
			ss.unwatch()
		}
	}()
	ss.run()
}

// errLineTooLong is returned by readLine for an overlong command.
var errLineTooLong = errors.New("line too long")

// deadlineWriter extends the write deadline before every write, so a slow
// but live client can receive a large message while a stuck one is
// dropped.
type deadlineWriter struct{ c net.Conn }

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return d.c.Write(p)
}

func (ss *session) readLine() (string, error) { return ss.readLineMax(maxLine) }

// readLineMax reads a line of at most max bytes (a SASL response may be
// longer than a command).
func (ss *session) readLineMax(maxLine int) (string, error) {
	ss.conn.SetReadDeadline(time.Now().Add(ss.srv.o.IdleTimeout))
	var line []byte
	for {
		chunk, isPrefix, err := ss.r.ReadLine()
		if err != nil {
			return "", err
		}
		if len(line)+len(chunk) > maxLine {
			// Skip the rest of the line, then report.
			for isPrefix {
				if _, isPrefix, err = ss.r.ReadLine(); err != nil {
					return "", err
				}
			}
			return "", errLineTooLong
		}
		line = append(line, chunk...)
		if !isPrefix {
			return string(line), nil
		}
	}
}

func (ss *session) reply(format string, args ...any) error {
	fmt.Fprintf(ss.w, format+"\r\n", args...)
	return ss.w.Flush()
}
