package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// \Recent (RFC 3501 §2.3.2, §6.3.1, §6.3.2, §6.4.4, §7.3.2): regression
// tests for imaptest's select, copy and search-flags scripts.

func TestRecentSelectExamineStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	e.deliver(inbox.ID, testMsg(2), `\Seen`)
	a := e.login("alice")
	// EXAMINE shows them recent and leaves them so.
	mustHave(t, a.ok("EXAMINE INBOX"), "* 2 RECENT")
	lines := a.ok("FETCH 1:2 FLAGS")
	mustHave(t, lines, `* 1 FETCH (FLAGS (\Recent))`)
	mustHave(t, lines, `* 2 FETCH (FLAGS (\Seen \Recent))`)
	a.ok("CLOSE")
	mustHave(t, a.ok("STATUS INBOX (MESSAGES RECENT)"), "* STATUS INBOX (MESSAGES 2 RECENT 2)")
	// The first SELECT takes them.
	mustHave(t, a.ok("SELECT INBOX"), "* 2 RECENT")
	if got := a.ok("SEARCH RECENT"); got[0] != "* SEARCH 1 2" {
		t.Fatalf("search recent: %q", got)
	}
	if got := a.ok("SEARCH NEW"); got[0] != "* SEARCH 1" {
		t.Fatalf("search new: %q", got)
	}
	if got := a.ok("SEARCH OLD"); got[0] != "* SEARCH" {
		t.Fatalf("search old: %q", got)
	}
	a.ok("CLOSE")
	mustHave(t, a.ok("STATUS INBOX (RECENT)"), "* STATUS INBOX (RECENT 0)")
	// Later sessions, and later SELECTs of the same one, see them old.
	b := e.login("alice")
	mustHave(t, b.ok("SELECT INBOX"), "* 0 RECENT")
	mustHave(t, b.ok("FETCH 1 FLAGS"), `* 1 FETCH (FLAGS ())`)
	if got := b.ok("SEARCH OLD"); got[0] != "* SEARCH 1 2" {
		t.Fatalf("search old: %q", got)
	}
	mustHave(t, a.ok("SELECT INBOX"), "* 0 RECENT")
	// New mail goes to the first selected session that learns of it, with
	// RECENT after EXISTS; the other sees it old.
	e.deliver(inbox.ID, testMsg(3))
	if got := strings.Join(a.ok("NOOP"), "|"); got != "* 3 EXISTS|* 1 RECENT" {
		t.Fatalf("a noop: %q", got)
	}
	if got := strings.Join(b.ok("NOOP"), "|"); got != "* 3 EXISTS" {
		t.Fatalf("b noop: %q", got)
	}
	if got := a.ok("SEARCH RECENT"); got[0] != "* SEARCH 3" {
		t.Fatalf("a search recent: %q", got)
	}
	if got := b.ok("SEARCH RECENT"); got[0] != "* SEARCH" {
		t.Fatalf("b search recent: %q", got)
	}
	// The flag is the session's: STORE FLAGS keeps it, and cannot set it.
	mustHave(t, a.ok(`STORE 3 FLAGS (\Flagged)`), `* 3 FETCH (FLAGS (\Flagged \Recent))`)
	mustHave(t, b.ok(`STORE 1 +FLAGS (\Recent)`), `* 1 FETCH (FLAGS ())`)
	// Expunging a recent message announces the new count.
	a.ok(`STORE 3 +FLAGS.SILENT (\Deleted)`)
	if got := strings.Join(a.ok("EXPUNGE"), "|"); got != "* 3 EXPUNGE|* 0 RECENT" {
		t.Fatalf("expunge: %q", got)
	}
}

