package imapserver

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
)

// tm is a test message for the threading algorithms: number as the
// response shows it, Message-ID, references, subject and sent day.
type tm struct {
	num     uint32
	id      string
	refs    string
	subject string
	day     int
}

func threadInput(in []tm) []sortMsg {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := make([]sortMsg, len(in))
	for i, m := range in {
		b := mime.BaseSubject(m.subject)
		var id string
		if ids := mime.ParseMessageIDs(m.id); len(ids) > 0 {
			id = ids[0]
		}
		ms[i] = sortMsg{idx: i, date: base.AddDate(0, 0, m.day), subject: asciiUpper(b),
			reply: isReply(m.subject, b), msgID: id, refs: mime.ParseMessageIDs(m.refs)}
	}
	return ms
}

// threadString renders threads as the THREAD response does.
func threadString(ts []imap.Thread) string {
	var b strings.Builder
	w := imap.NewWriter(&b)
	w.Thread(ts)
	w.Flush()
	return strings.TrimSuffix(strings.TrimPrefix(b.String(), "* THREAD"), "\r\n")
}

func runThread(alg func([]sortMsg, func(*sortMsg) uint32) []imap.Thread, in []tm) string {
	ms := threadInput(in)
	return strings.TrimSpace(threadString(alg(ms, func(m *sortMsg) uint32 {
		if n := in[m.idx].num; n != 0 {
			return n
		}
		return uint32(m.idx + 1)
	})))
}

