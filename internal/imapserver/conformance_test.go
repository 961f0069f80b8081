package imapserver_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// Regression tests for conformance bugs found by Dovecot's imaptest and
// by the differential test against Dovecot.

// RFC 3501 §6.3.9: LSUB with "%" returns foo, flagged \Noselect, when
// foo is not subscribed but foo/bar is.
func TestLsubPercentNoselect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE zz/sub")
	c.ok("UNSUBSCRIBE zz")
	c.ok("SUBSCRIBE zz/sub")
	lines := c.ok("%s", `LSUB "" z%`)
	if len(lines) != 1 || lines[0] != `* LSUB (\Noselect) "/" zz` {
		t.Fatalf(`LSUB "" z%%: %q`, lines)
	}
	lines = c.ok(`LSUB "" zz*`)
	mustHave(t, lines, `* LSUB () "/" zz/sub`)
	if len(lines) != 1 {
		t.Fatalf(`LSUB "" zz*: %q`, lines)
	}
	if lines := c.ok(`LSUB "" zz`); len(lines) != 0 {
		t.Fatalf(`LSUB "" zz: %q`, lines)
	}
}

// RFC 5256 §3 and RFC 5957 §3: a list starting with a group sorts by the
// group name (the addr-mailbox of the envelope's group start marker).
func TestSortGroupAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", "inbox")
	for _, hdr := range []string{
		"To: foo bar <user2@domain2.org>\r\nCc: user2@domain2.org (foo bar)",
		"To: user2@domain1.org\r\nCc: user2: blah@domain1.org;",
		"To: user1@domain1.org\r\nCc: user1@domain1.org",
		"To: a: xx@xx.org, yy@yy.org;\r\nCc: z: aa@aa.org;",
		"To: empty:;\r\nCc: c@c.org",
	} {
		e.deliver(inbox.ID, "From: x@example.test\r\n"+hdr+"\r\nSubject: s\r\n\r\nbody\r\n")
	}
	c := e.selectBox("alice", "INBOX")
	mustHave(t, c.ok("SORT (CC) UTF-8 ALL"), "* SORT 5 3 1 2 4") // c, user1, user2, user2 (group), z (group)
	mustHave(t, c.ok("SORT (DISPLAYTO) UTF-8 ALL"), "* SORT 4 5 1 3 2")
}

// RFC 9051 §6.4.4: FROM searches the envelope's address, where comments
// are gone.
func TestSearchAddressComments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", "inbox")
	e.deliver(inbox.ID, "From: <user-from (comment)@ (comment) domain.org>\r\nSubject: a\r\n\r\nx\r\n")
	e.deliver(inbox.ID, "From: other@domain.org\r\nSubject: b\r\n\r\nx\r\n")
	c := e.selectBox("alice", "INBOX")
	mustHave(t, c.ok("SEARCH FROM user-from@domain.org"), "* SEARCH 1")
	mustHave(t, c.ok("SEARCH FROM comment"), "* SEARCH 1")
	if lines := c.ok("SEARCH FROM nobody@domain.org"); lines[0] != "* SEARCH" {
		t.Fatalf("no match: %q", lines)
	}
}

var esearchModSeq = regexp.MustCompile(`MODSEQ (\d+)`)

