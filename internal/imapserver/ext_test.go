package imapserver_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// OBJECTID (RFC 8474), SAVEDATE (RFC 8514), PREVIEW (RFC 8970) and
// LIST-MYRIGHTS (RFC 8440) through the raw client.

var objectIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// idIn returns the objectid after "name (" in lines, or fails.
func idIn(t *testing.T, lines []string, name string) string {
	t.Helper()
	re := regexp.MustCompile(name + ` \(([^)]*)\)`)
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			if !objectIDRe.MatchString(m[1]) {
				t.Fatalf("%s %q is not an objectid", name, m[1])
			}
			return m[1]
		}
	}
	t.Fatalf("no %s in %q", name, lines)
	return ""
}

func TestObjectID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	e.deliver(inbox.ID, testMsg(2))
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "OBJECTID")

	// MAILBOXID in CREATE, SELECT and STATUS, the same in each, and kept
	// by RENAME (RFC 8474 §4).
	_, tagged := c.cmd("CREATE Projects")
	if !strings.HasPrefix(tagged, "OK [MAILBOXID (") {
		t.Fatalf("CREATE: %q", tagged)
	}
	created := idIn(t, []string{tagged}, "MAILBOXID")
	st := idIn(t, c.ok("STATUS Projects (MAILBOXID MESSAGES)"), "MAILBOXID")
	if st != created {
		t.Fatalf("STATUS MAILBOXID %s, CREATE said %s", st, created)
	}
	c.ok("RENAME Projects Archive2026")
	if got := idIn(t, c.ok("STATUS Archive2026 (MAILBOXID)"), "MAILBOXID"); got != created {
		t.Fatalf("MAILBOXID after RENAME %s, before %s", got, created)
	}
	inboxID := idIn(t, c.ok("SELECT INBOX"), "MAILBOXID")
	if inboxID == created {
		t.Fatal("two mailboxes with one MAILBOXID")
	}
	lines := c.ok(`LIST "" "Archive2026" RETURN (STATUS (MAILBOXID))`)
	if idIn(t, lines, "MAILBOXID") != created {
		t.Fatalf("LIST-STATUS: %q", lines)
	}

	// EMAILID: distinct per message, kept by MOVE (RFC 8474 §5.1);
	// THREADID is NIL (no stored threads).
	lines = c.ok("FETCH 1:2 (EMAILID THREADID)")
	mustHave(t, lines, "THREADID NIL")
	id1 := idIn(t, lines[:1], "EMAILID")
	id2 := idIn(t, lines[1:2], "EMAILID")
	if id1 == id2 {
		t.Fatalf("two messages with EMAILID %s", id1)
	}
	mustHave(t, c.ok("UID SEARCH EMAILID %s", id2), "* SEARCH 2")
	mustHave(t, c.ok("SEARCH THREADID T1"), "* SEARCH")
	mustNotHave(t, c.ok("SEARCH THREADID T1"), "* SEARCH 1")
	c.ok("UID MOVE 2 Archive2026")
	c.ok("SELECT Archive2026")
	if got := idIn(t, c.ok("FETCH 1 (EMAILID)"), "EMAILID"); got != id2 {
		t.Fatalf("EMAILID after MOVE %s, before %s", got, id2)
	}
	mustHave(t, c.ok("SEARCH EMAILID %s", id2), "* SEARCH 1")
	mustNotHave(t, c.ok("SEARCH EMAILID %s", id1), "* SEARCH 1")
	c.fail("BAD", "SEARCH EMAILID %s", "bad/id")
}

var saveDateRe = regexp.MustCompile(`SAVEDATE "([^"]+)"`)

