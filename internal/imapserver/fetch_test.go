package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// FETCH and UID FETCH.

const mimeMsg = "From: \"Ann Example\" <ann@example.test>\r\n" +
	"To: alice@acme.test, Team: bob@acme.test;\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Date: Tue, 3 Jan 2006 10:00:00 +0000\r\n" +
	"Message-ID: <mime1@example.test>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--XX\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello plain text\r\n" +
	"--XX\r\n" +
	"Content-Type: application/octet-stream; name=\"a.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"Content-Disposition: attachment; filename=\"a.bin\"\r\n" +
	"\r\n" +
	"AAECAwQFBgcICQ==\r\n" +
	"--XX\r\n" +
	"Content-Type: application/x-weird\r\n" +
	"Content-Transfer-Encoding: x-unknown\r\n" +
	"\r\n" +
	"????\r\n" +
	"--XX--\r\n"

func TestFetchBasics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1), `\Flagged`)
	e.deliver(inbox.ID, mimeMsg)
	c := e.selectBox("alice", "INBOX")
	lines := c.ok("FETCH 1 (UID FLAGS RFC822.SIZE INTERNALDATE)")
	mustHave(t, lines, fmt.Sprintf(`* 1 FETCH (UID 1 FLAGS (\Flagged \Recent) RFC822.SIZE %d INTERNALDATE "`, len(testMsg(1))))
	lines = c.ok("UID FETCH 2 (FLAGS)")
	mustHave(t, lines, `* 2 FETCH (UID 2 FLAGS (\Recent))`)
	lines = c.ok("FETCH 1:* FAST")
	if len(lines) != 2 {
		t.Fatalf("FAST: %q", lines)
	}
	lines = c.ok("FETCH 2 ENVELOPE")
	mustHave(t, lines, `ENVELOPE ("Tue, 3 Jan 2006 10:00:00 +0000" "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=" (("Ann Example" NIL "ann" "example.test"))`)
	mustHave(t, lines, `((NIL NIL "alice" "acme.test")(NIL NIL "Team" NIL)(NIL NIL "bob" "acme.test")(NIL NIL NIL NIL))`)
	mustHave(t, lines, `"<mime1@example.test>")`)
	lines = c.ok("FETCH 2 BODYSTRUCTURE")
	mustHave(t, lines, `BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 16 1 NIL NIL NIL NIL)`)
	mustHave(t, lines, `("application" "octet-stream" ("name" "a.bin") NIL NIL "base64" 16 NIL ("attachment" ("filename" "a.bin")) NIL NIL)`)
	mustHave(t, lines, `"mixed" ("boundary" "XX") NIL NIL NIL)`)
	lines = c.ok("FETCH 2 BODY")
	mustHave(t, lines, `BODY (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 16 1)`)
	c.fail("BAD", "FETCH 3 FLAGS")
	c.fail("BAD", "FETCH 0 FLAGS")
	c.ok("UID FETCH 3:100 FLAGS")
	c.ok("UID FETCH 1:4294967295 FLAGS")
}

