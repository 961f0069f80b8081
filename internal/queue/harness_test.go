package queue_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

var sys = testenv.Sys

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	db    *sqlstore.DB
	q     *queue.Queue
	clock *clock
	opts  queue.Options
}

// openStore opens a fresh store (testenv.Backend()) with tenant acme
// (domain acme.test): alice (alias al@acme.test), bob, carol (who lets
// alice send as her) and dave (over his soft quota).
func openStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	s := testenv.Open(t, testenv.Options{BlobGrace: -1})
	db := s.DB
	s.Tenants(t, "acme")
	if err := db.AddDomain(sys, "acme", "acme.test"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"alice", "bob", "carol", "dave"} {
		u := store.User{Login: l, Active: true}
		if l == "alice" {
			u.Aliases = []string{"al@acme.test"}
		}
		s.User(t, "acme", u, "")
	}
	if _, err := db.UpdateUser(sys, "carol", store.UserUpdate{SendAsAdd: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	on, soft := true, int64(10)
	if _, err := db.UpdateUser(sys, "dave", store.UserUpdate{QuotaOverride: &on, QuotaSoft: &soft}); err != nil {
		t.Fatal(err)
	}
	inbox, err := mail.Inbox(sys, db, "dave")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendItem(sys, inbox, store.NewItem{Content: strings.NewReader("Subject: big\r\n\r\n" + strings.Repeat("x", 100) + "\r\n")}); err != nil {
		t.Fatal(err)
	}
	return db
}

// localDeliverer is what the app wires: mail.Deliverer behind the
// queue's LocalFunc.
func localDeliverer(b store.Backend) queue.LocalFunc {
	d := &mail.Deliverer{Store: b}
	return func(ctx context.Context, from string, rcpts []string, open func() (io.ReadCloser, error)) []error {
		errs := make([]error, len(rcpts))
		for i, r := range rcpts {
			users, err := b.Recipients(store.SystemContext(ctx), r)
			if err != nil {
				errs[i] = err
				continue
			}
			for _, res := range d.DeliverMessage(ctx, from, []mail.Recipient{{Addr: r, Users: users}}, open) {
				if res.Err != nil {
					errs[i] = res.Err
				}
			}
		}
		return errs
	}
}

func newEnv(t *testing.T, mod func(*queue.Options)) *env {
	t.Helper()
	db := openStore(t)
	ck := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	o := queue.Options{Store: db, Hostname: "mx.acme.test", Local: localDeliverer(db), Now: ck.Now,
		RetryBase: time.Minute, RetryMax: 10 * time.Minute, Lifetime: time.Hour, DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second}
	if mod != nil {
		mod(&o)
	}
	return &env{t: t, db: db, q: queue.New(o), clock: ck, opts: o}
}

func userCtx(t *testing.T, db store.Backend, login string) context.Context {
	t.Helper()
	p, err := db.Principal(sys, login)
	if err != nil {
		t.Fatal(err)
	}
	return store.WithPrincipal(context.Background(), p)
}

func (e *env) submit(login, from string, rcpts []string, msg string, mod ...func(*queue.Submission)) (queue.Result, error) {
	e.t.Helper()
	s := queue.Submission{From: from, Content: strings.NewReader(msg)}
	for _, r := range rcpts {
		s.Recipients = append(s.Recipients, queue.Recipient{Addr: r})
	}
	for _, m := range mod {
		m(&s)
	}
	return e.q.Submit(userCtx(e.t, e.db, login), s)
}

// folder returns the messages of a user's special folder.
func (e *env) folder(login, special string) []string {
	e.t.Helper()
	st, err := e.db.UserStore(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	fs, err := e.db.ListFolders(sys, st.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fs {
		if f.Special != special {
			continue
		}
		items, err := e.db.ListItems(sys, f.ID, 1, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			full, err := e.db.ItemByUID(sys, f.ID, it.UID)
			if err != nil {
				e.t.Fatal(err)
			}
			rc, err := e.db.OpenItem(sys, full.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			out = append(out, string(b))
			if special == store.SpecialSent && !strings.Contains(strings.Join(it.Flags, " "), `\Seen`) {
				e.t.Errorf("sent copy without \\Seen: %v", it.Flags)
			}
		}
		return out
	}
	e.t.Fatalf("%s has no %s folder", login, special)
	return nil
}

func (e *env) queueLen() int {
	e.t.Helper()
	ms, err := e.db.ListQueue(sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

// runDue delivers everything due now.
func (e *env) runDue() {
	e.t.Helper()
	if _, err := e.q.RunOnce(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// --- a test SMTP server playing MX or relay ---

type txn struct {
	From     string
	MailArgs string
	Rcpts    []string
	RcptArgs []string
	Data     string
	TLS      bool
	AuthUser string
}

type sink struct {
	t    *testing.T
	ln   net.Listener
	addr string
	port int
	// Behaviour; nil functions accept.
	ext      []string                 // extensions besides the defaults
	tlsCfg   *tls.Config              // offer STARTTLS (or implicit TLS)
	implicit bool                     // TLS from the first byte
	users    map[string]string        // AUTH PLAIN/LOGIN accounts
	mechs    string                   // advertised AUTH mechanisms ("" = "LOGIN PLAIN")
	rcpt     func(addr string) string // reply to RCPT ("" = 250)
	data     func(n int) string       // reply after data of transaction n ("" = 250)
	mu       sync.Mutex
	txns     []txn
	attempts int
}

func newSink(t *testing.T, mod func(*sink)) *sink {
	t.Helper()
	s := &sink{t: t, ext: []string{"PIPELINING", "8BITMIME", "SIZE 10000000", "DSN"}}
	if mod != nil {
		mod(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.addr, s.port = ln, ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *sink) transactions() []txn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]txn(nil), s.txns...)
}

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	s.mu.Lock()
	s.attempts++
	s.mu.Unlock()
	isTLS := false
	if s.implicit {
		tc := tls.Server(c, s.tlsCfg)
		if tc.Handshake() != nil {
			return
		}
		c, isTLS = tc, true
	}
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(l string) { w.WriteString(l + "\r\n"); w.Flush() }
	say("220 sink.test ESMTP")
	var cur txn
	authed := ""
	for {
		cmd, err := smtp.ReadCommand(r)
		if err != nil {
			return
		}
		switch cmd.Verb {
		case "EHLO":
			ext := append([]string{"sink.test"}, s.ext...)
			if s.tlsCfg != nil && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			if s.users != nil {
				m := s.mechs
				if m == "" {
					m = "LOGIN PLAIN"
				}
				ext = append(ext, "AUTH "+m)
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				w.WriteString("250" + sep + e + "\r\n")
			}
			w.Flush()
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, s.tlsCfg)
			if tc.Handshake() != nil {
				return
			}
			c, isTLS = tc, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
		case "AUTH":
			f := strings.Fields(cmd.Arg)
			if len(f) == 2 && strings.EqualFold(f[0], "PLAIN") {
				b, _ := base64.StdEncoding.DecodeString(f[1])
				p := strings.Split(string(b), "\x00")
				if len(p) == 3 && s.users[p[1]] == p[2] && p[2] != "" {
					authed = p[1]
					say("235 2.7.0 ok")
					continue
				}
			}
			if len(f) == 1 && strings.EqualFold(f[0], "LOGIN") {
				say("334 VXNlcm5hbWU6")
				u, _ := smtp.ReadLine(r, 1000)
				say("334 UGFzc3dvcmQ6")
				p, _ := smtp.ReadLine(r, 1000)
				ub, _ := base64.StdEncoding.DecodeString(string(u))
				pb, _ := base64.StdEncoding.DecodeString(string(p))
				if pw, ok := s.users[string(ub)]; ok && pw == string(pb) {
					authed = string(ub)
					say("235 2.7.0 ok")
					continue
				}
			}
			say("535 5.7.8 no")
		case "MAIL":
			if s.users != nil && authed == "" {
				say("530 5.7.0 auth first")
				continue
			}
			p, err := smtp.ParsePath(cmd.Arg, "FROM:")
			if err != nil {
				say("501 bad")
				continue
			}
			cur = txn{From: p.Addr, MailArgs: cmd.Arg, TLS: isTLS, AuthUser: authed}
			say("250 2.1.0 ok")
		case "RCPT":
			p, _ := smtp.ParsePath(cmd.Arg, "TO:")
			if s.rcpt != nil {
				if rep := s.rcpt(p.Addr); rep != "" {
					say(rep)
					continue
				}
			}
			cur.Rcpts = append(cur.Rcpts, p.Addr)
			cur.RcptArgs = append(cur.RcptArgs, cmd.Arg)
			say("250 2.1.5 ok")
		case "DATA":
			if len(cur.Rcpts) == 0 {
				say("554 5.5.1 no valid recipients")
				continue
			}
			say("354 go")
			b, err := io.ReadAll(smtp.NewDataReader(r, 0))
			if err != nil {
				return
			}
			cur.Data = string(b)
			s.mu.Lock()
			n := len(s.txns)
			s.txns = append(s.txns, cur)
			s.mu.Unlock()
			rep := ""
			if s.data != nil {
				rep = s.data(n)
			}
			if rep == "" {
				rep = "250 2.0.0 queued as X"
			}
			say(rep)
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 what")
		}
	}
}

// resolver answers MX queries for the test domains.
type resolver struct{ mx map[string][]*net.MX }

func (r resolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r resolver) LookupHost(_ context.Context, name string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func testCert() (tls.Certificate, *x509.CertPool) {
	c, pool, _ := testenv.Cert()
	return c, pool
}

func serverTLS() *tls.Config { return testenv.ServerTLS() }

func clientTLS() *tls.Config {
	_, pool := testCert()
	return &tls.Config{RootCAs: pool}
}

func isQueueErr(err error, code int) bool {
	var e *queue.Error
	return errors.As(err, &e) && e.Code == code
}

func msg(from, to, subject string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Thu, 01 Jan 2026 12:00:00 +0000\r\nMessage-ID: <%s@test>\r\n\r\nHello there.\r\n", from, to, subject, strings.ReplaceAll(subject, " ", "-"))
}
