package mime

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func decoded(t *testing.T, msg string, sec ...int) string {
	t.Helper()
	root := mustParse(t, msg)
	p, ok := root.Section(sec)
	if !ok {
		t.Fatalf("no section %v", sec)
	}
	r := bytes.NewReader([]byte(msg))
	b, err := io.ReadAll(iotest.OneByteReader(p.DecodedBody(r)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.DecodedSize(r)
	if err != nil || n != int64(len(b)) {
		t.Errorf("DecodedSize %d, %v; read %d", n, err, len(b))
	}
	return string(b)
}

func TestDecodedBody(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("0123456789", 2000)
	tests := []struct {
		name, enc, body, want string
	}{
		{"7bit", "7bit", "hello\r\n", "hello\r\n"},
		{"unknown", "x-uuencode", "begin 644\r\n", "begin 644\r\n"},
		{"base64", "base64", "SGVsbG8s\r\nIHdvcmxkIQ==\r\n", "Hello, world!"},
		{"base64 junk and no padding", "BASE64", "SGVs*bG8\r\n!!sIHdvcmxkIQ", "Hello, world!"},
		{"base64 concatenated blocks", "base64", "SGk=\r\nSGk=\r\n", "HiHi"},
		{"base64 long", "base64", base64.StdEncoding.EncodeToString([]byte(long)), long},
		{"qp", "quoted-printable", "caf=C3=A9 =\r\nsoft break\r\ntrailing   \r\n=3D=3d", "café soft break\r\ntrailing\r\n=="},
		{"qp malformed", "quoted-printable", "a=ZZb =\nc=\n=4", "a=ZZb c=4"},
		{"qp long line", "quoted-printable", strings.Repeat("x=41", 30000), strings.Repeat("xA", 30000)},
	}
	for _, tt := range tests {
		msg := "Content-Transfer-Encoding: " + tt.enc + "\r\n\r\n" + tt.body
		if got := decoded(t, msg); got != tt.want {
			if len(got) > 100 {
				got, tt.want = got[:100], tt.want[:100]
			}
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// A multipart and an encapsulated message come back as stored.
	msg := "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: x\r\n\r\ny"
	if got := decoded(t, msg, 1); got != "Subject: x\r\n\r\ny" {
		t.Errorf("message: %q", got)
	}
	if !mustParse(t, "Content-Transfer-Encoding: base64\r\n\r\n").CanDecode() || mustParse(t, "Content-Transfer-Encoding: x-foo\r\n\r\n").CanDecode() {
		t.Error("CanDecode")
	}
}

func TestDecodeHeaderValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		// RFC 2047 §8 examples
		{"=?ISO-8859-1?Q?a?=", "a"},
		{"=?ISO-8859-1?Q?a?= b", "a b"},
		{"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=", "ab"},
		{"=?ISO-8859-1?Q?a_b?=", "a b"},
		{"=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a =?ISO-8859-2?Q?_b?="},
		{"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"},
		{"=?ISO-8859-1?Q?Olle_J=E4rnefors?=", "Olle Järnefors"},
		{"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
			"If you can read this yo =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="},
		// RFC 2231 §5 language suffix
		{"=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"},
		{"=?utf-8?b?w6k=?=", "é"},
		{"=?utf-8?b?w6k?=", "é"},
		// a character split between two words
		{"=?utf-8?q?caf=C3?= =?UTF-8?q?=A9?=", "café"},
		{"=?windows-1252?q?=93quoted=94_=80?=", "“quoted” €"},
		{"=?iso-8859-15?q?=A4?=", "€"},
		{"=?iso-8859-1?q?=A4?=", "¤"},
		{"=?utf-8?q?bad=FF?=", "bad\uFFFD"},
		{"prefix=?utf-8?q?inside?=suffix", "prefixinsidesuffix"},
		{"=?utf-8?q?has space?=", "=?utf-8?q?has space?="},
		{"=?utf-8?x?bad?=", "=?utf-8?x?bad?="},
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
		{"=?=?utf-8?q?x?=", "=?x"},
		{"=??q?x?=", "=??q?x?="},
		{"Grüße =?utf-8?q?aus?= Köln", "Grüße aus Köln"},
	}
	for _, tt := range tests {
		if got := DecodeHeaderValue(tt.in); got != tt.want {
			t.Errorf("DecodeHeaderValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeCharset(t *testing.T) {
	t.Parallel()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, cs := range []string{"utf-8", "US-ASCII", "latin1", "ISO-8859-15", "cp1252", "\"utf8\""} {
		if !KnownCharset(cs) {
			t.Errorf("%s unknown", cs)
		}
		s, ok := DecodeCharset(cs, all)
		if !ok || !strings.HasPrefix(s, string(all[:128])) {
			t.Errorf("%s: ASCII not preserved", cs)
		}
	}
	if s, _ := DecodeCharset("windows-1252", []byte{0x80, 0x9f, 0xe9}); s != "€Ÿé" {
		t.Errorf("1252 %q", s)
	}
	if s, _ := DecodeCharset("iso-8859-15", []byte{0x80, 0xbe, 0xe9}); s != "\u0080Ÿé" {
		t.Errorf("8859-15 %q", s)
	}
	if s, ok := DecodeCharset("koi8-r", []byte{0xc1}); ok || s != "\xc1" {
		t.Errorf("unknown charset: %q %v", s, ok)
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	msg := crlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 au lait
--a
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style><script>var x = "<b>";</script></head>
<body><p>Caf&eacute; &amp; <b>lait</b>&#33;&#x21;</p><!-- hidden --></body></html>
--a--
--b
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--b
Content-Type: message/rfc822

Subject: inner

inner text
--b--
`)
	root := mustParse(t, msg)
	r := bytes.NewReader([]byte(msg))
	got := root.Text(r, 0)
	for _, want := range []string{"Café au lait", "Café & ", "lait !!", "inner text"} {
		if !strings.Contains(got, want) {
			t.Errorf("Text lacks %q: %q", want, got)
		}
	}
	for _, bad := range []string{"color", "var x", "hidden", "PNG", "iVBOR", "inner\r\n\r\n"} {
		if strings.Contains(got, bad) {
			t.Errorf("Text has %q: %q", bad, got)
		}
	}
	if got := root.Text(r, 4); got != "Caf" {
		t.Errorf("Text(4) = %q", got)
	}
	if got := root.Text(r, 5); got != "Café" {
		t.Errorf("Text(5) = %q", got)
	}
}
