package imapserver_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// URLAUTH (RFC 4467): GENURLAUTH, URLFETCH, RESETKEY.
func TestURLAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	msg := testMsg(1)
	e.deliver(inbox.ID, msg)
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "URLAUTH")
	uidv := regexp.MustCompile(`UIDVALIDITY (\d+)`).FindStringSubmatch(strings.Join(c.ok("STATUS INBOX (UIDVALIDITY)"), ""))[1]
	gen := func(rump string) string {
		t.Helper()
		lines := c.ok("GENURLAUTH %s INTERNAL", quote(rump))
		m := regexp.MustCompile(`^\* GENURLAUTH "([^"]+)"$`).FindStringSubmatch(strings.Join(lines, ""))
		if m == nil || !strings.HasPrefix(m[1], rump+":internal:") {
			t.Fatalf("GENURLAUTH %s: %q", rump, lines)
		}
		return m[1]
	}
	fetch := func(url string) string {
		t.Helper()
		lines := c.ok("URLFETCH %s", quote(url))
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "* URLFETCH ") {
			t.Fatalf("URLFETCH: %q", lines)
		}
		if strings.HasSuffix(lines[0], " NIL") {
			return "NIL"
		}
		_, lit, _ := strings.Cut(lines[0], "}")
		return lit
	}
	whole := gen(fmt.Sprintf("imap://alice@imap.test/INBOX;UIDVALIDITY=%s/;UID=1;URLAUTH=user+alice", uidv))
	if got := fetch(whole); got != msg {
		t.Errorf("URLFETCH whole message: %q", got)
	}
	hdr := gen("imap://alice@imap.test/INBOX/;UID=1/;SECTION=HEADER;URLAUTH=authuser")
	if got := fetch(hdr); !strings.HasPrefix(got, "From: ") || strings.Contains(got, "Body of") {
		t.Errorf("URLFETCH header: %q", got)
	}
	part := gen("imap://alice@imap.test/INBOX/;UID=1/;PARTIAL=0.4;URLAUTH=authuser")
	if got := fetch(part); got != "From" {
		t.Errorf("URLFETCH partial: %q", got)
	}
	// Not for IMAP: a submission URL; a changed token; no token.
	sub := gen("imap://alice@imap.test/INBOX/;UID=1;URLAUTH=submit+alice")
	flipped := whole[:len(whole)-1] + "a"
	if strings.HasSuffix(whole, "a") {
		flipped = whole[:len(whole)-1] + "b"
	}
	for _, u := range []string{sub, flipped, strings.Split(whole, ":internal:")[0],
		strings.Replace(whole, "UID=1", "UID=2", 1)} {
		if got := fetch(u); got != "NIL" {
			t.Errorf("URLFETCH %s: %q, want NIL", u, got)
		}
	}
	c.fail("BAD", "GENURLAUTH %s INTERNAL", quote("imap://bob@imap.test/INBOX/;UID=1;URLAUTH=user+bob"))
	c.fail("NO", "GENURLAUTH %s XSAMPLE", quote("imap://alice@imap.test/INBOX/;UID=1;URLAUTH=user+alice"))
	c.fail("NO", "GENURLAUTH %s INTERNAL", quote("imap://alice@imap.test/Nope/;UID=1;URLAUTH=user+alice"))
	// RESETKEY voids the URLs of a mailbox, or of all.
	c.ok("RESETKEY INBOX INTERNAL")
	if got := fetch(whole); got != "NIL" {
		t.Errorf("after RESETKEY INBOX: %q", got)
	}
	whole = gen(fmt.Sprintf("imap://alice@imap.test/INBOX;UIDVALIDITY=%s/;UID=1;URLAUTH=user+alice", uidv))
	if got := fetch(whole); got != msg {
		t.Errorf("new URL: %q", got)
	}
	c.ok("RESETKEY")
	if got := fetch(whole); got != "NIL" {
		t.Errorf("after RESETKEY: %q", got)
	}
	// Another user cannot use alice's URL.
	b := e.login("bob")
	lines := b.ok("URLFETCH %s", quote(whole))
	mustHave(t, lines, " NIL")
}

// Another user of the same tenant may fetch a URL its owner authorised
// for "authuser" or for that very user (RFC 4467 §3; imaptest's
// urlauth2), resolved as the owner; not one authorised for someone else,
// and never across tenants.
func TestURLAuthOtherUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	msg := testMsg(1)
	e.deliver(inbox.ID, msg)
	c := e.login("alice")
	gen := func(rump string) string {
		t.Helper()
		lines := c.ok("GENURLAUTH %s INTERNAL", quote(rump))
		m := regexp.MustCompile(`^\* GENURLAUTH "([^"]+)"$`).FindStringSubmatch(strings.Join(lines, ""))
		if m == nil {
			t.Fatalf("GENURLAUTH %s: %q", rump, lines)
		}
		return m[1]
	}
	fetch := func(cl *client, url string) string {
		t.Helper()
		lines := cl.ok("URLFETCH %s", quote(url))
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "* URLFETCH ") {
			t.Fatalf("URLFETCH: %q", lines)
		}
		if strings.HasSuffix(lines[0], " NIL") {
			return "NIL"
		}
		_, lit, _ := strings.Cut(lines[0], "}")
		return lit
	}
	anyUser := gen("imap://alice@imap.test/INBOX/;UID=1;URLAUTH=authuser")
	forBob := gen("imap://alice@imap.test/INBOX/;UID=1;URLAUTH=user+bob")
	forCarol := gen("imap://alice@imap.test/INBOX/;UID=1;URLAUTH=user+carol")
	bob, eve := e.login("bob"), e.login("eve")
	if got := fetch(bob, anyUser); got != msg {
		t.Errorf("bob, authuser URL: %q", got)
	}
	if got := fetch(bob, forBob); got != msg {
		t.Errorf("bob, user+bob URL: %q", got)
	}
	if got := fetch(bob, forCarol); got != "NIL" {
		t.Errorf("bob, user+carol URL: %q, want NIL", got)
	}
	if got := fetch(eve, anyUser); got != "NIL" {
		t.Errorf("eve of another tenant, authuser URL: %q, want NIL", got)
	}
	c.ok("RESETKEY INBOX INTERNAL")
	if got := fetch(bob, anyUser); got != "NIL" {
		t.Errorf("bob after alice's RESETKEY: %q, want NIL", got)
	}
}

// GENURLAUTH and URLFETCH take at most 100 URLs: each may read a whole
// message. More is NO [LIMIT], and nothing is fetched.
func TestURLAuthLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	c := e.login("alice")
	url := `"imap://alice@imap.test/INBOX/;UID=1;URLAUTH=authuser:internal:00"`
	urls := func(n int) string { return strings.TrimSuffix(strings.Repeat(url+" ", n), " ") }
	for _, cmd := range []string{"URLFETCH ", "GENURLAUTH "} {
		args := urls(101)
		if cmd == "GENURLAUTH " {
			args = strings.TrimSuffix(strings.Repeat(`"imap://alice@imap.test/INBOX/;UID=1;URLAUTH=authuser" INTERNAL `, 101), " ")
		}
		lines, st := c.cmd("%s", cmd+args)
		if !strings.HasPrefix(st, "NO [LIMIT]") || len(lines) != 0 {
			t.Errorf("%s101 URLs: %q %q", cmd, lines, st)
		}
	}
	if lines := c.ok("URLFETCH %s", urls(100)); len(lines) != 100 {
		t.Errorf("URLFETCH 100 URLs: %d answers", len(lines))
	}
}
