package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// parseErr asserts err is a *ParseError and returns it.
func parseErr(t *testing.T, err error) *ParseError {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want *ParseError", err)
	}
	return pe
}

// expectNext asserts the next command has tag.
func expectNext(t *testing.T, r *Reader, tag string) *Command {
	t.Helper()
	c, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("next command: %v", err)
	}
	if c.Tag != tag {
		t.Fatalf("next command tag %q, want %q", c.Tag, tag)
	}
	return c
}

func TestEOF(t *testing.T) {
	t.Parallel()
	if _, err := newTestReader("").ReadCommand(); err != io.EOF {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
	if _, err := newTestReader("a NOOP").ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Errorf("no CRLF: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := newTestReader("a LOGIN {5}\r\nab").ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Errorf("short literal: %v, want io.ErrUnexpectedEOF", err)
	}
	// A bare LF is tolerated.
	r := newTestReader("a NOOP\nb NOOP\r\n")
	expectNext(t, r, "a")
	expectNext(t, r, "b")
}

// gatedReader returns the first part, then fails reads until opened: it
// proves the Reader waits for the continuation before reading a literal.
type gatedReader struct {
	first, rest []byte
	open        bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.first) > 0 {
		n := copy(p, g.first)
		g.first = g.first[n:]
		return n, nil
	}
	if !g.open {
		return 0, errors.New("literal read before the continuation request")
	}
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

func TestSyncLiteralContinuation(t *testing.T) {
	t.Parallel()
	g := &gatedReader{first: []byte("a LOGIN {4}\r\n"), rest: []byte("fred pass\r\n")}
	r := NewReader(bufio.NewReader(g), Limits{})
	var out bytes.Buffer
	w := NewWriter(&out)
	var infos []LiteralInfo
	r.OnLiteral = func(li LiteralInfo) error {
		infos = append(infos, li)
		if li.Sync {
			w.Continue("Ready for literal data")
			g.open = true
			return w.Flush()
		}
		return nil
	}
	c := expectNext(t, r, "a")
	if a := c.Args.(*LoginCmd); a.User != "fred" || a.Password != "pass" {
		t.Errorf("got %+v", a)
	}
	want := []LiteralInfo{{Tag: "a", Command: "LOGIN", Size: 4, Sync: true}}
	if fmt.Sprint(infos) != fmt.Sprint(want) {
		t.Errorf("hook saw %+v, want %+v", infos, want)
	}
	if out.String() != "+ Ready for literal data\r\n" {
		t.Errorf("wrote %q", out.String())
	}
}

func TestNonSyncLiteralNoContinuation(t *testing.T) {
	t.Parallel()
	r := newTestReader("a LOGIN {4+}\r\nfred ~{4+}\r\npass\r\n")
	var infos []LiteralInfo
	r.OnLiteral = func(li LiteralInfo) error { infos = append(infos, li); return nil }
	if _, err := r.ReadCommand(); err == nil {
		t.Fatal("literal8 accepted in LOGIN")
	}
	r = newTestReader("a LOGIN {4+}\r\nfred {4+}\r\npass\r\n")
	r.OnLiteral = func(li LiteralInfo) error { infos = append(infos, li); return nil }
	infos = nil
	expectNext(t, r, "a")
	if len(infos) != 2 || infos[0].Sync || infos[1].Sync {
		t.Errorf("hook saw %+v", infos)
	}
}

// TestHugeLiteral: "{4294967295}" is refused before anything is allocated
// or read, and the session goes on.
func TestHugeLiteral(t *testing.T) {
	t.Parallel()
	for _, lit := range []string{"{4294967295}", "{99999999999999999999999999}", "~{4294967295}"} {
		for _, cmd := range []string{"a LOGIN " + lit, "a APPEND INBOX " + lit, "a SETMETADATA INBOX (/shared/x " + lit} {
			if strings.HasPrefix(cmd, "a LOGIN ~") {
				continue // literal8 is refused there for another reason
			}
			r := newTestReader(cmd + "\r\nb NOOP\r\n")
			called := false
			r.OnLiteral = func(LiteralInfo) error { called = true; return nil }
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := r.ReadCommand()
			runtime.ReadMemStats(&after)
			pe := parseErr(t, err)
			if pe.Code != CodeTooBig || pe.Fatal || pe.Tag != "a" {
				t.Errorf("%s: got %+v", cmd, pe)
			}
			if called {
				t.Errorf("%s: hook called for an oversized literal", cmd)
			}
			// Other tests run in parallel; 16 MiB is far below 4 GiB.
			if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
				t.Errorf("%s: allocated %d bytes", cmd, d)
			}
			expectNext(t, r, "b")
		}
	}
	// Non-synchronizing: the client is already sending 4 GiB we will not
	// skip, so the session cannot continue.
	r := newTestReader("a LOGIN {4294967295+}\r\nxxxx")
	pe := parseErr(t, firstErr(r))
	if !pe.Fatal || pe.Code != CodeTooBig {
		t.Errorf("non-sync huge literal: %+v", pe)
	}
}

