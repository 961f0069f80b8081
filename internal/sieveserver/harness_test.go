package sieveserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

var sys = testenv.Sys

// cheapHash is an argon2id hash with tiny parameters (tests log in fast).
func cheapHash(pw string) string { return testenv.CheapHash(pw) }

func password(login string) string { return "secret-" + login }

// certPEM is the test certificate (a self-signed CA) for outside clients.
var certPEM = func() []byte { _, _, p := testenv.CACert(); return p }()

func testCert() (tls.Certificate, *x509.CertPool) {
	c, pool, _ := testenv.CACert()
	return c, pool
}

type env struct {
	t    testing.TB
	db   *sqlstore.DB
	srv  *sieveserver.Server
	addr string
	dir  string
}

// openStore opens a fresh store (testenv.Backend()) with tenant acme
// (alice, bob) and returns it and the test's directory.
func openStore(t testing.TB) (*sqlstore.DB, string) {
	t.Helper()
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	for _, l := range []string{"alice", "bob"} {
		s.User(t, "acme", store.User{Login: l, Active: true}, password(l))
	}
	return s.DB, s.Dir
}

// authenticator checks the password (inactive users too) and returns the
// principal from the store.
func authenticator(b store.Backend) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return testenv.Authenticator(b, true)
}

// testLogger is a logger for code under test that has no test at hand:
// silent, or standard error with ROOST_TEST_LOG=debug. newEnv logs to the
// test's log (testenv.Logger).
func testLogger() *slog.Logger {
	if os.Getenv("ROOST_TEST_LOG") == "debug" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t testing.TB, mod func(*sieveserver.Options)) *env {
	t.Helper()
	db, dir := openStore(t)
	cert, _ := testCert()
	o := sieveserver.Options{Store: db, Logger: testenv.Logger(t), Hostname: "sieve.test",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, Authenticate: authenticator(db),
		Limits: sieveserver.Limits{MaxLiteral: 64 << 10}}
	if mod != nil {
		mod(&o)
	}
	srv := sieveserver.New(o)
	ln := testenv.Listen(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, false) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &env{t: t, db: db, srv: srv, addr: ln.Addr().String(), dir: dir}
}

// client is a raw ManageSieve client.
type client struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	cl := &client{t: e.t, c: c, r: bufio.NewReader(c)}
	cl.untilDone() // greeting: capabilities + OK
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s+"\r\n"); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// untilDone reads lines up to a final OK/NO/BYE; it returns the data lines
// (literals inlined) and the final line.
func (c *client) untilDone() ([]string, string) {
	c.t.Helper()
	var data []string
	for {
		l := c.line()
		if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
			return data, l
		}
		if strings.HasPrefix(l, "{") && strings.HasSuffix(l, "}") {
			n, _ := strconv.Atoi(l[1 : len(l)-1])
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				c.t.Fatal(err)
			}
			data = append(data, string(buf))
			continue
		}
		data = append(data, l)
	}
}

// cmd sends a command and checks the final line starts with want.
func (c *client) cmd(s, want string) []string {
	c.t.Helper()
	c.send(s)
	data, final := c.untilDone()
	if !strings.HasPrefix(final, want) {
		c.t.Fatalf("%q: got %q, want %s…", s, final, want)
	}
	return data
}

func (c *client) startTLS() {
	c.t.Helper()
	c.cmd("STARTTLS", "OK")
	_, pool := testCert()
	tc := tls.Client(c.c, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	c.untilDone() // capabilities again
}

func (c *client) login(user string) {
	c.t.Helper()
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password(user)))
	c.cmd(`AUTHENTICATE "PLAIN" "`+resp+`"`, "OK")
}

func literal(s string) string { return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s }
