package imapserver_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
)

// NOTIFY (RFC 5465).

// await reads unsolicited responses until one matches re, failing on
// any line in unwanted.
func (c *client) await(re string, unwanted ...string) string {
	c.t.Helper()
	want := regexp.MustCompile(re)
	for {
		l := c.line()
		for _, u := range unwanted {
			if strings.Contains(l, u) {
				c.t.Fatalf("unexpected %q while waiting for %s", l, re)
			}
		}
		if want.MatchString(l) {
			return l
		}
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	e, inbox, _ := partialEnv(t, 1)
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "NOTIFY")
	c.ok("CREATE Projects")
	c.ok("SELECT INBOX")
	o := e.login("alice")

	st := c.fail("NO", "NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))")
	if !strings.Contains(st, "[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]") {
		t.Errorf("BADEVENT: %q", st)
	}
	c.fail("BAD", "NOTIFY SET (selected (MessageNew))")
	// RFC 5465 §3.1: STATUS of the watched mailboxes but the selected one.
	lines := c.ok("NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) " +
		"(personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))")
	mustHave(t, lines, `* STATUS Projects (MESSAGES 0 UIDNEXT 1 UIDVALIDITY `)
	mustHave(t, lines, `HIGHESTMODSEQ `) // FlagChange is watched
	mustNotHave(t, lines, "STATUS INBOX")

	// The selected mailbox, with no command running: EXISTS and the
	// fetch attributes of MessageNew.
	e.deliver(inbox.ID, testMsg(2))
	c.await(`^\* 2 EXISTS$`)
	c.await(`^\* 2 FETCH \(UID 2 FLAGS \((\\Recent)?\)\)$`)
	// Another mailbox: STATUS.
	archive := e.folder("alice", "Projects")
	e.deliver(archive.ID, testMsg(3))
	c.await(`^\* STATUS Projects \(MESSAGES 1 UIDNEXT 2 UNSEEN 1\)$`)
	o.ok(`SELECT Projects`)
	o.ok(`STORE 1 +FLAGS (\Seen)`)
	c.await(`^\* STATUS Projects \(MESSAGES 1 UIDNEXT 2 UNSEEN 0\)$`)
	o.ok("UNSELECT")
	// Expunges in the selected mailbox ("selected": at once).
	o.ok("SELECT INBOX")
	o.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	c.await(`^\* 1 FETCH \(UID 1 FLAGS \(\\Deleted`)
	o.ok("EXPUNGE")
	c.await(`^\* 1 EXPUNGE$`)
	o.ok("UNSELECT")
	// Mailbox names.
	o.ok("CREATE Lists")
	c.await(`^\* LIST \(\\HasNoChildren( \\Subscribed)?\) "/" Lists$`)
	o.ok("RENAME Lists Groups")
	c.await(`^\* LIST \(\\HasNoChildren( \\Subscribed)?\) "/" Groups \("OLDNAME" \(Lists\)\)$`)
	o.ok("DELETE Groups")
	c.await(`^\* LIST \(\\NonExistent\) "/" Groups$`)

	// During IDLE.
	c.send("i1 IDLE\r\n")
	c.await(`^\+ `)
	e.deliver(archive.ID, testMsg(4))
	c.await(`^\* STATUS Projects \(MESSAGES 2 UIDNEXT 3 `)
	c.send("DONE\r\n")
	c.until("i1")

	// NOTIFY NONE: nothing more between commands.
	c.ok("NOTIFY NONE")
	e.deliver(archive.ID, testMsg(5))
	lines = c.ok("NOOP")
	mustNotHave(t, lines, "STATUS")
	if _, err := c.readLine(300 * time.Millisecond); err == nil {
		t.Errorf("a response after NOTIFY NONE")
	}
}

// SubscriptionChange, and "selected-delayed": expunges wait for a command
// that may report them (RFC 5465 §5.1, §5.5).
func TestNotifyDelayed(t *testing.T) {
	t.Parallel()
	e, inbox, _ := partialEnv(t, 2)
	c := e.selectBox("alice", "INBOX")
	o := e.selectBox("alice", "INBOX")
	c.ok("NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (personal (SubscriptionChange))")
	o.ok("UNSUBSCRIBE INBOX")
	c.await(`^\* LIST \(\\HasNoChildren\) "/" INBOX$`)
	o.ok("SUBSCRIBE INBOX")
	c.await(`^\* LIST \(\\HasNoChildren \\Subscribed\) "/" INBOX$`)
	o.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	o.ok("EXPUNGE")
	e.deliver(inbox.ID, testMsg(3))
	// The new message is told, the expunge not yet.
	c.await(`^\* 3 EXISTS$`, "EXPUNGE")
	lines := c.ok("FETCH 1:* (UID)")
	mustNotHave(t, lines, "EXPUNGE")
	lines = c.ok("NOOP")
	mustHave(t, lines, "* 1 EXPUNGE")
}

