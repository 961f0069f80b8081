package imapserver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
)

// IDLE and server shutdown.

func TestIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	c := e.selectBox("alice", "INBOX")
	c.send("i1 IDLE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("idle: %q", l)
	}
	// New mail from "LMTP".
	e.deliver(inbox.ID, testMsg(2))
	if l := c.line(); l != "* 2 EXISTS" {
		t.Fatalf("exists: %q", l)
	}
	// Both messages are \Recent for this IMAP4rev1 session, the first to
	// select INBOX (RFC 3501 §7.3.2).
	if l := c.line(); l != "* 2 RECENT" {
		t.Fatalf("recent: %q", l)
	}
	// A flag change and an expunge by another session.
	o := e.selectBox("alice", "INBOX")
	o.ok(`STORE 1 +FLAGS (\Deleted)`)
	if l := c.line(); l != `* 1 FETCH (UID 1 FLAGS (\Deleted \Recent))` {
		t.Fatalf("fetch: %q", l)
	}
	o.ok("EXPUNGE")
	if l := c.line(); l != "* 1 EXPUNGE" {
		t.Fatalf("expunge: %q", l)
	}
	c.send("DONE\r\n")
	if _, st := c.until("i1"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("done: %q", st)
	}
	c.ok("NOOP")
	// Anything but DONE is an error.
	c.send("i2 IDLE\r\n")
	c.line()
	c.send("NOPE\r\n")
	if _, st := c.until("i2"); !strings.HasPrefix(st, "BAD") {
		t.Fatalf("not done: %q", st)
	}
	// IDLE works without a selected mailbox too.
	c.ok("UNSELECT")
	c.send("i3 IDLE\r\n")
	c.line()
	c.send("DONE\r\n")
	c.until("i3")
}

// Without an events hub, IDLE polls the journal.
func TestIdleWithoutEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *imapserver.Options) { o.Events = nil })
	inbox := e.folder("alice", store.SpecialInbox)
	c := e.selectBox("alice", "INBOX")
	c.send("i1 IDLE\r\n")
	c.line()
	e.deliver(inbox.ID, testMsg(1))
	if l := c.line(); l != "* 1 EXISTS" {
		t.Fatalf("exists: %q", l)
	}
	c.send("DONE\r\n")
	c.until("i1")
}

func TestCloseSaysBye(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	idle := e.selectBox("alice", "INBOX")
	idle.send("i1 IDLE\r\n")
	idle.line()
	waiting := e.login("bob")
	fresh := e.dial()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- e.srv.Close() }()
	for _, c := range []*client{idle, waiting, fresh} {
		mustHave(t, c.expectClosed(), "* BYE")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *imapserver.Options) { o.MaxConnectionsPerIP = 3; o.MaxConnectionsPerUser = 1 })
	a := e.login("alice")
	b := e.dial()
	if st := b.fail("NO", "LOGIN alice %s", password("alice")); !strings.Contains(st, "[LIMIT]") {
		t.Fatalf("per user: %q", st)
	}
	b.ok("LOGIN bob %s", password("bob"))
	e.dial()
	// The fourth connection from 127.0.0.1 is turned away.
	c, err := dialRaw(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := &client{t: t, conn: c, br: newReader(c)}
	mustHave(t, cl.expectClosed(), "* BYE [LIMIT]")
	a.ok("LOGOUT")
}

// While idling the session reads DONE a byte at a time from a pooled-out
// buffer: a command the client sends in the same packet as DONE must not
// be lost, over plain TCP or TLS, and updates keep flowing in between.
func TestIdlePipelinedAfterDone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for _, tlsOn := range []bool{false, true} {
		var c *client
		if tlsOn {
			c = e.dialTLS()
			c.ok("LOGIN alice %s", password("alice"))
			c.ok("SELECT INBOX")
		} else {
			c = e.selectBox("alice", "INBOX")
		}
		for round := 0; round < 3; round++ {
			c.send("i1 IDLE\r\n")
			if l := c.line(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("idle: %q", l)
			}
			it := e.deliver(inbox.ID, testMsg(round))
			if l := c.line(); !strings.HasSuffix(l, " EXISTS") {
				t.Fatalf("exists: %q", l)
			}
			c.send(fmt.Sprintf("DONE\r\nf1 UID FETCH %d (UID)\r\nn1 NOOP\r\n", it.UID))
			if _, st := c.until("i1"); !strings.HasPrefix(st, "OK") {
				t.Fatalf("done: %q", st)
			}
			lines, st := c.until("f1")
			if !strings.HasPrefix(st, "OK") || len(lines) != 1 || !strings.Contains(lines[0], fmt.Sprintf("UID %d", it.UID)) {
				t.Fatalf("pipelined fetch: %q %q", lines, st)
			}
			if _, st := c.until("n1"); !strings.HasPrefix(st, "OK") {
				t.Fatalf("pipelined noop: %q", st)
			}
		}
	}
}
