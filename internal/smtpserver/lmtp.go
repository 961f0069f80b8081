// Package smtpserver serves LMTP (RFC 2033) for delivery from an MTA, and
// SMTP submission (RFC 6409, submission.go) for users' mail clients, which
// hands accepted messages to internal/queue.
//
// Invariants:
//   - Submission accepts AUTH only over TLS (unless configured), MAIL only
//     after AUTH, and answers 250 to DATA/BDAT LAST only once the queue has
//     taken the message durably (or delivered it locally).
//   - LMTP answers every accepted recipient separately after DATA, and a
//     250 for a recipient means the message is durably stored for it.
//   - Message data is read strictly (internal/proto/smtp): a bare CR or LF
//     rejects the message, closing the SMTP-smuggling door.
//   - Unknown recipients are refused at RCPT with 550 5.1.1; a store over
//     its hard quota gets 552 5.2.2 (452 4.2.2 if configured temporary).
package smtpserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/store"
)

// Options configure the LMTP server.
type Options struct {
	Store    store.Backend
	Logger   *slog.Logger
	Hostname string
	// MaxMessageBytes bounds a message (SIZE); 0 means 50 MiB.
	MaxMessageBytes int64
	// SpoolDir holds message data while it is delivered; "" = os.TempDir().
	SpoolDir string
	// QuotaTempFail answers an over-quota recipient with 452 4.2.2 (try
	// again later) instead of 552 5.2.2.
	QuotaTempFail bool
	IdleTimeout   time.Duration // 0 = 5 minutes
	// Deliverer runs the delivery pipeline (spam, Sieve, out-of-office,
	// hooks); nil = a plain mail.Deliverer on Store.
	Deliverer *mail.Deliverer
	// OnCommand, when set, is told each command's verb and how long it
	// took (metrics); it must not block.
	OnCommand func(verb string, d time.Duration)
	// Route, when set, makes this server a frontend of the sharded mode
	// (lmtp_proxy.go): it names the LMTP endpoint (host:port) of the home
	// backend of a recipient's users, or "" to deliver here.
	Route func(ctx context.Context, users []*store.User) (string, error)
	// Dial connects to a backend; nil uses a plain net.Dialer.
	Dial func(ctx context.Context, addr string) (net.Conn, error)

	// Service identity (mutual TLS, ssl_ca_file). TLS, when set, offers
	// STARTTLS (RFC 3207) on TCP connections; it should ask for client
	// certificates (tls.RequestClientCert). ClientCAs, when set, makes a
	// client certificate that chains to it required on TCP: MAIL is
	// refused with 530 until the session has STARTTLSed with one (the
	// unix socket, for a local MTA, is not held to it). RelayTLS, on a
	// frontend, makes relays to backends STARTTLS and present its client
	// certificate (ServerName is set to the backend's host when empty).
	TLS       *tls.Config
	ClientCAs *x509.CertPool
	RelayTLS  *tls.Config
}

const (
	maxRecipients  = 1000
	maxBadCommands = 10
	// rcptTimeout and deliveryTimeout bound the store work of a RCPT and
	// of a DATA (the context's deadline; the server's Close cancels it).
	rcptTimeout     = time.Minute
	deliveryTimeout = 10 * time.Minute
)

// LMTP is an LMTP server.
type LMTP struct {
	o   Options
	log *slog.Logger
	del *mail.Deliverer
	t   netserve.Tracker
	// relays are idle LMTP connections to backends (lmtp_proxy.go).
	relays relayPool
	// routes are recent routes of relayed recipients (lmtp_proxy.go).
	routes routeCache
}

// NewLMTP returns an LMTP server.
func NewLMTP(o Options) *LMTP {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 50 << 20
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	log := o.Logger.With("proto", "lmtp")
	del := o.Deliverer
	if del == nil {
		del = &mail.Deliverer{Store: o.Store, Log: log}
	}
	// Close lets a delivery in progress finish for up to five seconds
	// before it is cut (the MTA retries what it was not answered for);
	// sessions waiting for a command say 421 at once.
	return &LMTP{o: o, log: log, del: del, t: netserve.Tracker{Grace: 5 * time.Second}}
}

// Serve accepts connections on ln (TCP or unix socket) until Close.
func (l *LMTP) Serve(ln net.Listener, _ bool) error { return l.t.Serve(ln, l.handle) }

