package imapserver_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// STARTTLS, implicit TLS, LOGIN and AUTHENTICATE.

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	if st := c.fail("NO", "LOGIN alice wrong"); !strings.Contains(st, "[AUTHENTICATIONFAILED]") {
		t.Fatalf("wrong password: %q", st)
	}
	if st := c.fail("NO", "LOGIN nobody wrong"); !strings.Contains(st, "[AUTHENTICATIONFAILED]") {
		t.Fatalf("unknown user: %q", st)
	}
	c.ok("LOGIN alice %s", password("alice"))
	c.ok("SELECT INBOX")
}

func TestLoginLiteralPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	pw := password("alice")
	c.send("a1 LOGIN alice {" + strconv.Itoa(len(pw)) + "}\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("continuation %q", l)
	}
	c.send(pw + "\r\n")
	if _, st := c.until("a1"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("login: %q", st)
	}
}

func TestTooManyAuthFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.fail("NO", "LOGIN alice x1")
	c.fail("NO", "LOGIN alice x2")
	c.send("a9 LOGIN alice x3\r\n")
	lines := c.expectClosed()
	mustHave(t, lines, "a9 NO")
	mustHave(t, lines, "* BYE")
}

func TestInactiveUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	off := false
	if _, err := e.db.UpdateUser(sys, "carol", store.UserUpdate{Active: &off}); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	if st := c.fail("NO", "LOGIN carol %s", password("carol")); !strings.Contains(st, "[AUTHORIZATIONFAILED]") {
		t.Fatalf("inactive: %q", st)
	}
}

func TestAuthenticatePlain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	// SASL-IR.
	c.ok("AUTHENTICATE PLAIN %s", b64("\x00alice\x00"+password("alice")))
	c2 := e.dial()
	// Challenge and response.
	c2.send("a1 AUTHENTICATE PLAIN\r\n")
	if l := c2.line(); l != "+ " && l != "+" {
		t.Fatalf("challenge %q", l)
	}
	c2.send(b64("bob\x00bob\x00"+password("bob")) + "\r\n")
	if _, st := c2.until("a1"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("authenticate: %q", st)
	}
	c3 := e.dial()
	c3.fail("NO", "AUTHENTICATE PLAIN %s", b64("alice\x00bob\x00"+password("bob")))
	c3.fail("NO", "AUTHENTICATE PLAIN %s", b64("\x00bob\x00nope"))
	c3.fail("NO", "AUTHENTICATE CRAM-MD5")
	// Cancel.
	c3.send("a9 AUTHENTICATE PLAIN\r\n")
	c3.line()
	c3.send("*\r\n")
	if _, st := c3.until("a9"); !strings.HasPrefix(st, "BAD") {
		t.Fatalf("cancel: %q", st)
	}
}

func TestAuthenticateLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.send("a1 AUTHENTICATE LOGIN\r\n")
	if l := c.line(); l != "+ "+b64("Username:") {
		t.Fatalf("challenge %q", l)
	}
	c.send(b64("alice") + "\r\n")
	if l := c.line(); l != "+ "+b64("Password:") {
		t.Fatalf("challenge %q", l)
	}
	c.send(b64(password("alice")) + "\r\n")
	if _, st := c.until("a1"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("authenticate: %q", st)
	}
}

// Bad input from the issue: LOGIN before TLS when plaintext is not allowed.
func TestLoginBeforeTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plaintextOff)
	c := e.dial()
	lines := c.ok("CAPABILITY")
	mustHave(t, lines, "LOGINDISABLED", "STARTTLS")
	mustNotHave(t, lines, "AUTH=PLAIN")
	if st := c.fail("NO", "LOGIN alice %s", password("alice")); !strings.Contains(st, "[PRIVACYREQUIRED]") {
		t.Fatalf("login: %q", st)
	}
	if st := c.fail("NO", "AUTHENTICATE PLAIN %s", b64("\x00alice\x00"+password("alice"))); !strings.Contains(st, "[PRIVACYREQUIRED]") {
		t.Fatalf("authenticate: %q", st)
	}
	// After STARTTLS it works.
	c.ok("STARTTLS")
	tc := tls.Client(c.conn, e.client)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
	lines = c.ok("CAPABILITY")
	mustNotHave(t, lines, "STARTTLS")
	mustNotHave(t, lines, "LOGINDISABLED")
	mustHave(t, lines, "AUTH=PLAIN")
	c.ok("LOGIN alice %s", password("alice"))
	c.fail("BAD", "STARTTLS")
}

// Bad input from the issue: commands pipelined after STARTTLS must not be
// run (they were sent in the clear).
func TestStartTLSPipelined(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plaintextOff)
	c := e.dial()
	c.send("a1 STARTTLS\r\na2 LOGIN alice " + password("alice") + "\r\n")
	lines := c.expectClosed()
	mustHave(t, lines, "a1 BAD")
	mustNotHave(t, lines, "a1 OK")
	mustNotHave(t, lines, "a2 ")
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plaintextOff)
	c := e.dialTLS()
	lines := c.ok("CAPABILITY")
	mustNotHave(t, lines, "STARTTLS")
	mustNotHave(t, lines, "LOGINDISABLED")
	c.ok("LOGIN alice %s", password("alice"))
	c.ok("SELECT INBOX")
}
