package pop3server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

var sys = testenv.Sys

type env struct {
	srv   *pop3server.Server
	db    *sqlstore.DB
	addr  string
	inbox int64
	alice context.Context
}

func testTLS(t *testing.T) *tls.Config { return testenv.ServerTLS() }

// start runs POP3 over a fresh store (testenv.Backend()) with tenant acme:
// alice and nopop (POP3 disabled), both with password "secret".
func start(t *testing.T, plaintext bool, mods ...func(*pop3server.Options)) *env {
	t.Helper()
	s := testenv.Open(t, testenv.Options{})
	db := s.DB
	s.Tenants(t, "acme")
	h, err := auth.HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	s.User(t, "acme", store.User{Login: "alice", Active: true, PasswordHash: h}, "")
	s.User(t, "acme", store.User{Login: "nopop", Active: true, PasswordHash: h, DisabledFeatures: []string{"pop3"}}, "")
	alice := testenv.As(t, db, "alice")
	inbox := testenv.Folder(t, alice, db, "alice", store.SpecialInbox).ID
	a := &directory.Authenticator{Store: db, Throttle: &auth.Throttle{}}
	o := pop3server.Options{Store: db, TLS: testTLS(t), Hostname: "pop.test", AllowPlaintextAuth: plaintext,
		Logger: testenv.Logger(t),
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return a.Authenticate(ctx, login, pw, remote, "pop3")
		}}
	for _, m := range mods {
		m(&o)
	}
	srv := pop3server.New(o)
	ln := testenv.Listen(t)
	go srv.Serve(ln, false)
	t.Cleanup(func() { srv.Close() })
	return &env{srv: srv, db: db, addr: ln.Addr().String(), inbox: inbox, alice: alice}
}

func (e *env) add(t *testing.T, msg string) {
	t.Helper()
	if _, err := e.db.AppendItem(e.alice, e.inbox, store.NewItem{Content: strings.NewReader(msg)}); err != nil {
		t.Fatal(err)
	}
}

type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	if l := cl.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("greeting %q", l)
	}
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *client) cmd(s string) string {
	c.t.Helper()
	fmt.Fprintf(c.c, "%s\r\n", s)
	return c.line()
}

// multi reads a multi-line response body up to the terminating ".".
func (c *client) multi() []string {
	c.t.Helper()
	var out []string
	for {
		l := c.line()
		if l == "." {
			return out
		}
		out = append(out, l)
	}
}

func TestSession(t *testing.T) {
	e := start(t, true)
	e.add(t, "Subject: one\r\n\r\nline 1\r\n.dotted\r\nline 3\r\n")
	e.add(t, "Subject: two\n\nbare LF body\n")
	c := dial(t, e.addr)
	if l := c.cmd("CAPA"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	caps := strings.Join(c.multi(), " ")
	for _, want := range []string{"TOP", "UIDL", "USER", "SASL PLAIN", "STLS", "RESP-CODES"} {
		if !strings.Contains(caps, want) {
			t.Errorf("CAPA lacks %s: %s", want, caps)
		}
	}
	if l := c.cmd("STAT"); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("STAT before login: %s", l)
	}
	c.cmd("USER alice")
	if l := c.cmd("PASS wrong"); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Fatalf("bad password: %s", l)
	}
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK maildrop has 2 messages") {
		t.Fatalf("login: %s", l)
	}
	if l := c.cmd("STAT"); !strings.HasPrefix(l, "+OK 2 ") {
		t.Fatal(l)
	}
	c.cmd("UIDL")
	uidl := c.multi()
	if len(uidl) != 2 || !strings.HasPrefix(uidl[0], "1 ") || !strings.HasSuffix(uidl[0], ".1") {
		t.Fatalf("UIDL %v", uidl)
	}
	c.cmd("RETR 1")
	body := c.multi()
	if strings.Join(body, "|") != "Subject: one||line 1|..dotted|line 3" {
		t.Fatalf("RETR 1 (dot-stuffed on the wire): %q", body)
	}
	c.cmd("RETR 2")
	if body := c.multi(); strings.Join(body, "|") != "Subject: two||bare LF body" {
		t.Fatalf("RETR 2: %q", body)
	}
	c.cmd("TOP 1 1")
	if top := c.multi(); strings.Join(top, "|") != "Subject: one||line 1" {
		t.Fatalf("TOP: %q", top)
	}
	if l := c.cmd("DELE 1"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	if l := c.cmd("RETR 1"); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("RETR of a deleted message: %s", l)
	}
	c.cmd("RSET")
	c.cmd("DELE 2")
	if l := c.cmd("LIST 3"); !strings.HasPrefix(l, "-ERR") {
		t.Fatal(l)
	}
	if l := c.cmd("QUIT"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	// Message 2 is gone (soft-deleted and restorable), message 1 stayed;
	// UIDL is stable in a new session.
	c2 := dial(t, e.addr)
	c2.cmd("USER alice")
	if l := c2.cmd("PASS secret"); !strings.HasPrefix(l, "+OK maildrop has 1 messages") {
		t.Fatal(l)
	}
	if l := c2.cmd("UIDL 1"); !strings.HasSuffix(l, uidl[0][2:]) {
		t.Fatalf("UIDL changed: %s vs %s", l, uidl[0])
	}
	if d, _ := e.db.ListDeletedItems(e.alice, e.inbox); len(d) != 1 {
		t.Fatalf("%d soft-deleted", len(d))
	}
	// A dropped connection deletes nothing.
	c2.cmd("DELE 1")
	c2.c.Close()
	time.Sleep(100 * time.Millisecond)
	if n, _ := e.db.ListItems(e.alice, e.inbox, 1, 0); len(n) != 1 {
		t.Fatal("DELE applied without QUIT")
	}
}

