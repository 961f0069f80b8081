package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// PARTIAL (RFC 9394) and CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267).

func partialEnv(t *testing.T, n int) (*env, *store.Folder, *client) {
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= n; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	return e, inbox, e.selectBox("alice", "INBOX")
}

func TestPartial(t *testing.T) {
	t.Parallel()
	_, _, c := partialEnv(t, 10)
	mustHave(t, c.ok("CAPABILITY"), "PARTIAL", "CONTEXT=SEARCH", "CONTEXT=SORT")
	for _, tc := range []struct{ cmd, want string }{
		// RFC 9394 §3.1: the newest first, with a negative range.
		{"UID SEARCH RETURN (PARTIAL -1:-3) ALL", `UID PARTIAL (-1:-3 8:10)`},
		{"SEARCH RETURN (COUNT PARTIAL 4:2) NOT 3", `COUNT 9 PARTIAL (2:4 2,4:5)`},
		{"UID SEARCH RETURN (PARTIAL 20:30) ALL", `UID PARTIAL (20:30 NIL)`},
		{"UID SEARCH RETURN (MIN PARTIAL -9:-20) ALL", `UID MIN 1 PARTIAL (-9:-20 1:2)`},
		// In sort order (RFC 5267 §4.4).
		{"UID SORT RETURN (PARTIAL 1:3) (REVERSE ARRIVAL) UTF-8 ALL", `UID PARTIAL (1:3 10,9,8)`},
		{"SORT RETURN (PARTIAL -1:-2) (ARRIVAL) UTF-8 ALL", `PARTIAL (-1:-2 9:10)`},
	} {
		lines := c.ok("%s", tc.cmd)
		tag := fmt.Sprintf("a%d", c.n)
		want := fmt.Sprintf(`* ESEARCH (TAG "%s") %s`, tag, tc.want)
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("%s: got %q, want %q", tc.cmd, lines, want)
		}
	}
	c.fail("BAD", "SEARCH RETURN (PARTIAL 1:5 ALL) ALL")
	c.fail("BAD", "SEARCH RETURN (PARTIAL -1:5) ALL")
	c.fail("BAD", "SEARCH RETURN (PARTIAL 0:5) ALL")

	// SAVE keeps what PARTIAL returned.
	c.ok("UID SEARCH RETURN (SAVE PARTIAL -1:-2) ALL")
	lines := c.ok("UID SEARCH RETURN (ALL) UID $")
	mustHave(t, lines, "UID ALL 9:10")

	// RFC 9394 §3.2: the PARTIAL FETCH modifier.
	lines = c.ok("UID FETCH 1:* (FLAGS) (PARTIAL -1:-3)")
	if len(lines) != 3 || !strings.Contains(lines[0], "UID 8 ") || !strings.Contains(lines[2], "UID 10 ") {
		t.Errorf("UID FETCH PARTIAL -1:-3: %q", lines)
	}
	lines = c.ok("UID FETCH 3:* (FLAGS) (PARTIAL 1:2)")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "* 3 FETCH (UID 3 ") || !strings.HasPrefix(lines[1], "* 4 FETCH (UID 4 ") {
		t.Errorf("UID FETCH PARTIAL 1:2: %q", lines)
	}
	c.fail("BAD", "UID FETCH 1:* FLAGS (PARTIAL 1:5 PARTIAL 1:2)")
}

