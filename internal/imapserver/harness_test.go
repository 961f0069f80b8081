package imapserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// The black-box harness: a real server on 127.0.0.1:0 over a real store
// (internal/testenv: SQLite, or PostgreSQL with ROOST_TEST_BACKEND=postgres),
// and a small raw-IMAP client.

var sys = testenv.Sys

// cheapHash is an argon2id hash with tiny parameters (tests log in fast).
func cheapHash(pw string) string { return testenv.CheapHash(pw) }

func password(login string) string { return "secret-" + login }

type env struct {
	t       testing.TB
	db      *sqlstore.DB
	hub     *events.Hub
	srv     *imapserver.Server
	addr    string // STARTTLS listener
	tlsAddr string // implicit TLS listener
	client  *tls.Config
	opts    imapserver.Options
}

type envOpt func(*imapserver.Options)

// plaintextOff refuses passwords before TLS.
func plaintextOff(o *imapserver.Options) { o.AllowPlaintextAuth = false }

func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	c, pool, _ := testenv.Cert()
	return c, pool
}

// openStore opens a fresh store (testenv.Backend()) with tenants acme
// (alice, bob, carol) and globex (eve).
func openStore(t testing.TB, hub *events.Hub) *sqlstore.DB {
	return openStoreOn(t, "", hub)
}

func openStoreOn(t testing.TB, backend string, hub *events.Hub) *sqlstore.DB {
	t.Helper()
	o := testenv.Options{Backend: backend, BlobGrace: -1}
	if hub != nil {
		o.OnChange = hub.Publish
	}
	s := testenv.Open(t, o)
	s.Tenants(t, "acme", "globex")
	for _, u := range []struct{ tenant, login string }{{"acme", "alice"}, {"acme", "bob"}, {"acme", "carol"}, {"globex", "eve"}} {
		s.User(t, u.tenant, store.User{Login: u.login, Active: true}, password(u.login))
	}
	return s.DB
}

// authenticator is what the app supplies: password check, active users
// only, principal from the store.
func authenticator(b store.Backend) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return testenv.Authenticator(b, false)
}

func testLogger(t testing.TB) *slog.Logger { return testenv.Logger(t) }

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	return newEnvOn(t, "", opts...)
}

// newEnvOn is newEnv on a chosen backend ("" = testenv.Backend()).
func newEnvOn(t testing.TB, backend string, opts ...envOpt) *env {
	t.Helper()
	hub := events.NewHub()
	db := openStoreOn(t, backend, hub)
	o := imapserver.Options{
		Store: db, Events: hub, Logger: testLogger(t),
		TLS:      testenv.ServerTLS(),
		Hostname: "imap.test", AllowPlaintextAuth: true, MaxMessageBytes: 1 << 20,
		Authenticate: authenticator(db),
	}
	for _, f := range opts {
		f(&o)
	}
	srv := imapserver.New(o)
	srv.SetOnPanic(func(v any) { t.Errorf("panic in session: %v", v) })
	srv.SetIdlePoll(200 * time.Millisecond)
	ln, tln := testenv.Listen(t), testenv.Listen(t)
	e := &env{t: t, db: db, hub: hub, srv: srv, addr: ln.Addr().String(), tlsAddr: tln.Addr().String(),
		client: testenv.ClientTLS(), opts: o}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln, false) }()
	go func() { served <- srv.Serve(tln, true) }()
	t.Cleanup(func() {
		srv.Close()
		for range 2 {
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	})
	return e
}

