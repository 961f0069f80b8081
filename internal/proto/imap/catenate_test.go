package imap

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

func TestParseCatenate(t *testing.T) {
	in := "a APPEND Drafts (\\Seen) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT {4}\r\n" +
		"\r\nhi URL /INBOX/;UID=3) {5}\r\nhello CATENATE (TEXT {1}\r\nx)\r\nb NOOP\r\n"
	r := NewReader(bufio.NewReader(strings.NewReader(in)), Limits{})
	c, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	m := c.Args.(*AppendCmd).Message
	want := []CatPart{{URL: "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"}, {Text: []byte("\r\nhi")}, {URL: "/INBOX/;UID=3"}}
	if len(m.Catenate) != 3 || m.Catenate[0].URL != want[0].URL || string(m.Catenate[1].Text) != "\r\nhi" || m.Catenate[2].URL != want[2].URL {
		t.Fatalf("parts %+v", m.Catenate)
	}
	if len(m.Flags) != 1 || m.Body != nil {
		t.Fatalf("message %+v", m)
	}
	if got := c.String(); !strings.Contains(got, "CATENATE (URL") || !strings.Contains(got, "TEXT {4}\r\n\r\nhi URL /INBOX/;UID=3)") {
		t.Fatalf("String: %q", got)
	}
	m, err = r.NextAppendMessage()
	if err != nil || m == nil || m.Catenate != nil {
		t.Fatalf("second message %+v, %v", m, err)
	}
	if body, _ := io.ReadAll(m.Body); string(body) != "hello" {
		t.Fatalf("second body %q", body)
	}
	m, err = r.NextAppendMessage()
	if err != nil || m == nil || len(m.Catenate) != 1 || string(m.Catenate[0].Text) != "x" {
		t.Fatalf("third message %+v, %v", m, err)
	}
	if m, err = r.NextAppendMessage(); m != nil || err != nil {
		t.Fatalf("after the last: %+v, %v", m, err)
	}
	if c, err = r.ReadCommand(); err != nil || c.Name != "NOOP" {
		t.Fatalf("next command %v, %v", c, err)
	}

	// A server that stops after a CATENATE message skips the rest.
	in = "a APPEND x CATENATE (TEXT {1+}\r\nx) {3+}\r\nabc\r\nb NOOP\r\n"
	r = NewReader(bufio.NewReader(strings.NewReader(in)), Limits{})
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if c, err = r.ReadCommand(); err != nil || c.Name != "NOOP" {
		t.Fatalf("after an abandoned APPEND: %v, %v", c, err)
	}
}
