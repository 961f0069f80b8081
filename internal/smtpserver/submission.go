package smtpserver

// SMTP submission (RFC 6409) on 587 with STARTTLS (RFC 3207) and 465 with
// implicit TLS (RFC 8314).
//
// Invariants:
//   - Nothing but EHLO/HELO, STARTTLS, AUTH, NOOP, RSET and QUIT works
//     before authentication (MAIL → 530 5.7.0); AUTH is refused without
//     TLS unless AllowPlaintextAuth (530 5.7.0), and not advertised there.
//   - Bytes pipelined behind STARTTLS are never read as commands: the
//     session is dropped (CVE-2011-0411).
//   - A 250 after DATA or BDAT LAST means queue.Submit returned: the
//     message is delivered locally or durably queued for every recipient.
//   - Message data is read strictly: bare CR or LF refuses the message, and
//     the session stays in sync.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/mail/urlauth"
	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// Submitter is the outbound mail service (*queue.Queue).
type Submitter interface {
	CheckSender(ctx context.Context, from string) error
	CheckRecipient(ctx context.Context, rcpt string) error
	Submit(ctx context.Context, m queue.Submission) (queue.Result, error)
}

// SubmissionOptions configure the submission server.
type SubmissionOptions struct {
	Queue    Submitter
	Logger   *slog.Logger
	Hostname string
	// TLS serves STARTTLS and implicit TLS; nil disables both.
	TLS *tls.Config
	// AllowPlaintextAuth allows AUTH on a connection without TLS.
	AllowPlaintextAuth bool
	// Authenticate checks a login and password (see imapserver.Options).
	Authenticate func(ctx context.Context, login, password string, remote net.Addr) (*store.Principal, error)
	// VerifyToken, when set, checks an OAuth 2.0 bearer token (SASL
	// OAUTHBEARER, RFC 7628, and XOAUTH2) as imapserver.Options'; nil:
	// the mechanisms are not offered.
	VerifyToken func(ctx context.Context, token, authzid string, remote net.Addr) (*store.Principal, error)
	// GSSAPI, when set, starts a SASL GSSAPI (Kerberos, RFC 4752)
	// exchange: AUTH GSSAPI is offered where AUTH is.
	GSSAPI func(remote net.Addr) directory.SASLServer
	// MaxMessageBytes is SIZE; 0 means 50 MiB. Keep it at or below the
	// queue's limit.
	MaxMessageBytes int64
	// MaxRecipients per message; 0 means 100.
	MaxRecipients int
	// MaxHeaderBytes bounds the message header section; 0 means 1 MiB.
	MaxHeaderBytes int64
	// SpoolDir holds message data while it is received; "" = os.TempDir().
	SpoolDir string
	// SentCopy stores a copy of each message in the sender's Sent folder.
	SentCopy    bool
	IdleTimeout time.Duration // 0 = 5 minutes
	// MaxConnectionsPerIP bounds simultaneous sessions from one address;
	// 0 is no limit.
	MaxConnectionsPerIP int
	// URLs resolves the IMAP URLs of BURL (RFC 4468); nil: no BURL.
	URLs *urlauth.Resolver
	// OnCommand, when set, is told each command's verb and how long it
	// took (metrics); it must not block.
	OnCommand func(verb string, d time.Duration)
}

// Limits of a session.
const (
	maxLineSubmission  = 1000 // RFC 5321 §4.5.3.1.5 text line, CRLF excluded (998 + slack)
	maxSubAuthLine     = 12288
	maxSubBad          = 10 // bad commands before 421
	maxSubAuthFailures = 3
)

// Submission is an SMTP submission server.
type Submission struct {
	o   SubmissionOptions
	log *slog.Logger
	t   netserve.Tracker
	ip  netserve.PerIP
	mu  sync.Mutex
	ctx context.Context // the Tracker's: cancelled by Close
}

// NewSubmission returns a submission server.
func NewSubmission(o SubmissionOptions) *Submission {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 50 << 20
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = 100
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 1 << 20
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	s := &Submission{o: o, log: o.Logger.With("proto", "submission"), ip: netserve.PerIP{Max: o.MaxConnectionsPerIP},
		t: netserve.Tracker{Grace: 5 * time.Second}} // a command in progress finishes, then 421 (handle)
	s.ctx = s.t.Context()
	return s
}

// Serve accepts connections on ln until Close; implicitTLS starts each
// with a TLS handshake (port 465).
func (s *Submission) Serve(ln net.Listener, implicitTLS bool) error {
	return s.t.Serve(ln, func(c net.Conn) {
		release, ok := s.ip.Admit(c)
		if !ok {
			// RFC 5321 §3.8: 421 and close, before any TLS handshake.
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("421 4.7.0 Too many connections from your address\r\n"))
			return
		}
		defer release()
		s.handle(c, implicitTLS)
	})
}

