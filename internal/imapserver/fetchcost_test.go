package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// The SQL statements a command costs must not grow with the number of
// messages it covers (issue 9.16, issue 10 item 2): the view keeps what
// the store's listing has, and per-message metadata for FETCH is read in
// batches.

// costCommand is a command measured, with the reply lines expected for n
// messages.
type costCommand struct {
	cmd   string
	lines func(n int) int
}

func perMessage(n int) int { return n }
func oneLine(int) int      { return 1 }

// dateCommands need the INTERNALDATE of every message (issue 9.16).
var dateCommands = []costCommand{
	{"FETCH 1:* (INTERNALDATE)", perMessage},
	{"UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)", perMessage},
	{"SEARCH SINCE 1-Jan-2000", oneLine},
	{"SEARCH BEFORE 1-Jan-2000", oneLine},
	{"SEARCH YOUNGER 100000", oneLine},
	{"SORT (ARRIVAL) UTF-8 ALL", oneLine},
	{"SORT (DATE) UTF-8 ALL", oneLine},
}

// metaCommands need ENVELOPE, BODYSTRUCTURE or header fields: what clients
// fetch for a new message list (issue 10 item 2).
var metaCommands = []costCommand{
	{"UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)", perMessage},
	{"FETCH 1:* (BODY)", perMessage},
	{"FETCH 1:* ALL", perMessage},
	// Thunderbird's new-message fetch.
	{"UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])", perMessage},
	// Apple Mail's header fetch, and RFC 1730's.
	{"UID FETCH 1:* (BODY.PEEK[HEADER] RFC822.HEADER)", perMessage},
	// mbsync's.
	{"UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (X-TUID MESSAGE-ID)])", perMessage},
	{"UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS.NOT (Received)]<0.100>)", perMessage},
}

// statementsPerCommand delivers n messages to a fresh mailbox and returns
// the SQL statements each of costCommands ran (the second time it is
// sent: the first may fill caches).
func statementsPerCommand(t *testing.T, cmds []costCommand, n int) []uint64 {
	t.Helper()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := range n {
		msg := testMsg(i)
		if i%2 == 1 {
			msg = mimeMsg
		}
		e.deliver(inbox.ID, msg)
	}
	c := e.selectBox("alice", "INBOX")
	out := make([]uint64, len(cmds))
	for k, cc := range cmds {
		for round := range 2 {
			before := e.db.Statements()
			lines := c.ok("%s", cc.cmd)
			after := e.db.Statements()
			if len(lines) != cc.lines(n) {
				t.Fatalf("%s: %d reply lines for %d messages: %q", cc.cmd, len(lines), n, lines)
			}
			if round == 1 {
				out[k] = after - before
			}
		}
	}
	return out
}

// checkStatements fails unless each command runs as many statements for
// many messages as for a few, and at most a handful.
func checkStatements(t *testing.T, cmds []costCommand) {
	const small, large = 4, 40
	a := statementsPerCommand(t, cmds, small)
	b := statementsPerCommand(t, cmds, large)
	var report []string
	for k, cc := range cmds {
		perMsg := float64(b[k]-min(a[k], b[k])) / float64(large-small)
		report = append(report, fmt.Sprintf("%-60.60s %3d stmts at %d msgs, %4d at %d: %.2f per message", cc.cmd, a[k], small, b[k], large, perMsg))
		if b[k] > a[k] || b[k] > 8 {
			t.Errorf("%s: %d SQL statements for %d messages, %d for %d: must not grow with the messages", cc.cmd, a[k], small, b[k], large)
		}
	}
	t.Logf("SQL statements per command:\n%s", strings.Join(report, "\n"))
}

// contentCommands read each message's content: one statement per message
// (the item and its content's row), access checked once per command.
var contentCommands = []costCommand{
	{"UID FETCH 1:* (BODY.PEEK[])", perMessage},
	{"FETCH 1:* (FLAGS BODY.PEEK[TEXT] BODYSTRUCTURE)", perMessage},
	{"FETCH 1:* (BINARY.PEEK[1])", perMessage},
	{"SEARCH BODY hello", oneLine},
	{"SEARCH TEXT hello", oneLine},
}

