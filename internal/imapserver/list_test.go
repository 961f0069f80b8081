package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// LIST, LSUB, NAMESPACE and the namespaces of shared mailboxes.

func TestListPersonal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	lines := c.ok(`LIST "" ""`)
	mustHave(t, lines, `* LIST (\Noselect) "/" ""`)
	lines = c.ok(`LIST "" "*"`)
	mustHave(t, lines, `"/" INBOX`)
	mustHave(t, lines, `\Drafts`, `"/" Drafts`)
	mustHave(t, lines, `\Sent`, `"/" Sent`)
	mustHave(t, lines, `\Trash`, `"/" Trash`)
	mustHave(t, lines, `\Junk`, `"/" Junk`)
	mustHave(t, lines, `\Archive`, `"/" Archive`)
	mustHave(t, lines, `"/" Outbox`)
	// Calendars, contacts, tasks and notes are not mail.
	for _, n := range []string{"Calendar", "Contacts", "Tasks", "Notes", "Inbox"} {
		mustNotHave(t, lines, `"/" `+n)
	}
	c.ok("CREATE a/b")
	lines = c.ok(`LIST "" "%%"`)
	mustHave(t, lines, `"/" a`, `\HasChildren`)
	mustNotHave(t, lines, "a/b")
	lines = c.ok(`LIST "a/" "%%"`)
	mustHave(t, lines, `"/" a/b`)
	lines = c.ok(`LIST "" "inbox"`)
	mustHave(t, lines, `"/" INBOX`)
	lines = c.ok(`LIST (SPECIAL-USE) "" "*"`)
	mustHave(t, lines, `\Sent`)
	mustNotHave(t, lines, `"/" INBOX`)
	lines = c.ok(`LIST "" "*" RETURN (SPECIAL-USE CHILDREN STATUS (MESSAGES UIDNEXT))`)
	mustHave(t, lines, `* STATUS INBOX (MESSAGES 0 UIDNEXT 1)`)
	lines = c.ok(`LIST "" ("INBOX" "Sent")`)
	if len(lines) != 2 {
		t.Fatalf("two patterns: %q", lines)
	}
	// A pathological pattern stays cheap.
	c.ok(`LIST "" "%s"`, strings.Repeat("*a", 400))
	c.fail("BAD", `LIST "" "%s"`, strings.Repeat("*", 2000))
}

func TestListLocalisedInbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("eve", store.SpecialInbox)
	if _, err := e.db.RenameFolder(e.as("eve"), inbox.ID, 0, "Posteingang"); err != nil {
		t.Fatal(err)
	}
	c := e.login("eve")
	lines := c.ok(`LIST "" "*"`)
	mustHave(t, lines, `"/" INBOX`)
	mustNotHave(t, lines, "Posteingang")
	c.ok("CREATE INBOX/Unter")
	mustHave(t, c.ok(`LIST "" "*"`), `"/" INBOX/Unter`)
}

func TestNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	lines := c.ok("NAMESPACE")
	mustHave(t, lines, `* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))`)
}

// share gives grantee rights on a folder of owner.
func (e *env) share(owner, folder, grantee, rights string) *store.Folder {
	e.t.Helper()
	f := e.folder(owner, folder)
	if err := e.db.SetACL(e.as(owner), f.ID, store.UserSubject(grantee), rights); err != nil {
		e.t.Fatal(err)
	}
	return f
}

func TestListOtherUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob := e.login("bob")
	bob.ok("CREATE Shared/Team")
	e.share("bob", store.SpecialInbox, "alice", "lr")
	e.share("bob", "Team", "alice", "lrswi")

	c := e.login("alice")
	lines := c.ok(`LIST "" "*"`)
	mustHave(t, lines, `(\Noselect \HasChildren) "/" "Other Users"`)
	mustHave(t, lines, `(\Noselect \HasChildren) "/" "Other Users/bob"`)
	mustHave(t, lines, `"/" "Other Users/bob/INBOX"`)
	// The parent "Shared" is not shared: Team hangs from the top.
	mustHave(t, lines, `"/" "Other Users/bob/Team"`)
	mustNotHave(t, lines, `Other Users/bob/Shared`)
	mustNotHave(t, lines, `Other Users/bob/Sent`)
	lines = c.ok(`LIST "" "%%"`)
	mustHave(t, lines, `"Other Users"`)
	mustNotHave(t, lines, `Other Users/`)
	lines = c.ok(`LIST "Other Users/" "%%"`)
	mustHave(t, lines, `"Other Users/bob"`)
	c.ok(`SELECT "Other Users/bob/INBOX"`)
	c.ok(`STATUS "Other Users/bob/Team" (MESSAGES)`)
	// carol sees nothing of bob's.
	lines = e.login("carol").ok(`LIST "" "*"`)
	mustNotHave(t, lines, "Other Users")
}

func TestListShared(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pub, err := e.db.CreatePublicStore(sys, "acme")
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.db.CreateFolder(sys, pub.ID, 0, "Announcements", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateFolder(sys, pub.ID, 0, "Holidays", store.FolderCalendar); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetACL(sys, f.ID, store.SubjectAnyone, "lrs"); err != nil {
		t.Fatal(err)
	}
	e.deliver(f.ID, testMsg(1))
	c := e.login("alice")
	lines := c.ok(`LIST "" "Shared Folders/*"`)
	mustHave(t, lines, `"/" "Shared Folders/Announcements"`)
	mustNotHave(t, lines, "Holidays")
	lines = c.ok(`SELECT "Shared Folders/Announcements"`)
	mustHave(t, lines, "* 1 EXISTS")
	// eve, of another tenant, sees none of it.
	ev := e.login("eve")
	mustNotHave(t, ev.ok(`LIST "" "*"`), "Shared Folders")
	ev.fail("NO", `SELECT "Shared Folders/Announcements"`)
}

func TestListUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE &AMk-t&AOk-") // "Été" in modified UTF-7
	mustHave(t, c.ok(`LIST "" "*"`), `"/" &AMk-t&AOk-`)
	c.ok("ENABLE UTF8=ACCEPT")
	mustHave(t, c.ok(`LIST "" "*"`), `"/" "Été"`)
	c.ok(`CREATE "Ünï/Cödé"`)
	mustHave(t, c.ok(`LIST "" "Ünï/*"`), `"/" "Ünï/Cödé"`)
	c.ok(`SELECT "Été"`)
	// A client without UTF8=ACCEPT sees the same names encoded.
	mustHave(t, e.login("alice").ok(`LIST "" "*"`), `"/" &ANw-n&AO8-/C&APY-d&AOk-`)
}

func TestListRecursiveMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.ok("CREATE Parent/Child") // IMAP CREATE subscribes to nothing
	c.ok("SUBSCRIBE Parent/Child")
	lines := c.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%%"`)
	mustHave(t, lines, `"/" Parent ("CHILDINFO" ("SUBSCRIBED"))`)
	mustNotHave(t, lines, `\Subscribed) "/" Parent`)
	lines = c.ok(`LIST (SUBSCRIBED) "" "%%"`)
	mustNotHave(t, lines, "Parent")
	lines = c.ok(`LSUB "" "Parent/%%"`)
	mustHave(t, lines, `* LSUB () "/" Parent/Child`)
}
