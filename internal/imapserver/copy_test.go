package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// COPY, MOVE, EXPUNGE, UID EXPUNGE and CLOSE.

func TestCopyMove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 4; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	arch := e.folder("alice", store.SpecialArchive)
	c := e.selectBox("alice", "INBOX")
	_, st := c.cmd("COPY 1:2 Archive")
	if want := fmt.Sprintf("OK [COPYUID %d 1:2 1:2]", arch.UIDValidity); !strings.HasPrefix(st, want) {
		t.Fatalf("copy: %q, want %q", st, want)
	}
	if st := c.fail("NO", "COPY 1 Nowhere"); !strings.Contains(st, "[TRYCREATE]") {
		t.Fatalf("copy to missing: %q", st)
	}
	lines, st := c.cmd("UID MOVE 3 Archive")
	if !strings.HasPrefix(st, "OK") {
		t.Fatalf("move: %q", st)
	}
	mustHave(t, lines, fmt.Sprintf("* OK [COPYUID %d 3 3]", arch.UIDValidity))
	mustHave(t, lines, "* 3 EXPUNGE")
	lines = c.ok("FETCH 1:* (UID)")
	if len(lines) != 3 || !has(lines, "* 3 FETCH (UID 4)") {
		t.Fatalf("after move: %q", lines)
	}
	// MOVE into the selected mailbox itself (RFC 6851 allows it, Dovecot
	// does it): a new UID, the old one expunged, then EXISTS. No RECENT:
	// a recent message went and a recent one came, the count is still 3.
	lines = c.ok("MOVE 1 INBOX")
	if got, want := strings.Join(lines, "|"), fmt.Sprintf("* OK [COPYUID %d 1 5] Moved|* 1 EXPUNGE|* 3 EXISTS", inbox.UIDValidity); got != want {
		t.Fatalf("move within: %q, want %q", got, want)
	}
	if got := strings.Join(c.ok("FETCH 1:* (UID)"), "|"); got != "* 1 FETCH (UID 2)|* 2 FETCH (UID 4)|* 3 FETCH (UID 5)" {
		t.Fatalf("after move within: %q", got)
	}
	// Copy into the selected mailbox: EXISTS comes with the completion.
	lines = c.ok("COPY 1 INBOX")
	mustHave(t, lines, "* 4 EXISTS")
	mustHave(t, c.ok("STATUS Archive (MESSAGES)"), "MESSAGES 3")
	// MOVE with QRESYNC answers VANISHED.
	c2 := e.login("alice")
	c2.ok("ENABLE QRESYNC")
	c2.ok("SELECT INBOX")
	lines = c2.ok("MOVE 1 Archive")
	mustHave(t, lines, "* VANISHED ")
	mustNotHave(t, lines, "EXPUNGE")
	// EXAMINE is read-only.
	c2.ok("EXAMINE INBOX")
	c2.fail("NO", "MOVE 1 Archive")
	c2.ok("COPY 1 Archive")
}

func TestExpunge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 6; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.selectBox("alice", "INBOX")
	c.ok(`STORE 2,3,5 +FLAGS.SILENT (\Deleted)`)
	// RECENT follows when the number of \Recent messages changed (RFC
	// 3501 §7.3.2), as Dovecot sends it.
	lines := c.ok("UID EXPUNGE 1:3")
	if strings.Join(lines, "|") != "* 2 EXPUNGE|* 2 EXPUNGE|* 4 RECENT" {
		t.Fatalf("uid expunge: %q", lines)
	}
	lines = c.ok("EXPUNGE")
	if strings.Join(lines, "|") != "* 3 EXPUNGE|* 3 RECENT" {
		t.Fatalf("expunge: %q", lines)
	}
	lines = c.ok("FETCH 1:* (UID)")
	if strings.Join(lines, "|") != "* 1 FETCH (UID 1)|* 2 FETCH (UID 4)|* 3 FETCH (UID 6)" {
		t.Fatalf("after expunge: %q", lines)
	}
	// CLOSE expunges silently.
	c.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	lines = c.ok("CLOSE")
	if len(lines) != 0 {
		t.Fatalf("close: %q", lines)
	}
	mustHave(t, c.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 2")
	// UNSELECT does not.
	c.ok("SELECT INBOX")
	c.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	c.ok("UNSELECT")
	mustHave(t, c.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 2")
	c.ok("EXAMINE INBOX")
	c.fail("NO", "EXPUNGE")
}

// Expunges by another session are announced only when allowed: not
// during FETCH, STORE or SEARCH by sequence number (RFC 9051 §7.4.1).
func TestExpungeFromOtherSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.selectBox("alice", "INBOX")
	o := e.selectBox("alice", "INBOX")
	o.ok(`STORE 2 +FLAGS.SILENT (\Deleted)`)
	o.ok("EXPUNGE")
	e.deliver(inbox.ID, testMsg(4))

	lines, _ := c.cmd("FETCH 1:3 (UID)")
	mustNotHave(t, lines, "EXPUNGE")
	mustHave(t, lines, "* 4 EXISTS") // new mail may be announced
	mustHave(t, lines, "* 1 FETCH (UID 1)")
	mustHave(t, lines, "* 2 FETCH (UID 2)") // from the session's view
	mustHave(t, lines, "* 3 FETCH (UID 3)")
	// Now the session knows; the content is gone.
	lines, st := c.cmd("FETCH 2 BODY.PEEK[]")
	mustNotHave(t, lines, "EXPUNGE")
	if !strings.Contains(st, "OK [EXPUNGEISSUED]") {
		t.Fatalf("fetch of expunged: %q %q", st, lines)
	}
	lines = c.ok("SEARCH ALL")
	mustNotHave(t, lines, "EXPUNGE")
	mustHave(t, lines, "* SEARCH 1 3 4")
	lines = c.ok(`STORE 2 +FLAGS (\Seen)`)
	mustNotHave(t, lines, "EXPUNGE")
	lines = c.ok("NOOP")
	if strings.Join(lines, "|") != "* 2 EXPUNGE|* 3 RECENT" {
		t.Fatalf("noop: %q", lines)
	}
	lines = c.ok("FETCH 1:* (UID)")
	if strings.Join(lines, "|") != "* 1 FETCH (UID 1)|* 2 FETCH (UID 3)|* 3 FETCH (UID 4)" {
		t.Fatalf("after: %q", lines)
	}
	// UID commands may carry EXPUNGE.
	o.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	o.ok("EXPUNGE")
	lines = c.ok("UID FETCH 4 (FLAGS)")
	mustHave(t, lines, "* 1 EXPUNGE")
	// Flag changes by others are reported.
	o.ok(`STORE 1 +FLAGS.SILENT (\Flagged)`)
	lines = c.ok("NOOP")
	mustHave(t, lines, `* 1 FETCH (UID 3 FLAGS (\Flagged \Recent))`)
	// The selected mailbox deleted elsewhere ends the session.
	o.ok("CREATE Temp")
	c.ok("SELECT Temp")
	o.ok("DELETE Temp")
	c.send("z NOOP\r\n")
	mustHave(t, c.expectClosed(), "* BYE")
}
