package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// URLAUTH=BINARY (RFC 5524): URLFETCH parameter lists.
func TestURLFetchBinary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	msg := "From: a@example.com\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-unknown\r\n\r\nzzz\r\n" +
		"--b--\r\n"
	e.deliver(inbox.ID, msg)
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "URLAUTH=BINARY")
	gen := func(sec string) string {
		t.Helper()
		lines := c.ok("GENURLAUTH %s INTERNAL", quote("imap://alice@imap.test/INBOX/;UID=1/;SECTION="+sec+";URLAUTH=user+alice"))
		_, u, _ := strings.Cut(strings.Join(lines, ""), `"`)
		return strings.TrimSuffix(u, `"`)
	}
	fetch := func(args string) string {
		t.Helper()
		lines := c.ok("URLFETCH %s", args)
		if len(lines) != 1 {
			t.Fatalf("URLFETCH %s: %q", args, lines)
		}
		_, rest, _ := strings.Cut(lines[0], ":internal:")
		_, rest, _ = strings.Cut(rest, " ")
		return rest
	}
	u1, u2, u3 := gen("1"), gen("2"), gen("3")
	for _, tc := range []struct{ args, want string }{
		{"(" + quote(u1) + " BINARY)", "(BINARY {11}hello world)"},
		{"(" + quote(u1) + " BODY)", "(BODY {16}aGVsbG8gd29ybGQ=)"},
		{"(" + quote(u1) + " BODYPARTSTRUCTURE)",
			`(BODYPARTSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "base64" 16 1 NIL NIL NIL NIL))`},
		// The structure describes the data sent: decoded, 7bit.
		{"(" + quote(u1) + " BINARY BODYPARTSTRUCTURE)",
			`(BODYPARTSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 1 NIL NIL NIL NIL)) (BINARY {11}hello world)`},
		// NUL bytes: a literal8.
		{"(" + quote(u2) + " BINARY)", "(BINARY ~{3}\x00\x01\x02)"},
		// An encoding that cannot be undone: BINARY NIL, BODY as stored.
		{"(" + quote(u3) + " BINARY)", "(BINARY NIL)"},
		{"(" + quote(u3) + " BODY)", "(BODY {3}zzz)"},
		// A URL that does not resolve is NIL as a whole.
		{"(" + quote(u1+"x") + " BINARY)", "NIL"},
	} {
		if got := fetch(tc.args); got != tc.want {
			t.Errorf("URLFETCH %s:\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
	// A plain URL keeps the RFC 4467 form, next to a parameter list.
	lines := c.ok("URLFETCH %s (%s BINARY)", quote(u1), quote(u1))
	if want := "* URLFETCH " + u1 + " {16}aGVsbG8gd29ybGQ="; len(lines) != 2 || lines[0] != want {
		t.Errorf("mixed URLFETCH: %q", lines)
	}
	c.fail("BAD", "URLFETCH (%s BINARY BODY)", quote(u1))
	c.fail("BAD", "URLFETCH (%s MIME)", quote(u1))
}

// BINARY of a message/rfc822 part undoes the encodings of the parts
// inside it and says so in their headers.
func TestURLFetchBinaryNested(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	inner := "Subject: in\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n" +
		"--i\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n  \r\n\r\naGk=\r\n--i--\r\n"
	msg := "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--b--\r\n"
	e.deliver(inbox.ID, msg)
	c := e.login("alice")
	lines := c.ok("GENURLAUTH %s INTERNAL", quote("imap://alice@imap.test/INBOX/;UID=1/;SECTION=1;URLAUTH=user+alice"))
	_, u, _ := strings.Cut(strings.Join(lines, ""), `"`)
	u = strings.TrimSuffix(u, `"`)
	got := strings.Join(c.ok("URLFETCH (%s BINARY)", quote(u)), "")
	want := "Subject: in\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n" +
		"--i\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nhi\r\n--i--)"
	if !strings.Contains(got, want) {
		t.Errorf("nested BINARY: %q\nwant %q", got, want)
	}
}
