package mail_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

const oofBase = `From: Carl <carl@example.org>
To: Alice <alice@acme.test>
Subject: lunch?
Message-ID: <m1@example.org>

Are you free?
`

// oofEnv has alice out of office with postmaster and root as aliases.
func oofEnv(t *testing.T) *env {
	e := newEnv(t)
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{AliasAdd: []string{"postmaster@acme.test", "root@acme.test", "ali@acme.test"}}); err != nil {
		t.Fatal(err)
	}
	if err := mail.SetOOF(e.as("alice"), e.db, "alice", mail.OOF{Enabled: true, Subject: "Away", Message: "I am away until Monday."}); err != nil {
		t.Fatal(err)
	}
	return e
}

func replace(msg, old, new string) string { return strings.Replace(msg, old, new, 1) }

// Every out-of-office rule (Kopano §5.1.3, RFC 3834) in its own case:
// want is whether a reply goes out.
func TestOOFRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		from  string // envelope sender
		rcpt  string // RCPT TO
		msg   string
		setup func(e *env)
		want  bool
	}{
		{name: "named in To", from: "carl@example.org", rcpt: "alice@acme.test", msg: oofBase, want: true},
		{name: "named by alias in To", from: "carl@example.org", rcpt: "ali@acme.test", msg: replace(oofBase, "alice@acme.test", "ali@acme.test"), want: true},
		{name: "off", from: "carl@example.org", rcpt: "alice@acme.test", msg: oofBase, want: false,
			setup: func(e *env) {
				if err := mail.SetOOF(e.as("alice"), e.db, "alice", mail.OOF{Enabled: false}); err != nil {
					e.t.Fatal(err)
				}
			}},
		{name: "not started yet", from: "carl@example.org", rcpt: "alice@acme.test", msg: oofBase, want: false,
			setup: func(e *env) {
				mail.SetOOF(e.as("alice"), e.db, "alice", mail.OOF{Enabled: true, From: time.Now().Add(48 * time.Hour)})
			}},
		{name: "ended", from: "carl@example.org", rcpt: "alice@acme.test", msg: oofBase, want: false,
			setup: func(e *env) {
				mail.SetOOF(e.as("alice"), e.db, "alice", mail.OOF{Enabled: true, Until: time.Now().Add(-time.Hour)})
			}},
		{name: "inside window", from: "carl@example.org", rcpt: "alice@acme.test", msg: oofBase, want: true,
			setup: func(e *env) {
				mail.SetOOF(e.as("alice"), e.db, "alice", mail.OOF{Enabled: true, From: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)})
			}},
		{name: "only in Cc", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "To: Alice <alice@acme.test>", "To: bob@acme.test\nCc: alice@acme.test")},
		{name: "only in Cc with AUTORESPOND_CC", from: "carl@example.org", rcpt: "alice@acme.test", want: true,
			msg:   replace(oofBase, "To: Alice <alice@acme.test>", "To: bob@acme.test\nCc: alice@acme.test"),
			setup: func(e *env) { e.d.OOF.CC = true }},
		{name: "not named (Bcc or group)", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "To: Alice <alice@acme.test>", "To: team@acme.test")},
		{name: "not named with AUTORESPOND_NORECIP", from: "carl@example.org", rcpt: "alice@acme.test", want: true,
			msg:   replace(oofBase, "To: Alice <alice@acme.test>", "To: team@acme.test"),
			setup: func(e *env) { e.d.OOF.NoRecip = true }},
		{name: "from mailer-daemon", from: "MAILER-DAEMON@example.org", rcpt: "alice@acme.test", msg: oofBase, want: false},
		{name: "from postmaster", from: "postmaster@example.org", rcpt: "alice@acme.test", msg: oofBase, want: false},
		{name: "from root", from: "root@example.org", rcpt: "alice@acme.test", msg: oofBase, want: false},
		{name: "header From mailer-daemon", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "From: Carl <carl@example.org>", "From: Mail Delivery System <MAILER-DAEMON@example.org>")},
		{name: "to postmaster", from: "carl@example.org", rcpt: "postmaster@acme.test", want: false,
			msg: replace(oofBase, "alice@acme.test", "postmaster@acme.test")},
		{name: "to root", from: "carl@example.org", rcpt: "root@acme.test", want: false,
			msg: replace(oofBase, "alice@acme.test", "root@acme.test")},
		{name: "from oneself", from: "alice@acme.test", rcpt: "alice@acme.test", msg: oofBase, want: false},
		{name: "from own alias", from: "ali@acme.test", rcpt: "alice@acme.test", msg: oofBase, want: false},
		{name: "null sender", from: "", rcpt: "alice@acme.test", msg: oofBase, want: false},
		{name: "Auto-Submitted auto-replied", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "Subject:", "Auto-Submitted: auto-replied\nSubject:")},
		{name: "Auto-Submitted auto-generated", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "Subject:", "Auto-Submitted: auto-generated\nSubject:")},
		{name: "Auto-Submitted no", from: "carl@example.org", rcpt: "alice@acme.test", want: true,
			msg: replace(oofBase, "Subject:", "Auto-Submitted: no\nSubject:")},
		{name: "Precedence bulk", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "Subject:", "Precedence: bulk\nSubject:")},
		{name: "Precedence list", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "Subject:", "Precedence: list\nSubject:")},
		{name: "Precedence junk", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "Subject:", "Precedence: junk\nSubject:")},
		{name: "List-Id", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "Subject:", "List-Id: <users.lists.example.org>\nSubject:")},
		{name: "List-Unsubscribe", from: "carl@example.org", rcpt: "alice@acme.test", want: false,
			msg: replace(oofBase, "Subject:", "List-Unsubscribe: <mailto:leave@example.org>\nSubject:")},
		{name: "sender owner-list", from: "owner-users@example.org", rcpt: "alice@acme.test", msg: oofBase, want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := oofEnv(t)
			if c.setup != nil {
				c.setup(e)
			}
			res := e.deliver(c.from, c.rcpt, c.msg)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if n := e.inboxCount("alice"); n != 1 {
				t.Fatalf("inbox has %d messages, want 1 (OOF must never affect delivery)", n)
			}
			got := len(e.out.all())
			if c.want && got != 1 || !c.want && got != 0 {
				t.Fatalf("sent %d replies, want reply=%v", got, c.want)
			}
		})
	}
}

