package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and mailbox names.

func TestCreateDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE Projects")
	if st := c.fail("NO", "CREATE Projects"); !strings.Contains(st, "[ALREADYEXISTS]") {
		t.Fatalf("duplicate: %q", st)
	}
	if st := c.fail("NO", "CREATE projects"); !strings.Contains(st, "[ALREADYEXISTS]") {
		t.Fatalf("case duplicate: %q", st)
	}
	// Intermediate levels are created; a trailing delimiter is dropped.
	c.ok("CREATE a/b/c/")
	lines := c.ok(`LIST "" "a*"`)
	mustHave(t, lines, `"/" a`, `\HasChildren`)
	mustHave(t, lines, `"/" a/b/c`, `\HasNoChildren`)
	if st := c.fail("NO", "DELETE a"); !strings.Contains(st, "[HASCHILDREN]") {
		t.Fatalf("delete with children: %q", st)
	}
	c.ok("DELETE a/b/c")
	c.ok("DELETE a/b")
	c.ok("DELETE a")
	if st := c.fail("NO", "DELETE a"); !strings.Contains(st, "[NONEXISTENT]") {
		t.Fatalf("delete missing: %q", st)
	}
	c.fail("NO", "DELETE INBOX")
	if st := c.fail("NO", "DELETE Sent"); !strings.Contains(st, "[CANNOT]") {
		t.Fatalf("delete special: %q", st)
	}
	c.ok("CREATE INBOX/Sub")
	mustHave(t, c.ok(`LIST "" "INBOX*"`), `"/" INBOX/Sub`)
	c.ok("CREATE &AMk-t&AOk-") // modified UTF-7 "Été"
	mustHave(t, c.ok(`LIST "" "&AMk-*"`), `&AMk-t&AOk-`)
	if st := c.fail("NO", `CREATE x (USE (\Drafts))`); !strings.Contains(st, "[USEATTR]") {
		t.Fatalf("create special use: %q", st)
	}
}

// Bad input from the issue: names with "..", NUL, invalid modified UTF-7
// and 1,000 levels.
func TestBadMailboxNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	for _, name := range []string{`"a/../b"`, `".."`, `"a//b"`, `"/a"`, `" a"`, `"Other Users"`, `"x*y"`} {
		c.fail("NO", "CREATE %s", name)
	}
	c.fail("BAD", "CREATE {3+}\r\na\x00b") // NUL in a literal is a syntax error
	// A name that does not decode is not a syntax error: NO [CANNOT]
	// (RFC 9051 §5.1, §7.1), as Dovecot answers.
	for _, cmd := range []string{
		`CREATE "a&Jjo"`,  // unterminated
		`CREATE "a&AGE-"`, // ASCII in base64
		"CREATE \"a\x01b\"",
		`SELECT "a&Jjo"`,
		`RENAME INBOX "a&Jjo"`,
		`STATUS "a&Jjo" (MESSAGES)`,
	} {
		if st := c.fail("NO", "%s", cmd); !strings.Contains(st, "[CANNOT]") {
			t.Fatalf("%s: %q", cmd, st)
		}
	}
	// A syntax error later in the same command still answers BAD.
	c.fail("BAD", `STATUS "a&Jjo" (NOSUCHITEM)`)
	// APPEND is refused before the message is sent.
	c.send("x1 APPEND \"a&Jjo\" {5}\r\n")
	if l := c.line(); !strings.HasPrefix(l, "x1 NO [CANNOT]") {
		t.Fatalf("APPEND to an invalid name: %q", l)
	}
	deep := strings.Repeat("x/", 999) + "x"
	if st := c.fail("NO", "CREATE %s", deep); !strings.Contains(st, "[LIMIT]") {
		t.Fatalf("deep: %q", st)
	}
	c.fail("NO", "SELECT %s", deep)
	c.fail("NO", "STATUS %s (MESSAGES)", deep)
	long := strings.Repeat("y", 300)
	c.fail("NO", "CREATE %s", long)
	// Nothing was created along the way.
	lines := c.ok(`LIST "" "*"`)
	mustNotHave(t, lines, `"/" x`)
	mustNotHave(t, lines, `"/" a`)
}

func TestRename(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE old/child")
	c.ok("RENAME old new/place")
	lines := c.ok(`LIST "" "*"`)
	mustHave(t, lines, `"/" new/place/child`)
	mustNotHave(t, lines, `"/" old`)
	c.ok("CREATE other")
	if st := c.fail("NO", "RENAME other new"); !strings.Contains(st, "[ALREADYEXISTS]") {
		t.Fatalf("rename onto existing: %q", st)
	}
	c.fail("NO", "RENAME missing x")
	c.fail("NO", "RENAME new new/place/child/deeper")
	// Renaming INBOX moves its messages (RFC 9051 §6.3.6).
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	e.deliver(inbox.ID, testMsg(2))
	c.ok("RENAME INBOX Archived")
	lines = c.ok("STATUS INBOX (MESSAGES)")
	mustHave(t, lines, "MESSAGES 0")
	lines = c.ok("STATUS Archived (MESSAGES)")
	mustHave(t, lines, "MESSAGES 2")
	// A renamed selected mailbox stays selected.
	c.ok("SELECT other")
	c.ok("RENAME other renamed")
	c.ok("NOOP")
}

func TestSubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE Lists")
	c.ok("CREATE a") // IMAP CREATE subscribes to nothing (RFC 9051 §6.3.4)
	c.ok("SUBSCRIBE Lists")
	lines := c.ok(`LSUB "" "*"`)
	mustHave(t, lines, `* LSUB () "/" Lists`)
	lines = c.ok(`LIST (SUBSCRIBED) "" "*"`)
	mustHave(t, lines, `\Subscribed`, `Lists`)
	mustNotHave(t, lines, `"/" a`)
	c.ok("UNSUBSCRIBE Lists")
	mustNotHave(t, c.ok(`LSUB "" "*"`), "Lists")
	// Subscriptions are to names (RFC 9051 §6.3.7): a missing mailbox
	// may be subscribed, and shows as \Noselect in LSUB.
	c.ok("SUBSCRIBE Nonexistent")
	mustHave(t, c.ok(`LSUB "" "Non*"`), `* LSUB (\Noselect) "/" Nonexistent`)
	c.ok("UNSUBSCRIBE Nonexistent")
	mustNotHave(t, c.ok(`LSUB "" "*"`), "Nonexistent")
	c.ok("UNSUBSCRIBE Nonexistent")
	c.fail("NO", "SUBSCRIBE a//b")
	c.fail("NO", `SUBSCRIBE "a*"`)
}
