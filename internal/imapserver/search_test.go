package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// SEARCH and UID SEARCH, ESEARCH and SEARCHRES.

func searchEnv(t *testing.T) (*env, *client) {
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1), `\Seen`)              // 1
	e.deliver(inbox.ID, mimeMsg, `\Flagged`)              // 2
	e.deliver(inbox.ID, testMsg(3), `\Deleted`, "$Work")  // 3
	e.deliver(inbox.ID, "Subject: tiny\r\n\r\nsmall\r\n") // 4
	e.deliver(inbox.ID, "From: x@y.test\r\nSubject: Re: [list] Hello there\r\n"+
		"Date: Sun, 1 Jan 2023 23:30:00 -0500\r\nX-Spam: yes\r\n\r\n<p>html?</p>\r\n") // 5
	return e, e.selectBox("alice", "INBOX")
}

func TestSearchKeys(t *testing.T) {
	t.Parallel()
	_, c := searchEnv(t)
	for _, tc := range []struct {
		keys, want string
	}{
		{"ALL", "1 2 3 4 5"},
		{"SEEN", "1"},
		{"UNSEEN", "2 3 4 5"},
		{"FLAGGED", "2"},
		{"UNFLAGGED DELETED", "3"},
		{"KEYWORD $Work", "3"},
		{"UNKEYWORD $work", "1 2 4 5"},
		// All five arrived before this session, the first to select
		// INBOX: \Recent for it (RFC 3501 §2.3.2).
		{"NEW", "2 3 4 5"},
		{"OLD", ""},
		{"RECENT", "1 2 3 4 5"},
		{"ANSWERED", ""},
		{"UNDRAFT", "1 2 3 4 5"},
		{"SUBJECT message", "1 3"},
		{"CHARSET UTF-8 SUBJECT {7+}\r\ngrüße", "2"}, // encoded word decoded
		{"SUBJECT {4+}\r\nGrü", "2"},
		{"FROM ann@example", "2"},
		{`FROM "Ann Example"`, "2"},
		{"TO alice", "1 2 3"},
		{"CC alice", ""},
		{"BCC alice", ""},
		{"HEADER X-Spam yes", "5"},
		{`HEADER X-Spam ""`, "5"},
		{"HEADER Message-ID mime1", "2"},
		{"BODY plain", "2"},
		{"BODY html?", "5"},
		{"BODY subject", ""},
		{"TEXT subject", "1 2 3 4 5"},
		{"TEXT \"Body of message 3\"", "3"},
		{"LARGER 100", "1 2 3 5"},
		{"SMALLER 100", "4"},
		{"SENTON 2-Jan-2006", "1 3"},
		{"SENTBEFORE 3-Jan-2006", "1 3"},
		{"SENTSINCE 3-Jan-2006", "2 5"},
		{"SENTON 1-Jan-2023", "5"}, // the date as written, not UTC
		{"SINCE 1-Jan-2020", "1 2 3 4 5"},
		{"BEFORE 1-Jan-2020", ""},
		{"YOUNGER 3600", "1 2 3 4 5"},
		{"OLDER 3600", ""},
		{"2:4", "2 3 4"},
		{"*", "5"},
		{"UID 1,5:*", "1 5"},
		{"NOT SEEN NOT DELETED", "2 4 5"},
		{"OR SEEN FLAGGED", "1 2"},
		{"(OR SEEN FLAGGED) (SUBJECT message)", "1"},
		{"FUZZY SUBJECT tiny", "4"},
		{"CHARSET UTF-8 SUBJECT tiny", "4"},
	} {
		lines := c.ok("SEARCH %s", tc.keys)
		want := strings.TrimSpace("* SEARCH " + tc.want)
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("SEARCH %s: got %q, want %q", tc.keys, lines, want)
		}
	}
	if st := c.fail("NO", "SEARCH CHARSET KOI8-R ALL"); !strings.Contains(st, "[BADCHARSET") {
		t.Fatalf("charset: %q", st)
	}
	lines := c.ok("UID SEARCH FLAGGED")
	mustHave(t, lines, "* SEARCH 2")
	lines = c.ok("SEARCH MODSEQ 1")
	mustHave(t, lines, "* SEARCH 1 2 3 4 5 (MODSEQ ")
}

func TestESearchAndSaved(t *testing.T) {
	t.Parallel()
	_, c := searchEnv(t)
	lines, st := c.cmd("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
	if !strings.HasPrefix(st, "OK") {
		t.Fatal(st)
	}
	tag := strings.TrimPrefix(fmt.Sprintf("a%d", c.n), "")
	mustHave(t, lines, fmt.Sprintf(`* ESEARCH (TAG "%s") MIN 2 MAX 5 COUNT 4 ALL 2:5`, tag))
	lines = c.ok("UID SEARCH RETURN (COUNT) SEEN")
	mustHave(t, lines, `UID COUNT 1`)
	lines = c.ok("SEARCH RETURN () DELETED")
	mustHave(t, lines, `ALL 3`)
	lines = c.ok("SEARCH RETURN (MIN) KEYWORD $none")
	mustHave(t, lines, `* ESEARCH (TAG`)
	mustNotHave(t, lines, "MIN")
	// SEARCHRES: SAVE alone answers nothing; "$" is then usable.
	lines = c.ok("SEARCH RETURN (SAVE) OR SEEN FLAGGED")
	if len(lines) != 0 {
		t.Fatalf("save: %q", lines)
	}
	lines = c.ok("FETCH $ (UID)")
	mustHave(t, lines, "* 1 FETCH (UID 1)")
	mustHave(t, lines, "* 2 FETCH (UID 2)")
	if len(lines) != 2 {
		t.Fatalf("fetch $: %q", lines)
	}
	mustHave(t, c.ok("SEARCH $ SEEN"), "* SEARCH 1")
	mustHave(t, c.ok("UID SEARCH UID $"), "* SEARCH 1 2")
	c.ok("SEARCH RETURN (SAVE MIN) ALL")
	lines = c.ok("FETCH $ (UID)")
	if len(lines) != 1 {
		t.Fatalf("saved min: %q", lines)
	}
	// IMAP4rev2 answers ESEARCH even without RETURN.
	c.ok("UNSELECT")
	c.ok("ENABLE IMAP4rev2")
	c.ok("SELECT INBOX")
	lines = c.ok("SEARCH FLAGGED")
	mustHave(t, lines, "* ESEARCH (TAG", "ALL 2")
}

// Bad input from the issue: SEARCH nested 10,000 deep is refused without
// exhausting anything.
func TestSearchDeep(t *testing.T) {
	t.Parallel()
	_, c := searchEnv(t)
	deep := strings.Repeat("(", 10000) + "ALL" + strings.Repeat(")", 10000)
	if st := c.fail("BAD", "SEARCH %s", deep); !strings.Contains(st, "[LIMIT]") {
		t.Fatalf("deep parens: %q", st)
	}
	if st := c.fail("BAD", "SEARCH %sALL", strings.Repeat("NOT ", 10000)); !strings.Contains(st, "[LIMIT]") {
		t.Fatalf("deep NOT: %q", st)
	}
	c.ok("SEARCH %sALL", strings.Repeat("NOT ", 20))
	// Many ranges stay cheap.
	var b strings.Builder
	for i := 1; i < 16000; i += 2 {
		fmt.Fprintf(&b, "%d,", i)
	}
	c.ok("UID SEARCH UID %s1", b.String())
}