// RFC 7162 §3.1.5: with RETURN (MIN) or (MAX) alone, the MODSEQ of an
// ESEARCH is that of the message returned; CONDSTORE being enabled by a
// command while a mailbox is selected announces HIGHESTMODSEQ; STORE
// responses then carry UID and MODSEQ (RFC 7162 §3.1).
func TestCondStoreEnabling(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", "inbox")
	for i := range 3 {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.selectBox("alice", "INBOX")
	lines := c.ok("FETCH 1 (FLAGS) (CHANGEDSINCE 1)")
	mustHave(t, lines, "* OK [HIGHESTMODSEQ ")
	if again := c.ok("FETCH 1 (FLAGS) (CHANGEDSINCE 1)"); has(again, "HIGHESTMODSEQ") {
		t.Fatalf("HIGHESTMODSEQ announced twice: %q", again)
	}
	mustHave(t, c.ok(`STORE 2 +FLAGS (\Seen)`), `* 2 FETCH (UID 2 FLAGS (\Seen \Recent) MODSEQ (`)
	mustHave(t, c.ok(`STORE 3 +FLAGS.SILENT (\Seen)`), `* 3 FETCH (UID 3 MODSEQ (`)
	mod := func(cmd string) string {
		t.Helper()
		lines := c.ok("%s", cmd)
		m := esearchModSeq.FindStringSubmatch(strings.Join(lines, "\n"))
		if m == nil {
			t.Fatalf("%s: no MODSEQ in %q", cmd, lines)
		}
		return m[1]
	}
	m2 := fetchModSeq(t, c, 2)
	m3 := fetchModSeq(t, c, 3)
	if got := mod(`SEARCH RETURN (MIN) MODSEQ 1 SEEN`); got != m2 {
		t.Errorf("MIN: MODSEQ %s, want %s (message 2)", got, m2)
	}
	if got := mod(`SEARCH RETURN (MAX) MODSEQ 1 SEEN`); got != m3 {
		t.Errorf("MAX: MODSEQ %s, want %s (message 3)", got, m3)
	}
	if got := mod(`SEARCH RETURN (MIN COUNT) MODSEQ 1 ALL`); got != m3 {
		t.Errorf("MIN COUNT: MODSEQ %s, want the highest, %s", got, m3)
	}
}

func fetchModSeq(t *testing.T, c *client, seq int) string {
	t.Helper()
	lines := c.ok("FETCH %d (MODSEQ)", seq)
	m := regexp.MustCompile(`MODSEQ \((\d+)\)`).FindStringSubmatch(strings.Join(lines, "\n"))
	if m == nil {
		t.Fatalf("no MODSEQ for %d: %q", seq, lines)
	}
	return m[1]
}

// A message appended as binary (literal8) holds NUL, which a literal
// cannot carry (RFC 9051 §4.3): BODY[] sends it as 0x80, BINARY[] as it is
// in a literal8 (RFC 3516 §4.3).
func TestBodyWithNUL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	msg := "From: user@domain.org\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00 -\xff\r\n"
	c.ok("APPEND INBOX ~{%d+}\r\n%s", len(msg), msg)
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1 (BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[TEXT]<0.3>)")
	if strings.Contains(strings.Join(lines, ""), "\x00") {
		t.Fatalf("NUL in a literal: %q", lines)
	}
	mustHave(t, lines, "BODY[1] {6}\x80 -\xff\r\n", "BODY[TEXT]<0> {3}\x80 -")
	mustHave(t, c.ok("FETCH 1 (BINARY.PEEK[1])"), "BINARY[1] ~{6}\x00 -\xff\r\n")
}

