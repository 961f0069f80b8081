package mime

import (
	"strings"
	"testing"
)

// rfc9051Msg has the structure of the example in RFC 9051 §6.4.5.
var rfc9051Msg = crlf(`Subject: top
Content-Type: MULTIPART/MIXED; boundary=t

--t
Content-Type: TEXT/PLAIN

part 1
--t
Content-Type: APPLICATION/OCTET-STREAM

part 2
--t
Content-Type: MESSAGE/RFC822

Subject: three
Content-Type: MULTIPART/MIXED; boundary=m3

--m3
Content-Type: TEXT/PLAIN

part 3.1
--m3
Content-Type: APPLICATION/OCTET-STREAM

part 3.2
--m3--
--t
Content-Type: MULTIPART/MIXED; boundary=m4

--m4
Content-Type: IMAGE/GIF

part 4.1
--m4
Content-Type: MESSAGE/RFC822

Subject: four-two
Content-Type: MULTIPART/MIXED; boundary=m42

--m42
Content-Type: TEXT/PLAIN

part 4.2.1
--m42
Content-Type: MULTIPART/ALTERNATIVE; boundary=m422

--m422
Content-Type: TEXT/PLAIN

part 4.2.2.1
--m422
Content-Type: TEXT/RICHTEXT

part 4.2.2.2
--m422--
--m42--
--m4--
--t--
`)

func path(s string) []int {
	if s == "" {
		return nil
	}
	var p []int
	for _, f := range strings.Split(s, ".") {
		n := 0
		for _, c := range f {
			n = n*10 + int(c-'0')
		}
		p = append(p, n)
	}
	return p
}

func TestSectionRFC9051(t *testing.T) {
	t.Parallel()
	root := mustParse(t, rfc9051Msg)
	msg := []byte(rfc9051Msg)
	get := func(sec string, spec Spec) string {
		s, e, ok := root.SectionRange(path(sec), spec)
		if !ok {
			return "<none>"
		}
		return string(msg[s:e])
	}
	for _, tt := range []struct {
		sec, typ string
	}{
		{"", "multipart/mixed"},
		{"1", "text/plain"}, {"2", "application/octet-stream"}, {"3", "message/rfc822"},
		{"3.1", "text/plain"}, {"3.2", "application/octet-stream"},
		{"4", "multipart/mixed"}, {"4.1", "image/gif"}, {"4.2", "message/rfc822"},
		{"4.2.1", "text/plain"}, {"4.2.2", "multipart/alternative"},
		{"4.2.2.1", "text/plain"}, {"4.2.2.2", "text/richtext"},
	} {
		p, ok := root.Section(path(tt.sec))
		if !ok || p.MediaType+"/"+p.SubType != tt.typ {
			t.Errorf("section %q: %v %v", tt.sec, ok, p)
		}
	}
	for _, bad := range []string{"0", "5", "1.1", "2.1", "3.3", "4.1.1", "4.2.2.3", "4.2.2.1.1"} {
		if _, ok := root.Section(path(bad)); ok {
			t.Errorf("section %q exists", bad)
		}
	}
	for _, tt := range []struct {
		sec  string
		spec Spec
		want string
	}{
		{"", SpecBody, rfc9051Msg},
		{"", SpecHeader, "Subject: top\r\nContent-Type: MULTIPART/MIXED; boundary=t\r\n\r\n"},
		{"1", SpecBody, "part 1"},
		{"1", SpecMIME, "Content-Type: TEXT/PLAIN\r\n\r\n"},
		{"3", SpecHeader, "Subject: three\r\nContent-Type: MULTIPART/MIXED; boundary=m3\r\n\r\n"},
		{"3.1", SpecBody, "part 3.1"},
		{"3", SpecMIME, "Content-Type: MESSAGE/RFC822\r\n\r\n"},
		{"4.1", SpecMIME, "Content-Type: IMAGE/GIF\r\n\r\n"},
		{"4.2", SpecHeader, "Subject: four-two\r\nContent-Type: MULTIPART/MIXED; boundary=m42\r\n\r\n"},
		{"4.2.2.2", SpecBody, "part 4.2.2.2"},
		{"", SpecMIME, "<none>"},
		{"1", SpecHeader, "<none>"},
		{"4", SpecText, "<none>"},
	} {
		if got := get(tt.sec, tt.spec); got != tt.want {
			t.Errorf("BODY[%s spec %d] = %q, want %q", tt.sec, tt.spec, got, tt.want)
		}
	}
	if got := get("3", SpecText); !strings.HasPrefix(got, "--m3\r\n") || !strings.HasSuffix(got, "--m3--") {
		t.Errorf("3.TEXT %q", got)
	}
	h, ok := root.SectionHeader(path("4.2"))
	if !ok || string(h.Filter([]string{"subject"}, false)) != "Subject: four-two\r\n\r\n" {
		t.Errorf("4.2.HEADER.FIELDS (SUBJECT): %v %q", ok, h.Filter([]string{"subject"}, false))
	}
	if _, ok := root.SectionHeader(path("4.1")); ok {
		t.Error("4.1.HEADER exists")
	}
}

func TestSectionSinglePart(t *testing.T) {
	t.Parallel()
	msg := "Subject: x\r\n\r\nbody\r\n"
	root := mustParse(t, msg)
	if p, ok := root.Section([]int{1}); !ok || p != root {
		t.Error("part 1 of a single-part message is its body")
	}
	if s, e, ok := root.SectionRange([]int{1}, SpecBody); !ok || msg[s:e] != "body\r\n" {
		t.Error("BODY[1]")
	}
	if s, e, ok := root.SectionRange([]int{1}, SpecMIME); !ok || msg[s:e] != "Subject: x\r\n\r\n" {
		t.Error("BODY[1.MIME]")
	}
	if _, ok := root.Section([]int{1, 1}); ok {
		t.Error("1.1 exists")
	}
	// A single-part message whose body is itself a message.
	msg = "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body"
	root = mustParse(t, msg)
	if p, ok := root.Section([]int{1, 1}); !ok || p != root.Message {
		t.Error("1.1 of message/rfc822 root")
	}
	if s, e, ok := root.SectionRange([]int{1}, SpecText); !ok || msg[s:e] != "inner body" {
		t.Error("BODY[1.TEXT]")
	}
}