func TestSaveDate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "SAVEDATE")
	c.ok("CREATE Old")
	// An APPEND with an internal date in the past: SAVEDATE is when it
	// was saved, not the internal date (RFC 8514 §4).
	c.ok("APPEND Old \"01-Jan-2001 10:00:00 +0000\" {%d+}\r\n%s", len(testMsg(2)), testMsg(2))
	c.ok("SELECT Old")
	lines := c.ok("FETCH 1 (INTERNALDATE SAVEDATE)")
	m := saveDateRe.FindStringSubmatch(strings.Join(lines, "\n"))
	if m == nil {
		t.Fatalf("no SAVEDATE in %q", lines)
	}
	saved, err := time.Parse("02-Jan-2006 15:04:05 -0700", strings.TrimSpace(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if saved.Year() < 2020 {
		t.Fatalf("SAVEDATE %v is the internal date", saved)
	}
	mustHave(t, lines, `INTERNALDATE "01-Jan-2001 10:00:00 +0000"`)
	mustHave(t, c.ok("SEARCH SAVEDATESUPPORTED"), "* SEARCH 1")
	mustHave(t, c.ok("SEARCH SAVEDSINCE 1-Jan-2020"), "* SEARCH 1")
	mustNotHave(t, c.ok("SEARCH SAVEDBEFORE 1-Jan-2020"), "* SEARCH 1")
	mustHave(t, c.ok("SEARCH SAVEDON %s", saved.UTC().Format("2-Jan-2006")), "* SEARCH 1")
	mustHave(t, c.ok("SEARCH BEFORE 1-Jan-2020"), "* SEARCH 1")
	mustNotHave(t, c.ok("SEARCH NOT SAVEDSINCE 1-Jan-2020"), "* SEARCH 1")

	// A message delivered before the session has a save date too, and
	// UID FETCH reports it for every message asked for.
	c.ok("SELECT INBOX")
	lines = c.ok("UID FETCH 1:* (SAVEDATE)")
	if !saveDateRe.MatchString(strings.Join(lines, "\n")) {
		t.Fatalf("no SAVEDATE in %q", lines)
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, mimeMsg)
	long := "Subject: long\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Grüße   aus\r\n\r\n" +
		strings.Repeat("wort ", 100) + "</p></body></html>\r\n"
	e.deliver(inbox.ID, long)
	e.deliver(inbox.ID, "Subject: empty\r\nContent-Type: image/png\r\n\r\nxx\r\n")
	c := e.selectBox("alice", "INBOX")
	mustHave(t, c.ok("CAPABILITY"), "PREVIEW")
	lines := c.ok("FETCH 1 (PREVIEW)")
	mustHave(t, lines, `* 1 FETCH (PREVIEW "Hello plain text")`)
	mustHave(t, c.ok("FETCH 1 (PREVIEW (LAZY))"), `PREVIEW "Hello plain text"`)
	// Without UTF8=ACCEPT non-ASCII text goes as a literal.
	mustHave(t, c.ok("FETCH 2 (PREVIEW)"), "PREVIEW {")
	c = e.login("alice")
	c.ok("ENABLE UTF8=ACCEPT")
	c.ok("SELECT INBOX")
	lines = c.ok("FETCH 2 (PREVIEW)")
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "Grüße aus wort wort") {
		t.Fatalf("preview of HTML: %q", all)
	}
	m := regexp.MustCompile(`PREVIEW "([^"]*)"`).FindStringSubmatch(all)
	if m == nil || len([]rune(m[1])) > 256 || len([]rune(m[1])) < 250 {
		t.Fatalf("preview not cut at 256 characters: %q", all)
	}
	mustHave(t, c.ok("FETCH 3 (PREVIEW)"), `PREVIEW ""`)
	// From the cache now: the same answer.
	if again := strings.Join(c.ok("FETCH 2 (PREVIEW)"), "\n"); again != all {
		t.Fatalf("cached preview differs:\n%q\n%q", again, all)
	}
}