// Close stops accepting and ends the sessions.
func (s *Submission) Close() error { return s.t.CloseGently() }

type subRcpt struct {
	addr   string
	notify string
	orcpt  string
}

type subSession struct {
	srv      *Submission
	o        *SubmissionOptions
	c        net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	log      *slog.Logger
	tls      bool
	helo     bool
	esmtp    bool // greeted with EHLO
	heloName string
	p        *store.Principal
	ctx      context.Context // carries p once authenticated
	from     *string
	envID    string
	ret      string
	utf8     bool // SMTPUTF8 on MAIL (RFC 6531)
	rcpts    []subRcpt
	bad      int
	fails    int
	chunks   *chunkState // BDAT in progress
}

func (s *Submission) handle(c net.Conn, implicitTLS bool) {
	ss := &subSession{srv: s, o: &s.o, c: c, ctx: s.ctx,
		log: s.log.With("conn", c.RemoteAddr().String())}
	defer func() {
		if p := recover(); p != nil {
			ss.log.Error("session panicked", "panic", p, "stack", string(debug.Stack()))
		}
		ss.abortChunks()
		if ss.c != c { // the TLS connection that replaced c
			ss.c.Close()
			s.t.Untrack(ss.c)
		}
	}()
	if implicitTLS {
		if s.o.TLS == nil {
			ss.log.Error("implicit TLS listener without a certificate")
			return
		}
		tc := tls.Server(c, s.o.TLS)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if err := tc.HandshakeContext(s.ctx); err != nil {
			ss.log.Debug("TLS handshake", "err", err)
			return
		}
		c.SetDeadline(time.Time{})
		if !s.t.Track(tc) {
			return
		}
		ss.c, ss.tls = tc, true
	}
	ss.r, ss.w = bufio.NewReaderSize(ss.c, 64<<10), bufio.NewWriter(ss.c)
	ss.reply(220, "", "%s ESMTP Roost submission ready", s.o.Hostname)
	// A server shutting down (or a drained node at the end of its grace
	// period) wakes a session waiting for a command, which answers 421
	// (RFC 5321 §3.8). c is the TCP connection under any TLS.
	ending := s.t.Ending()
	// Only a session waiting for a command is woken: a message being
	// received is not cut short.
	var waiting atomic.Bool
	defer context.AfterFunc(ending, func() {
		if waiting.Load() {
			c.SetReadDeadline(time.Now())
		}
	})()
	for {
		ss.c.SetReadDeadline(time.Now().Add(s.o.IdleTimeout))
		waiting.Store(true)
		if ending.Err() != nil {
			ss.reply(421, "4.3.2", "%s shutting down, try again later", s.o.Hostname)
			return
		}
		cmd, err := smtp.ReadCommandMax(ss.r, maxLineSubmission)
		waiting.Store(false)
		if errors.Is(err, smtp.ErrLineTooLong) {
			if ss.fail(500, "5.5.2", "line too long") {
				return
			}
			continue
		}
		if err != nil {
			if ending.Err() != nil {
				ss.reply(421, "4.3.2", "%s shutting down, try again later", s.o.Hostname)
			}
			return
		}
		start := time.Now()
		more := ss.command(cmd)
		if s.o.OnCommand != nil {
			s.o.OnCommand(cmd.Verb, time.Since(start))
		}
		if !more {
			return
		}
	}
}

func (ss *subSession) reply(code int, enh, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if enh != "" {
		text = enh + " " + text
	}
	fmt.Fprintf(ss.w, "%d %s\r\n", code, text)
	// PIPELINING (RFC 2920 §3.2): replies may wait while more commands
	// are buffered; flush when the client waits for us.
	if ss.r.Buffered() == 0 || code >= 400 || code == 354 || code == 334 {
		ss.w.Flush()
	}
}

// fail answers a bad command; true means the session must end.
func (ss *subSession) fail(code int, enh, msg string) bool {
	ss.bad++
	if ss.bad >= maxSubBad {
		ss.reply(421, "4.7.0", "too many errors, closing connection")
		return true
	}
	ss.reply(code, enh, "%s", msg)
	return false
}

func (ss *subSession) reset() {
	ss.from, ss.rcpts, ss.envID, ss.ret, ss.utf8 = nil, nil, "", "", false
	ss.abortChunks()
}

// sanitize keeps a client string printable for logs.
func subSanitize(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// spoolFile creates a spool file for message data.
func (ss *subSession) spoolFile() (*os.File, error) {
	return os.CreateTemp(ss.o.SpoolDir, "submission-*")
}