// TestOOFOncePerTimeLimit: one reply per sender per TIMELIMIT; another
// sender gets its own; with a TIMELIMIT that has passed, a new reply.
func TestOOFOncePerTimeLimit(t *testing.T) {
	t.Parallel()
	e := oofEnv(t)
	e.deliver("carl@example.org", "alice@acme.test", oofBase)
	e.deliver("Carl@Example.org", "alice@acme.test", oofBase)
	if n := len(e.out.all()); n != 1 {
		t.Fatalf("two messages from one sender within TIMELIMIT: %d replies, want 1", n)
	}
	e.deliver("dora@example.org", "alice@acme.test", oofBase)
	if n := len(e.out.all()); n != 2 {
		t.Fatalf("another sender: %d replies, want 2", n)
	}
	e.d.OOF.TimeLimit = time.Nanosecond // every earlier reply is older than this
	e.deliver("carl@example.org", "alice@acme.test", oofBase)
	if n := len(e.out.all()); n != 3 {
		t.Fatalf("after TIMELIMIT: %d replies, want 3", n)
	}
}

// TestOOFReplyFormat: RFC 3834 fields, null envelope sender, the user's
// subject and text.
func TestOOFReplyFormat(t *testing.T) {
	t.Parallel()
	e := oofEnv(t)
	e.deliver("carl@example.org", "alice@acme.test", replace(oofBase, "Message-ID:", "References: <m0@example.org>\nMessage-ID:"))
	out := e.out.all()
	if len(out) != 1 {
		t.Fatalf("%d replies", len(out))
	}
	r := out[0]
	if r.from != "" {
		t.Errorf("envelope sender %q, want null", r.from)
	}
	if len(r.to) != 1 || r.to[0] != "carl@example.org" {
		t.Errorf("envelope recipients %v", r.to)
	}
	for _, want := range []string{"\r\nAuto-Submitted: auto-replied\r\n", "\r\nIn-Reply-To: <m1@example.org>\r\n",
		"\r\nReferences: <m0@example.org> <m1@example.org>\r\n", "\r\nSubject: Away\r\n", "\r\nTo: carl@example.org\r\n",
		"From: \"Alice Example\" <alice@acme.test>\r\n", "\r\n\r\nI am away until Monday.\r\n"} {
		if !strings.Contains(r.msg, want) {
			t.Errorf("reply lacks %q:\n%s", want, r.msg)
		}
	}
	got, err := mail.GetOOF(e.as("alice"), e.db, "alice")
	if err != nil || !got.Enabled || got.Subject != "Away" {
		t.Errorf("GetOOF = %+v, %v", got, err)
	}
	// Another user may not change alice's setting.
	if err := mail.SetOOF(e.as("bob"), e.db, "alice", mail.OOF{}); err == nil {
		t.Error("bob changed alice's out-of-office")
	}
}

// Spam never gets an out-of-office reply.
func TestOOFNotForSpam(t *testing.T) {
	t.Parallel()
	e := oofEnv(t)
	e.d.Spam.Headers = mail.DefaultSpamHeaders
	res := e.deliver("carl@example.org", "alice@acme.test", replace(oofBase, "Subject:", "X-Spam-Flag: YES\nSubject:"))
	if !res.Spam || len(e.out.all()) != 0 {
		t.Fatalf("spam %v, replies %d", res.Spam, len(e.out.all()))
	}
}

// Pipe delivery (no SMTP envelope) takes the sender from Return-Path.
func TestOOFPipeDeliveryReturnPath(t *testing.T) {
	t.Parallel()
	e := oofEnv(t)
	alice := e.user("alice")
	for _, rp := range []string{"<carl@example.org>", "<>"} {
		b := strings.ReplaceAll("Return-Path: "+rp+"\n"+oofBase, "\n", "\r\n")
		res := e.d.Deliver(context.Background(), []*store.User{alice}, func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(b)), nil
		})
		if len(res) != 1 || res[0].Err != nil {
			t.Fatalf("deliver: %+v", res)
		}
	}
	out := e.out.all()
	if len(out) != 1 || out[0].to[0] != "carl@example.org" {
		t.Fatalf("replies %+v, want one to carl (none for Return-Path <>)", out)
	}
}