func TestListMyRights(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bobInbox := e.folder("bob", store.SpecialInbox)
	if err := e.db.SetACL(e.as("bob"), bobInbox.ID, store.UserSubject("alice"), "lr"); err != nil {
		t.Fatal(err)
	}
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "LIST-MYRIGHTS")
	lines := c.ok(`LIST "" "*" RETURN (MYRIGHTS)`)
	mustHave(t, lines, `* LIST (\HasNoChildren) "/" INBOX`)
	mustHave(t, lines, `* MYRIGHTS INBOX lrswipkxtea`)
	mustHave(t, lines, `* MYRIGHTS "Other Users/bob/INBOX" lr`)
	// In order: each MYRIGHTS right after its LIST.
	for i, l := range lines {
		if strings.HasPrefix(l, "* MYRIGHTS ") && (i == 0 || !strings.HasPrefix(lines[i-1], "* LIST ")) {
			t.Fatalf("MYRIGHTS not after its LIST: %q", lines)
		}
	}
	// Levels that are no mailbox get none.
	mustNotHave(t, lines, `* MYRIGHTS "Other Users"`)
}

func TestReplace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	drafts := e.folder("alice", store.SpecialDrafts)
	e.deliver(inbox.ID, testMsg(1))
	e.deliver(inbox.ID, testMsg(2))
	c := e.selectBox("alice", "INBOX")
	mustHave(t, c.ok("CAPABILITY"), "REPLACE")
	draft := "Subject: draft v2\r\n\r\nsecond version\r\n"

	// To another mailbox: APPENDUID there, the source expunged here.
	lines := c.ok("UID REPLACE 2 Drafts (\\Draft) {%d+}\r\n%s", len(draft), draft)
	mustHave(t, lines, fmt.Sprintf("* OK [APPENDUID %d 1]", drafts.UIDValidity))
	mustHave(t, lines, "* 2 EXPUNGE")
	d := e.folder("alice", store.SpecialDrafts)
	if d.Messages != 1 {
		t.Fatalf("Drafts has %d messages", d.Messages)
	}

	// Within the selected mailbox: the new message arrives as EXISTS.
	lines = c.ok("REPLACE 1 INBOX {%d+}\r\n%s", len(draft), draft)
	mustHave(t, lines, fmt.Sprintf("* OK [APPENDUID %d 3]", inbox.UIDValidity))
	mustHave(t, lines, "* 1 EXPUNGE")
	mustHave(t, lines, "* 1 EXISTS")
	mustHave(t, c.ok("UID FETCH 3 (BODY.PEEK[TEXT])"), "second version")

	// A message that is not there: NO, and nothing appended.
	st := c.fail("NO", "UID REPLACE 99 Drafts {%d+}\r\n%s", len(draft), draft)
	if !strings.Contains(st, "NONEXISTENT") {
		t.Fatalf("REPLACE of a missing UID: %q", st)
	}
	c.fail("BAD", "REPLACE 5 Drafts {%d+}\r\n%s", len(draft), draft)
	// A missing target: TRYCREATE, the source stays.
	st = c.fail("NO", "REPLACE 1 Nowhere {%d+}\r\n%s", len(draft), draft)
	if !strings.Contains(st, "TRYCREATE") {
		t.Fatalf("REPLACE into a missing mailbox: %q", st)
	}
	if d := e.folder("alice", store.SpecialDrafts); d.Messages != 1 {
		t.Fatalf("Drafts has %d messages after failed REPLACEs", d.Messages)
	}
	mustHave(t, c.ok("FETCH 1 (UID)"), "UID 3")

	// EXAMINE: read-only.
	c.ok("EXAMINE INBOX")
	c.fail("NO", "REPLACE 1 Drafts {%d+}\r\n%s", len(draft), draft)
	c.ok("NOOP")
}

func TestMessageLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetMessageLimit(2)
	inbox := e.folder("alice", store.SpecialInbox)
	trash := e.folder("alice", store.SpecialTrash)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.selectBox("alice", "INBOX")
	mustHave(t, c.ok("CAPABILITY"), "MESSAGELIMIT=2")
	// By sequence numbers: refused, nothing done.
	if st := c.fail("NO", "FETCH 1:3 (FLAGS)"); !strings.HasPrefix(st, "NO [LIMIT]") {
		t.Fatalf("FETCH over the limit: %q", st)
	}
	c.fail("NO", "STORE 1:* +FLAGS (\\Flagged)")
	mustNotHave(t, c.ok("FETCH 1:2 (FLAGS)"), `\Flagged`)
	// By UID: the lowest UIDs, OK [LIMIT].
	lines, st := c.cmd("UID FETCH 1:* (FLAGS)")
	if !strings.HasPrefix(st, "OK [LIMIT]") || len(lines) != 2 || has(lines, "UID 3") {
		t.Fatalf("UID FETCH over the limit: %q %q", lines, st)
	}
	_, st = c.cmd("UID STORE 1:* +FLAGS.SILENT (\\Flagged)")
	if !strings.HasPrefix(st, "OK [LIMIT]") {
		t.Fatalf("UID STORE over the limit: %q", st)
	}
	mustNotHave(t, c.ok("UID FETCH 3 (FLAGS)"), `\Flagged`)
	lines, st = c.cmd("UID COPY 1:* Trash")
	if !strings.HasPrefix(st, "OK [LIMIT]") {
		t.Fatalf("UID COPY over the limit: %q", st)
	}
	mustHave(t, lines, fmt.Sprintf("[COPYUID %d 1:2 1:2]", trash.UIDValidity))
	c.ok("UID FETCH 3 (FLAGS)")
	c.ok("UID COPY 3 Trash")
}

func TestCatenate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, mimeMsg)
	bobInbox := e.folder("bob", store.SpecialInbox)
	e.deliver(bobInbox.ID, testMsg(1))
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "CATENATE")
	text := "\r\nNew text before the old part:\r\n"
	lines := c.ok(`APPEND Drafts (\Draft) CATENATE (URL "/INBOX;UIDVALIDITY=%d/;UID=1/;SECTION=HEADER" TEXT {%d+}`+"\r\n%s"+
		` URL "/INBOX/;UID=1/;SECTION=1" URL /INBOX/;UID=1/;PARTIAL=0.4)`, inbox.UIDValidity, len(text), text)
	_ = lines
	c.ok("SELECT Drafts")
	got := strings.Join(c.ok("FETCH 1 (BODY.PEEK[])"), "\n")
	hdrEnd := strings.Index(mimeMsg, "\r\n\r\n") + 4
	want := mimeMsg[:hdrEnd] + text + "Hello plain text" + "From"
	if !strings.Contains(got, fmt.Sprintf("{%d}", len(want))) || !strings.Contains(got, "New text before the old part:\r\nHello plain textFrom") {
		t.Fatalf("catenated message:\n%q\nwant %q", got, want)
	}

	// MULTIAPPEND mixing a literal and CATENATE.
	_, st := c.cmd("APPEND Drafts {5+}\r\nhello CATENATE (TEXT {3+}\r\nabc)")
	if !strings.Contains(st, "OK [APPENDUID") || !strings.Contains(st, ":3]") {
		t.Fatalf("MULTIAPPEND with CATENATE: %q", st)
	}
	// Bad URLs: NO [BADURL], nothing appended.
	for _, u := range []string{
		"/INBOX/;UID=99",
		fmt.Sprintf("/INBOX;UIDVALIDITY=%d/;UID=1", inbox.UIDValidity+1),
		"/Other%20Users/bob/INBOX/;UID=1", // not shared with alice
		"/INBOX/;UID=1/;SECTION=9",
		"imap://alice@host/INBOX/;UID=1",
		"/INBOX",
	} {
		st := c.fail("NO", "APPEND Drafts CATENATE (URL %s)", quote(u))
		if !strings.Contains(st, "[BADURL "+u+"]") {
			t.Errorf("URL %s: %q", u, st)
		}
	}
	// At most 100 URLs: each may open and parse a whole message.
	many := strings.TrimSuffix(strings.Repeat(`URL "/INBOX/;UID=1/;PARTIAL=0.1" `, 101), " ")
	if st := c.fail("NO", "APPEND Drafts CATENATE (%s)", many); !strings.Contains(st, "[LIMIT]") {
		t.Errorf("101 URLs: %q", st)
	}
	mustHave(t, c.ok("STATUS Drafts (MESSAGES)"), "MESSAGES 3")
	// REPLACE takes CATENATE too (RFC 8508 §4).
	c.ok("UID REPLACE 3 Drafts CATENATE (URL \"/Drafts/;UID=2\" TEXT {3+}\r\n!!!)")
	c.ok("NOOP")
	mustHave(t, c.ok("UID FETCH 4 (BODY.PEEK[])"), "hello!!!")
	// In one MULTIAPPEND, together; the messages made before are undone.
	half := strings.TrimSuffix(strings.Repeat(`URL "/INBOX/;UID=1/;PARTIAL=0.1" `, 51), " ")
	if st := c.fail("NO", "APPEND Drafts CATENATE (%s) CATENATE (%s)", half, half); !strings.Contains(st, "[LIMIT]") {
		t.Errorf("101 URLs in two messages: %q", st)
	}
	mustHave(t, c.ok("STATUS Drafts (MESSAGES)"), "MESSAGES 3")
}

func TestInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Every step is "long" here; the interval is a second in service.
	e.srv.SetProgressEvery(time.Nanosecond)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.selectBox("alice", "INBOX")
	mustHave(t, c.ok("CAPABILITY"), "INPROGRESS")
	tag := fmt.Sprintf("a%d", c.n+1)
	lines := c.ok("SEARCH BODY message")
	mustHave(t, lines, fmt.Sprintf(`* OK [INPROGRESS ("%s" 2 3)]`, tag))
	mustHave(t, lines, "* SEARCH 1 2 3")
	tag = fmt.Sprintf("a%d", c.n+1)
	lines = c.ok("FETCH 1:3 (UID)")
	mustHave(t, lines, fmt.Sprintf(`* OK [INPROGRESS ("%s" 1 3)]`, tag))
	mustHave(t, lines, "* 3 FETCH (UID 3)")
	tag = fmt.Sprintf("a%d", c.n+1)
	mustHave(t, c.ok("UID COPY 1:3 Trash"), fmt.Sprintf(`* OK [INPROGRESS ("%s" 0 3)]`, tag))

	// In service, a quick command sends none.
	e.srv.SetProgressEvery(time.Hour)
	mustNotHave(t, c.ok("SEARCH ALL"), "INPROGRESS")
}

func TestQuotaMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "QUOTA=RES-MESSAGE")
	mustNotHave(t, c.ok("GETQUOTAROOT INBOX"), "MESSAGE")
	e.db.SetDefaults(store.Defaults{MaxMessages: 2})
	mustHave(t, c.ok("GETQUOTAROOT INBOX"), `* QUOTA "" (MESSAGE 1 2)`)
	c.ok("APPEND INBOX {%d+}\r\n%s", len(testMsg(2)), testMsg(2))
	mustHave(t, c.ok(`GETQUOTA ""`), `* QUOTA "" (MESSAGE 2 2)`)
	if st := c.fail("NO", "APPEND INBOX {%d+}\r\n%s", len(testMsg(3)), testMsg(3)); !strings.Contains(st, "[OVERQUOTA]") {
		t.Fatalf("APPEND over the message limit: %q", st)
	}
}

func TestMessageLimitExpungeAppend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetMessageLimit(2)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := 1; i <= 3; i++ {
		e.deliver(inbox.ID, testMsg(i), `\Deleted`)
	}
	c := e.selectBox("alice", "INBOX")
	lines, st := c.cmd("UID EXPUNGE 1:*")
	if !strings.HasPrefix(st, "OK [LIMIT]") {
		t.Fatalf("UID EXPUNGE over the limit: %q", st)
	}
	mustHave(t, lines, "* 1 EXPUNGE")
	mustHave(t, c.ok("UID SEARCH ALL"), "* SEARCH 3")
	// A MULTIAPPEND of three: refused, none kept.
	st = c.fail("NO", "APPEND Drafts {1+}\r\na {1+}\r\nb {1+}\r\nc")
	if !strings.HasPrefix(st, "NO [LIMIT]") {
		t.Fatalf("MULTIAPPEND over the limit: %q", st)
	}
	c.ok("NOOP")
	mustHave(t, c.ok("STATUS Drafts (MESSAGES)"), "MESSAGES 0")
}