// Close stops accepting and ends the sessions.
func (l *LMTP) Close() error {
	err := l.t.CloseGently()
	l.relays.closeAll()
	return err
}

type rcpt struct {
	addr  string
	users []*store.User
	// contacts are the addresses of a group's contact members: the
	// message goes out to them (mail.Deliverer.Forward) where the group
	// is delivered.
	contacts []string
	// failed: forwarding to the contacts failed; the recipient gets a
	// temporary failure and nothing is delivered for it.
	failed bool
	// backend is the LMTP endpoint the recipient is relayed to (sharded
	// mode, lmtp_proxy.go); "" delivers here.
	backend string
	arg     string // the RCPT argument, relayed as given
}

type lsession struct {
	l    *LMTP
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	log  *slog.Logger
	lhlo bool
	from *smtp.Path
	// fromArg is the MAIL argument, relayed as given (lmtp_proxy.go).
	fromArg string
	rcpts   []rcpt
	bad     int
	// tls: the session STARTTLSed; peer is the common name of its
	// verified client certificate ("" when none, or not verified).
	tls  bool
	peer string
}

// unix reports whether the session came through the unix socket.
func (s *lsession) unix() bool {
	return s.c.RemoteAddr() == nil || s.c.RemoteAddr().Network() == "unix"
}

// startTLS is STARTTLS (RFC 3207) on LMTP; false ends the session.
func (s *lsession) startTLS(arg string) bool {
	if s.l.o.TLS == nil || s.tls || s.unix() {
		return !s.fail(502, "5.5.1", "STARTTLS not available")
	}
	if arg != "" {
		return !s.fail(501, "5.5.4", "STARTTLS takes no argument")
	}
	if s.r.Buffered() > 0 {
		// Bytes sent behind STARTTLS came in the clear: never commands.
		s.log.Info("command pipelined after STARTTLS; closing")
		s.reply(554, "5.5.1", "commands pipelined after STARTTLS")
		return false
	}
	s.reply(220, "2.0.0", "ready to start TLS")
	tc := tls.Server(s.c, s.l.o.TLS)
	ctx, cancel := context.WithTimeout(s.l.t.Context(), 30*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Info("TLS handshake failed", "err", err)
		return false
	}
	s.c, s.tls = tc, true
	s.r, s.w = bufio.NewReaderSize(tc, 64*1024), bufio.NewWriter(tc)
	s.lhlo = false // RFC 3207 §4.2: forget what the client said before
	s.reset()
	if s.l.o.ClientCAs != nil {
		name, err := netserve.VerifyClientCert(tc, s.l.o.ClientCAs)
		if err != nil {
			s.log.Warn("LMTP client certificate refused", "err", err)
		} else {
			s.peer = name
			s.log = s.log.With("peer", name)
		}
	}
	return true
}