func TestContextSearchUpdate(t *testing.T) {
	t.Parallel()
	e, inbox, c := partialEnv(t, 3)
	// UPDATE alone returns no data now (RFC 5267 §4.2, as Dovecot).
	lines := c.ok("UID SEARCH RETURN (UPDATE) UNSEEN")
	tag := fmt.Sprintf("a%d", c.n)
	if want := fmt.Sprintf(`* ESEARCH (TAG "%s") UID`, tag); len(lines) != 1 || lines[0] != want {
		t.Fatalf("got %q, want %q", lines, want)
	}
	// The tag names the context: it cannot be reused while live.
	c.send(tag + " UID SEARCH RETURN (UPDATE) ALL\r\n")
	if _, st := c.until(tag); !strings.HasPrefix(st, "BAD") {
		t.Fatalf("reused tag: %q", st)
	}
	// A flag change of the session itself.
	lines = c.ok(`STORE 1 +FLAGS (\Seen)`)
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") UID REMOVEFROM (0 1)`, tag))
	// A delivery.
	e.deliver(inbox.ID, testMsg(4))
	lines = c.ok("NOOP")
	mustHave(t, lines, "* 4 EXISTS")
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") UID ADDTO (0 4)`, tag))
	// An expunge by another session, and a flag change undone.
	o := e.selectBox("alice", "INBOX")
	o.ok(`UID STORE 2 +FLAGS (\Deleted)`)
	o.ok("EXPUNGE")
	o.ok(`UID STORE 1 -FLAGS (\Seen)`)
	lines = c.ok("NOOP")
	// REMOVEFROM before the EXPUNGE renumbers (RFC 5267 §4.3.4).
	want := []string{`* 1 FETCH (UID 1 FLAGS (\Recent))`, fmt.Sprintf(`* ESEARCH (TAG "%s") UID REMOVEFROM (0 2)`, tag),
		"* 2 EXPUNGE", fmt.Sprintf(`* ESEARCH (TAG "%s") UID ADDTO (0 1)`, tag)}
	if strings.Join(noRecent(lines), "\n") != strings.Join(want, "\n") {
		t.Errorf("NOOP after expunge: got %q, want %q", lines, want)
	}
	// During IDLE.
	c.send("i1 IDLE\r\n")
	c.line()
	e.deliver(inbox.ID, testMsg(5))
	for {
		l := c.line()
		if strings.HasPrefix(l, "* ESEARCH") {
			if want := fmt.Sprintf(`* ESEARCH (TAG "%s") UID ADDTO (0 5)`, tag); l != want {
				t.Fatalf("during IDLE: %q, want %q", l, want)
			}
			break
		}
	}
	c.send("DONE\r\n")
	c.until("i1")

	// A sequence-number search is told numbers.
	lines = c.ok("SEARCH RETURN (UPDATE COUNT) SEEN")
	seqTag := fmt.Sprintf("a%d", c.n)
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") COUNT 0`, seqTag))
	lines = c.ok(`UID STORE 5 +FLAGS (\Seen)`)
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") ADDTO (0 4)`, seqTag))

	c.fail("NO", `CANCELUPDATE "nope"`)
	c.fail("BAD", `CANCELUPDATE %s`, tag)
	c.ok(`CANCELUPDATE "%s" "%s"`, tag, seqTag)
	e.deliver(inbox.ID, testMsg(6))
	lines = c.ok("NOOP")
	mustNotHave(t, lines, "ESEARCH")
	// Leaving the mailbox ends every context.
	c.ok("UID SEARCH RETURN (UPDATE) ALL")
	c.ok("UNSELECT")
	c.fail("BAD", `CANCELUPDATE "a1"`)
}

// Sequence numbers in an updating search name the messages they named
// when it ran (RFC 5267 §4.3); a sequence-number context is told
// REMOVEFROM before the EXPUNGE, and too many contexts get NOUPDATE
// after the answer (RFC 5267 §4.3.1).
func TestContextSearchSeq(t *testing.T) {
	t.Parallel()
	e, inbox, c := partialEnv(t, 4)
	lines := c.ok("SEARCH RETURN (UPDATE) 3:* UNSEEN")
	tag := fmt.Sprintf("a%d", c.n)
	c.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	lines = c.ok("EXPUNGE")
	if lines = noRecent(lines); len(lines) != 1 || lines[0] != "* 1 EXPUNGE" {
		t.Errorf("EXPUNGE: %q", lines)
	}
	e.deliver(inbox.ID, testMsg(5))
	lines = c.ok("NOOP")
	mustNotHave(t, lines, "ESEARCH") // the new message 4 is not message 3 or after it
	lines = c.ok(`STORE 2 +FLAGS (\Seen)`)
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") REMOVEFROM (0 2)`, tag))
	c.ok(`STORE 3 +FLAGS.SILENT (\Deleted)`)
	lines = c.ok("EXPUNGE")
	want := []string{fmt.Sprintf(`* ESEARCH (TAG "%s") REMOVEFROM (0 3)`, tag), "* 3 EXPUNGE"}
	if strings.Join(noRecent(lines), "\n") != strings.Join(want, "\n") {
		t.Errorf("EXPUNGE: got %q, want %q", lines, want)
	}
	for range 7 {
		c.ok("SEARCH RETURN (UPDATE) ALL")
	}
	lines = c.ok("SEARCH RETURN (UPDATE COUNT) ALL")
	tag = fmt.Sprintf("a%d", c.n)
	want = []string{fmt.Sprintf(`* ESEARCH (TAG "%s") COUNT 3`, tag), fmt.Sprintf(`* NO [NOUPDATE "%s"] Too many updating searches`, tag)}
	if strings.Join(noRecent(lines), "\n") != strings.Join(want, "\n") {
		t.Errorf("NOUPDATE: got %q, want %q", lines, want)
	}
	c.fail("NO", `CANCELUPDATE "%s"`, tag)
}

func TestContextSortUpdate(t *testing.T) {
	t.Parallel()
	e, inbox, c := partialEnv(t, 3)
	lines := c.ok("UID SORT RETURN (UPDATE ALL) (REVERSE ARRIVAL) UTF-8 UNDELETED")
	tag := fmt.Sprintf("a%d", c.n)
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") UID ALL 3,2,1`, tag))
	e.deliver(inbox.ID, testMsg(4))
	e.deliver(inbox.ID, testMsg(5))
	lines = c.ok(`UID STORE 2 +FLAGS (\Deleted)`)
	// The newest arrive first in this order: at positions 1 and 2.
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") UID REMOVEFROM (0 2) ADDTO (1 5 2 4)`, tag))
	lines = c.ok("UID SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 UNDELETED")
	mustHave(t, lines, "UID ALL 5,4,3,1")
}

// noRecent drops the RECENT responses an IMAP4rev1 session gets.
func noRecent(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasSuffix(l, " RECENT") {
			out = append(out, l)
		}
	}
	return out
}
