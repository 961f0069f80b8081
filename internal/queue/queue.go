package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// LocalFunc delivers a message to local recipients (addresses that
// store.Recipients resolves) and returns one error per recipient, nil
// for delivered. An error wrapping store.ErrOverQuota or store.ErrNotFound
// is permanent; any other is retried through the queue. open is called
// once per store written and must return a fresh reader each time. The app
// wires it to internal/mail's Deliverer. from is the envelope sender (""
// for the null sender), which Sieve and out-of-office answer to.
type LocalFunc func(ctx context.Context, from string, rcpts []string, open func() (io.ReadCloser, error)) []error

// Resolver finds mail exchangers; *net.Resolver implements it.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Relay is a smart host that receives all remote mail (Kopano smtp_server).
type Relay struct {
	Addr string // host:port
	// TLS is "starttls" (default: required, certificate verified),
	// "tls" (implicit TLS, e.g. port 465) or "none" (plain; no AUTH unless
	// AllowPlaintextAuth).
	TLS                string
	Username, Password string // AUTH PLAIN (or LOGIN) when Username != ""
	AllowPlaintextAuth bool
}

// Options configure a Queue.
type Options struct {
	// ArchiveOnSend and ArchiveSent are archive on send (Kopano §6.6.2):
	// while ArchiveOnSend reports true, a submission with a Sent copy
	// stores that copy and has ArchiveSent copy it into the sender's
	// archive store before the message is delivered or queued; it is
	// refused temporarily (451) when the archive cannot be written.
	ArchiveOnSend func() bool
	ArchiveSent   func(ctx context.Context, login string, folderID int64, uid uint32) error
	Store         store.Backend
	Logger        *slog.Logger
	// Hostname is the name in EHLO, Reporting-MTA and Received.
	Hostname string
	// MaxMessageBytes bounds a submitted message; 0 means 50 MiB.
	MaxMessageBytes int64
	// MaxRecipients bounds the recipients of one submission; 0 means 1000.
	MaxRecipients int
	Local         LocalFunc
	// Relay, when set, receives every remote recipient; otherwise the
	// spooler connects to each domain's MX.
	Relay *Relay
	// Resolver finds MX hosts; nil uses net.DefaultResolver.
	Resolver Resolver
	// MXPort is the port of MX hosts; 0 means 25 (tests use others).
	MXPort int
	// TLS is the base client TLS configuration (RootCAs for the relay);
	// nil uses the system roots.
	TLS *tls.Config
	// Workers is the number of concurrent deliveries; 0 means 4.
	Workers int
	// RetryBase and RetryMax shape the backoff: attempt n waits
	// RetryBase·2^(n-1), at most RetryMax. Defaults 5 minutes and 4 hours.
	RetryBase, RetryMax time.Duration
	// Lifetime is how long a message is retried; 0 means 5 days.
	Lifetime time.Duration
	// DelayWarning is how long a message waits before recipients that
	// asked for NOTIFY=DELAY get a "delayed" report; 0 means 4 hours.
	DelayWarning time.Duration
	// Lease is how long a claimed message stays invisible to other
	// workers; it must exceed one delivery attempt. 0 means 30 minutes.
	Lease time.Duration
	// Poll is how often the spooler looks for due messages besides being
	// woken by Submit; 0 means 30 seconds.
	Poll time.Duration
	// DialTimeout and CommandTimeout bound the SMTP client; 0 means 30
	// seconds and 5 minutes (RFC 5321 §4.5.3.2 asks for more on DATA;
	// the data timeout is 10 minutes).
	DialTimeout, CommandTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Queue is the outbound mail service. It is safe for concurrent use.
type Queue struct {
	o    Options
	log  *slog.Logger
	wake chan struct{}
}

// New returns a Queue. Run starts its spooler.
func New(o Options) *Queue {
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
		o.MaxRecipients = 1000
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.MXPort == 0 {
		o.MXPort = 25
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Minute
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 4 * time.Hour
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 5 * 24 * time.Hour
	}
	if o.DelayWarning <= 0 {
		o.DelayWarning = 4 * time.Hour
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 30 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Queue{o: o, log: o.Logger.With("proto", "queue"), wake: make(chan struct{}, 1)}
}

// MaxMessageBytes is the size limit Submit enforces (for SIZE in EHLO).
func (q *Queue) MaxMessageBytes() int64 { return q.o.MaxMessageBytes }

// Error is a refusal with the SMTP reply a submission adapter should give;
// other protocols use Msg. Temporary errors have a 4xx Code.
type Error struct {
	Code     int
	Enhanced string
	Msg      string
	Err      error // the cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s %s: %v", e.Code, e.Enhanced, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s %s", e.Code, e.Enhanced, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports a 4xx refusal.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

func reject(code int, enh, format string, args ...any) *Error {
	return &Error{Code: code, Enhanced: enh, Msg: fmt.Sprintf(format, args...)}
}

// AsError maps any error of Submit, CheckSender or CheckRecipient to an
// *Error: the store's sentinels to their SMTP meaning, anything else to a
// temporary failure (the caller logs it).
func AsError(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrPermission):
		return &Error{Code: 550, Enhanced: "5.7.1", Msg: "not permitted", Err: err}
	case errors.Is(err, store.ErrOverQuota):
		return &Error{Code: 552, Enhanced: "5.2.2", Msg: "mailbox over quota", Err: err}
	case errors.Is(err, store.ErrInvalid):
		return &Error{Code: 550, Enhanced: "5.6.0", Msg: "invalid message", Err: err}
	default:
		return &Error{Code: 451, Enhanced: "4.3.0", Msg: "temporary failure, try again later", Err: err}
	}
}

// Recipient is one envelope recipient with its DSN parameters (RFC 3461).
type Recipient struct {
	Addr   string
	Notify string // "" (default: FAILURE), "NEVER", or a list of SUCCESS,FAILURE,DELAY
	ORcpt  string // "rfc822;addr" (decoded), or ""
}

// Submission is a message a user sends.
type Submission struct {
	From       string // envelope sender
	Recipients []Recipient
	EnvID      string // DSN ENVID (decoded)
	Ret        string // DSN RET: "FULL", "HDRS" or ""
	Content    io.Reader
	// SentCopy puts a copy in the sender's Sent folder (\Seen). Clients
	// that save their own copy over IMAP would get two.
	SentCopy bool
}

// Result says where a submission went.
type Result struct {
	QueueID int64 // 0 when nothing was queued
	Local   int   // recipients delivered locally
	Queued  int   // recipients in the queue
}

// domainOf returns the lower-cased domain of an address.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// now is the queue's clock.
func (q *Queue) now() time.Time { return q.o.Now() }

// kick wakes the spooler.
func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