func firstErr(r *Reader) error {
	_, err := r.ReadCommand()
	return err
}

func TestLiteralMinus(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 5000)
	r := newTestReader("a LOGIN {5000+}\r\n" + big + " pass\r\nb LOGIN {4096+}\r\n" + big[:4096] + " pass\r\n")
	r.LiteralMinus = true
	pe := parseErr(t, firstErr(r))
	if pe.Code != CodeTooBig || pe.Fatal {
		t.Errorf("got %+v", pe)
	}
	expectNext(t, r, "b")
}

func TestLiteralHookReject(t *testing.T) {
	t.Parallel()
	in := "a APPEND INBOX {100}\r\n" + // sync: never sent by the client
		"b APPEND INBOX {5+}\r\nhello\r\n" + // non-sync: discarded
		"c NOOP\r\n"
	r := newTestReader(in)
	r.OnLiteral = func(li LiteralInfo) error {
		if li.Message && li.Size > 4 {
			return Reject(true, CodeTooBig, "message too big")
		}
		return nil
	}
	for _, tag := range []string{"a", "b"} {
		pe := parseErr(t, firstErr(r))
		if pe.Tag != tag || !pe.No || pe.Code != CodeTooBig || pe.Fatal || pe.Msg != "message too big" {
			t.Errorf("%s: got %+v", tag, pe)
		}
	}
	expectNext(t, r, "c")

	// A hook I/O error is returned as is.
	boom := errors.New("boom")
	r = newTestReader("a LOGIN {1}\r\nx y\r\n")
	r.OnLiteral = func(LiteralInfo) error { return boom }
	if err := firstErr(r); err != boom {
		t.Errorf("got %v, want boom", err)
	}
}

// TestManyLiterals: up to MaxLiterals literals are fine, one more is BAD
// [LIMIT] and the session continues.
func TestManyLiterals(t *testing.T) {
	t.Parallel()
	build := func(n int, tag string) string {
		var b strings.Builder
		b.WriteString(tag + " SEARCH ALL")
		for range n {
			b.WriteString(" TEXT {1+}\r\nx")
		}
		b.WriteString("\r\n")
		return b.String()
	}
	r := newTestReader(build(1000, "a") + build(1001, "b") + "c NOOP\r\n")
	c := expectNext(t, r, "a")
	if n := len(c.Args.(*SearchCmd).Keys); n != 1001 {
		t.Errorf("%d keys", n)
	}
	pe := parseErr(t, firstErr(r))
	if pe.Tag != "b" || pe.Code != CodeLimit || pe.Fatal {
		t.Errorf("got %+v", pe)
	}
	expectNext(t, r, "c")
}

// TestDeepSearch: a SEARCH nested 10,000 deep is a BAD, not a stack
// overflow.
func TestDeepSearch(t *testing.T) {
	t.Parallel()
	const n = 10000
	for _, q := range []string{
		strings.Repeat("NOT ", n) + "ALL",
		strings.Repeat("(", n) + "ALL" + strings.Repeat(")", n),
		strings.Repeat("OR ALL ", n) + "ALL",
		strings.Repeat("OR ", n) + strings.Repeat("ALL ", n) + "ALL",
		strings.Repeat("FUZZY ", n) + "ALL",
	} {
		r := newTestReader("a SEARCH " + q + "\r\nb NOOP\r\n")
		r.Limits = Limits{MaxLine: 1 << 20}
		pe := parseErr(t, firstErr(r))
		if pe.Tag != "a" || pe.Code != CodeLimit || pe.Fatal {
			t.Errorf("got %+v", pe)
		}
		expectNext(t, r, "b")
	}
	// Within the limit is fine.
	r := newTestReader("a SEARCH " + strings.Repeat("NOT ", 60) + "ALL\r\n")
	expectNext(t, r, "a")
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 70000)
	in := "a LOGIN " + long + " y\r\n" +
		"b LOGIN " + long + " {5+}\r\nhello\r\n" + // announced literal is skipped
		"c LOGIN {3}\r\n" + long + "\r\n" + // continuation line too long
		"d NOOP\r\n"
	r := newTestReader(in)
	for _, tag := range []string{"a", "b", "c"} {
		pe := parseErr(t, firstErr(r))
		if pe.Tag != tag || pe.Code != CodeTooBig || pe.Fatal {
			t.Errorf("%s: got %+v", tag, pe)
		}
	}
	expectNext(t, r, "d")
	// Memory: the line buffer did not keep 70 KB.
	if cap(r.line) > DefaultMaxLine+4096 {
		t.Errorf("line buffer grew to %d", cap(r.line))
	}
}

