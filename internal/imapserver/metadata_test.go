package imapserver_test

import (
	"fmt"
	"strings"
	"testing"
)

// GETMETADATA and SETMETADATA (RFC 5464) on mailboxes and the server.

func TestMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	caps := c.ok("CAPABILITY")
	mustHave(t, caps, " METADATA ", " METADATA-SERVER")

	// RFC 5464 §4.3 examples: set, read back, case-insensitive names.
	c.ok(`SETMETADATA INBOX (/private/comment "My own comment")`)
	c.ok(`SETMETADATA INBOX (/Shared/Comment "Shared comment")`)
	mustHave(t, c.ok(`GETMETADATA INBOX /private/comment`), `* METADATA INBOX (/private/comment "My own comment")`)
	mustHave(t, c.ok(`GETMETADATA "inbox" (/shared/comment /private/comment)`),
		`* METADATA INBOX (/shared/comment "Shared comment" /private/comment "My own comment")`)
	// An entry without a value reads as NIL.
	mustHave(t, c.ok(`GETMETADATA INBOX /private/none`), `* METADATA INBOX (/private/none NIL)`)

	// Literals, and binary values through literal8.
	c.send("s1 SETMETADATA INBOX (/private/multi {12}\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("no continuation: %q", l)
	}
	c.send("line1\r\nline2)\r\n")
	if _, st := c.until("s1"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("literal value: %q", st)
	}
	mustHave(t, c.ok(`GETMETADATA INBOX /private/multi`), "/private/multi {12}line1\r\nline2")
	c.send("s2 SETMETADATA INBOX (/private/bin ~{5+}\r\na\x00b\xffc)\r\n")
	if _, st := c.until("s2"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("binary value: %q", st)
	}
	mustHave(t, c.ok(`GETMETADATA INBOX /private/bin`), "/private/bin ~{5}a\x00b\xffc")

	// DEPTH and MAXSIZE (RFC 5464 §4.2.1, §4.2.2).
	c.ok(`SETMETADATA INBOX (/shared/vendor/x/a "1" /shared/vendor/x/b "22" /shared/vendor/x/b/c "333")`)
	lines := c.ok(`GETMETADATA (DEPTH 1) INBOX /shared/vendor/x`)
	mustHave(t, lines, `/shared/vendor/x/a "1"`, `/shared/vendor/x/b "22"`)
	mustNotHave(t, lines, "/shared/vendor/x/b/c")
	mustHave(t, c.ok(`GETMETADATA (DEPTH infinity) INBOX /shared/vendor`), `/shared/vendor/x/b/c "333"`)
	lines, st := c.cmd(`GETMETADATA (MAXSIZE 2 DEPTH infinity) INBOX /shared/vendor/x`)
	if !strings.HasPrefix(st, "OK [METADATA LONGENTRIES 3]") {
		t.Fatalf("MAXSIZE: %q", st)
	}
	mustHave(t, lines, `/shared/vendor/x/b "22"`)
	mustNotHave(t, lines, `"333"`)
	// Options after the mailbox, as some clients send them.
	mustHave(t, c.ok(`GETMETADATA INBOX (DEPTH 1) (/shared/vendor/x)`), `/shared/vendor/x/a "1"`)

	// NIL removes.
	c.ok(`SETMETADATA INBOX (/shared/vendor/x/a NIL)`)
	mustHave(t, c.ok(`GETMETADATA INBOX /shared/vendor/x/a`), `(/shared/vendor/x/a NIL)`)

	// Server entries (mailbox "").
	c.ok(`SETMETADATA "" (/shared/comment "Server comment" /private/vendor/roost/x "y")`)
	mustHave(t, c.ok(`GETMETADATA "" (/shared/comment /private/vendor/roost/x)`),
		`* METADATA "" (/shared/comment "Server comment" /private/vendor/roost/x "y")`)
	// Mailbox and server entries are apart.
	mustHave(t, c.ok(`GETMETADATA INBOX /shared/comment`), `"Shared comment"`)

	// Bad entry names are BAD; the session goes on.
	for _, bad := range []string{`INBOX /comment`, `INBOX /shared/`, `INBOX /shared//x`, `INBOX /shared/*`, `INBOX /shared/%`, `INBOX "/shared/\x01"`} {
		c.fail("BAD", "GETMETADATA %s", bad)
	}
	c.fail("BAD", `SETMETADATA INBOX (/private/x)`)
	c.fail("BAD", `GETMETADATA (DEPTH 2) INBOX /shared/x`)
	if st := c.fail("NO", `SETMETADATA INBOX (/shared/%s "x")`, strings.Repeat("a", 300)); !strings.Contains(st, "[LIMIT]") {
		t.Fatalf("long name: %q", st)
	}

	// Too large a value: refused before the literal is sent.
	st2 := c.fail("NO", "SETMETADATA INBOX (/private/big {%d}", 1<<20)
	if !strings.Contains(st2, "[METADATA MAXSIZE 65536]") {
		t.Fatalf("large literal: %q", st2)
	}
	if st := c.fail("NO", "SETMETADATA INBOX (/private/big {65537+}\r\n%s)", strings.Repeat("x", 65537)); !strings.Contains(st, "[METADATA MAXSIZE 65536]") {
		t.Fatalf("large non-synchronizing literal: %q", st)
	}
	c.ok("SETMETADATA INBOX (/private/big {65536+}\r\n%s)", strings.Repeat("x", 65536))
	lines, st = c.cmd("GETMETADATA (MAXSIZE 1000) INBOX /private/big")
	if !strings.HasPrefix(st, "OK [METADATA LONGENTRIES 65536]") || len(lines) != 0 {
		t.Fatalf("MAXSIZE of a large value: %q %q", lines, st)
	}

	// Too many entries: all or nothing.
	c.ok("CREATE Many")
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, " /private/e%d \"v\"", i)
	}
	c.ok("SETMETADATA Many (%s)", b.String()[1:])
	if st := c.fail("NO", `SETMETADATA Many (/private/one "more" /private/e1 NIL /private/two "more")`); !strings.Contains(st, "[METADATA TOOMANY]") {
		t.Fatalf("too many: %q", st)
	}
	mustHave(t, c.ok(`GETMETADATA Many /private/e1`), `(/private/e1 "v")`)
	c.ok(`SETMETADATA Many (/private/one "more" /private/e1 NIL)`) // replaces one

	// Missing and foreign mailboxes read alike.
	c.fail("NO", `GETMETADATA Nope /shared/comment`)
	st3 := c.fail("NO", `GETMETADATA "Other Users/eve/INBOX" /shared/comment`)
	st4 := c.fail("NO", `GETMETADATA "Other Users/bob/Nope" /shared/comment`)
	if st3 != st4 {
		t.Fatalf("foreign %q and missing %q differ", st3, st4)
	}
}

