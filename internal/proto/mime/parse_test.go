package mime

import (
	"errors"
	"testing"
)

// shapeTests double as fuzz seeds.
var shapeTests = []struct {
	name, msg, want string
}{
	{"empty message", "", `text/plain""`},
	{"simple text", "Subject: hi\r\n\r\nHello\r\n", `text/plain"Hello\r\n"`},
	{"headers only, no blank line", "Subject: hi\r\n", `text/plain""`},
	{"headers only, no final newline", "Subject: hi", `text/plain""`},
	{"headers and blank line", "Subject: hi\r\n\r\n", `text/plain""`},
	{"bare LF", "Subject: hi\n\nHello\nWorld", `text/plain"Hello\nWorld"`},
	{"body only", "\r\nJust a body\r\n", `text/plain"Just a body\r\n"`},
	{"no header, no blank line", "hello world\r\n", `text/plain""`},
	{"multipart/alternative", crlf(`Content-Type: multipart/alternative; boundary="b1"

preamble
--b1
Content-Type: text/plain

plain
--b1
Content-Type: text/html

<p>html</p>
--b1--
epilogue
`), `multipart/alternative[text/plain"plain" text/html"<p>html</p>"]`},
	{"mixed with attachment", crlf(`MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=XYZ

--XYZ

body text

--XYZ
Content-Type: application/pdf; name="a.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="a.pdf"

JVBERi0xLjQK
--XYZ--
`), `multipart/mixed[text/plain"body text\r\n" application/pdf"JVBERi0xLjQK"]`},
	{"nested message/rfc822", crlf(`Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain

see attached
--outer
Content-Type: message/rfc822

Subject: inner
Content-Type: multipart/alternative; boundary=inner

--inner

a
--inner
Content-Type: text/html

<b>a</b>
--inner--

--outer--
`), `multipart/mixed[text/plain"see attached" message/rfc822<multipart/alternative[text/plain"a" text/html"<b>a</b>"]>]`},
	{"missing close delimiter ends at EOF", crlf(`Content-Type: multipart/mixed; boundary=b

--b

one
--b

two
`), `multipart/mixed[text/plain"one" text/plain"two\r\n"]`},
	{"multipart without boundary is text", crlf(`Content-Type: multipart/mixed

--x

hello
`), `text/plain"--x\r\n\r\nhello\r\n"`},
	{"boundary never found", crlf(`Content-Type: multipart/mixed; boundary=nope

just text
`), `multipart/mixed"just text\r\n"`},
	{"boundary inside lines is not a delimiter", crlf(`Content-Type: multipart/mixed; boundary=B

--B

text --B text
 --B
x--B
--B--
`), `multipart/mixed[text/plain"text --B text\r\n --B\r\nx--B"]`},
	{"prefix match and transport padding", crlf(`Content-Type: multipart/mixed; boundary=B

--B   
Content-Type: text/plain

one
--Bjunk after boundary

two
--B-- trailing
epilogue
`), `multipart/mixed[text/plain"one" text/plain"two"]`},
	{"longest boundary wins", crlf(`Content-Type: multipart/mixed; boundary=abc

--abc
Content-Type: multipart/alternative; boundary=abcdef

--abcdef

inner1
--abcdef

inner2
--abcdef--
--abc

outer2
--abc--
`), `multipart/mixed[multipart/alternative[text/plain"inner1" text/plain"inner2"] text/plain"outer2"]`},
	{"outer boundary closes inner parts", crlf(`Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner

unterminated inner
--outer

second
--outer--
`), `multipart/mixed[multipart/alternative[text/plain"unterminated inner"] text/plain"second"]`},
	{"same boundary nested", crlf(`Content-Type: multipart/mixed; boundary=same

--same
Content-Type: multipart/mixed; boundary=same

--same

deep
--same--
--same

x
--same--
`), `multipart/mixed[multipart/mixed[text/plain"deep"] text/plain"x"]`},
	{"digest defaults to message/rfc822", crlf(`Content-Type: multipart/digest; boundary=d

--d

Subject: one

first
--d
Content-Type: text/plain

not a message
--d--
`), `multipart/digest[message/rfc822<text/plain"first"> text/plain"not a message"]`},
	{"encoded message/rfc822 is a leaf", crlf(`Content-Type: message/rfc822
Content-Transfer-Encoding: base64

U3ViamVjdDogeA0KDQp5DQo=
`), `message/rfc822"U3ViamVjdDogeA0KDQp5DQo=\r\n"`},
	{"message/global is parsed", crlf(`Content-Type: message/global

Subject: x

y
`), `message/global<text/plain"y\r\n">`},
	{"invalid content-type is text/plain", "Content-Type: text\r\n\r\nx", `text/plain"x"`},
	{"part header ended by boundary", crlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/html
--b
Content-Type: image/png

PNG
--b--
`), `multipart/mixed[text/html"" image/png"PNG"]`},
	{"empty parts", crlf(`Content-Type: multipart/mixed; boundary=b

--b
--b

--b--
`), `multipart/mixed[text/plain"" text/plain""]`},
	{"boundary on the first body line, no preamble", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--", `multipart/mixed[text/plain"x"]`},
	{"message/rfc822 at end without body", "Content-Type: message/rfc822\r\n\r\n", `message/rfc822<text/plain"">`},
}

func TestParseShapes(t *testing.T) {
	t.Parallel()
	for _, tt := range shapeTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.msg)
			if got := shape(p, []byte(tt.msg)); got != tt.want {
				t.Errorf("shape\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseOffsets(t *testing.T) {
	t.Parallel()
	msg := crlf(`From: a@example.com
Content-Type: multipart/mixed; boundary="==b=="

preamble
--==b==
Content-Type: text/plain; charset=utf-8

line1
line2
--==b==
Content-Type: message/rfc822

Subject: inner

inner body
--==b==--
`)
	p := mustParse(t, msg)
	b := []byte(msg)
	if got := string(b[p.HeaderStart:p.HeaderEnd]); got != "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"==b==\"\r\n\r\n" {
		t.Errorf("root header %q", got)
	}
	if len(p.Children) != 2 {
		t.Fatalf("%d children", len(p.Children))
	}
	c1, c2 := p.Children[0], p.Children[1]
	if got := string(b[c1.HeaderStart:c1.HeaderEnd]); got != "Content-Type: text/plain; charset=utf-8\r\n\r\n" {
		t.Errorf("part 1 header %q", got)
	}
	if got := string(b[c1.BodyStart:c1.BodyEnd]); got != "line1\r\nline2" || c1.Lines != 2 {
		t.Errorf("part 1 body %q lines %d", got, c1.Lines)
	}
	if c1.Charset() != "utf-8" {
		t.Errorf("charset %q", c1.Charset())
	}
	m := c2.Message
	if m == nil {
		t.Fatal("no encapsulated message")
	}
	if got := string(b[m.HeaderStart:m.HeaderEnd]); got != "Subject: inner\r\n\r\n" {
		t.Errorf("inner header %q", got)
	}
	if got := string(b[m.BodyStart:m.BodyEnd]); got != "inner body" {
		t.Errorf("inner body %q", got)
	}
	if c2.Lines != 3 || m.Lines != 1 {
		t.Errorf("lines %d/%d, want 3/1", c2.Lines, m.Lines)
	}
	if m.Header.Get("subject") != "inner" {
		t.Errorf("inner subject %q", m.Header.Get("subject"))
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body  string
		lines int64
	}{
		{"", 0},
		{"a", 1},
		{"a\r\n", 1},
		{"a\r\nb", 2},
		{"a\r\n\r\n", 2},
		{"\r\n", 1},
	} {
		single := mustParse(t, "Subject: x\r\n\r\n"+tt.body)
		if single.Lines != tt.lines {
			t.Errorf("single part %q: %d lines, want %d", tt.body, single.Lines, tt.lines)
		}
		// In a multipart, the line break before the delimiter is not
		// part of the body.
		multi := mustParse(t, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"+tt.body+"\r\n--b--\r\n")
		if got := multi.Children[0].Lines; got != tt.lines {
			t.Errorf("multipart %q: %d lines, want %d", tt.body, got, tt.lines)
		}
	}
}

func TestContentFields(t *testing.T) {
	t.Parallel()
	msg := crlf(`Content-Type: Text/HTML; Charset="ISO-8859-1"; format=flowed (comment)
Content-Transfer-Encoding: Quoted-Printable (comment)
Content-ID: <id@x>
Content-Description: =?utf-8?q?caf=C3=A9?=
Content-Disposition: Attachment; filename*=utf-8''%E2%82%AC%20rates.html
Content-Language: en-GB, de (German)
Content-Location: http://example.com/
Content-MD5: Q2hlY2s=

body
`)
	p := mustParse(t, msg)
	if p.MediaType != "text" || p.SubType != "html" {
		t.Errorf("type %s/%s", p.MediaType, p.SubType)
	}
	if p.Params.Get("CHARSET") != "ISO-8859-1" || p.Params.Get("format") != "flowed" || p.Charset() != "iso-8859-1" {
		t.Errorf("params %+v", p.Params)
	}
	if p.Encoding != "quoted-printable" || p.ID != "<id@x>" || p.Description != "=?utf-8?q?caf=C3=A9?=" {
		t.Errorf("fields %q %q %q", p.Encoding, p.ID, p.Description)
	}
	if p.Disposition != "attachment" || p.Filename() != "€ rates.html" {
		t.Errorf("disposition %q filename %q", p.Disposition, p.Filename())
	}
	if len(p.Language) != 2 || p.Language[0] != "en-GB" || p.Language[1] != "de" {
		t.Errorf("language %q", p.Language)
	}
	if p.Location != "http://example.com/" || p.MD5 != "Q2hlY2s=" {
		t.Errorf("location %q md5 %q", p.Location, p.MD5)
	}
}

func TestRFC2231(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		name, val string
		ext       string
	}{
		// RFC 2231 §3
		{`message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"`,
			"url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar", ""},
		// RFC 2231 §4
		{`application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`,
			"title", "This is ***fun***", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"},
		// RFC 2231 §4.1: mixed sections
		{`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
			"title", "This is even more ***fun*** isn't it!", "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!"},
		// sections out of order, UTF-8 split across sections
		{`application/octet-stream; name*1*=%A9.txt; name*0*=UTF-8''caf%C3`,
			"name", "café.txt", "UTF-8''caf%C3%A9.txt"},
		{`application/octet-stream; name*=iso-8859-1''%E9t%E9.txt`, "name", "été.txt", "iso-8859-1''%E9t%E9.txt"},
		{`application/octet-stream; name*=x-unknown''%41%42`, "name", "AB", "x-unknown''AB"},
		// missing section: joined anyway
		{`application/octet-stream; name*0="a"; name*2="c"`, "name", "ac", ""},
		// unquoted tspecials, missing semicolon
		{`multipart/mixed; boundary=----=_Part_0_1.2 charset="x"`, "boundary", "----=_Part_0_1.2", ""},
		{`multipart/mixed; boundary=----=_Part_0_1.2 charset="x"`, "charset", "x", ""},
		{`text/plain; charset = "utf-8" ;;; junk; format=flowed`, "format", "flowed", ""},
		{`text/plain; name="unterminated`, "name", "unterminated", ""},
	}
	for _, tt := range tests {
		_, _, ps, ok := ParseContentType(tt.in)
		if !ok {
			t.Errorf("%s: not ok", tt.in)
			continue
		}
		if got := ps.Get(tt.name); got != tt.val {
			t.Errorf("%s: %s = %q, want %q", tt.in, tt.name, got, tt.val)
		}
		for _, p := range ps {
			if p.Name == tt.name && p.Ext != tt.ext {
				t.Errorf("%s: ext %q, want %q", tt.in, p.Ext, tt.ext)
			}
		}
	}
	// Both forms given: the extended one wins in Get, both are kept.
	_, _, ps, _ := ParseContentType(`text/plain; name="plain.txt"; name*=utf-8''%C3%A9.txt`)
	if ps.Get("name") != "é.txt" || len(ps) != 2 {
		t.Errorf("params %+v", ps)
	}
}

func Test8BitHeaders(t *testing.T) {
	t.Parallel()
	msg := "Subject: Grüße aus Köln\r\nFrom: Jörg <jörg@exämple.de>\r\nX-Latin1: caf\xe9\r\n\r\nbody"
	p := mustParse(t, msg)
	if got := p.Header.Get("Subject"); got != "Grüße aus Köln" {
		t.Errorf("subject %q", got)
	}
	if got := p.Header.Get("X-Latin1"); got != "caf\xe9" {
		t.Errorf("latin1 %q", got)
	}
	e := Envelope(p)
	if len(e.From) != 1 || e.From[0].Name != "Jörg" || e.From[0].Mailbox != "jörg" || e.From[0].Host != "exämple.de" {
		t.Errorf("from %+v", e.From)
	}
}

func TestHeader(t *testing.T) {
	t.Parallel()
	raw := "Received: from a\r\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject : folded\r\n  subject\r\nnot a field\r\nX-Empty:\r\nsubject: second\r\n\r\n"
	p := mustParse(t, raw+"body")
	h := &p.Header
	if string(h.Raw()) != raw {
		t.Errorf("raw %q", h.Raw())
	}
	if got := h.Get("received"); got != "from a\tby b; Mon, 1 Jan 2024 00:00:00 +0000" {
		t.Errorf("received %q", got)
	}
	if got := h.Get("SUBJECT"); got != "folded  subject" {
		t.Errorf("subject %q", got)
	}
	if got := h.Values("subject"); len(got) != 2 || got[1] != "second" {
		t.Errorf("values %q", got)
	}
	if !h.Has("x-empty") || h.Get("x-empty") != "" || h.Has("nope") {
		t.Error("Has")
	}
	fs := h.Fields()
	if len(fs) != 5 || fs[2].Name != "" || fs[2].Value != "not a field" || string(fs[1].Raw) != "Subject : folded\r\n  subject\r\n" {
		t.Errorf("fields %+v", fs)
	}
	if got := string(h.Filter([]string{"Subject", "x-empty"}, false)); got != "Subject : folded\r\n  subject\r\nX-Empty:\r\nsubject: second\r\n\r\n" {
		t.Errorf("FIELDS %q", got)
	}
	if got := string(h.Filter([]string{"subject", "received", "x-empty"}, true)); got != "not a field\r\n\r\n" {
		t.Errorf("FIELDS.NOT %q", got)
	}
	noBlank := mustParse(t, "A: 1\r\nB: 2")
	if got := string(noBlank.Header.Filter([]string{"b"}, false)); got != "B: 2" {
		t.Errorf("FIELDS without blank line %q", got)
	}
	if got := noBlank.Header.Filter([]string{"c"}, false); got == nil || len(got) != 0 {
		t.Errorf("FIELDS no match %q", got)
	}
}

func TestParseHeaderStandalone(t *testing.T) {
	t.Parallel()
	h, trunc := ParseHeader([]byte("A: 1\nB: 2\nC: 3\n\nbody"), 2)
	if !trunc || h.Len() != 2 || h.Get("B") != "2" || h.Get("C") != "" || string(h.Raw()) != "A: 1\nB: 2\nC: 3\n\n" {
		t.Errorf("ParseHeader: %v %+v %q", trunc, h.Fields(), h.Raw())
	}
	if got := string(h.Filter([]string{"a"}, false)); got != "A: 1\n\n" {
		t.Errorf("Filter %q", got)
	}
}

func TestLimitErrorIsReturnedWithTree(t *testing.T) {
	t.Parallel()
	msg := "A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody"
	p, err := Parse([]byte(msg), Limits{MaxHeaderFields: 2})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitHeaderFields {
		t.Fatalf("err %v", err)
	}
	checkTree(t, p, int64(len(msg)))
	if !p.Truncated || p.Header.Len() != 2 || string(msg[p.BodyStart:p.BodyEnd]) != "body" {
		t.Errorf("tree %+v", p)
	}
}
