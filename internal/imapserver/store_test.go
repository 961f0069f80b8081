package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// STORE and UID STORE.

func TestStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 4; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.selectBox("alice", "INBOX")
	lines := c.ok(`STORE 1:2 +FLAGS (\Seen \Flagged)`)
	mustHave(t, lines, `* 1 FETCH (FLAGS (\Flagged \Seen \Recent))`)
	mustHave(t, lines, `* 2 FETCH (FLAGS (\Flagged \Seen \Recent))`)
	lines = c.ok(`STORE 2 -FLAGS (\Flagged)`)
	mustHave(t, lines, `* 2 FETCH (FLAGS (\Seen \Recent))`)
	lines = c.ok(`STORE 3 FLAGS (\Draft)`)
	mustHave(t, lines, `* 3 FETCH (FLAGS (\Draft \Recent))`)
	lines = c.ok(`UID STORE 4 +FLAGS.SILENT (\Answered)`)
	if len(lines) != 0 {
		t.Fatalf("silent: %q", lines)
	}
	lines = c.ok(`UID STORE 4 FLAGS ()`)
	mustHave(t, lines, `* 4 FETCH (UID 4 FLAGS (\Recent))`)
	// A new keyword is announced with FLAGS first.
	lines = c.ok(`STORE 1 +FLAGS ($Label1)`)
	mustHave(t, lines, `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1)`)
	mustHave(t, lines, `* 1 FETCH (FLAGS ($Label1 \Flagged \Seen \Recent))`)
	// \Recent cannot be stored; bad flags are refused.
	c.ok(`STORE 1 +FLAGS (\Recent)`)
	c.fail("NO", `STORE 1 +FLAGS (\Bogus)`)
	c.fail("BAD", `STORE 9 +FLAGS (\Seen)`)
	lines = c.ok(`FETCH 1:4 FLAGS`)
	mustHave(t, lines, `* 1 FETCH (FLAGS ($Label1 \Flagged \Seen \Recent))`)
	mustHave(t, lines, `* 2 FETCH (FLAGS (\Seen \Recent))`)
	mustHave(t, lines, `* 3 FETCH (FLAGS (\Draft \Recent))`)
	mustHave(t, lines, `* 4 FETCH (FLAGS (\Recent))`)
}

func TestStoreUnchangedSince(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.selectBox("alice", "INBOX")
	lines := c.ok("FETCH 1:3 (MODSEQ)")
	ms := highestModSeq(t, c.ok("STATUS INBOX (HIGHESTMODSEQ)"))
	_ = lines
	// Another session changes message 2.
	o := e.selectBox("alice", "INBOX")
	o.ok(`STORE 2 +FLAGS (\Flagged)`)
	lines, st := c.cmd(`STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\Seen)`, ms)
	if !strings.HasPrefix(st, "OK [MODIFIED 2]") {
		t.Fatalf("unchangedsince: %q (%q)", st, lines)
	}
	mustHave(t, lines, `* 1 FETCH (UID 1 FLAGS (\Seen \Recent) MODSEQ (`) // RFC 7162 §3.1: UID too
	mustHave(t, lines, `* 3 FETCH (UID 3 FLAGS (\Seen \Recent) MODSEQ (`)
	mustHave(t, lines, `* 2 FETCH (UID 2 FLAGS (\Flagged \Recent) MODSEQ (`) // the other session's change
	_, st = c.cmd(`UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\Draft)`)
	if !strings.HasPrefix(st, "OK [MODIFIED 1:3]") {
		t.Fatalf("unchangedsince 0: %q", st)
	}
	// .SILENT with CONDSTORE still reports MODSEQ.
	lines = c.ok(`STORE 1 +FLAGS.SILENT (\Answered)`)
	mustHave(t, lines, `* 1 FETCH (UID 1 MODSEQ (`)
	mustNotHave(t, lines, "FLAGS")
}

func TestStorePermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("bob", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	e.share("bob", store.SpecialInbox, "alice", "lrs")
	c := e.login("alice")
	lines, st := c.cmd(`SELECT "Other Users/bob/INBOX"`)
	if !strings.HasPrefix(st, "OK [READ-WRITE]") {
		t.Fatalf("select: %q", st)
	}
	mustHave(t, lines, `[PERMANENTFLAGS (\Seen)]`)
	c.ok(`STORE 1 +FLAGS (\Seen)`)
	if st := c.fail("NO", `STORE 1 +FLAGS (\Flagged)`); !strings.Contains(st, "[NOPERM]") {
		t.Fatalf("store without w: %q", st)
	}
}
