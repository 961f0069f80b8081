package imapserver_test

import (
	"strings"
	"testing"
)

// A session resolves a mailbox name for each SELECT, STATUS and APPEND;
// listing every folder for each was a tenth of the server's CPU under
// imaptest's mix (issue 10). The folder tree read last is reused, by the
// session and by other sessions of the user, while nothing was committed
// to the store, and read afresh after a commit by this session or another.
func TestStatementsResolveReused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	other := e.login("alice")
	status := func() uint64 {
		t.Helper()
		before := e.db.Statements()
		c.ok("STATUS INBOX (UIDNEXT)")
		return e.db.Statements() - before
	}
	first := status()
	second := status()
	t.Logf("STATUS INBOX: %d statements, then %d", first, second)
	if second >= first {
		t.Errorf("STATUS INBOX a second time ran %d statements, the first %d: the folder tree was listed again", second, first)
	}
	// Another session of the same user reuses it too.
	third := e.login("alice")
	before := e.db.Statements()
	third.ok("STATUS INBOX (UIDNEXT)")
	if n := e.db.Statements() - before; n >= first {
		t.Errorf("STATUS INBOX in another session ran %d statements, the first %d: the folder tree was listed again", n, first)
	}
	// A folder created by another session of the user resolves at once.
	other.ok("CREATE Projects")
	c.ok("STATUS Projects (MESSAGES)")
	// One deleted by this session no longer does, one renamed by the
	// other resolves under its new name only.
	c.ok("DELETE Projects")
	if _, st := c.cmd("STATUS Projects (MESSAGES)"); !strings.HasPrefix(st, "NO") {
		t.Errorf("STATUS of a deleted mailbox: %q", st)
	}
	c.ok("CREATE Old")
	c.ok("STATUS Old (MESSAGES)")
	other.ok("RENAME Old New")
	if _, st := c.cmd("STATUS Old (MESSAGES)"); !strings.HasPrefix(st, "NO") {
		t.Errorf("STATUS of a renamed mailbox under its old name: %q", st)
	}
	c.ok("SELECT New")
	third.ok("SELECT New")
	// Another user's session never gets alice's tree.
	bob := e.login("bob")
	if _, st := bob.cmd("STATUS New (MESSAGES)"); !strings.HasPrefix(st, "NO") {
		t.Errorf("bob's STATUS of alice's mailbox: %q", st)
	}
}