func TestThreadReferences(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []tm
		want string
	}{
		{"empty", nil, ""},
		{"single", []tm{{id: "<a>", subject: "a"}}, "(1)"},
		{"chain", []tm{
			{id: "<a>", subject: "a", day: 1},
			{id: "<b>", refs: "<a>", subject: "Re: a", day: 2},
			{id: "<c>", refs: "<a> <b>", subject: "Re: a", day: 3},
		}, "(1 2 3)"},
		{"siblings sorted by date", []tm{
			{id: "<a>", subject: "a", day: 1},
			{id: "<b>", refs: "<a>", subject: "Re: a", day: 5},
			{id: "<c>", refs: "<a>", subject: "Re: a", day: 3},
		}, "(1 (3)(2))"},
		{"In-Reply-To when no References", []tm{
			{id: "<a>", subject: "x", day: 1},
			{id: "<b>", refs: "<a>", subject: "y", day: 2},
		}, "(1 2)"},
		{"RFC 5256 §4 example", []tm{
			{num: 2, id: "<2>", subject: "two", day: 1},
			{num: 3, id: "<3>", subject: "three", day: 2},
			{num: 6, id: "<6>", refs: "<3>", subject: "re: three", day: 3},
			{num: 4, id: "<4>", refs: "<3> <6>", subject: "re: three", day: 4},
			{num: 23, id: "<23>", refs: "<3> <6> <4>", subject: "re: three", day: 5},
			{num: 44, id: "<44>", refs: "<3> <6>", subject: "re: three", day: 6},
			{num: 7, id: "<7>", refs: "<3> <6> <44>", subject: "re: three", day: 7},
			{num: 96, id: "<96>", refs: "<3> <6> <44> <7>", subject: "re: three", day: 8},
		}, "(2)(3 6 (4 23)(44 7 96))"},
		{"missing parent with two children stays a dummy", []tm{
			{id: "<b>", refs: "<x>", subject: "b", day: 1},
			{id: "<c>", refs: "<x>", subject: "c", day: 2},
		}, "((1)(2))"},
		{"missing parent with one child is promoted", []tm{
			{id: "<b>", refs: "<x>", subject: "b"},
		}, "(1)"},
		{"missing grandparent chain", []tm{
			{id: "<c>", refs: "<x> <y>", subject: "c", day: 1},
			{id: "<d>", refs: "<x> <z>", subject: "d", day: 2},
		}, "((1)(2))"},
		{"dummy inside a thread is replaced by its children", []tm{
			{id: "<a>", subject: "a", day: 1},
			{id: "<c>", refs: "<a> <gone>", subject: "c", day: 2},
			{id: "<d>", refs: "<a> <gone>", subject: "d", day: 3},
		}, "(1 (2)(3))"},
		{"loop in References", []tm{
			{id: "<a>", refs: "<b>", subject: "a", day: 1},
			{id: "<b>", refs: "<a>", subject: "b", day: 2},
		}, "(2 1)"},
		{"longer loop", []tm{
			{id: "<a>", refs: "<c> <b>", subject: "a", day: 1},
			{id: "<b>", refs: "<a> <c>", subject: "b", day: 2},
			{id: "<c>", refs: "<b> <a>", subject: "c", day: 3},
		}, "(3 2 1)"},
		{"self reference", []tm{
			{id: "<a>", refs: "<a>", subject: "a"},
			{id: "<b>", refs: "<b> <b>", subject: "b", day: 1},
		}, "(1)(2)"},
		{"duplicate Message-ID", []tm{
			{id: "<x>", subject: "one", day: 1},
			{id: "<x>", subject: "two", day: 2},
			{id: "<y>", refs: "<x>", subject: "three", day: 3},
		}, "(1 3)(2)"},
		{"no Message-ID", []tm{
			{subject: "one", day: 1},
			{subject: "two", day: 2},
		}, "(1)(2)"},
		{"truncated References corrected by the message's own", []tm{
			{id: "<x>", refs: "<a> <c>", subject: "x", day: 1},
			{id: "<c>", refs: "<b>", subject: "c", day: 2},
		}, "(2 1)"},
		{"existing link kept", []tm{
			{id: "<m1>", refs: "<a> <b>", subject: "p", day: 1},
			{id: "<m2>", refs: "<c> <b>", subject: "q", day: 2},
		}, "((1)(2))"},
		{"reply merged under the original by subject", []tm{
			{id: "<a>", subject: "Hello", day: 1},
			{id: "<b>", subject: "Re: hello", day: 2},
		}, "(1 2)"},
		{"reply before the original still goes under it", []tm{
			{id: "<b>", subject: "Re: Hello", day: 1},
			{id: "<a>", subject: "Hello", day: 2},
		}, "(2 1)"},
		{"two originals get a dummy", []tm{
			{id: "<a>", subject: "Hello", day: 1},
			{id: "<b>", subject: "[list] hello", day: 2},
		}, "((1)(2))"},
		{"two replies get a dummy", []tm{
			{id: "<a>", subject: "Re: Hello", day: 1},
			{id: "<b>", subject: "Fwd: hello", day: 2},
		}, "((1)(2))"},
		{"a third joins the dummy", []tm{
			{id: "<a>", subject: "Hello", day: 1},
			{id: "<b>", subject: "hello", day: 2},
			{id: "<c>", subject: "hello (fwd)", day: 3},
		}, "((1)(2)(3))"},
		{"empty subjects are not merged", []tm{
			{id: "<a>", subject: "", day: 1},
			{id: "<b>", subject: "Re:", day: 2},
		}, "(1)(2)"},
		{"dummies with one subject are merged", []tm{
			{id: "<b>", refs: "<x>", subject: "s", day: 1},
			{id: "<c>", refs: "<x>", subject: "s", day: 2},
			{id: "<d>", refs: "<y>", subject: "Re: s", day: 3},
			{id: "<e>", refs: "<y>", subject: "Re: s", day: 4},
		}, "((1)(2)(3)(4))"},
		{"message goes under a dummy of its subject", []tm{
			{id: "<b>", refs: "<x>", subject: "s", day: 2},
			{id: "<c>", refs: "<x>", subject: "t", day: 3},
			{id: "<a>", subject: "s", day: 1},
		}, "((3)(1)(2))"},
		{"top level sorted by date, ties by sequence", []tm{
			{id: "<a>", subject: "a", day: 5},
			{id: "<b>", subject: "b", day: 1},
			{id: "<c>", subject: "c", day: 5},
		}, "(2)(1)(3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := runThread(threadReferences, tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestThreadOrderedSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []tm
		want string
	}{
		{"empty", nil, ""},
		{"groups", []tm{
			{subject: "hello", day: 3},
			{subject: "Re: hello", day: 1},
			{subject: "other", day: 2},
			{subject: "[list] HELLO (fwd)", day: 4},
		}, "(2 (1)(4))(3)"},
		{"one reply", []tm{
			{subject: "x", day: 2},
			{subject: "re: x", day: 3},
		}, "(1 2)"},
		{"equal dates by sequence", []tm{
			{subject: "b"}, {subject: "a"}, {subject: "b"},
		}, "(1 3)(2)"},
		{"references are ignored", []tm{
			{id: "<a>", subject: "one", day: 1},
			{id: "<b>", refs: "<a>", subject: "two", day: 2},
		}, "(1)(2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := runThread(threadOrderedSubject, tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestThreadDeepChain(t *testing.T) {
	t.Parallel()
	// A long reply chain and a loop-free but messy reference soup must
	// thread every message exactly once.
	const n = 5000
	in := make([]tm, n)
	for i := range in {
		in[i] = tm{id: "<" + itoa(i) + ">", subject: "deep", day: i % 7}
		if i > 0 {
			in[i].refs = "<" + itoa(i-1) + "> <" + itoa((i*7919)%n) + ">"
		}
	}
	got := runThread(threadReferences, in)
	seen := map[string]int{}
	for _, f := range strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(got)) {
		seen[f]++
	}
	for i := 1; i <= n; i++ {
		if c := seen[itoa(i)]; c != 1 {
			t.Fatalf("message %d appears %d times", i, c)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct numbers, want %d", len(seen), n)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestIsReply(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"hello": false, "Re: hello": true, "[list] hello": false, "[list] Re: hello": true,
		"hello (fwd)": true, "[fwd: hello]": true, "FW: x": true, "[a] [b]": false,
		"=?UTF-8?Q?Re=3A_x?=": true, "  hello  ": false, "": false,
	} {
		if got := isReply(s, mime.BaseSubject(s)); got != want {
			t.Errorf("isReply(%q) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkThreadReferences(b *testing.B) {
	in := make([]tm, 10000)
	for i := range in {
		in[i] = tm{id: "<" + itoa(i) + ">", subject: "topic " + itoa(i%300), day: i % 50}
		if i%4 != 0 {
			in[i].refs = "<" + itoa(i-i%4) + "> <" + itoa(i-1) + ">"
		}
	}
	ms := threadInput(in)
	num := func(m *sortMsg) uint32 { return uint32(m.idx + 1) }
	b.ResetTimer()
	for b.Loop() {
		threadReferences(ms, num)
	}
}
