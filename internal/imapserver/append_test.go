package imapserver_test

import (
	"fmt"
	"strings"
	"testing"
)

// APPEND, MULTIAPPEND, APPENDLIMIT and literal bounds.

func appendLit(c *client, tag, mailbox, extra, msg string) {
	c.t.Helper()
	c.send(fmt.Sprintf("%s APPEND %s %s{%d}\r\n", tag, mailbox, extra, len(msg)))
	if l := c.line(); !strings.HasPrefix(l, "+") {
		c.t.Fatalf("no continuation: %q", l)
	}
	c.send(msg + "\r\n")
}

func TestAppend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	msg := testMsg(1)
	appendLit(c, "a1", "INBOX", `(\Seen $Work) "14-Jul-2021 10:00:00 +0200" `, msg)
	_, st := c.until("a1")
	inbox := e.folder("alice", "inbox")
	if want := fmt.Sprintf("OK [APPENDUID %d 1]", inbox.UIDValidity); !strings.HasPrefix(st, want) {
		t.Fatalf("append: %q, want %q", st, want)
	}
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY[])")
	mustHave(t, lines, `FLAGS ($Work \Seen \Recent)`) // new since the last SELECT
	// The store keeps the instant, not the zone.
	mustHave(t, lines, `INTERNALDATE "14-Jul-2021 08:00:00 +0000"`)
	mustHave(t, lines, fmt.Sprintf("RFC822.SIZE %d", len(msg)))
	mustHave(t, lines, "BODY[] "+lit(msg))
	// Non-synchronizing literal (LITERAL+), into the selected mailbox:
	// EXISTS comes with the completion.
	m2 := testMsg(2)
	lines, st = c.cmd("APPEND INBOX {%d+}\r\n%s", len(m2), m2)
	if !strings.HasPrefix(st, "OK [APPENDUID") {
		t.Fatalf("append+: %q", st)
	}
	mustHave(t, lines, "* 2 EXISTS")
	if st := c.fail("NO", "APPEND Nowhere {1+}\r\nx"); !strings.Contains(st, "[TRYCREATE]") {
		t.Fatalf("append to missing: %q", st)
	}
	c.ok("NOOP") // still in sync after the refused message
	// Binary literal8.
	bin := "Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n"
	_, st = c.cmd("APPEND INBOX ~{%d+}\r\n%s", len(bin), bin)
	if !strings.HasPrefix(st, "OK") {
		t.Fatalf("append literal8: %q", st)
	}
}

func TestMultiAppend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	m1, m2 := testMsg(1), testMsg(2)
	_, st := c.cmd("APPEND Drafts (\\Draft) {%d+}\r\n%s (\\Seen) {%d+}\r\n%s", len(m1), m1, len(m2), m2)
	drafts := e.folder("alice", "drafts")
	if want := fmt.Sprintf("OK [APPENDUID %d 1:2]", drafts.UIDValidity); !strings.HasPrefix(st, want) {
		t.Fatalf("multiappend: %q", st)
	}
	// A MULTIAPPEND that fails part-way leaves nothing behind.
	c.fail("BAD", "APPEND Drafts {%d+}\r\n%s BOGUS", len(m1), m1)
	mustHave(t, c.ok("STATUS Drafts (MESSAGES)"), "MESSAGES 2")
}

func TestAppendTooBig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	// Over APPENDLIMIT (1 MiB here): refused before any data is sent.
	c.send("a1 APPEND INBOX {2000000}\r\n")
	_, st := c.until("a1")
	if !strings.HasPrefix(st, "NO [TOOBIG]") {
		t.Fatalf("too big: %q", st)
	}
	c.ok("NOOP")
	// Bad input from the issue: a {4294967295} literal.
	c.send("a2 APPEND INBOX {4294967295}\r\n")
	if _, st := c.until("a2"); !strings.HasPrefix(st, "NO [TOOBIG]") {
		t.Fatalf("huge: %q", st)
	}
	c.send("a3 LOGIN {4294967295}\r\n")
	if _, st := c.until("a3"); !strings.HasPrefix(st, "BAD") {
		t.Fatalf("huge non-append literal: %q", st)
	}
	c.ok("NOOP")
	// A non-synchronizing literal too large to skip ends the session.
	c.send("a4 APPEND INBOX {4294967295+}\r\n")
	lines := c.expectClosed()
	mustHave(t, lines, "* BYE")
}

// Bad input from the issue: a thousand small literals in one command.
func TestManyLiterals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	var b strings.Builder
	b.WriteString("a1 SEARCH")
	for i := 0; i < 1500; i++ {
		b.WriteString(" SUBJECT {1+}\r\nx")
	}
	b.WriteString("\r\n")
	c.ok("SELECT INBOX")
	c.send(b.String())
	if _, st := c.until("a1"); !strings.HasPrefix(st, "BAD [LIMIT]") {
		t.Fatalf("many literals: %q", st)
	}
	c.ok("NOOP")
	// Before authentication, literals are small and few.
	c2 := e.dial()
	c2.send("a1 LOGIN {100000}\r\n")
	if _, st := c2.until("a1"); !strings.HasPrefix(st, "BAD") {
		t.Fatalf("pre-auth literal: %q", st)
	}
	c2.send("a2 APPEND INBOX {10}\r\n")
	if _, st := c2.until("a2"); !strings.HasPrefix(st, "BAD") {
		t.Fatalf("pre-auth append: %q", st)
	}
	c2.ok("NOOP")
}

func TestAppendPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.share("bob", "inbox", "alice", "lr")
	c := e.login("alice")
	if st := c.fail("NO", `APPEND "Other Users/bob/INBOX" {1+}`+"\r\nx"); !strings.Contains(st, "[NOPERM]") {
		t.Fatalf("append without i: %q", st)
	}
	c.ok("NOOP")
}