func (l *LMTP) handle(c net.Conn) {
	s := &lsession{l: l, c: c, r: bufio.NewReaderSize(c, 64*1024), w: bufio.NewWriter(c),
		log: l.log.With("conn", c.RemoteAddr().String())}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("session panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	s.reply(220, "", "%s LMTP Roost ready", l.o.Hostname)
	// Shutting down (or draining) wakes a session waiting for a command,
	// which answers 421 (RFC 5321 §3.8, RFC 2033 §4.2); the command in
	// progress (a DATA being received and delivered, too) completes first,
	// within the Tracker's grace.
	ctx := l.t.Ending()
	// Only a session waiting for a command is woken: a message being
	// received is not cut short.
	var waiting atomic.Bool
	defer context.AfterFunc(ctx, func() {
		if waiting.Load() {
			c.SetReadDeadline(time.Now())
		}
	})()
	for {
		c.SetReadDeadline(time.Now().Add(l.o.IdleTimeout))
		waiting.Store(true)
		if ctx.Err() != nil {
			s.reply(421, "4.3.2", "%s shutting down, try again later", l.o.Hostname)
			return
		}
		cmd, err := smtp.ReadCommand(s.r)
		waiting.Store(false)
		if errors.Is(err, smtp.ErrLineTooLong) {
			if s.fail(500, "5.5.2", "line too long") {
				return
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				s.reply(421, "4.3.2", "%s shutting down, try again later", l.o.Hostname)
			}
			return
		}
		start := time.Now()
		more := s.command(cmd)
		if l.o.OnCommand != nil {
			l.o.OnCommand(cmd.Verb, time.Since(start))
		}
		if !more {
			return
		}
	}
}

func (s *lsession) reply(code int, enh, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if enh != "" {
		text = enh + " " + text
	}
	fmt.Fprintf(s.w, "%d %s\r\n", code, text)
	s.w.Flush()
}

// fail answers a bad command; it returns true when the session must end.
func (s *lsession) fail(code int, enh, msg string) bool {
	s.bad++
	if s.bad >= maxBadCommands {
		s.reply(421, "4.7.0", "too many errors, closing connection")
		return true
	}
	s.reply(code, enh, "%s", msg)
	return false
}

func (s *lsession) reset() {
	s.from, s.rcpts = nil, nil
}

// command handles one command; false ends the session.
func (s *lsession) command(cmd smtp.Command) bool {
	switch cmd.Verb {
	case "LHLO":
		if cmd.Arg == "" {
			return !s.fail(501, "5.5.4", "LHLO needs a host name")
		}
		s.reset()
		s.lhlo = true
		starttls := ""
		if s.l.o.TLS != nil && !s.tls && !s.unix() {
			starttls = "250-STARTTLS\r\n"
		}
		fmt.Fprintf(s.w, "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n%s250 SIZE %d\r\n",
			s.l.o.Hostname, starttls, s.l.o.MaxMessageBytes)
		s.w.Flush()
	case "STARTTLS":
		return s.startTLS(cmd.Arg)
	case "HELO", "EHLO":
		// RFC 2033 §4.1: LMTP clients greet with LHLO.
		return !s.fail(500, "5.5.1", "this is LMTP: use LHLO")
	case "MAIL":
		if !s.lhlo {
			return !s.fail(503, "5.5.1", "LHLO first")
		}
		if s.from != nil {
			return !s.fail(503, "5.5.1", "nested MAIL command")
		}
		if s.l.o.ClientCAs != nil && s.peer == "" && !s.unix() {
			if !s.tls {
				return !s.fail(530, "5.7.0", "must issue a STARTTLS command first")
			}
			return !s.fail(530, "5.7.0", "a client certificate of this cluster's CA is required")
		}
		p, err := smtp.ParsePath(cmd.Arg, "FROM:")
		if err != nil {
			return !s.fail(501, "5.1.7", "bad sender address: "+err.Error())
		}
		if v, ok := p.Params["SIZE"]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return !s.fail(501, "5.5.4", "bad SIZE")
			}
			if n > s.l.o.MaxMessageBytes {
				s.reply(552, "5.3.4", "message size exceeds the limit of %d bytes", s.l.o.MaxMessageBytes)
				return true
			}
		}
		s.from, s.fromArg = &p, cmd.Arg
		s.reply(250, "2.1.0", "sender ok")
	case "RCPT":
		if s.from == nil {
			return !s.fail(503, "5.5.1", "MAIL first")
		}
		if len(s.rcpts) >= maxRecipients {
			s.reply(452, "4.5.3", "too many recipients")
			return true
		}
		p, err := smtp.ParsePath(cmd.Arg, "TO:")
		if err != nil || p.Addr == "" {
			return !s.fail(501, "5.1.3", "bad recipient address")
		}
		if r, ok := s.l.routes.get(p.Addr, time.Now()); ok && s.l.o.Route != nil {
			r.arg = cmd.Arg
			s.rcpts = append(s.rcpts, r)
			s.reply(250, "2.1.5", "<%s> ok", p.Addr)
			return true
		}
		ctx, cancel := context.WithTimeout(s.l.t.Context(), rcptTimeout)
		defer cancel()
		users, err := s.l.o.Store.Recipients(store.SystemContext(ctx), p.Addr)
		var contacts []string
		if errors.Is(err, store.ErrNotFound) || err == nil && !(len(users) == 1 && users[0].OwnsAddress(p.Addr)) {
			// A group: its contact members (a group of contacts only
			// has no users).
			var cerr error
			if contacts, cerr = s.l.o.Store.RecipientContacts(store.SystemContext(ctx), p.Addr); cerr != nil {
				err = cerr
			} else if len(contacts) > 0 && errors.Is(err, store.ErrNotFound) {
				err = nil
			}
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.reply(550, "5.1.1", "<%s>: no such user here", p.Addr)
			return true
		case err != nil:
			s.log.Error("resolve recipient", "rcpt", p.Addr, "err", err)
			s.reply(451, "4.3.0", "<%s>: temporary failure, try again later", p.Addr)
			return true
		}
		r := rcpt{addr: p.Addr, users: users, contacts: contacts, arg: cmd.Arg}
		if s.l.o.Route != nil {
			if r.backend, err = s.l.o.Route(ctx, users); err != nil {
				s.log.Error("route recipient to its home backend", "rcpt", p.Addr, "err", err)
				s.reply(451, "4.3.0", "<%s>: temporary failure, try again later", p.Addr)
				return true
			}
			if r.backend != "" {
				s.l.routes.put(p.Addr, r, time.Now())
			}
		}
		s.rcpts = append(s.rcpts, r)
		s.reply(250, "2.1.5", "<%s> ok", p.Addr)
	case "DATA":
		if len(s.rcpts) == 0 {
			return !s.fail(503, "5.5.1", "no valid recipients")
		}
		s.data()
		s.reset()
	case "BDAT":
		return !s.fail(502, "5.5.1", "CHUNKING is not supported over LMTP")
	case "RSET":
		s.reset()
		s.reply(250, "2.0.0", "ok")
	case "NOOP":
		s.reply(250, "2.0.0", "ok")
	case "VRFY":
		s.reply(252, "2.5.0", "cannot verify, but will accept and attempt delivery")
	case "QUIT":
		s.reply(221, "2.0.0", "bye")
		return false
	default:
		return !s.fail(500, "5.5.2", "unknown command")
	}
	return true
}