// imaptest's subscribe and listext scripts: IMAP CREATE subscribes to
// nothing, intermediate levels included (RFC 9051 §6.3.4; the store
// subscribes the owner to folders other protocols create); subscriptions
// are kept by the store across sessions, in every namespace.
func TestCreateDoesNotSubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE box/")
	c.ok("CREATE box/test")
	c.ok("CREATE box/test2/test")
	c.ok("CREATE box/test3/test3")
	c.ok("RENAME INBOX box/inbox-old")
	if lines := c.ok(`LSUB "" "box*"`); len(lines) != 0 {
		t.Fatalf("subscribed after CREATE: %q", lines)
	}
	if lines := c.ok(`LIST (SUBSCRIBED) "" "box*"`); len(lines) != 0 {
		t.Fatalf("subscribed after CREATE: %q", lines)
	}
	c.ok("SUBSCRIBE box/test")
	c.ok("SUBSCRIBE box/test2/test")
	c.ok("SUBSCRIBE box/test3/test3")
	// A new session sees the same; "%" shows the unsubscribed parents as
	// \Noselect (RFC 3501 §6.3.9).
	d := e.login("alice")
	lines := d.ok(`LSUB "" "box/%%"`)
	if got := strings.Join(lines, "|"); got != `* LSUB () "/" box/test|* LSUB (\Noselect) "/" box/test2|* LSUB (\Noselect) "/" box/test3` {
		t.Fatalf("lsub: %q", got)
	}
	lines = d.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "box/test2%%" RETURN (CHILDREN)`)
	if got := strings.Join(lines, "|"); got != `* LIST (\HasChildren) "/" box/test2 ("CHILDINFO" ("SUBSCRIBED"))` {
		t.Fatalf("list subscribed recursivematch: %q", got)
	}
	// No CHILDINFO when the subscribed child is listed itself (RFC 5258
	// §3.5; imaptest's listext script).
	lines = d.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" ("box/test2" "box/test2/test")`)
	if len(lines) != 1 || !strings.Contains(lines[0], `\Subscribed`) || !strings.HasSuffix(lines[0], `"/" box/test2/test`) {
		t.Fatalf("list subscribed recursivematch, child listed: %q", lines)
	}
	// Other protocols' folders still start subscribed.
	st, err := e.db.UserStore(e.as("alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateFolder(e.as("alice"), st.ID, 0, "FromWeb", store.FolderMail); err != nil {
		t.Fatal(err)
	}
	mustHave(t, d.ok(`LSUB "" "FromWeb"`), `* LSUB () "/" FromWeb`)
	// Subscriptions to other users' mailboxes last too, and are the
	// subscriber's own.
	e.share("bob", store.SpecialInbox, "alice", "lr")
	d.ok(`SUBSCRIBE "Other Users/bob/INBOX"`)
	mustHave(t, e.login("alice").ok(`LSUB "" "Other Users/*"`), `* LSUB () "/" "Other Users/bob/INBOX"`)
	bob := e.login("bob")
	bob.ok("UNSUBSCRIBE INBOX")
	mustHave(t, e.login("alice").ok(`LSUB "" "Other Users/*"`), `* LSUB () "/" "Other Users/bob/INBOX"`)
	mustNotHave(t, bob.ok(`LSUB "" "INBOX"`), "INBOX")
}