func TestAuthRules(t *testing.T) {
	e := start(t, false)
	c := dial(t, e.addr)
	c.cmd("CAPA")
	if caps := strings.Join(c.multi(), " "); strings.Contains(caps, "USER") || !strings.Contains(caps, "STLS") {
		t.Fatalf("plain connection offers passwords: %s", caps)
	}
	if l := c.cmd("USER alice"); !strings.Contains(l, "STLS") {
		t.Fatalf("USER before TLS: %s", l)
	}
	// STLS with pipelined plaintext is refused.
	fmt.Fprintf(c.c, "STLS\r\nUSER alice\r\n")
	if l := c.line(); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("pipelined STLS: %s", l)
	}
	// A proper STLS, then AUTH PLAIN.
	c = dial(t, e.addr)
	if l := c.cmd("STLS"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	c.c, c.r = tc, bufio.NewReader(tc)
	if l := c.cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00nopop\x00secret"))); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Fatalf("pop3 feature disabled: %s", l)
	}
	if l := c.cmd("AUTH PLAIN"); l != "+ " {
		t.Fatalf("AUTH continuation %q", l)
	}
	if l := c.cmd(base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("AUTH PLAIN: %s", l)
	}
}

func TestBadInput(t *testing.T) {
	e := start(t, true)
	c := dial(t, e.addr)
	if l := c.cmd(strings.Repeat("X", 10000)); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("long line: %s", l)
	}
	if l := c.cmd("NOOP"); !strings.HasPrefix(l, "+OK") {
		t.Fatal("server stopped serving after a long line")
	}
	for i := 0; i < 8; i++ {
		c.cmd("BOGUS")
	}
	if l := c.cmd("BOGUS"); !strings.Contains(l, "too many") {
		t.Fatalf("10th bad command: %s", l)
	}
	// The server keeps serving others.
	c2 := dial(t, e.addr)
	c2.cmd("USER alice")
	if l := c2.cmd("PASS secret"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	for _, bad := range []string{"RETR 0", "RETR -1", "RETR 99999999999999999999", "TOP 1", "TOP x y", "DELE"} {
		if l := c2.cmd(bad); !strings.HasPrefix(l, "-ERR") {
			t.Fatalf("%s: %s", bad, l)
		}
	}
}

// TestRealClients runs Python's poplib and curl against the server, as
// users' scripts and tools would.
func TestRealClients(t *testing.T) {
	e := start(t, true)
	for i := 1; i <= 3; i++ {
		e.add(t, fmt.Sprintf("From: a@example.test\r\nSubject: msg %d\r\n\r\nbody %d\r\n", i, i))
	}
	host, port, _ := net.SplitHostPort(e.addr)
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
				t.Fatal("python3 not installed")
			}
			t.Skip("python3 not installed")
		}
	}
	script := fmt.Sprintf(`
import poplib
p = poplib.POP3(%q, %s, timeout=10)
p.user("alice"); p.pass_("secret")
n, size = p.stat()
assert n == 3, n
resp, lines, octets = p.retr(2)
assert b"Subject: msg 2" in lines, lines
uids = p.uidl()[1]
assert len(uids) == 3, uids
p.dele(1)
p.quit()
print("poplib ok")
`, host, port)
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "poplib ok") {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Log("curl not installed; skipping the curl check")
		return
	}
	out, err = exec.Command("curl", "-s", "--max-time", "10", "--user", "alice:secret", "pop3://"+e.addr+"/1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Subject: msg 2") {
		t.Fatalf("curl pop3 RETR 1 (msg 2 after poplib deleted msg 1): %v\n%s", err, out)
	}
}