// Private entries are per user; shared entries need the write right.
func TestMetadataSharing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.login("alice")
	a.ok("CREATE Team")
	a.ok("SETACL Team bob lr")
	a.ok(`SETMETADATA Team (/shared/comment "team" /private/comment "alice's")`)

	b := e.login("bob")
	box := `"Other Users/alice/Team"`
	lines := b.ok(`GETMETADATA %s (/shared/comment /private/comment)`, box)
	mustHave(t, lines, `/shared/comment "team"`, `/private/comment NIL`)
	// bob's private entry is his own.
	b.ok(`SETMETADATA %s (/private/comment "bob's")`, box)
	mustHave(t, b.ok(`GETMETADATA %s /private/comment`, box), `"bob's"`)
	mustHave(t, a.ok(`GETMETADATA Team /private/comment`), `"alice's"`)
	// Without "w" bob cannot set shared entries.
	if st := b.fail("NO", `SETMETADATA %s (/shared/comment "bob was here")`, box); !strings.Contains(st, "[NOPERM]") {
		t.Fatalf("shared without w: %q", st)
	}
	mustHave(t, a.ok(`GETMETADATA Team /shared/comment`), `"team"`)
	a.ok("SETACL Team bob lrw")
	b.ok(`SETMETADATA %s (/shared/comment "bob was here")`, box)
	mustHave(t, a.ok(`GETMETADATA Team /shared/comment`), `"bob was here"`)

	// Server entries are each user's own.
	a.ok(`SETMETADATA "" (/shared/comment "alice's server")`)
	mustHave(t, b.ok(`GETMETADATA "" /shared/comment`), `/shared/comment NIL`)

	// Without lookup nothing shows.
	a.ok("DELETEACL Team bob")
	if st := b.fail("NO", `GETMETADATA %s /shared/comment`, box); !strings.Contains(st, "[NONEXISTENT]") {
		t.Fatalf("no lookup: %q", st)
	}
}

// Many entries in one command: bounded work, the protocol's own answers.
func TestMetadataBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, " /shared/vendor/x/e%d \"v\"", i)
	}
	if st := c.fail("NO", "SETMETADATA INBOX (%s)", b.String()[1:]); !strings.Contains(st, "[METADATA TOOMANY]") {
		t.Fatalf("1000 entries: %q", st)
	}
	c.ok(`SETMETADATA INBOX (/shared/vendor/x/a "1" /shared/vendor/x/a/b "2")`)
	b.Reset()
	for range 4000 { // within the 64 KiB line limit
		b.WriteString(" /shared/vendor")
	}
	lines := c.ok("GETMETADATA (DEPTH infinity) INBOX (%s)", b.String()[1:])
	if len(lines) != 1 || strings.Count(lines[0], "/shared/vendor/x/a ") != 1 {
		t.Fatalf("repeated entries: %q", lines)
	}
	c.ok("NOOP")
}