func TestCommandTooLarge(t *testing.T) {
	t.Parallel()
	r := newTestReader("a LOGIN {600+}\r\n" + strings.Repeat("x", 600) + " {600+}\r\n" + strings.Repeat("y", 600) + "\r\nb NOOP\r\n")
	r.Limits = Limits{MaxCommand: 1000}
	pe := parseErr(t, firstErr(r))
	if pe.Code != CodeTooBig || pe.Fatal {
		t.Errorf("got %+v", pe)
	}
	expectNext(t, r, "b")
}

// TestResync: after an error the rest of the command, including
// non-synchronizing literals, is skipped; a synchronizing literal ends it.
func TestResync(t *testing.T) {
	t.Parallel()
	in := "a LOGIN (bad) {5+}\r\nhello {3+}\r\nabc\r\n" +
		"b LOGIN (bad) {5}\r\n" + // client waits for "+", gets BAD
		"c SEARCH FOO {2+}\r\nxy\r\n" +
		"d NOOP\r\n"
	r := newTestReader(in)
	for _, tag := range []string{"a", "b", "c"} {
		pe := parseErr(t, firstErr(r))
		if pe.Tag != tag || pe.Fatal {
			t.Errorf("%s: got %+v", tag, pe)
		}
	}
	expectNext(t, r, "d")

	// A non-synchronizing literal above MaxLiteral cannot be skipped.
	r = newTestReader("a LOGIN (bad) {2000+}\r\n")
	r.Limits = Limits{MaxLiteral: 1000}
	if pe := parseErr(t, firstErr(r)); !pe.Fatal {
		t.Errorf("got %+v, want fatal", pe)
	}
}