func TestFetchSections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, mimeMsg)
	c := e.selectBox("alice", "INBOX")
	hdrEnd := strings.Index(mimeMsg, "\r\n\r\n") + 4
	lines := c.ok("FETCH 1 BODY.PEEK[HEADER]")
	mustHave(t, lines, "BODY[HEADER] "+lit(mimeMsg[:hdrEnd]))
	lines = c.ok("FETCH 1 BODY.PEEK[TEXT]")
	mustHave(t, lines, "BODY[TEXT] "+lit(mimeMsg[hdrEnd:]))
	lines = c.ok("FETCH 1 BODY.PEEK[1]")
	mustHave(t, lines, "BODY[1] "+lit("Hello plain text"))
	lines = c.ok("FETCH 1 BODY.PEEK[2.MIME]")
	mustHave(t, lines, `BODY[2.MIME] {`, "Content-Transfer-Encoding: base64\r\nContent-Disposition")
	lines = c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (subject FROM)]")
	mustHave(t, lines, "BODY[HEADER.FIELDS (subject FROM)] "+lit("From: \"Ann Example\" <ann@example.test>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\n"))
	lines = c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Subject From To Date Message-ID MIME-Version)]")
	mustHave(t, lines, lit("Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"))
	lines = c.ok("FETCH 1 BODY.PEEK[]<0.4>")
	mustHave(t, lines, "BODY[]<0> "+lit("From"))
	lines = c.ok("FETCH 1 BODY.PEEK[1]<6.100>")
	mustHave(t, lines, "BODY[1]<6> "+lit("plain text"))
	lines = c.ok("FETCH 1 BODY.PEEK[]<100000.10>")
	mustHave(t, lines, "BODY[]<100000> {0}")
	lines = c.ok("FETCH 1 BODY.PEEK[9]")
	mustHave(t, lines, "BODY[9] NIL")
	lines = c.ok("FETCH 1 (RFC822.HEADER)")
	mustHave(t, lines, "RFC822.HEADER "+lit(mimeMsg[:hdrEnd]))
	// Nothing so far set \Seen; the message is \Recent for this session,
	// the first to select INBOX (RFC 3501 §2.3.2).
	mustHave(t, c.ok("FETCH 1 FLAGS"), `FLAGS (\Recent)`)
	// BODY[] does, and says so.
	lines = c.ok("FETCH 1 BODY[1]")
	mustHave(t, lines, `BODY[1] {16}Hello plain text FLAGS (\Seen \Recent))`)
	c.ok(`STORE 1 -FLAGS (\Seen)`)
	lines = c.ok("FETCH 1 RFC822.TEXT")
	mustHave(t, lines, "RFC822.TEXT "+lit(mimeMsg[hdrEnd:]), `FLAGS (\Seen \Recent)`)
	lines = c.ok("FETCH 1 RFC822")
	mustHave(t, lines, "RFC822 "+lit(mimeMsg))
	// EXAMINE never sets \Seen; the message is no longer \Recent, the
	// SELECT above took that.
	c.ok(`STORE 1 -FLAGS (\Seen)`)
	c.ok("EXAMINE INBOX")
	c.ok("FETCH 1 BODY[]")
	mustHave(t, c.ok("FETCH 1 FLAGS"), "FLAGS ()")
}

func TestFetchBinary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, mimeMsg)
	c := e.selectBox("alice", "INBOX")
	lines := c.ok("FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])")
	mustHave(t, lines, "BINARY.SIZE[2] 10")
	mustHave(t, lines, "BINARY[2] ~{10}\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09")
	lines = c.ok("FETCH 1 BINARY.PEEK[2]<2.3>")
	mustHave(t, lines, "BINARY[2]<2> ~{3}\x02\x03\x04")
	lines = c.ok("FETCH 1 BINARY.PEEK[1]")
	mustHave(t, lines, "BINARY[1] {16}Hello plain text")
	lines = c.ok("FETCH 1 BINARY.PEEK[7]")
	mustHave(t, lines, "BINARY[7] NIL")
	if st := c.fail("NO", "FETCH 1 BINARY.PEEK[3]"); !strings.Contains(st, "[UNKNOWN-CTE]") {
		t.Fatalf("unknown CTE: %q", st)
	}
	mustHave(t, c.ok("FETCH 1 FLAGS"), `FLAGS (\Recent)`)
	lines = c.ok("FETCH 1 BINARY[1]")
	mustHave(t, lines, `FLAGS (\Seen \Recent)`)
}

func TestFetchCondStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.login("alice")
	c.ok("ENABLE QRESYNC")
	ms := highestModSeq(t, c.ok("SELECT INBOX"))
	lines := c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", ms)
	if len(lines) != 0 {
		t.Fatalf("nothing changed: %q", lines)
	}
	c.ok(`STORE 2 +FLAGS.SILENT (\Answered)`)
	lines = c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", ms)
	if len(lines) != 1 || !has(lines, `* 2 FETCH (UID 2 FLAGS (\Answered \Recent) MODSEQ (`) {
		t.Fatalf("changed since: %q", lines)
	}
	lines = c.ok("FETCH 1 (MODSEQ)")
	mustHave(t, lines, "* 1 FETCH (UID 1 MODSEQ (")
	// UID FETCH VANISHED reports what was expunged since.
	c.ok(`STORE 3 +FLAGS.SILENT (\Deleted)`)
	c.ok("EXPUNGE")
	lines = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", ms)
	mustHave(t, lines, "* VANISHED (EARLIER) 3")
	c2 := e.selectBox("alice", "INBOX")
	c2.fail("BAD", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
}
