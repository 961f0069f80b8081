package imapserver_test

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// GETACL, SETACL, DELETEACL, LISTRIGHTS, MYRIGHTS; GETQUOTA, GETQUOTAROOT,
// SETQUOTA.

func TestACL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.CreateGroup(sys, "acme", store.Group{Name: "sales"}); err != nil {
		t.Fatal(err)
	}
	c := e.login("alice")
	c.ok("CREATE Team")
	mustHave(t, c.ok("GETACL Team"), "* ACL Team alice lrswipkxtea")
	c.ok("SETACL Team bob lrs")
	c.ok("SETACL Team $sales lr")
	c.ok("SETACL Team anyone l")
	lines := c.ok("GETACL Team")
	mustHave(t, lines, "* ACL Team alice lrswipkxtea")
	mustHave(t, lines, "bob lrs")
	mustHave(t, lines, "$sales lr")
	mustHave(t, lines, "anyone l")
	c.ok("SETACL Team bob +wi")
	c.ok("SETACL Team bob -s")
	mustHave(t, c.ok("GETACL Team"), "bob lrwi")
	c.ok("SETACL Team bob lrc") // RFC 2086 "c" is "k"
	mustHave(t, c.ok("GETACL Team"), "bob lrk")
	c.fail("BAD", "SETACL Team bob lrZ")
	if st := c.fail("NO", "SETACL Team nobody lr"); !strings.Contains(st, "[NONEXISTENT]") {
		t.Fatalf("unknown user: %q", st)
	}
	c.fail("NO", "SETACL Team eve lr") // another tenant
	c.fail("NO", "SETACL Team -bob lr")
	mustHave(t, c.ok("MYRIGHTS Team"), "* MYRIGHTS Team lrswipkxtea")
	mustHave(t, c.ok("LISTRIGHTS Team bob"), `* LISTRIGHTS Team bob "" l r s w i p k x t e a`)
	mustHave(t, c.ok("LISTRIGHTS Team alice"), `* LISTRIGHTS Team alice lrswipkxtea`)

	// The sharing holds for bob, through the store.
	b := e.login("bob")
	mustHave(t, b.ok(`LIST "" "*"`), `"Other Users/alice/Team"`)
	mustHave(t, b.ok(`MYRIGHTS "Other Users/alice/Team"`), `lrk`)
	if st := b.fail("NO", `GETACL "Other Users/alice/Team"`); !strings.Contains(st, "[NOPERM]") {
		t.Fatalf("getacl without a: %q", st)
	}
	b.fail("NO", `SETACL "Other Users/alice/Team" bob lrswi`)
	b.ok(`CREATE "Other Users/alice/Team/Sub"`) // k
	b.fail("NO", `DELETE "Other Users/alice/Team/Sub"`)
	c.ok("DELETEACL Team bob")
	c.ok("DELETEACL Team anyone")
	mustNotHave(t, c.ok("GETACL Team"), "bob")
	mustNotHave(t, b.ok(`LIST "" "*"`), "Other Users/alice/Team\"")
}

func TestQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	lines := c.ok("GETQUOTAROOT INBOX")
	mustHave(t, lines, `* QUOTAROOT INBOX ""`)
	mustHave(t, lines, `* QUOTA "" ()`)
	on, hard := true, int64(10<<20)
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &on, QuotaHard: &hard}); err != nil {
		t.Fatal(err)
	}
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, strings.Repeat("x", 5000))
	lines = c.ok(`GETQUOTA ""`)
	mustHave(t, lines, `* QUOTA "" (STORAGE 5 10240)`)
	c.fail("NO", "GETQUOTA other")
	c.fail("NO", `SETQUOTA "" (STORAGE 1)`)
	// Over the hard quota: APPEND is refused.
	small := int64(4000)
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{QuotaHard: &small}); err != nil {
		t.Fatal(err)
	}
	if st := c.fail("NO", "APPEND INBOX {5+}\r\nhello"); !strings.Contains(st, "[OVERQUOTA]") {
		t.Fatalf("over quota: %q", st)
	}
	e.share("bob", store.SpecialInbox, "alice", "lr")
	mustHave(t, c.ok(`GETQUOTAROOT "Other Users/bob/INBOX"`), `* QUOTAROOT "Other Users/bob/INBOX"`)
}