func TestStatementsContent(t *testing.T) {
	t.Parallel()
	const small, large = 4, 40
	a := statementsPerCommand(t, contentCommands, small)
	b := statementsPerCommand(t, contentCommands, large)
	var report []string
	for k, cc := range contentCommands {
		perMsg := float64(b[k]-min(a[k], b[k])) / float64(large-small)
		report = append(report, fmt.Sprintf("%-60.60s %3d stmts at %d msgs, %4d at %d: %.2f per message", cc.cmd, a[k], small, b[k], large, perMsg))
		if b[k] > a[k]+large-small || a[k] > small+4 {
			t.Errorf("%s: %d SQL statements for %d messages, %d for %d: want one per message", cc.cmd, a[k], small, b[k], large)
		}
	}
	t.Logf("SQL statements per command:\n%s", strings.Join(report, "\n"))
}

// headerCommands read headers; measured the first time, before the
// server's header cache holds them.
var headerCommands = []costCommand{
	{"SEARCH FROM sender", oneLine},
	{"SEARCH HEADER Message-ID example.test", oneLine},
	{"SORT (SUBJECT) UTF-8 ALL", oneLine},
	{"THREAD REFERENCES UTF-8 ALL", oneLine},
}

func TestStatementsHeaderSearchCold(t *testing.T) {
	t.Parallel()
	const small, large = 4, 40
	cold := func(cc costCommand, n int) uint64 {
		e := newEnv(t)
		inbox := e.folder("alice", store.SpecialInbox)
		for i := range n {
			msg := testMsg(i)
			if i%2 == 1 {
				msg = mimeMsg
			}
			e.deliver(inbox.ID, msg)
		}
		c := e.selectBox("alice", "INBOX")
		before := e.db.Statements()
		if lines := c.ok("%s", cc.cmd); len(lines) != 1 {
			t.Fatalf("%s: %q", cc.cmd, lines)
		}
		return e.db.Statements() - before
	}
	var report []string
	for _, cc := range headerCommands {
		a, b := cold(cc, small), cold(cc, large)
		report = append(report, fmt.Sprintf("%-60.60s %3d stmts at %d msgs, %4d at %d: %.2f per message", cc.cmd, a, small, b, large, float64(b-min(a, b))/float64(large-small)))
		if b > a || b > 8 {
			t.Errorf("%s: %d SQL statements for %d messages, %d for %d: must not grow with the messages", cc.cmd, a, small, b, large)
		}
	}
	t.Logf("SQL statements per command, header cache cold:\n%s", strings.Join(report, "\n"))
}

// PREVIEW, before the preview cache holds the messages, reads each one as
// FETCH of a body does: one statement per message, access checked once.
func TestStatementsPreviewCold(t *testing.T) {
	t.Parallel()
	const small, large = 4, 40
	cold := func(n int) uint64 {
		e := newEnv(t)
		inbox := e.folder("alice", store.SpecialInbox)
		for range n {
			e.deliver(inbox.ID, mimeMsg)
		}
		c := e.selectBox("alice", "INBOX")
		before := e.db.Statements()
		if lines := c.ok("FETCH 1:* (PREVIEW)"); len(lines) != n {
			t.Fatalf("FETCH PREVIEW: %q", lines)
		}
		return e.db.Statements() - before
	}
	a, b := cold(small), cold(large)
	t.Logf("FETCH 1:* (PREVIEW): %d statements at %d messages, %d at %d", a, small, b, large)
	if b > a+large-small || a > small+4 {
		t.Errorf("FETCH 1:* (PREVIEW): %d SQL statements for %d messages, %d for %d: want one per message", a, small, b, large)
	}
}

func TestStatementsDates(t *testing.T) {
	t.Parallel()
	checkStatements(t, dateCommands)
}

func TestStatementsFetchMeta(t *testing.T) {
	t.Parallel()
	checkStatements(t, metaCommands)
}

