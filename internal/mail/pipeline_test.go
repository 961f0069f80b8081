package mail_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// script writes an executable /bin/sh script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSpamHeaderToJunk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.d.Spam.Headers = mail.DefaultSpamHeaders
	e.sieve("alice", `discard;`) // spam skips Sieve
	for i, hdr := range []string{"X-Spam-Flag: YES", "X-Spam-Status: Yes, score=12.3 required=5.0", "x-spam-flag: yes"} {
		res := e.deliver("s@example.org", "alice@acme.test", "From: s@example.org\nTo: alice@acme.test\n"+hdr+"\nSubject: buy\n\nnow\n")
		if res.Err != nil || !res.Spam {
			t.Fatalf("%q: spam=%v err=%v", hdr, res.Spam, res.Err)
		}
		if n := len(e.items(e.special("alice", store.SpecialJunk))); n != i+1 {
			t.Fatalf("%q: Junk holds %d, want %d", hdr, n, i+1)
		}
	}
	// Not spam: the Sieve script runs (and discards).
	res := e.deliver("s@example.org", "alice@acme.test", "From: s@example.org\nTo: alice@acme.test\nX-Spam-Status: No, score=0.1\nSubject: hi\n\nhi\n")
	if res.Spam || res.Err != nil || e.inboxCount("alice") != 0 {
		t.Fatalf("ham: spam=%v err=%v inbox=%d", res.Spam, res.Err, e.inboxCount("alice"))
	}
}

func TestSpamChecker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name, body string
		msgText    string
		spam       bool
	}{
		{"exit 1 is spam", `if grep VIAGRA >/dev/null; then exit 1; fi; exit 0`, "cheap VIAGRA", true},
		{"exit 0 is ham", `if grep VIAGRA >/dev/null; then exit 1; fi; exit 0`, "hello", false},
		{"other status is ham", `cat >/dev/null; exit 2`, "cheap VIAGRA", false},
		{"timeout is ham", `sleep 30`, "cheap VIAGRA", false},
		{"printed verdict header is spam", `echo "X-Spam-Flag: YES"; echo; cat`, "cheap VIAGRA", true},
		{"printed clean header is ham", `echo "X-Spam-Flag: NO"; echo; cat`, "cheap VIAGRA", false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.d.Spam.Checker = []string{script(t, dir, "check"+string(rune('a'+i)), c.body)}
			e.d.Spam.CheckerTimeout = 20 * time.Second
			if strings.HasPrefix(c.body, "sleep") {
				e.d.Spam.CheckerTimeout = 300 * time.Millisecond
			}
			e.d.Spam.Headers = mail.DefaultSpamHeaders
			res := e.deliver("s@example.org", "alice@acme.test", "From: s@example.org\nTo: alice@acme.test\nSubject: x\n\n"+c.msgText+"\n")
			if res.Err != nil || res.Spam != c.spam {
				t.Fatalf("spam=%v err=%v, want spam=%v", res.Spam, res.Err, c.spam)
			}
			junk := len(e.items(e.special("alice", store.SpecialJunk)))
			if c.spam && junk != 1 || !c.spam && e.inboxCount("alice") != 1 {
				t.Fatalf("junk=%d inbox=%d", junk, e.inboxCount("alice"))
			}
		})
	}
}

func TestCommandHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	ok := script(t, dir, "hook", `cat > "$0.msg"; echo "$ROOST_USER $ROOST_RECIPIENT $ROOST_SENDER $ROOST_UID" > "$0.env"`)
	bad := script(t, dir, "bad", `cat >/dev/null; echo broken >&2; exit 3`)
	slow := script(t, dir, "slow", `sleep 30`)
	e.d.Hooks = []mail.Hook{
		{Name: "bad", Command: []string{bad}},
		{Name: "slow", Command: []string{slow}, Timeout: 200 * time.Millisecond},
		{Name: "ok", Command: []string{ok}, Recipients: []string{"alice"}},
	}
	msg := "From: s@example.org\nTo: alice@acme.test\nSubject: hook\n\nbody\n"
	res := e.deliver("s@example.org", "alice@acme.test", msg)
	if res.Err != nil || e.inboxCount("alice") != 1 {
		t.Fatalf("failing hooks must not fail delivery: %v", res.Err)
	}
	got, err := os.ReadFile(ok + ".msg")
	if err != nil || string(got) != strings.ReplaceAll(msg, "\n", "\r\n") {
		t.Fatalf("hook got %q, %v", got, err)
	}
	envs, _ := os.ReadFile(ok + ".env")
	if strings.TrimSpace(string(envs)) != "alice alice@acme.test s@example.org 1" {
		t.Fatalf("hook env %q", envs)
	}
	// The hook limited to alice does not run for bob.
	os.Remove(ok + ".env")
	e.deliver("s@example.org", "bob@acme.test", msg)
	if _, err := os.Stat(ok + ".env"); err == nil {
		t.Fatal("hook ran for another recipient")
	}
}

func TestURLHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	var bodies []string
	var hdrs []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		hdrs = append(hdrs, r.Header.Clone())
		mu.Unlock()
		if strings.Contains(string(b), "fail") {
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	e.d.Hooks = []mail.Hook{{Name: "web", URL: srv.URL + "/hook", Timeout: 5 * time.Second}}
	res := e.deliver("s@example.org", "alice@acme.test", "From: s@example.org\nSubject: a\n\nhello\n")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res = e.deliver("s@example.org", "alice@acme.test", "From: s@example.org\nSubject: b\n\nfail\n")
	if res.Err != nil || e.inboxCount("alice") != 2 {
		t.Fatalf("a 500 from the hook must not fail delivery: %v", res.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || !strings.Contains(bodies[0], "hello") {
		t.Fatalf("bodies %q", bodies)
	}
	if hdrs[0].Get("Content-Type") != "message/rfc822" || hdrs[0].Get("X-Roost-User") != "alice" || hdrs[0].Get("X-Roost-Sender") != "s@example.org" {
		t.Fatalf("headers %v", hdrs[0])
	}
}

func TestPublicFolderHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.d.Hooks = []mail.Hook{{Name: "sales", PublicFolder: "Sales/Leads", Recipients: []string{"bob@acme.test"}}}
	msg := "From: s@example.org\nTo: bob@acme.test\nSubject: lead\n\nbuy\n"
	// No public store yet: temporary failure, nothing stored.
	res := e.deliver("s@example.org", "bob@acme.test", msg)
	if res.Err == nil || e.inboxCount("bob") != 0 {
		t.Fatalf("missing public store: err %v, inbox %d", res.Err, e.inboxCount("bob"))
	}
	pub, err := e.db.CreatePublicStore(sys, "acme")
	if err != nil {
		t.Fatal(err)
	}
	sales, err := e.db.CreateFolder(sys, pub.ID, 0, "Sales", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	leads, err := e.db.CreateFolder(sys, pub.ID, sales.ID, "Leads", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	res = e.deliver("s@example.org", "bob@acme.test", msg)
	if res.Err != nil || res.FolderID != leads.ID {
		t.Fatalf("err %v folder %d, want %d", res.Err, res.FolderID, leads.ID)
	}
	if len(e.items(leads.ID)) != 1 || e.inboxCount("bob") != 0 {
		t.Fatal("message not moved to the public folder")
	}
	// Other recipients are not affected.
	e.deliver("s@example.org", "alice@acme.test", msg)
	if e.inboxCount("alice") != 1 || len(e.items(leads.ID)) != 1 {
		t.Fatal("hook applied to another recipient")
	}
}

type resourceHook struct {
	mu    sync.Mutex
	calls []string
}

func (r *resourceHook) MeetingRequest(_ context.Context, u *store.User, env mail.Envelope, msg []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, u.Login)
	if !strings.Contains(string(msg), "BEGIN:VCALENDAR") {
		return errors.New("no calendar")
	}
	return nil
}

func TestResourceHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.CreateUser(sys, "acme", store.User{Login: "room1", Email: "room1@acme.test", Resource: store.ResourceSettings{AutoAccept: true, Capacity: 1}}); err != nil {
		t.Fatal(err)
	}
	h := &resourceHook{}
	e.d.Resource = h
	invite := "From: s@example.org\nTo: room1@acme.test\nSubject: meeting\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n"
	plain := "From: s@example.org\nTo: room1@acme.test\nSubject: hi\n\nhi\n"
	e.deliver("s@example.org", "room1@acme.test", plain)
	e.deliver("s@example.org", "room1@acme.test", invite)
	e.deliver("s@example.org", "alice@acme.test", invite) // iMIP for a person updates her calendar too
	h.mu.Lock()
	defer h.mu.Unlock()
	if strings.Join(h.calls, ",") != "room1,alice" {
		t.Fatalf("iMIP hook calls %v, want room1,alice (not for plain mail)", h.calls)
	}
	if e.inboxCount("room1") != 2 {
		t.Fatal("resource messages not stored")
	}
}

// A group address delivers to each member once, each with its own Sieve.
func TestGroupAndEnvelopeTo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.CreateGroup(sys, "acme", store.Group{Name: "team", Email: "team@acme.test", Kind: store.GroupDistribution, Members: []string{"alice", "bob"}}); err != nil {
		t.Fatal(err)
	}
	e.db.AddGroupMember(sys, "acme", "team", "alice")
	e.db.AddGroupMember(sys, "acme", "team", "bob")
	e.sieve("bob", `require "envelope"; if envelope :is "to" "team@acme.test" { discard; }`)
	users, err := e.db.Recipients(sys, "team@acme.test")
	if err != nil || len(users) != 2 {
		t.Fatalf("group: %v %v", users, err)
	}
	alice, _ := e.db.GetUser(sys, "alice")
	b := []byte("From: s@example.org\r\nSubject: all\r\n\r\nhi\r\n")
	res := e.d.DeliverMessage(context.Background(), "s@example.org",
		[]mail.Recipient{{Addr: "team@acme.test", Users: users}, {Addr: "alice@acme.test", Users: []*store.User{alice}}},
		func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil })
	if len(res) != 2 || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("results %+v", res)
	}
	if e.inboxCount("alice") != 1 || e.inboxCount("bob") != 0 {
		t.Fatalf("alice %d bob %d", e.inboxCount("alice"), e.inboxCount("bob"))
	}
}
