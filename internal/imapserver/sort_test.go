package imapserver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// SORT, UID SORT, ESORT (RFC 5256, 5957, 5267) and THREAD.

func sortEnv(t *testing.T) (*env, *client) {
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	msgs := []string{
		// 1
		"From: \"Zed Last\" <amy@example.test>\r\nTo: Bob <zz@example.test>\r\nCc: mm@example.test\r\n" +
			"Subject: Re: banana\r\nDate: Wed, 3 Jan 2024 10:00:00 +0000\r\nMessage-ID: <s1@x>\r\n\r\nshort\r\n",
		// 2
		"From: carl@example.test\r\nTo: \"Ann\" <yy@example.test>\r\n" +
			"Subject: apple\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <s2@x>\r\n\r\n" +
			strings.Repeat("long body\r\n", 50),
		// 3
		"From: =?UTF-8?Q?=C3=89mile?= <bea@example.test>\r\nTo: xx@example.test\r\nCc: aa@example.test\r\n" +
			"Subject: [list] Cherry\r\nDate: Tue, 2 Jan 2024 12:00:00 +0100\r\nMessage-ID: <s3@x>\r\n" +
			"References: <s2@x>\r\n\r\nmedium body text\r\n",
		// 4: no Date, so its arrival counts
		"From: dan@example.test\r\nSubject: Fwd: apple\r\nMessage-ID: <s4@x>\r\nIn-Reply-To: <s2@x>\r\n\r\nx\r\n",
	}
	// Arrival order differs from UID order.
	for i, m := range msgs {
		day := []int{1, 3, 2, 4}[i]
		_, err := e.db.AppendItem(sys, inbox.ID, store.NewItem{Content: strings.NewReader(m),
			InternalDate: time.Date(2024, 2, day, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return e, e.selectBox("alice", "INBOX")
}

func TestSort(t *testing.T) {
	t.Parallel()
	_, c := sortEnv(t)
	mustHave(t, c.ok("CAPABILITY"), "SORT", "SORT=DISPLAY", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "ESORT")
	for _, tc := range []struct{ cmd, want string }{
		{"SORT (ARRIVAL) UTF-8 ALL", "1 3 2 4"},
		{"SORT (REVERSE ARRIVAL) UTF-8 ALL", "4 2 3 1"},
		{"SORT (REVERSE ARRIVAL REVERSE SIZE) UTF-8 ALL", "4 2 3 1"},
		{"SORT (DATE) UTF-8 ALL", "2 3 1 4"},
		{"SORT (REVERSE DATE) UTF-8 ALL", "4 1 3 2"},
		{"SORT (SUBJECT) UTF-8 ALL", "2 4 1 3"},
		{"SORT (SUBJECT REVERSE DATE) UTF-8 ALL", "4 2 1 3"},
		{"SORT (FROM) UTF-8 ALL", "1 3 2 4"},
		{"SORT (TO) US-ASCII ALL", "4 3 2 1"},
		{"SORT (CC) UTF-8 ALL", "2 4 3 1"},
		{"SORT (SIZE) UTF-8 ALL", "4 1 3 2"},
		{"SORT (REVERSE SIZE) UTF-8 ALL", "2 3 1 4"},
		// "carl@…" (no display name), "dan@…", "Zed Last", "Émile": names
		// are compared casefolded, code point by code point.
		{"SORT (DISPLAYFROM) UTF-8 ALL", "2 4 1 3"},
		{"SORT (DISPLAYTO) UTF-8 ALL", "4 2 1 3"},
		{"SORT (SUBJECT) UTF-8 FROM example NOT 1", "2 4 3"},
		{"SORT (SUBJECT) UTF-8 SUBJECT nothing", ""},
		{"UID SORT (REVERSE DATE) UTF-8 2:4", "4 3 2"},
	} {
		lines := c.ok("%s", tc.cmd)
		want := strings.TrimSpace("* SORT " + tc.want)
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("%s: got %q, want %q", tc.cmd, lines, want)
		}
	}
	c.fail("NO", "SORT (DATE) KOI8-R ALL")
	c.fail("BAD", "SORT (BOGUS) UTF-8 ALL")
	c.fail("BAD", "SORT () UTF-8 ALL")

	// ESORT (RFC 5267): MIN and MAX in sort order, ALL in sort order.
	lines := c.ok("SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
	mustHave(t, lines, `* ESEARCH (TAG "a`, "MIN 2 MAX 4 COUNT 4 ALL 2:3,1,4")
	lines = c.ok("UID SORT RETURN (COUNT) (SUBJECT) UTF-8 ALL")
	mustHave(t, lines, " UID COUNT 4")
	// SEARCHRES: "$" holds the sorted result as a set.
	if lines := c.ok("SORT RETURN (SAVE) (REVERSE DATE) UTF-8 SUBJECT apple"); len(lines) != 0 {
		t.Errorf("SAVE alone returned %q", lines)
	}
	mustHave(t, c.ok("UID SEARCH UID $"), "* SEARCH 2 4")
	c.ok("SORT RETURN (SAVE MIN) (REVERSE DATE) UTF-8 SUBJECT apple")
	mustHave(t, c.ok("UID SEARCH UID $"), "* SEARCH 4")
}

func TestSortUIDs(t *testing.T) {
	t.Parallel()
	e, c := sortEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	// UIDs and sequence numbers differ after an expunge.
	c.ok(`STORE 1 +FLAGS (\Deleted)`)
	c.ok("EXPUNGE")
	e.deliver(inbox.ID, "Subject: aardvark\r\nDate: Sun, 31 Dec 2023 00:00:00 +0000\r\n\r\nx\r\n")
	c.ok("NOOP")
	if lines := c.ok("SORT (SUBJECT) UTF-8 ALL"); lines[0] != "* SORT 4 1 3 2" {
		t.Errorf("SORT: %q", lines)
	}
	if lines := c.ok("UID SORT (SUBJECT) UTF-8 ALL"); lines[0] != "* SORT 5 2 4 3" {
		t.Errorf("UID SORT: %q", lines)
	}
	if lines := c.ok("UID THREAD REFERENCES UTF-8 ALL"); lines[0] != "* THREAD (5)(2 (3)(4))" {
		t.Errorf("UID THREAD: %q", lines)
	}
}

func TestThread(t *testing.T) {
	t.Parallel()
	_, c := sortEnv(t)
	for _, tc := range []struct{ cmd, want string }{
		// 3 and 4 reference 2; 1 stands alone. 4 has no Date: its
		// arrival, the latest, sorts it last.
		{"THREAD REFERENCES UTF-8 ALL", "(2 (3)(4))(1)"},
		{"THREAD REFERENCES US-ASCII NOT 2", "((3)(4))(1)"},
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "(2 4)(3)(1)"},
		{"UID THREAD ORDEREDSUBJECT UTF-8 1:2", "(2)(1)"},
		{"THREAD REFERENCES UTF-8 SUBJECT nothing", ""},
	} {
		lines := c.ok("%s", tc.cmd)
		want := strings.TrimSpace("* THREAD " + tc.want)
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("%s: got %q, want %q", tc.cmd, lines, want)
		}
	}
	c.fail("BAD", "THREAD X-UNKNOWN UTF-8 ALL")
	c.fail("NO", "THREAD REFERENCES ISO-2022-JP ALL")
}

func TestThreadManyMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	// Ten threads of ten messages each, delivered interleaved.
	for i := range 100 {
		th, k := i%10, i/10
		refs := ""
		if k > 0 {
			refs = fmt.Sprintf("References: <t%d-0@x> <t%d-%d@x>\r\n", th, th, k-1)
		}
		e.deliver(inbox.ID, fmt.Sprintf("Subject: thread %d\r\nMessage-ID: <t%d-%d@x>\r\n%s"+
			"Date: Mon, 1 Jan 2024 %02d:%02d:00 +0000\r\n\r\nx\r\n", th, th, k, refs, k, th))
	}
	c := e.selectBox("alice", "INBOX")
	lines := c.ok("THREAD REFERENCES UTF-8 ALL")
	var want strings.Builder
	want.WriteString("* THREAD ")
	for th := range 10 {
		want.WriteString("(")
		for k := range 10 {
			if k > 0 {
				want.WriteString(" ")
			}
			fmt.Fprintf(&want, "%d", k*10+th+1)
		}
		want.WriteString(")")
	}
	if len(lines) != 1 || lines[0] != want.String() {
		t.Errorf("got %q\nwant %q", lines, want.String())
	}
}