// imaptest's copy script: messages copied into a mailbox another session
// has selected are recent there.
func TestRecentCopyIntoSelected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	a := e.selectBox("alice", "INBOX")
	a.ok("CREATE Box2")
	b := e.selectBox("alice", "Box2")
	a.ok(`STORE 1 FLAGS (\Seen)`)
	a.ok("COPY 1:2 Box2")
	if got := strings.Join(b.ok("NOOP"), "|"); got != "* 2 EXISTS|* 2 RECENT" {
		t.Fatalf("noop: %q", got)
	}
	lines := b.ok("FETCH 1:2 FLAGS")
	mustHave(t, lines, `* 1 FETCH (FLAGS (\Seen \Recent))`)
	mustHave(t, lines, `* 2 FETCH (FLAGS (\Recent))`)
	// APPEND into the selected mailbox by the session itself.
	lines = b.ok("APPEND Box2 {%d+}\r\n%s", len(testMsg(9)), testMsg(9))
	mustHave(t, lines, "* 3 EXISTS")
	mustHave(t, lines, "* 3 RECENT")
}

// IMAP4rev2 has no \Recent (RFC 9051 Appendix E): no RECENT, no flag, and
// such a session does not take the flag from IMAP4rev1 sessions.
func TestRecentIMAP4rev2(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	c := e.login("alice")
	c.ok("ENABLE IMAP4rev2")
	mustNotHave(t, c.ok("SELECT INBOX"), "RECENT")
	mustHave(t, c.ok("FETCH 1 FLAGS"), `* 1 FETCH (FLAGS ())`)
	e.deliver(inbox.ID, testMsg(2))
	mustNotHave(t, c.ok("NOOP"), "RECENT")
	mustHave(t, e.login("alice").ok("SELECT INBOX"), "* 2 RECENT")
}

// A reader of a shared mailbox without the write right still takes the
// \Recent flag on SELECT (the watermark is written by the system).
func TestRecentSharedReadOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bobInbox := e.share("bob", store.SpecialInbox, "alice", "lr")
	e.deliver(bobInbox.ID, testMsg(1))
	a := e.login("alice")
	lines, st := a.cmd(`SELECT "Other Users/bob/INBOX"`)
	if !strings.HasPrefix(st, "OK [READ-ONLY]") {
		t.Fatalf("select: %q", st)
	}
	mustHave(t, lines, "* 1 RECENT")
	mustHave(t, e.login("bob").ok("SELECT INBOX"), "* 0 RECENT")
}

// MOVE into the selected mailbox (imaptest's move script; RFC 6851):
// COPYUID with the new UIDs, then the expunges, then EXISTS; with QRESYNC
// VANISHED instead of EXPUNGE. Without the delete rights nothing happens.
func TestMoveWithinMailbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.login("alice")
	c.ok("ENABLE QRESYNC")
	c.ok("SELECT INBOX")
	lines := c.ok("UID MOVE 1:2 INBOX")
	want := fmt.Sprintf("* OK [COPYUID %d 1:2 4:5] Moved|* VANISHED 1:2|* 3 EXISTS", inbox.UIDValidity)
	if got := strings.Join(lines, "|"); got != want {
		t.Fatalf("uid move: %q, want %q", got, want)
	}
	if got := strings.Join(c.ok("FETCH 1:* (UID)"), "|"); got != "* 1 FETCH (UID 3)|* 2 FETCH (UID 4)|* 3 FETCH (UID 5)" {
		t.Fatalf("after: %q", got)
	}
	mustHave(t, c.ok("STATUS INBOX (MESSAGES UIDNEXT)"), "MESSAGES 3 UIDNEXT 6")
	// bob may read, write and insert in alice's INBOX, not delete: the
	// mailbox is read-write for him, but MOVE needs "t" and "e".
	e.share("alice", store.SpecialInbox, "bob", "lrswi")
	b := e.login("bob")
	b.ok(`SELECT "Other Users/alice/INBOX"`)
	if st := b.fail("NO", `MOVE 1 "Other Users/alice/INBOX"`); !strings.Contains(st, "[NOPERM]") {
		t.Fatalf("move without rights: %q", st)
	}
	mustHave(t, c.ok("STATUS INBOX (MESSAGES UIDNEXT)"), "MESSAGES 3 UIDNEXT 6")
}
