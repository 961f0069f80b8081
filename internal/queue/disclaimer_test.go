package queue

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/proto/mime"
)

// texts returns the decoded bodies of the text parts, in order, with
// their media subtype, charset and encoding.
func texts(t *testing.T, msg []byte) []string {
	t.Helper()
	root, _ := mime.Parse(msg, mime.Limits{})
	var out []string
	var walk func(p *mime.Part)
	walk = func(p *mime.Part) {
		if p.IsMultipart() {
			for _, c := range p.Children {
				walk(c)
			}
			return
		}
		if p.MediaType == "text" {
			b, _ := io.ReadAll(p.DecodedBody(bytes.NewReader(msg)))
			out = append(out, p.SubType+"|"+p.Charset()+"|"+p.Encoding+"|"+string(b))
		}
	}
	walk(root)
	return out
}

func TestDisclaimer(t *testing.T) {
	const (
		txt  = "-- \nAcme: confidential"
		html = "<p>Acme</p>"
	)
	alt := "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nH=C3=A9llo\r\n" +
		"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><b>Hi</b></BODY></html>\r\n--XX--\r\n"
	for _, c := range []struct {
		name      string
		in        string
		text      string
		changed   bool
		want      []string // texts() of the result
		unchanged bool
	}{
		{name: "plain", in: "From: a@b\r\nSubject: x\r\n\r\nHello\r\n", text: txt, changed: true,
			want: []string{"plain|us-ascii|7bit|Hello\r\n-- \r\nAcme: confidential\r\n"}},
		{name: "no trailing newline", in: "From: a@b\r\n\r\nHello", text: txt, changed: true,
			want: []string{"plain|us-ascii|7bit|Hello\r\n-- \r\nAcme: confidential"}},
		{name: "alternative", in: alt, text: txt, changed: true, want: []string{
			"plain|utf-8|quoted-printable|H\u00e9llo\r\n-- \r\nAcme: confidential",
			"html|utf-8|7bit|<html><body><b>Hi</b><p>Acme</p></BODY></html>",
		}},
		{name: "base64", in: "From: a@b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8NCg==\r\n", text: txt, changed: true,
			want: []string{"plain|utf-8|base64|Hello\r\n-- \r\nAcme: confidential\r\n"}},
		{name: "non-ascii into 7bit ascii", in: "From: a@b\r\nContent-Type: text/plain; format=flowed\r\n\r\nHello\r\n", text: "Gr\u00fc\u00dfe", changed: true,
			want: []string{"plain|utf-8|quoted-printable|Hello\r\nGr\u00fc\u00dfe\r\n"}},
		{name: "non-ascii into latin1", in: "From: a@b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nHello\r\n", text: "Gr\u00fc\u00dfe", unchanged: true},
		{name: "attachment untouched", in: "From: a@b\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nbody\r\n--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nfile\r\n--B--\r\n",
			text: "D", changed: true, want: []string{"plain|us-ascii|7bit|body\r\nD", "plain|us-ascii|7bit|file"}},
		{name: "signed", in: "From: a@b\r\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=S\r\n\r\n--S\r\nContent-Type: text/plain\r\n\r\nsigned\r\n--S\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--S--\r\n", text: txt, unchanged: true},
		{name: "smime", in: "From: a@b\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAG\r\n", text: txt, unchanged: true},
		{name: "inline pgp", in: "From: a@b\r\n\r\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhi\r\n", text: txt, unchanged: true},
		{name: "no disclaimer", in: "From: a@b\r\n\r\nHello\r\n", unchanged: true},
		{name: "html only part, text disclaimer only", in: "From: a@b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n", text: txt, unchanged: true},
	} {
		html := html
		if c.name == "html only part, text disclaimer only" {
			html = ""
		}
		out, changed := Disclaimer([]byte(c.in), c.text, html)
		if c.unchanged {
			if changed || string(out) != c.in {
				t.Errorf("%s: changed:\n%s", c.name, out)
			}
			continue
		}
		if changed != c.changed {
			t.Errorf("%s: changed = %v", c.name, changed)
		}
		got := texts(t, out)
		if strings.Join(got, "\n#\n") != strings.Join(c.want, "\n#\n") {
			t.Errorf("%s:\ngot  %q\nwant %q\nmessage:\n%s", c.name, got, c.want, out)
		}
	}
}

// TestDisclaimerDeepNesting: 10,000 nested multiparts neither crash nor
// take the disclaimer somewhere it cannot be parsed back.
func TestDisclaimerDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b\r\n")
	for i := 0; i < 10000; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + strconv.Itoa(i) + "\r\n\r\n--b" + strconv.Itoa(i) + "\r\n")
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
	out, _ := Disclaimer([]byte(b.String()), "D", "<p>D</p>")
	if len(out) < b.Len() {
		t.Fatal("message lost bytes")
	}
}

// FuzzDisclaimer: any message gives a result that still parses, and
// messages Disclaimer does not change come back byte for byte.
func FuzzDisclaimer(f *testing.F) {
	f.Add("From: a@b\r\n\r\nHello\r\n", "D")
	f.Add("Content-Type: multipart/alternative; boundary=X\r\n\r\n--X\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGJvZHk+PC9ib2R5Pg==\r\n--X--\r\n", "\u00e9")
	f.Add("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n", "x")
	f.Fuzz(func(t *testing.T, msg, text string) {
		out, changed := Disclaimer([]byte(msg), text, text)
		if !changed && string(out) != msg {
			t.Fatal("unchanged message differs")
		}
		mime.Parse(out, mime.Limits{})
	})
}