// RFC 9051 §6.3.7, RFC 3501 §6.3.6 and RFC 5258 §3.1: subscriptions are
// to names. A name without a mailbox may be subscribed, DELETE keeps a
// subscribed name, LIST (SUBSCRIBED) shows it \NonExistent and LSUB
// \Noselect, CREATE of a subscribed name makes a subscribed mailbox, and
// all of it lasts across sessions (imaptest's listext script).
func TestSubscribeNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE sub/test1")
	c.ok("CREATE sub/test6")
	c.ok("SUBSCRIBE sub/test1")
	c.ok("SUBSCRIBE sub/test6")
	c.ok("DELETE sub/test6")
	c.ok("SUBSCRIBE sub/missing")
	c.ok("SUBSCRIBE sub/caf&AOk-")
	d := e.login("alice")
	lines := d.ok(`LIST (SUBSCRIBED) "" "sub/*"`)
	mustHave(t, lines, `* LIST (\HasNoChildren \Subscribed) "/" sub/test1`)
	mustHave(t, lines, `* LIST (\NonExistent \Subscribed) "/" sub/test6`)
	mustHave(t, lines, `* LIST (\NonExistent \Subscribed) "/" sub/missing`)
	mustHave(t, lines, `* LIST (\NonExistent \Subscribed) "/" sub/caf&AOk-`)
	if len(lines) != 4 {
		t.Fatalf("list subscribed: %q", lines)
	}
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), `\noselect`) {
			t.Fatalf("\\NonExistent with \\Noselect: %q", l)
		}
	}
	lines = d.ok(`LSUB "" "sub/*"`)
	mustHave(t, lines, `* LSUB () "/" sub/test1`)
	mustHave(t, lines, `* LSUB (\Noselect) "/" sub/test6`)
	mustHave(t, lines, `* LSUB (\Noselect) "/" sub/missing`)
	// Plain LIST lists no names without a mailbox; RETURN (SUBSCRIBED)
	// marks only existing ones.
	lines = d.ok(`LIST "" "sub/*" RETURN (SUBSCRIBED)`)
	mustHave(t, lines, `* LIST (\HasNoChildren \Subscribed) "/" sub/test1`)
	mustNotHave(t, lines, "test6", "missing")
	// RECURSIVEMATCH sees a subscribed name below an unsubscribed parent.
	mustHave(t, d.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%%"`), `"/" sub ("CHILDINFO" ("SUBSCRIBED"))`)
	// CREATE of a subscribed name: a subscribed mailbox, no duplicate.
	d.ok("CREATE sub/test6")
	lines = d.ok(`LIST (SUBSCRIBED) "" "sub/test6"`)
	if len(lines) != 1 || lines[0] != `* LIST (\HasNoChildren \Subscribed) "/" sub/test6` {
		t.Fatalf("after create: %q", lines)
	}
	// Intermediate levels created on the way adopt their names too.
	d.ok("SUBSCRIBE mid")
	d.ok("CREATE mid/leaf")
	mustHave(t, d.ok(`LSUB "" "mid*"`), `* LSUB () "/" mid`)
	// RENAME to a subscribed name subscribes the renamed mailbox; the
	// old name goes with the folder.
	d.ok("CREATE other")
	d.ok("RENAME other sub/missing")
	lines = e.login("alice").ok(`LIST (SUBSCRIBED) "" "*"`)
	mustHave(t, lines, `* LIST (\HasNoChildren \Subscribed) "/" sub/missing`)
	mustNotHave(t, lines, `"/" other`)
	// RENAME changes no subscribed name (as Dovecot): the old names of
	// the mailbox and its children stay, without a mailbox, and the new
	// ones are not subscribed.
	d.ok("CREATE ren/kid")
	d.ok("SUBSCRIBE ren")
	d.ok("SUBSCRIBE ren/kid")
	d.ok("RENAME ren moved")
	lines = e.login("alice").ok(`LIST (SUBSCRIBED) "" "*"`)
	mustHave(t, lines, `* LIST (\NonExistent \Subscribed) "/" ren`, `* LIST (\NonExistent \Subscribed) "/" ren/kid`)
	mustNotHave(t, lines, `"/" moved`)
	d.ok("RENAME moved ren")
	lines = e.login("alice").ok(`LIST (SUBSCRIBED) "" "ren*"`)
	if got := strings.Join(lines, "|"); got != `* LIST (\HasChildren \Subscribed) "/" ren|* LIST (\HasNoChildren \Subscribed) "/" ren/kid` {
		t.Fatalf("renamed back: %q", got)
	}
	// UNSUBSCRIBE removes either form, for good.
	d.ok("UNSUBSCRIBE sub/test6")
	d.ok("UNSUBSCRIBE SUB/CAF&AMk-")
	d.ok("DELETE sub/test6")
	lines = e.login("alice").ok(`LIST (SUBSCRIBED) "" "sub/*"`)
	mustNotHave(t, lines, "test6")
	// A subscription to a name is the subscriber's own.
	mustNotHave(t, e.login("bob").ok(`LSUB "" "*"`), "sub/")
	// A name too long for the store answers NO.
	if st := d.fail("NO", "SUBSCRIBE %s", strings.Repeat("x/", 130)+"x"); !strings.Contains(st, "[") {
		t.Fatalf("long name: %q", st)
	}
}

// imaptest's atoms script: a mailbox name that is not valid modified
// UTF-7 answers NO, a LIST pattern that is not matches nothing, and the
// session goes on (a NO is no BAD and does not count towards the limit
// of bad commands).
func TestInvalidMailboxNameNo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	const atoms = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
	for range 25 {
		if st := c.fail("NO", "SELECT %s", atoms); !strings.Contains(st, "[CANNOT]") {
			t.Fatalf("select: %q", st)
		}
	}
	if lines := c.ok(`LIST "" %s%%*`, atoms); len(lines) != 0 {
		t.Fatalf("list: %q", lines)
	}
	c.ok("NOOP")
}
