package mime

import (
	"strings"
	"testing"
)

// dovecotMsg and its BODYSTRUCTURE come from Dovecot's
// src/lib-imap/test-imap-bodystructure.c. Dovecot counts sizes as if line
// endings were CRLF, so the message is converted to CRLF here and the
// numbers must match exactly.
const dovecotMsg = `From: user@domain.org
Date: Sat, 24 Mar 2007 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo
 bar"

Root MIME prologue

--foo bar
Content-Type: text/x-myown; charset=us-ascii; foo="quoted\"string"
Content-ID: <foo@example.com>
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Disposition: inline; foo=bar
Content-Description: hellodescription
Content-Language: en, fi, se
Content-Location: http://example.com/test.txt

hello

--foo bar
Content-Type: message/rfc822

From: sub@domain.org
To: sub-to1@domain.org, sub-to2@domain.org
Date: Sun, 12 Aug 2012 12:34:56 +0300
Subject: submsg
Content-Type: multipart/alternative; boundary="sub1"

Sub MIME prologue
--sub1
Content-Type: text/html
Content-Transfer-Encoding: 8bit

<p>Hello world</p>

--sub1
Content-Type: text/plain
Content-Transfer-Encoding: ?invalid

Hello another world

--sub1--
Sub MIME epilogue

--foo bar--
Root MIME epilogue
`

const dovecotBodystructure = `(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar")) ("en" "fi" "se") "http://example.com/test.txt")("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL)`

const dovecotBody = `(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1)("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1) "alternative") 21) "mixed")`

func TestBodyStructureDovecot(t *testing.T) {
	t.Parallel()
	p := mustParse(t, crlf(dovecotMsg))
	if got := string(AppendBodyStructure(nil, p, true, false)); got != dovecotBodystructure {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", got, dovecotBodystructure)
	}
	if got := string(AppendBodyStructure(nil, p, false, false)); got != dovecotBody {
		t.Errorf("BODY\n got %s\nwant %s", got, dovecotBody)
	}
}

func TestBodyStructureShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, msg string
		ext       bool
		want      string
	}{
		{"plain default", "Subject: x\r\n\r\nhello\r\n", false,
			`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1)`},
		{"RFC 9051 example shape", "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\nContent-Transfer-Encoding: 7BIT\r\n\r\nabc\r\n", true,
			`("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)`},
		{"basic with RFC 2231 name", "Content-Type: application/octet-stream; name*=utf-8''%E2%82%AC.bin\r\nContent-Disposition: attachment; filename=\"x y.bin\"\r\n\r\nAAAA", true,
			`("application" "octet-stream" ("name*" "utf-8''%E2%82%AC.bin") NIL NIL "7bit" 4 NIL ("attachment" ("filename" "x y.bin")) NIL NIL)`},
		{"multipart without parts", "Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts\r\n", false,
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")`},
		{"encoded message/rfc822", "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA==\r\n", false,
			`("message" "rfc822" NIL NIL NIL "base64" 18 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1)`},
		{"group and 8-bit subject as literal", "Subject: caf\xc3\xa9\r\nTo: undisclosed-recipients:;\r\nContent-Type: message/rfc822\r\n\r\nSubject: caf\xc3\xa9\r\nTo: undisclosed-recipients:;\r\n\r\n", false,
			"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 48 (NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) 3)"},
	}
	for _, tt := range tests {
		p := mustParse(t, tt.msg)
		if got := string(AppendBodyStructure(nil, p, tt.ext, false)); got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestAppendValue(t *testing.T) {
	t.Parallel()
	v := []any{nil, "a\"b\\c", int64(-3), 7, "caf\xc3\xa9", "x\r\ny", "nul\x00", []any{}, Adjacent{[]any{"a"}, []any{"b"}}, strings.Repeat("x", 1025)}
	got := string(AppendValue(nil, v, false))
	want := "(NIL \"a\\\"b\\\\c\" -3 7 {5}\r\ncaf\xc3\xa9 {4}\r\nx\r\ny {3}\r\nnul () (\"a\")(\"b\") {1025}\r\n" + strings.Repeat("x", 1025) + ")"
	if got != want {
		t.Errorf("AppendValue\n got %q\nwant %q", got, want)
	}
	if got := string(AppendValue(nil, []any{"caf\xc3\xa9", "bad\xff"}, true)); got != "(\"caf\xc3\xa9\" {4}\r\nbad\xff)" {
		t.Errorf("utf8 %q", got)
	}
}