// data reads the message into a spool file and delivers it, answering once
// per recipient (RFC 2033 §4.2).
func (s *lsession) data() {
	s.reply(354, "", "send the message, end with <CRLF>.<CRLF>")
	s.c.SetReadDeadline(time.Now().Add(30 * time.Minute))
	d := smtp.NewDataReader(s.r, s.l.o.MaxMessageBytes)
	sp, err := spoolData(s.l.o.SpoolDir, d)
	defer sp.remove()
	var se *spoolError
	switch {
	case errors.As(err, &se):
		s.log.Error("spool", "err", err)
		if d.Drain(s.l.o.MaxMessageBytes*2) != nil {
			s.c.Close()
			return
		}
		s.each(451, "4.3.0", "temporary failure, try again later")
		return
	case errors.Is(err, smtp.ErrBareLineEnding):
		if d.Drain(s.l.o.MaxMessageBytes*2) != nil {
			s.c.Close()
			return
		}
		s.each(550, "5.6.0", "message contains a bare CR or LF; refused")
		return
	case errors.Is(err, smtp.ErrTooBig):
		// Read the rest to answer properly, but only up to another
		// MaxMessageBytes: a client that keeps sending is cut off.
		if d.Drain(s.l.o.MaxMessageBytes) != nil {
			s.reply(552, "5.3.4", "message exceeds the size limit; closing connection")
			s.c.Close()
			return
		}
		s.each(552, "5.3.4", "message exceeds the size limit")
		return
	case err != nil:
		s.log.Warn("reading message data", "err", err)
		s.c.Close()
		return
	}
	open := sp.open
	ctx, cancel := context.WithTimeout(s.l.t.Context(), deliveryTimeout)
	defer cancel()
	// A group delivered here goes out to its contact members first (a
	// relayed one is the backend's to forward): if that fails, the
	// recipient fails temporarily before anything is delivered for it,
	// and the client's retry duplicates nothing.
	for i := range s.rcpts {
		r := &s.rcpts[i]
		if r.backend != "" || len(r.contacts) == 0 {
			continue
		}
		if _, err := s.l.del.Forward(ctx, &s.from.Addr, r.addr, r.contacts, open); err != nil {
			s.log.Error("forward to a group's contacts", "rcpt", r.addr, "err", err)
			r.failed = true
		}
	}
	// Recipients whose home is another backend are relayed there, one
	// transaction per backend, while the others are delivered here; each
	// keeps its own reply (RFC 2033 §4.2).
	relayed := s.relay(ctx, open)
	var rcpts []mail.Recipient
	for _, r := range s.rcpts {
		if r.backend == "" && !r.failed {
			rcpts = append(rcpts, mail.Recipient{Addr: r.addr, Users: r.users})
		}
	}
	byUser := map[int64]mail.Result{}
	if len(rcpts) > 0 {
		for _, r := range s.l.del.DeliverMessage(ctx, s.from.Addr, rcpts, open) {
			byUser[r.User.ID] = r
		}
	}
	replies := relayed()
	for i, r := range s.rcpts {
		if r.backend != "" {
			s.w.WriteString(replies[i])
			continue
		}
		if r.failed {
			s.reply(451, "4.3.0", "<%s> temporary failure, try again later", r.addr)
			continue
		}
		s.replyFor(r, byUser)
	}
	s.w.Flush()
}