func TestAppendStreaming(t *testing.T) {
	t.Parallel()
	in := "a APPEND saved-messages (\\Seen) \"14-Jul-2023 02:44:25 -0700\" {11}\r\nhello world" +
		" ~{3}\r\na\x00b {0}\r\n\r\n" +
		"b NOOP\r\n"
	r := newTestReader(in)
	var infos []LiteralInfo
	r.OnLiteral = func(li LiteralInfo) error { infos = append(infos, li); return nil }
	c := expectNext(t, r, "a")
	a := c.Args.(*AppendCmd)
	if a.Mailbox != "saved-messages" || a.Message.Size != 11 || a.Message.Flags[0] != `\Seen` {
		t.Fatalf("got %+v %+v", a, a.Message)
	}
	if got := a.Message.Date.Format("2006-01-02 15:04:05 -0700"); got != "2023-07-14 02:44:25 -0700" {
		t.Errorf("date %s", got)
	}
	if s := c.String(); s != `a APPEND saved-messages (\Seen) "14-Jul-2023 02:44:25 -0700" {11}` {
		t.Errorf("String %q", s)
	}
	// Read part of the first message only; the rest is discarded.
	buf := make([]byte, 5)
	if _, err := io.ReadFull(a.Message.Body, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("%q %v", buf, err)
	}
	old := a.Message.Body
	var bodies []string
	var err error
	for m := a.Message; m != nil; m, err = r.NextAppendMessage() {
		if m != a.Message {
			b, err := io.ReadAll(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, fmt.Sprintf("%v:%q", m.Binary, b))
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(bodies) != `[true:"a\x00b" false:""]` {
		t.Errorf("bodies %v", bodies)
	}
	if _, err := old.Read(buf); err != errBodyClosed {
		t.Errorf("stale body read: %v", err)
	}
	if len(infos) != 3 || !infos[0].Message || !infos[1].Binary || infos[2].Size != 0 {
		t.Errorf("hook saw %+v", infos)
	}
	expectNext(t, r, "b")
}

func TestAppendAbortAndErrors(t *testing.T) {
	t.Parallel()
	// The server stops after the first message: ReadCommand skips the rest.
	r := newTestReader("a APPEND INBOX {3}\r\nabc {3+}\r\ndef {3+}\r\nghi\r\nb NOOP\r\n")
	expectNext(t, r, "a")
	expectNext(t, r, "b")

	// Garbage after the literal is a BAD from NextAppendMessage.
	r = newTestReader("a APPEND INBOX {3}\r\nabc junk\r\nb NOOP\r\n")
	expectNext(t, r, "a")
	m, err := r.NextAppendMessage()
	if pe := parseErr(t, err); pe.Tag != "a" || m != nil {
		t.Errorf("got %v %+v", m, pe)
	}
	expectNext(t, r, "b")

	// The connection ends inside the message.
	r = newTestReader("a APPEND INBOX {30}\r\nabc")
	c := expectNext(t, r, "a")
	if _, err := io.ReadAll(c.Args.(*AppendCmd).Message.Body); err != io.ErrUnexpectedEOF {
		t.Errorf("got %v", err)
	}

	// Too many messages.
	var b strings.Builder
	b.WriteString("a APPEND INBOX {1+}\r\nx")
	for range 5 {
		b.WriteString(" {1+}\r\nx")
	}
	b.WriteString("\r\nb NOOP\r\n")
	r = newTestReader(b.String())
	r.Limits = Limits{MaxLiterals: 3}
	expectNext(t, r, "a")
	err = nil
	for err == nil {
		m, err = r.NextAppendMessage()
		if m == nil && err == nil {
			t.Fatal("no error")
		}
	}
	if pe := parseErr(t, err); pe.Code != CodeLimit || pe.Fatal {
		t.Errorf("got %+v", pe)
	}
	expectNext(t, r, "b")
}

func TestIdleDone(t *testing.T) {
	t.Parallel()
	r := newTestReader("a IDLE\r\nDONE\r\nb IDLE\r\ndone\r\nc IDLE\r\nNOOP\r\nd NOOP\r\n")
	expectNext(t, r, "a")
	if err := r.ReadIdleDone(); err != nil {
		t.Error(err)
	}
	expectNext(t, r, "b")
	if err := r.ReadIdleDone(); err != nil {
		t.Error(err)
	}
	expectNext(t, r, "c")
	if pe := parseErr(t, r.ReadIdleDone()); pe.Tag != "c" || pe.Fatal {
		t.Errorf("got %+v", pe)
	}
	expectNext(t, r, "d")
}

func TestAuthResponses(t *testing.T) {
	t.Parallel()
	r := newTestReader("a AUTHENTICATE PLAIN\r\nAHUAcA==\r\n\r\n*\r\n!!\r\nb NOOP\r\n")
	expectNext(t, r, "a")
	if b, err := r.ReadAuthResponse(); err != nil || string(b) != "\x00u\x00p" {
		t.Errorf("%q %v", b, err)
	}
	if b, err := r.ReadAuthResponse(); err != nil || len(b) != 0 {
		t.Errorf("%q %v", b, err)
	}
	if _, err := r.ReadAuthResponse(); err != ErrAuthCanceled {
		t.Errorf("got %v", err)
	}
	if _, err := r.ReadAuthResponse(); parseErr(t, err).Tag != "a" {
		t.Errorf("got %v", err)
	}
	expectNext(t, r, "b")
}

func TestUTF8Mode(t *testing.T) {
	t.Parallel()
	in := "a SELECT \"Entwürfe\"\r\nb CREATE &foo\r\nc LOGIN \"jürgen\" x\r\nd SELECT \"\xff\"\r\n"
	r := newTestReader(in)
	r.UTF8 = true
	if a := expectNext(t, r, "a").Args.(*SelectCmd); a.Mailbox != "Entwürfe" {
		t.Errorf("got %q", a.Mailbox)
	}
	if a := expectNext(t, r, "b").Args.(*CreateCmd); a.Mailbox != "&foo" {
		t.Errorf("got %q", a.Mailbox)
	}
	c := expectNext(t, r, "c")
	if a := c.Args.(*LoginCmd); a.User != "jürgen" {
		t.Errorf("got %q", a.User)
	}
	// Re-encoded for a non-UTF8 peer, the user name becomes a literal.
	if s := c.String(); s != "c LOGIN {7}\r\njürgen x" {
		t.Errorf("String %q", s)
	}
	parseErr(t, firstErr(r))
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c, _ := readOne("a LOGIN fred secret\r\n")
	if s := c.Redacted(); s != `a LOGIN fred "***"` {
		t.Errorf("got %q", s)
	}
	c, _ = readOne("a AUTHENTICATE PLAIN AHUAcA==\r\n")
	if s := c.Redacted(); s != "a AUTHENTICATE PLAIN ***" {
		t.Errorf("got %q", s)
	}
}

func TestParseErrorString(t *testing.T) {
	t.Parallel()
	e := &ParseError{Tag: "a", Msg: "too big", Code: CodeTooBig, Fatal: true}
	if s := e.Error(); s != "imap: a: [TOOBIG] too big (fatal)" {
		t.Errorf("got %q", s)
	}
}

func BenchmarkReadFetch(b *testing.B) {
	line := "a123 UID FETCH 1:*,5,7:9 (UID FLAGS BODY.PEEK[HEADER.FIELDS (From To Subject Date)] RFC822.SIZE) (CHANGEDSINCE 12345)\r\n"
	in := strings.Repeat(line, 1000)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		r := newTestReader(in)
		for range 1000 {
			if _, err := r.ReadCommand(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestAmplification: many tiny elements spread over many lines cannot make
// the parsed command much larger than MaxCommand.
func TestAmplification(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a SEARCH ALL")
	line := strings.Repeat(" ALL", 16000)
	for range 200 {
		b.WriteString(line + " TEXT {1+}\r\nx")
	}
	b.WriteString("\r\nb NOOP\r\n")
	r := newTestReader(b.String())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pe := parseErr(t, firstErr(r))
	runtime.ReadMemStats(&after)
	if pe.Code != CodeTooBig || pe.Fatal {
		t.Errorf("got %+v", pe)
	}
	// 200 lines of 16,000 keys would be ~500 MB of SearchKeys.
	if d := after.TotalAlloc - before.TotalAlloc; d > 100<<20 {
		t.Errorf("allocated %d MB", d>>20)
	}
	expectNext(t, r, "b")
}

func TestBufferedAfterStartTLS(t *testing.T) {
	t.Parallel()
	r := newTestReader("a STARTTLS\r\nb NOOP\r\n")
	expectNext(t, r, "a")
	if r.Buffered() == 0 {
		t.Error("pipelined plaintext not reported")
	}
	r.Reset(bufio.NewReader(strings.NewReader("c NOOP\r\n")))
	expectNext(t, r, "c")
}

func TestGetMetadataOptionsAfterMailbox(t *testing.T) {
	t.Parallel()
	c, err := readOne("a GETMETADATA INBOX ({15}\r\n/shared/comment)\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Args.(*GetMetadataCmd); len(a.Entries) != 1 || a.MaxSize != nil {
		t.Errorf("got %+v", a)
	}
}

// A mailbox name that is not valid modified UTF-7 is not a syntax error:
// the command fails with NO [CANNOT] (RFC 9051 §5.1, §7.1), unless the
// command has a real syntax error too, which answers BAD. LIST patterns
// that do not decode are kept as they are.
func TestInvalidMailboxNameIsNo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd  string
		no   bool
		code Code
	}{
		{"a SELECT \"a&Jjo\"", true, CodeCannot},
		{"a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}", true, CodeCannot},
		{"a RENAME INBOX \"a&AGE-\"", true, CodeCannot},
		{"a CREATE \"a\x01b\"", true, CodeCannot},
		{"a LIST \"a&Jjo\" \"*\"", true, CodeCannot}, // the reference is a name
		{"a STATUS \"a&Jjo\" (BOGUS)", false, ""},    // syntax error after the name
		{"a SELECT \"a&Jjo\" (NOSUCH)", false, ""},
	} {
		r := newTestReader(tc.cmd + "\r\nb NOOP\r\n")
		pe := parseErr(t, firstErr(r))
		if pe.No != tc.no || pe.Code != tc.code || pe.Tag != "a" || pe.Fatal {
			t.Errorf("%q: got %+v", tc.cmd, pe)
		}
		expectNext(t, r, "b")
	}
	// LIST patterns are kept as they are.
	r := newTestReader("a LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\nb LIST \"\" (\"&Jjo\" \"x\")\r\n")
	c := expectNext(t, r, "a")
	if got := c.Args.(*ListCmd).Patterns; len(got) != 1 || got[0] != "!#$&'+,-.0123456789:;<=>?@^_`|[}%*" {
		t.Fatalf("pattern: %q", got)
	}
	c = expectNext(t, r, "b")
	if got := c.Args.(*ListCmd).Patterns; len(got) != 2 || got[0] != "&Jjo" || got[1] != "x" {
		t.Fatalf("patterns: %q", got)
	}
	// APPEND is refused before the message literal: the hook never sees it.
	r = newTestReader("a APPEND \"a&Jjo\" {5}\r\nb NOOP\r\n")
	r.OnLiteral = func(LiteralInfo) error { t.Error("hook called for a refused APPEND"); return nil }
	pe := parseErr(t, firstErr(r))
	if !pe.No || pe.Code != CodeCannot {
		t.Fatalf("append: %+v", pe)
	}
	expectNext(t, r, "b")
}
