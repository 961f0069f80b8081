package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// TestArchiveNamespace: a user's archive store appears read-only under
// "Online Archive/" (announced by NAMESPACE as a shared namespace), and
// every write is refused with NO [NOPERM] or a read-only SELECT.
func TestArchiveNamespace(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice")
	mustNotHave(t, c.ok(`NAMESPACE`), "Online Archive")
	mustNotHave(t, c.ok(`LIST "" "*"`), "Online Archive")

	arch, err := e.db.AttachArchive(sys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	inbox := e.folder("alice", store.SpecialInbox)
	it := e.deliver(inbox.ID, testMsg(1), `\Seen`)
	dest, err := e.db.CreateFolder(sys, arch.ID, 0, "Inbox", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.db.CreateFolder(sys, arch.ID, dest.ID, "2024", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ArchiveItems(sys, inbox.ID, []uint32{it.UID}, dest.ID); err != nil {
		t.Fatal(err)
	}
	_ = sub
	e.deliver(inbox.ID, testMsg(3))

	mustHave(t, c.ok(`NAMESPACE`), `(("Shared Folders/" "/")("Online Archive/" "/"))`)
	l := c.ok(`LIST "" "*"`)
	for _, want := range []string{`(\Noselect \HasChildren) "/" "Online Archive"`, `(\HasChildren) "/" "Online Archive/Inbox"`,
		`(\HasNoChildren) "/" "Online Archive/Inbox/2024"`, `"/" INBOX`, `(\HasNoChildren \Archive) "/" Archive`} {
		mustHave(t, l, want)
	}
	mustHave(t, c.ok(`LIST "Online Archive/" "%%"`), `"Online Archive/Inbox"`)

	// STATUS and EXAMINE read it; SELECT is read-only.
	mustHave(t, c.ok(`STATUS "Online Archive/Inbox" (MESSAGES)`), `(MESSAGES 1)`)
	sel := c.ok(`SELECT "Online Archive/Inbox"`)
	mustHave(t, sel, "1 EXISTS")
	f := c.ok(`FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])`)
	mustHave(t, f, `\Seen`, "Subject: message 1")
	if _, st := c.cmd(`SELECT "Online Archive/Inbox"`); !strings.Contains(st, "[READ-ONLY]") {
		t.Fatalf("SELECT of an archive folder: %q", st)
	}
	mustHave(t, c.ok(`MYRIGHTS "Online Archive/Inbox"`), `"Online Archive/Inbox" lr`)

	// Every write is refused.
	noperm(t, "[READ-ONLY]", c.fail("NO", `STORE 1 +FLAGS (\Flagged)`))
	c.ok(`COPY 1 INBOX`) // reading includes copying out
	c.ok(`UNSELECT`)
	noperm(t, "[NOPERM]", c.fail("NO", `APPEND "Online Archive/Inbox" {%d+}`+"\r\n%s", len(testMsg(2)), testMsg(2)))
	noperm(t, "[NOPERM]", c.fail("NO", `CREATE "Online Archive/Inbox/New"`))
	c.fail("NO", `CREATE "Online Archive"`)
	noperm(t, "[NOPERM]", c.fail("NO", `DELETE "Online Archive/Inbox/2024"`))
	noperm(t, "[NOPERM]", c.fail("NO", `RENAME "Online Archive/Inbox/2024" "Online Archive/Inbox/2025"`))
	noperm(t, "[CANNOT]", c.fail("NO", `RENAME INBOX "Online Archive/Inbox/Mine"`))
	noperm(t, "[NOPERM]", c.fail("NO", `SETACL "Online Archive/Inbox" bob lr`))
	c.ok(`SELECT INBOX`)
	noperm(t, "[NOPERM]", c.fail("NO", `COPY 1 "Online Archive/Inbox"`))
	noperm(t, "[NOPERM]", c.fail("NO", `MOVE 1 "Online Archive/Inbox"`))

	// Another user sees nothing of alice's archive.
	b := e.login("bob")
	mustNotHave(t, b.ok(`LIST "" "*"`), "Online Archive")
	noperm(t, "[NONEXISTENT]", b.fail("NO", `SELECT "Online Archive/Inbox"`))
	noperm(t, "[NONEXISTENT]", b.fail("NO", `SELECT "Other Users/alice/Online Archive/Inbox"`))
}

func noperm(t *testing.T, code, got string) {
	t.Helper()
	if !strings.Contains(got, code) {
		t.Errorf("got %q, want %s", got, code)
	}
}
