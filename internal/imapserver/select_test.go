package imapserver_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// SELECT, EXAMINE, STATUS, CLOSE, UNSELECT, CHECK.

func TestSelect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1), `\Seen`)
	e.deliver(inbox.ID, testMsg(2), "$Important")
	c := e.login("alice")
	lines, st := c.cmd("SELECT INBOX")
	if !strings.HasPrefix(st, "OK [READ-WRITE]") {
		t.Fatalf("select: %q", st)
	}
	mustHave(t, lines, `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)`)
	mustHave(t, lines, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)]`)
	mustHave(t, lines, "* 2 EXISTS")
	mustHave(t, lines, "* 2 RECENT") // the first SELECT since they arrived
	mustHave(t, lines, "* OK [UNSEEN 2]")
	mustHave(t, lines, fmt.Sprintf("* OK [UIDVALIDITY %d]", inbox.UIDValidity))
	mustHave(t, lines, "* OK [UIDNEXT 3]")
	mustHave(t, lines, "* OK [HIGHESTMODSEQ ")
	lines, st = c.cmd("EXAMINE INBOX")
	if !strings.HasPrefix(st, "OK [READ-ONLY]") {
		t.Fatalf("examine: %q", st)
	}
	mustHave(t, lines, "* OK [PERMANENTFLAGS ()]")
	mustHave(t, lines, "* 0 RECENT") // the SELECT took them
	c.fail("NO", "STORE 1 +FLAGS (\\Flagged)")
	c.ok("CHECK")
	c.ok("UNSELECT")
	c.fail("BAD", "FETCH 1 FLAGS")
	c.ok("SELECT Sent")
	c.ok("CLOSE")
	if st := c.fail("NO", "SELECT Nonexistent"); !strings.Contains(st, "[NONEXISTENT]") {
		t.Fatalf("select missing: %q", st)
	}
}

func TestSelectIMAP4rev2(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	c := e.login("alice")
	c.ok("ENABLE IMAP4rev2")
	lines := c.ok("SELECT inbox")
	mustNotHave(t, lines, "RECENT")
	mustNotHave(t, lines, "[UNSEEN")
	mustHave(t, lines, `* LIST (\HasNoChildren) "/" INBOX`)
	mustHave(t, c.ok("SELECT Sent"), `* LIST (\HasNoChildren \Sent) "/" Sent`)
}

// Bad input from the issue: SELECT, STATUS, GETACL and friends on another
// user's or another tenant's mailbox answer exactly like a mailbox that
// does not exist.
func TestOthersMailboxesLookMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.share("bob", store.SpecialInbox, "alice", "lr") // alice may see bob's INBOX only
	c := e.login("alice")
	want := c.fail("NO", `SELECT "Other Users/bob/Nonexistent"`)
	if !strings.Contains(want, "[NONEXISTENT]") {
		t.Fatalf("missing: %q", want)
	}
	for _, name := range []string{
		"Other Users/bob/Sent",     // exists, not shared
		"Other Users/eve/INBOX",    // another tenant
		"Other Users/nobody/INBOX", // no such user
		"Other Users/carol/INBOX",  // same tenant, nothing shared
		"Other Users/bob",          // a namespace level
		"Other Users/alice/INBOX",  // oneself
		"Shared Folders/Anything",  // no public store
		"Nonexistent",              // personal
	} {
		for _, cmd := range []string{"SELECT %s", "EXAMINE %s", "STATUS %s (MESSAGES)", "GETACL %s", "MYRIGHTS %s",
			"DELETE %s", "GETQUOTAROOT %s", "RENAME %s x", "LISTRIGHTS %s bob", "SETACL %s carol lr"} {
			got := c.fail("NO", cmd, quote(name))
			if got != want {
				t.Errorf("%s: got %q, want %q", fmt.Sprintf(cmd, quote(name)), got, want)
			}
		}
	}
	// SUBSCRIBE takes any name (RFC 9051 §6.3.7), hidden or missing
	// alike, and LSUB shows each as \Noselect, exactly like a name
	// nothing has.
	for _, name := range []string{"Other Users/bob/Sent", "Other Users/eve/INBOX", "Other Users/nobody/INBOX",
		"Other Users/carol/INBOX", "Other Users/alice/INBOX", "Shared Folders/Anything", "Nonexistent"} {
		c.ok("SUBSCRIBE %s", quote(name))
		lines := c.ok(`LSUB "" %s`, quote(name))
		if len(lines) != 1 || (lines[0] != `* LSUB (\Noselect) "/" `+quote(name) && lines[0] != `* LSUB (\Noselect) "/" `+name) {
			t.Errorf("LSUB %s: %q", name, lines)
		}
	}
	// The shared INBOX works.
	c.ok(`SELECT "Other Users/bob/INBOX"`)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1), `\Seen`)
	e.deliver(inbox.ID, testMsg(2), `\Deleted`)
	e.deliver(inbox.ID, testMsg(3))
	f := e.folder("alice", store.SpecialInbox)
	c := e.login("alice")
	lines := c.ok("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT RECENT)")
	want := fmt.Sprintf("* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY %d UNSEEN 2 DELETED 1 SIZE %d HIGHESTMODSEQ %d APPENDLIMIT 1048576 RECENT 3)",
		f.UIDValidity, f.Size, f.HighestModSeq)
	mustHave(t, lines, want)
	c.fail("BAD", "STATUS INBOX (BOGUS)")
	// The selected mailbox may be asked too.
	c.ok("SELECT INBOX")
	mustHave(t, c.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 3")
	mustHave(t, c.ok("STATUS INBOX (RECENT)"), "RECENT 0") // taken by the SELECT
	// Shared with "l" only: no STATUS without "r".
	e.share("bob", store.SpecialInbox, "alice", "l")
	if st := c.fail("NO", `STATUS "Other Users/bob/INBOX" (MESSAGES)`); !strings.Contains(st, "[NOPERM]") {
		t.Fatalf("status without r: %q", st)
	}
}

var modseqRE = regexp.MustCompile(`HIGHESTMODSEQ (\d+)`)

func highestModSeq(t *testing.T, lines []string) uint64 {
	t.Helper()
	for _, l := range lines {
		if m := modseqRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no HIGHESTMODSEQ in %q", lines)
	return 0
}

func TestQResyncSelect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 5; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.login("alice")
	c.ok("ENABLE QRESYNC")
	lines := c.ok("SELECT INBOX")
	ms := highestModSeq(t, lines)
	c.ok("UNSELECT")
	// Another session flags 2 and expunges 4.
	o := e.selectBox("alice", "INBOX")
	o.ok("STORE 2 +FLAGS (\\Flagged)")
	o.ok("STORE 4 +FLAGS (\\Deleted)")
	o.ok("EXPUNGE")
	lines = c.ok("SELECT INBOX (QRESYNC (%d %d 1:5))", inbox.UIDValidity, ms)
	mustHave(t, lines, "* VANISHED (EARLIER) 4")
	mustHave(t, lines, "FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (")
	mustNotHave(t, lines, "UID 1 ")
	// A selected mailbox is closed by the next SELECT with [CLOSED].
	lines = c.ok("SELECT Sent")
	mustHave(t, lines, "* OK [CLOSED]")
	// A wrong UIDVALIDITY gets a plain SELECT.
	lines = c.ok("SELECT INBOX (QRESYNC (1 %d))", ms)
	mustNotHave(t, lines, "VANISHED")
	// QRESYNC without ENABLE is a client error.
	c2 := e.login("alice")
	c2.fail("BAD", "SELECT INBOX (QRESYNC (%d 1))", inbox.UIDValidity)
	lines = c2.ok("SELECT INBOX (CONDSTORE)")
	mustHave(t, lines, "HIGHESTMODSEQ")
}