// The mailbox filters: subtree, inboxes, subscribed; the first group
// that matches a mailbox decides (RFC 5465 §6).
func TestNotifyFilters(t *testing.T) {
	t.Parallel()
	e, inbox, _ := partialEnv(t, 0)
	c := e.login("alice")
	c.ok("CREATE Lists/Go")
	c.ok("CREATE Other")
	c.ok("UNSUBSCRIBE Other")
	c.ok("NOTIFY SET (subtree Lists (MessageNew MessageExpunge)) (inboxes (MessageNew MessageExpunge)) (subscribed NONE)")
	e.deliver(e.folder("alice", "Other").ID, testMsg(1))
	e.deliver(e.folder("alice", "Go").ID, testMsg(2))
	c.await(`^\* STATUS Lists/Go \(MESSAGES 1 UIDNEXT 2 UNSEEN 1\)$`, "Other")
	e.deliver(inbox.ID, testMsg(3))
	c.await(`^\* STATUS INBOX \(MESSAGES 1 UIDNEXT 2 UNSEEN 1\)$`, "Other")
	c.ok("NOTIFY SET (subscribed (MessageNew MessageExpunge))")
	c.ok("SUBSCRIBE Other")
	e.deliver(e.folder("alice", "Other").ID, testMsg(4))
	c.await(`^\* STATUS Other \(MESSAGES 2 UIDNEXT 3 UNSEEN 2\)$`)
}

// NOTIFY SET STATUS reports of each watched mailbox what its events need
// (RFC 5465 §5.1–5.3), and outside the selected mailbox one event may
// stand alone (imaptest's notify group).
func TestNotifyInitialStatus(t *testing.T) {
	t.Parallel()
	e, _, _ := partialEnv(t, 1)
	c := e.login("alice")
	c.ok("CREATE Projects")
	lines := c.ok("NOTIFY SET STATUS (mailboxes Projects (MessageExpunge))")
	mustHave(t, lines, `* STATUS Projects (MESSAGES 0)`)
	lines = c.ok("NOTIFY SET STATUS (mailboxes Projects (MessageNew))")
	mustHave(t, lines, `* STATUS Projects (MESSAGES 0 UIDNEXT 1 UIDVALIDITY `)
	lines = c.ok("NOTIFY SET STATUS (mailboxes Projects (FlagChange))")
	mustHave(t, lines, `* STATUS Projects (UIDVALIDITY `)
	mustHave(t, lines, `HIGHESTMODSEQ `)
	mustNotHave(t, lines, `MESSAGES`)
	mustNotHave(t, c.ok("NOTIFY SET (mailboxes Projects (MessageNew MessageExpunge FlagChange))"), "STATUS")
}

// A NOTIFY SET naming more mailboxes than the server matches changes
// against is refused with [LIMIT], and the session goes on.
func TestNotifyLimit(t *testing.T) {
	t.Parallel()
	e, _, _ := partialEnv(t, 1)
	c := e.login("alice")
	var b strings.Builder
	b.WriteString("NOTIFY SET (mailboxes (")
	for i := range 1001 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "m%d", i)
	}
	b.WriteString(") (MessageNew))")
	if st := c.fail("NO", "%s", b.String()); !strings.Contains(st, "[LIMIT]") {
		t.Errorf("1001 mailboxes: %q", st)
	}
	b.Reset()
	b.WriteString("NOTIFY SET")
	for range 33 {
		b.WriteString(" (personal (MessageNew))")
	}
	if st := c.fail("NO", "%s", b.String()); !strings.Contains(st, "[LIMIT]") {
		t.Errorf("33 groups: %q", st)
	}
	c.ok("NOTIFY SET (mailboxes (INBOX m1 m2) (MessageNew))")
}

// MessageNew's fetch attributes may be any FETCH item, those that FETCH
// loads for the whole command first (SAVEDATE, PREVIEW) too (RFC 5465
// §5.2).
func TestNotifyFetchExt(t *testing.T) {
	t.Parallel()
	e, inbox, c := partialEnv(t, 1)
	c.ok("NOTIFY SET (selected (MessageNew (UID SAVEDATE PREVIEW EMAILID) MessageExpunge))")
	e.deliver(inbox.ID, testMsg(2))
	c.await(`^\* 2 EXISTS$`)
	l := c.await(`^\* 2 FETCH `)
	for _, want := range []string{"UID 2", "SAVEDATE \"", "PREVIEW \"", "EMAILID ("} {
		if !strings.Contains(l, want) {
			t.Errorf("NOTIFY fetch %q: no %s", l, want)
		}
	}
	c.ok("NOOP")
}

// panicChanges panics in Changes once armed: a fault in the notifier.
type panicChanges struct {
	store.Backend
	armed atomic.Bool
}

func (p *panicChanges) Changes(ctx context.Context, storeID int64, since uint64, limit int) ([]store.Change, error) {
	if p.armed.Load() {
		panic("injected")
	}
	return p.Backend.Changes(ctx, storeID, since, limit)
}

// A panic while NOTIFY delivers between commands closes that connection
// only, as one in a command does; the server goes on.
func TestNotifyPanic(t *testing.T) {
	t.Parallel()
	var pc *panicChanges
	e := newEnv(t, func(o *imapserver.Options) {
		pc = &panicChanges{Backend: o.Store}
		o.Store = pc
	})
	panics := make(chan any, 1)
	e.srv.SetOnPanic(func(v any) { panics <- v })
	inbox := e.folder("alice", store.SpecialInbox)
	c := e.login("alice")
	c.ok("NOTIFY SET (personal (MessageNew MessageExpunge))")
	pc.armed.Store(true)
	e.deliver(inbox.ID, testMsg(1))
	select {
	case v := <-panics:
		if v != "injected" {
			t.Errorf("panic %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no panic recovered")
	}
	c.expectClosed()
	pc.armed.Store(false)
	e.login("alice").ok("NOOP")
}