// Benchmarks of the FETCH, SEARCH and SORT paths clients use most, over a
// mailbox of 1,000 messages (client and server in one process: the
// allocations are both sides').
//
//	go test -run XXX -bench 'Fetch|SearchSince|SortArrival' -benchmem ./internal/imapserver/

const benchMessages = 1000

func benchBox(b *testing.B) *client {
	e := newEnv(b)
	inbox := e.folder("alice", store.SpecialInbox)
	for i := range benchMessages {
		msg := testMsg(i)
		if i%2 == 1 {
			msg = mimeMsg
		}
		e.deliver(inbox.ID, msg)
	}
	return e.selectBox("alice", "INBOX")
}

func benchCommand(b *testing.B, cmd string, lines int) {
	c := benchBox(b)
	c.ok("%s", cmd)
	b.ResetTimer()
	for b.Loop() {
		if got := c.ok("%s", cmd); len(got) != lines {
			b.Fatalf("%d lines", len(got))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchMessages, "ns/msg")
}

func BenchmarkFetchEnvelopeStructure(b *testing.B) {
	benchCommand(b, "UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)", benchMessages)
}

func BenchmarkFetchThunderbirdHeaders(b *testing.B) {
	benchCommand(b, "UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])", benchMessages)
}

func BenchmarkFetchInternalDate(b *testing.B) {
	benchCommand(b, "UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)", benchMessages)
}

func BenchmarkFetchBodyPeek(b *testing.B) {
	benchCommand(b, "UID FETCH 1:* (BODY.PEEK[])", benchMessages)
}

func BenchmarkSearchSince(b *testing.B) {
	benchCommand(b, "SEARCH SINCE 1-Jan-2000", 1)
}

func BenchmarkSortArrival(b *testing.B) {
	benchCommand(b, "SORT (ARRIVAL) UTF-8 ALL", 1)
}

// Answers from stored summaries are those computed from the message: the
// same FETCH with one more item that needs the content (which makes the
// whole response come from the parsed message) starts with the same text,
// with and without UTF8=ACCEPT, for messages of every shape, including
// content summarized on first use (the large one) and a header too large
// to keep.
func TestFetchSummaryMatchesContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	msgs := []string{
		testMsg(1), mimeMsg,
		"Subject: Grüße aus Köln\r\nFrom: Jürgen Müller <j@example.test>\r\nTo: \"Ünïcode\" <u@example.test>\r\n\r\n8-bit header\r\n",
		"Subject: no body, no blank line\r\nFrom: a@example.test",
		"\r\nno header at all\r\n",
		"Subject: nul\x00 in header\r\nFrom: a@example.test\r\n\r\nbody\r\n",
		"X-Huge: " + strings.Repeat("h", 70<<10) + "\r\nSubject: huge header\r\n\r\nbody\r\n",
		"Subject: large\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("line of text\r\n", 10000) + "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: i@example.test\r\n\r\ninner body\r\n--b--\r\n",
	}
	for _, m := range msgs {
		e.deliver(inbox.ID, m)
	}
	const items = "ENVELOPE BODY BODYSTRUCTURE RFC822.HEADER BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (From Subject X-Missing)] BODY.PEEK[HEADER.FIELDS.NOT (From)]<2.30> FLAGS INTERNALDATE RFC822.SIZE"
	check := func(c *client) {
		t.Helper()
		for n := range msgs {
			got := c.ok("FETCH %d (%s)", n+1, items)
			full := c.ok("FETCH %d (%s BODY.PEEK[TEXT]<0.1>)", n+1, items)
			if len(got) != 1 || len(full) != 1 || !strings.HasPrefix(full[0], strings.TrimSuffix(got[0], ")")+" BODY[TEXT]<0>") {
				t.Errorf("message %d: from the summary\n%.600q\nfrom the message\n%.600q", n+1, got, full)
			}
		}
	}
	check(e.selectBox("alice", "INBOX"))
	c := e.login("alice")
	c.ok("ENABLE UTF8=ACCEPT")
	c.ok("SELECT INBOX")
	check(c)
}