// as returns a store context acting as login.
func (e *env) as(login string) context.Context {
	p, err := e.db.Principal(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	return store.WithPrincipal(context.Background(), p)
}

// folder returns a folder of login's store by special role or name.
func (e *env) folder(login, nameOrRole string) *store.Folder {
	e.t.Helper()
	ctx := e.as(login)
	st, err := e.db.UserStore(ctx, login)
	if err != nil {
		e.t.Fatal(err)
	}
	fs, err := e.db.ListFolders(ctx, st.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fs {
		if f.Special == nameOrRole || f.Name == nameOrRole {
			return f
		}
	}
	e.t.Fatalf("%s has no folder %q", login, nameOrRole)
	return nil
}

// deliver appends a message to a folder as the system (like LMTP).
func (e *env) deliver(folderID int64, msg string, flags ...string) *store.Item {
	e.t.Helper()
	it, err := e.db.AppendItem(sys, folderID, store.NewItem{Content: strings.NewReader(msg), Flags: flags})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

func testMsg(i int) string {
	return fmt.Sprintf("From: Sender %d <sender%d@example.test>\r\nTo: alice@acme.test\r\nSubject: message %d\r\n"+
		"Date: Mon, 2 Jan 2006 15:04:05 -0700\r\nMessage-ID: <m%d@example.test>\r\n\r\nBody of message %d\r\n", i, i, i, i, i)
}

// client is a raw IMAP client: it sends lines and reads responses, with
// literals folded into the line they belong to.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	n    int
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &client{t: e.t, conn: c, br: bufio.NewReader(c)}
	e.t.Cleanup(func() { c.Close() })
	if g := cl.line(); !strings.HasPrefix(g, "* OK ") {
		e.t.Fatalf("greeting %q", g)
	}
	return cl
}

func (e *env) dialTLS() *client {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.tlsAddr, e.client)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &client{t: e.t, conn: c, br: bufio.NewReader(c)}
	e.t.Cleanup(func() { c.Close() })
	if g := cl.line(); !strings.HasPrefix(g, "* OK ") {
		e.t.Fatalf("greeting %q", g)
	}
	return cl
}

// login connects and logs in as login.
func (e *env) login(login string) *client {
	e.t.Helper()
	c := e.dial()
	c.ok("LOGIN %s %s", login, password(login))
	return c
}

// selectBox logs in and selects a mailbox.
func (e *env) selectBox(login, mailbox string) *client {
	e.t.Helper()
	c := e.login(login)
	c.ok("SELECT %s", quote(mailbox))
	return c
}

func quote(s string) string { return strconv.Quote(s) }

// send writes raw bytes.
func (c *client) send(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

var litRE = regexp.MustCompile(`~?\{(\d+)\+?\}$`)

// line reads one response line, with the data of literals inlined (the
// CRLF after "{n}" dropped).
func (c *client) line() string {
	c.t.Helper()
	s, err := c.readLine(10 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return s
}

func (c *client) readLine(timeout time.Duration) (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	var out strings.Builder
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return out.String() + l, err
		}
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		out.WriteString(l)
		m := litRE.FindStringSubmatch(l)
		if m == nil {
			return out.String(), nil
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			return out.String(), err
		}
		out.Write(buf)
	}
}

// cmd sends a tagged command and returns the untagged responses and the
// tagged completion.
func (c *client) cmd(format string, args ...any) ([]string, string) {
	c.t.Helper()
	c.n++
	tag := fmt.Sprintf("a%d", c.n)
	c.send(tag + " " + fmt.Sprintf(format, args...) + "\r\n")
	return c.until(tag)
}

// until reads responses up to the completion tagged tag.
func (c *client) until(tag string) ([]string, string) {
	c.t.Helper()
	var lines []string
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			return lines, strings.TrimPrefix(l, tag+" ")
		}
		lines = append(lines, l)
	}
}

// ok runs a command that must succeed and returns its untagged responses.
func (c *client) ok(format string, args ...any) []string {
	c.t.Helper()
	lines, st := c.cmd(format, args...)
	if !strings.HasPrefix(st, "OK") {
		c.t.Fatalf("%s: got %q (untagged %q)", short(fmt.Sprintf(format, args...)), st, lines)
	}
	return lines
}

// fail runs a command that must fail with status st ("NO" or "BAD") and
// returns the completion text.
func (c *client) fail(st, format string, args ...any) string {
	c.t.Helper()
	lines, got := c.cmd(format, args...)
	if !strings.HasPrefix(got, st+" ") {
		c.t.Fatalf("%s: got %q, want %s (untagged %q)", short(fmt.Sprintf(format, args...)), got, st, lines)
	}
	return got
}

// expectClosed checks that the server closes the connection, after
// reading what it still sends.
func (c *client) expectClosed() []string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.readLine(10 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || isReset(err) {
				return lines
			}
			c.t.Fatalf("waiting for close: %v (lines %q)", err, lines)
		}
		lines = append(lines, l)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "closed")
}

// has reports whether some line contains every substring.
func has(lines []string, subs ...string) bool {
	for _, l := range lines {
		ok := true
		for _, s := range subs {
			if !strings.Contains(l, s) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func mustHave(t testing.TB, lines []string, subs ...string) {
	t.Helper()
	if !has(lines, subs...) {
		t.Fatalf("no line has %q in:\n%s", subs, strings.Join(lines, "\n"))
	}
}

func mustNotHave(t testing.TB, lines []string, subs ...string) {
	t.Helper()
	if has(lines, subs...) {
		t.Fatalf("a line has %q in:\n%s", subs, strings.Join(lines, "\n"))
	}
}

// lit is a literal as the test client shows it: "{n}" and the data.
func lit(s string) string { return fmt.Sprintf("{%d}%s", len(s), s) }

// short cuts a command for failure messages.
func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func dialRaw(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
