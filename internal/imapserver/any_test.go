package imapserver_test

import (
	"strings"
	"testing"
)

// CAPABILITY, NOOP, LOGOUT, ID and ENABLE.

func TestCapability(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	lines := c.ok("CAPABILITY")
	mustHave(t, lines, "* CAPABILITY IMAP4rev1 IMAP4rev2", "STARTTLS", "AUTH=PLAIN", "SASL-IR", "LITERAL-")
	mustNotHave(t, lines, "IDLE")
	c.ok("LOGIN alice %s", password("alice"))
	lines = c.ok("CAPABILITY")
	for _, cp := range []string{"IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "LITERAL+",
		"SPECIAL-USE", "LIST-STATUS", "ESEARCH", "SEARCHRES", "QUOTA", "ACL", "APPENDLIMIT=1048576", "BINARY", "UTF8=ACCEPT"} {
		mustHave(t, lines, " "+cp)
	}
	mustNotHave(t, lines, "STARTTLS")
}

func TestGreetingAndLoginCapabilities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	_, st := c.cmd("LOGIN alice %s", password("alice"))
	if !strings.HasPrefix(st, "OK [CAPABILITY IMAP4rev1 IMAP4rev2") || !strings.Contains(st, "IDLE") {
		t.Fatalf("login: %q", st)
	}
}

func TestNoopLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.ok("NOOP")
	lines, st := c.cmd("LOGOUT")
	mustHave(t, lines, "* BYE")
	if !strings.HasPrefix(st, "OK") {
		t.Fatalf("logout: %q", st)
	}
	c.expectClosed()
}

func TestID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	lines := c.ok(`ID ("name" "test" "version" "1.0")`)
	mustHave(t, lines, `* ID ("name" "Roost"`)
	c.ok("ID NIL")
}

func TestEnable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.fail("BAD", "ENABLE CONDSTORE") // not authenticated
	c.ok("LOGIN alice %s", password("alice"))
	lines := c.ok("ENABLE CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2 X-UNKNOWN")
	mustHave(t, lines, "* ENABLED CONDSTORE QRESYNC UTF8=ACCEPT IMAP4rev2")
	lines = c.ok("ENABLE CONDSTORE")
	mustHave(t, lines, "* ENABLED")
	mustNotHave(t, lines, "CONDSTORE")
	c.ok("SELECT INBOX")
	c.fail("BAD", "ENABLE QRESYNC")
}

func TestUnknownAndWrongState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	c.fail("BAD", "FROBNICATE")
	c.fail("BAD", "SELECT INBOX")
	c.fail("BAD", "FETCH 1 FLAGS")
	c.ok("LOGIN alice %s", password("alice"))
	c.fail("BAD", "FETCH 1 FLAGS")
	c.fail("BAD", "LOGIN alice x")
	c.fail("BAD", "SORT (DATE) UTF-8 ALL") // not offered yet
}

func TestTooManyBadCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.dial()
	var b strings.Builder
	for i := 0; i < 30; i++ {
		b.WriteString("x BOGUS\r\n")
	}
	c.send(b.String())
	lines := c.expectClosed()
	mustHave(t, lines, "* BYE")
	if n := strings.Count(strings.Join(lines, "\n"), "x BAD"); n != 20 {
		t.Fatalf("%d BAD before BYE", n)
	}
}
