package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// A STORE (or a FETCH that sets \Seen) answers with the message's whole
// flag set; a keyword another session added since this one last looked
// is named in FLAGS before it is used (RFC 9051 §7.3.5; imaptest's stress
// run reports "Keyword used without being in FLAGS").
func TestKeywordFromOtherSessionAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	e.deliver(inbox.ID, testMsg(2))
	a := e.selectBox("alice", "INBOX")
	b := e.selectBox("alice", "INBOX")
	b.ok(`STORE 1:2 +FLAGS ($Other)`)

	check := func(cmd string) {
		t.Helper()
		lines := a.ok("%s", cmd)
		flagsAt, fetchAt := -1, -1
		for i, l := range lines {
			if strings.HasPrefix(l, "* FLAGS (") && strings.Contains(l, "$Other") && flagsAt < 0 {
				flagsAt = i
			}
			if strings.Contains(l, " FETCH (") && strings.Contains(l, "$Other") && fetchAt < 0 {
				fetchAt = i
			}
		}
		if fetchAt >= 0 && (flagsAt < 0 || flagsAt > fetchAt) {
			t.Errorf("%s: $Other used before FLAGS named it: %q", cmd, lines)
		}
	}
	check(`STORE 1 +FLAGS (\Flagged)`)
	b.ok(`STORE 2 +FLAGS ($Third)`)
	// Session a has not looked since: FETCH BODY[] sets \Seen and answers
	// with the flags.
	lines := a.ok(`FETCH 2 (BODY[])`)
	flagsAt, fetchAt := -1, -1
	for i, l := range lines {
		if strings.HasPrefix(l, "* FLAGS (") && strings.Contains(l, "$Third") && flagsAt < 0 {
			flagsAt = i
		}
		if strings.Contains(l, " FETCH (") && strings.Contains(l, "$Third") && fetchAt < 0 {
			fetchAt = i
		}
	}
	if fetchAt >= 0 && (flagsAt < 0 || flagsAt > fetchAt) {
		t.Errorf("FETCH: $Third used before FLAGS named it: %q", lines)
	}
}
