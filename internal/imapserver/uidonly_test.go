package imapserver_test

import (
	"strings"
	"testing"
)

// UIDONLY (RFC 9586).
func TestUIDOnly(t *testing.T) {
	t.Parallel()
	e, inbox, _ := partialEnv(t, 3)
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "UIDONLY")
	mustHave(t, c.ok("ENABLE UIDONLY"), "* ENABLED UIDONLY")
	lines := c.ok("SELECT INBOX")
	mustHave(t, lines, "* 3 EXISTS")
	mustNotHave(t, lines, "[UNSEEN") // a sequence number
	for _, cmd := range []string{
		"FETCH 1 FLAGS", `STORE 1 +FLAGS (\Seen)`, "SEARCH ALL", "COPY 1 INBOX", "MOVE 1 INBOX",
		"SORT (ARRIVAL) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL", "REPLACE 1 INBOX {5+}\r\nhello",
		"UID SEARCH 1", "UID SEARCH OR UID 1 NOT 2", "UID SORT (ARRIVAL) UTF-8 1:2",
	} {
		if st := c.fail("BAD", "%s", cmd); !strings.Contains(st, "[UIDREQUIRED]") {
			t.Errorf("%s: %q", cmd, st)
		}
	}
	mustHave(t, c.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 3") // REPLACE did nothing
	mustHave(t, c.ok("UID SEARCH UID 1:2"), "* SEARCH 1 2")
	c.ok("UID SEARCH RETURN (SAVE) UID 2:3")
	mustHave(t, c.ok("UID SEARCH RETURN (ALL) $"), "UID ALL 2:3")

	// RFC 9586 §3.3: UIDFETCH, numbered by UID, with UID only when asked.
	lines = c.ok("UID FETCH 1:* (FLAGS)")
	want := []string{`* 1 UIDFETCH (FLAGS ())`, `* 2 UIDFETCH (FLAGS ())`, `* 3 UIDFETCH (FLAGS ())`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("UID FETCH: got %q, want %q", lines, want)
	}
	mustHave(t, c.ok("UID FETCH 2 (UID RFC822.SIZE)"), "* 2 UIDFETCH (UID 2 RFC822.SIZE ")
	mustHave(t, c.ok(`UID STORE 3 +FLAGS (\Flagged)`), `* 3 UIDFETCH (FLAGS (\Flagged))`)

	// RFC 9586 §3.4: expunges are VANISHED, never EXPUNGE.
	o := e.selectBox("alice", "INBOX")
	o.ok(`UID STORE 1 +FLAGS (\Deleted \Seen)`)
	o.ok("EXPUNGE")
	e.deliver(inbox.ID, testMsg(9))
	lines = c.ok("NOOP")
	mustHave(t, lines, "* VANISHED 1")
	mustHave(t, lines, "* 3 EXISTS")
	mustNotHave(t, lines, "EXPUNGE")
	c.ok(`UID STORE 2 +FLAGS.SILENT (\Deleted)`)
	lines = c.ok("UID EXPUNGE 2")
	if len(lines) != 1 || lines[0] != "* VANISHED 2" {
		t.Errorf("UID EXPUNGE: %q", lines)
	}
	c.ok("UNSELECT")

	// RFC 9586 §3.6: no QRESYNC sequence match data.
	q := e.login("alice")
	q.ok("ENABLE UIDONLY QRESYNC")
	st := q.fail("BAD", "SELECT INBOX (QRESYNC (1 1 1:4 (1:2 3:4)))")
	if !strings.Contains(st, "[UIDREQUIRED]") {
		t.Errorf("QRESYNC with sequence match data: %q", st)
	}
	// A session without UIDONLY is unchanged.
	p := e.selectBox("alice", "INBOX")
	mustHave(t, p.ok("FETCH 1 (FLAGS)"), "* 1 FETCH (FLAGS (")
}