// spoolInMemory is the size up to which a message is kept in memory;
// a larger one goes to a file in the spool directory. Most mail is
// smaller: it then costs no file to create, write, open, read and
// remove (a frontend relaying it reads it once more).
const spoolInMemory = 128 << 10

// spooled is a message read from the client: in memory, or in a file.
type spooled struct {
	mem []byte
	f   *os.File
}

// open returns a reader of the message, once per delivery or relay.
func (sp *spooled) open() (io.ReadCloser, error) {
	if sp.f == nil {
		return io.NopCloser(bytes.NewReader(sp.mem)), nil
	}
	return os.Open(sp.f.Name())
}

// remove deletes the spool file, if any.
func (sp *spooled) remove() {
	if sp.f != nil {
		sp.f.Close()
		os.Remove(sp.f.Name())
	}
}

// spoolError is a failure of the spool file (not of the client's data):
// a temporary failure for every recipient.
type spoolError struct{ err error }

func (e *spoolError) Error() string { return "spool: " + e.err.Error() }
func (e *spoolError) Unwrap() error { return e.err }

// spoolWriter tags the spool file's write errors.
type spoolWriter struct{ f *os.File }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &spoolError{err}
	}
	return n, err
}

// spoolData reads the message from d: into memory up to spoolInMemory,
// else into a file of dir. The result is never nil (remove it); an error
// is the data's (smtp.ErrTooBig, …) or a *spoolError.
func spoolData(dir string, d io.Reader) (*spooled, error) {
	sp := &spooled{}
	mem, err := io.ReadAll(io.LimitReader(d, spoolInMemory+1))
	if err != nil || len(mem) <= spoolInMemory {
		sp.mem = mem
		return sp, err
	}
	f, err := os.CreateTemp(dir, "lmtp-*")
	if err != nil {
		return sp, &spoolError{err}
	}
	sp.f = f
	if _, err := (spoolWriter{f}).Write(mem); err != nil {
		return sp, err
	}
	_, err = io.Copy(spoolWriter{f}, d)
	return sp, err
}

// replyFor answers one recipient. A group recipient succeeds when every
// member got the message; when only some did, it still answers 250 (a
// retry would duplicate the message for the others) and logs the failures.
func (s *lsession) replyFor(r rcpt, byUser map[int64]mail.Result) {
	var failed []mail.Result
	for _, u := range r.users {
		if res := byUser[u.ID]; res.Err != nil {
			failed = append(failed, res)
		}
	}
	var rej *mail.RejectError
	switch {
	case len(failed) == 0:
		s.reply(250, "2.0.0", "<%s> delivered", r.addr)
	case len(failed) == len(r.users) && errors.As(failed[0].Err, &rej):
		// RFC 5429 §2.1: a Sieve reject refuses this recipient only.
		s.reply(550, "5.7.1", "<%s> %s", r.addr, rejectText(rej.Reason))
	case len(failed) < len(r.users):
		s.log.Warn("group delivery partly failed", "rcpt", r.addr, "failed", len(failed), "of", len(r.users))
		s.reply(250, "2.0.0", "<%s> delivered to %d of %d members", r.addr, len(r.users)-len(failed), len(r.users))
	case errors.Is(failed[0].Err, store.ErrOverQuota):
		if s.l.o.QuotaTempFail {
			s.reply(452, "4.2.2", "<%s> mailbox full, try again later", r.addr)
		} else {
			s.reply(552, "5.2.2", "<%s> mailbox full", r.addr)
		}
	default:
		s.reply(451, "4.3.0", "<%s> temporary failure, try again later", r.addr)
	}
}

// rejectText makes a Sieve reject reason safe for a reply line.
func rejectText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 400 {
		s = strings.ToValidUTF8(s[:400], "")
	}
	return s
}

// each gives every recipient the same answer.
func (s *lsession) each(code int, enh, msg string) {
	for _, r := range s.rcpts {
		s.reply(code, enh, "<%s> %s", r.addr, msg)
	}
}
