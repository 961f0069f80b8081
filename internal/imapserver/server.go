package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// Errors an Authenticate function may return (wrapped or not) to choose the
// answer the client gets. Any other error is answered like ErrAuthFailed
// and logged.
var (
	// ErrAuthFailed: wrong login or password. NO [AUTHENTICATIONFAILED].
	ErrAuthFailed = errors.New("authentication failed")
	// ErrAuthDenied: the credentials are right but the account may not use
	// IMAP (feature disabled, non-active user). NO [AUTHORIZATIONFAILED].
	ErrAuthDenied = errors.New("authorization failed")
	// ErrAuthUnavailable: try again later (throttled, directory down).
	// NO [UNAVAILABLE].
	ErrAuthUnavailable = errors.New("authentication temporarily unavailable")
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
	// MaxMessageBytes is the APPENDLIMIT (RFC 7889); 0 takes
	// Limits.MaxLiteral or its default.
	MaxMessageBytes int64
	// Authenticate checks a login and password and returns the principal to
	// act as. The app does the password check, throttling and the per-user
	// feature gate here. Return ErrAuthFailed, ErrAuthDenied or
	// ErrAuthUnavailable (possibly wrapped) to choose the response.
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)

	// MaxConnectionsPerIP and MaxConnectionsPerUser bound simultaneous IMAP
	// connections from one IP address and authenticated sessions of one
	// user; 0 is no limit. (They count IMAP only; a limit across protocols
	// belongs in Authenticate and the app's listener.)
	MaxConnectionsPerIP   int
	MaxConnectionsPerUser int
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

// Server serves IMAP sessions. It is safe for concurrent use.
type Server struct {
	o   Options
	log *slog.Logger

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	perIP     map[string]int
	perUser   map[string]int
	wg        sync.WaitGroup
	connSeq   atomic.Uint64

	headers *headerCache // parsed headers for SEARCH and SORT
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		o: o, log: log.With("proto", "imap"), ctx: ctx, cancel: cancel,
		listeners: map[net.Listener]struct{}{}, sessions: map[*session]struct{}{},
		perIP: map[string]int{}, perUser: map[string]int{}, headers: newHeaderCache(headerCacheBytes),
		previews: newPreviewCache(previewCacheEntries), readers: sync.Pool{New: func() any { return bufio.NewReader(nil) }},
		writers: sync.Pool{New: func() any { return bufio.NewWriter(nil) }},
	}
}

// Serve accepts connections on ln until Close, one goroutine per
// connection. With implicitTLS every connection starts with a TLS handshake
// (port 993). It returns nil after Close, or the error that stopped
// accepting.
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	if implicitTLS && s.o.TLS == nil {
		return errors.New("imapserver: implicit TLS without a TLS configuration")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", err, "retry", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("imapserver: accept: %w", err)
		}
		delay = 0
		s.serveConn(c, implicitTLS)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// serveConn registers c and starts its session goroutine. The returned
// channel is closed when the session has ended.
func (s *Server) serveConn(c net.Conn, implicitTLS bool) <-chan struct{} {
	done := make(chan struct{})
	ip := remoteIP(c.RemoteAddr())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		close(done)
		return done
	}
	if lim := s.o.MaxConnectionsPerIP; lim > 0 && s.perIP[ip] >= lim {
		s.mu.Unlock()
		s.log.Info("too many connections", "remote", ip)
		go func() {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "* BYE [LIMIT] Too many connections from your address\r\n")
			c.Close()
			close(done)
		}()
		return done
	}
	s.perIP[ip]++
	sess := newSession(s, c, ip)
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer close(done)
		defer s.wg.Done()
		defer s.release(sess)
		sess.serve(implicitTLS)
	}()
	return done
}

// release forgets a finished session.
func (s *Server) release(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
	if s.perIP[sess.ip]--; s.perIP[sess.ip] <= 0 {
		delete(s.perIP, sess.ip)
	}
	s.releaseUserLocked(sess)
}

// releaseUser uncounts a session's user (a login that failed late).
func (s *Server) releaseUser(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseUserLocked(sess)
}

func (s *Server) releaseUserLocked(sess *session) {
	if sess.countedUser != "" {
		if s.perUser[sess.countedUser]--; s.perUser[sess.countedUser] <= 0 {
			delete(s.perUser, sess.countedUser)
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
	return true
}

// Close stops every listener and ends every session: each client gets
// "* BYE" as soon as its current command is done (at once when it is idle
// or waiting for input). Close waits a few seconds for sessions to end,
// then closes their connections.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	for ln := range s.listeners {
		if e := ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) {
			err = e
		}
	}
	for sess := range s.sessions {
		sess.shutdown()
	}
	s.mu.Unlock()
	s.cancel()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
		s.mu.Lock()
		for sess := range s.sessions {
			sess.conn().Close()
		}
		s.mu.Unlock()
		<-done
	}
	return err
}

func remoteIP(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func connID(n uint64) string { return strconv.FormatUint(n, 36) }
