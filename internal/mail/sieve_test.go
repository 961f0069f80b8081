package mail_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// RFC 5228 §9.
const rfc5228Complete = `require ["fileinto"];
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        fileinto "personal";
        }
`

const msgIETF = `Sender: owner-ietf-mta-filters@imc.org
From: someone@example.net
To: list@imc.org
Subject: hello
Message-ID: <ietf@imc.org>

x
`

const msgCompany = `From: boss@example.com
To: me@example.com
Subject: meeting

x
`

const msgSpammy = `From: spammer@example.net
To: someone@example.net
Subject: you can make lots of money very fast

x
`

const msgPersonal = `From: friend@example.net
To: friends@example.net
Cc: me@example.com
Subject: dinner

x
`

const msgDirect = `From: coyote@desert.example.org
To: alice@acme.test
Subject: version 1.0 is out
Message-ID: <direct1@desert.example.org>

hello
`

const msgTim = `From: Tim <tim@example.com>
To: alice@acme.test
Subject: Make money fast
Date: Mon, 1 Jan 2024 10:00:00 +0000

I have a wonderful offer about missile coordinates and the project schedule.
`

const msgList = `From: coyote@desert.example.org
To: alice@acme.test
Subject: [acme-users] [fwd] version 1.0 is out
List-ID: ACME users <acme-users@ACME.example.org>
Received: from a
Received: from b
Message-ID: <list1@desert.example.org>

I have a wonderful offer about missile coordinates.
`

// Each case delivers one message to alice through the full Deliverer over
// SQLite and checks where copies landed and what went out.
func TestSieveThroughDeliverer(t *testing.T) {
	t.Parallel()
	type want struct {
		folders  []string // "INBOX" or a folder path, each holding one copy
		flags    []string // flags of the first stored copy
		flagsOf  map[string][]string
		reject   string
		sent     []string // envelope recipients of outbound messages
		sentFrom string   // envelope sender of the first outbound message
	}
	cases := []struct {
		name    string
		script  string
		msg     string
		from    string
		rcpt    string
		folders []string // created before delivery
		want    want
	}{
		{name: "5228 §9 mailing list", script: rfc5228Complete, msg: msgIETF, folders: []string{"filter", "spam", "personal"},
			want: want{folders: []string{"filter"}}},
		{name: "5228 §9 company", script: rfc5228Complete, msg: msgCompany, folders: []string{"filter", "spam", "personal"},
			want: want{folders: []string{"INBOX"}}},
		{name: "5228 §9 spam", script: rfc5228Complete, msg: msgSpammy, folders: []string{"filter", "spam", "personal"},
			want: want{folders: []string{"spam"}}},
		{name: "5228 §9 personal", script: rfc5228Complete, msg: msgPersonal, folders: []string{"filter", "spam", "personal"},
			want: want{folders: []string{"personal"}}},
		{name: "fileinto missing folder keeps in INBOX", script: rfc5228Complete, msg: msgIETF,
			want: want{folders: []string{"INBOX"}}},
		{name: "fileinto :create", script: `require ["fileinto", "mailbox"]; fileinto :create "Lists/acme";`, msg: msgList,
			want: want{folders: []string{"Lists/acme"}}},
		{name: "fileinto INBOX subfolder", script: `require "fileinto"; fileinto "INBOX/sub";`, msg: msgList, folders: []string{"INBOX/sub"},
			want: want{folders: []string{"INBOX/sub"}}},
		{name: "fileinto role name", script: `require "fileinto"; fileinto "Spam";`, msg: msgList,
			want: want{folders: []string{"Junk"}}},
		{name: "discard", script: `discard;`, msg: msgList, want: want{}},
		{name: "reject", script: `require "reject"; reject "I do not accept messages from you.";`, msg: msgList,
			want: want{reject: "I do not accept messages from you."}},
		{name: "ereject", script: `require "ereject"; if header :contains "subject" "acme" { ereject "no lists"; }`, msg: msgList,
			want: want{reject: "no lists"}},
		{name: "redirect", script: `redirect "elsewhere@example.net";`, msg: msgList, from: "coyote@desert.example.org",
			want: want{sent: []string{"elsewhere@example.net"}, sentFrom: "coyote@desert.example.org"}},
		{name: "redirect :copy", script: `require "copy"; redirect :copy "elsewhere@example.net";`, msg: msgList,
			want: want{folders: []string{"INBOX"}, sent: []string{"elsewhere@example.net"}}},
		{name: "fileinto :copy and keep", script: `require ["fileinto", "copy"]; fileinto :copy "keepers"; keep;`, msg: msgList,
			folders: []string{"keepers"}, want: want{folders: []string{"keepers", "INBOX"}}},
		{name: "5232 imap4flags", msg: msgList, script: `require ["imap4flags"];
addflag "\\Seen";
addflag ["\\Deleted \\seen", "Junk"];
removeflag "\\deleted";
keep;`, want: want{folders: []string{"INBOX"}, flags: []string{"Junk", `\Seen`}}},
		{name: "5232 §4 example", msg: msgTim, folders: []string{"Big messages", "GrandMa"}, script: `require ["fileinto", "imap4flags", "variables"];
if size :over 100 {
    addflag "MyFlags" "Big";
    if header :is "From" "boss@company.example.com" {
        addflag "MyFlags" "\\Answered";
    }
    fileinto :flags "${MyFlags}" "Big messages";
}
if header :contains "From" "tim@example.com" {
    addflag "MyFlags" ["\\answered", "$MDNSent"];
    fileinto :flags "${MyFlags}" "GrandMa";
}
addflag "\\Seen";
addflag ["\\Deleted \\seen", "Junk"];
removeflag "\\deleted";
keep;`, want: want{folders: []string{"Big messages", "GrandMa", "INBOX"}, flags: []string{"Big"},
			flagsOf: map[string][]string{"GrandMa": {"$MDNSent", "Big", `\Answered`}, "INBOX": {"Junk", `\Seen`}}}},
		{name: "5232 invalid flags ignored", msg: msgList, script: `require ["imap4flags"];
addflag ["\\Recent", "a(b", "ok", "\\Bogus", "\\seen"]; keep;`, want: want{folders: []string{"INBOX"}, flags: []string{`\Seen`, "ok"}}},
		{name: "5232 fileinto :flags", msg: msgList, folders: []string{"Big"}, script: `require ["fileinto", "imap4flags"];
if size :over 100 { fileinto :flags ["\\Flagged", "big"] "Big"; }`, want: want{folders: []string{"Big"}, flags: []string{`\Flagged`, "big"}}},
		{name: "5229 variables List-ID", msg: msgList, script: `require ["fileinto", "variables", "mailbox"];
if header :matches "List-ID" "*<*@*" { fileinto :create "INBOX.lists.${2}"; stop; }`,
			want: want{folders: []string{"INBOX.lists.acme-users"}}},
		{name: "5229 variables subject", msg: msgList, script: `require ["fileinto", "variables", "mailbox"];
if header :matches "Subject" "[*] *" { fileinto :create "lists/${1}"; stop; }`,
			want: want{folders: []string{"lists/acme-users"}}},
		{name: "5173 body", msg: msgList, folders: []string{"spam"}, script: `require ["body", "fileinto"];
if body :text :contains "missile" { fileinto "spam"; }`, want: want{folders: []string{"spam"}}},
		{name: "5173 body no match", msg: msgCompany, folders: []string{"spam"}, script: `require ["body", "fileinto"];
if body :text :contains "missile" { fileinto "spam"; }`, want: want{folders: []string{"INBOX"}}},
		{name: "envelope from", msg: msgList, from: "tim@example.com", script: `require "envelope";
if envelope :all :is "from" "tim@example.com" { discard; }`, want: want{}},
		{name: "envelope to subaddress", msg: msgList, rcpt: "alice+lists@acme.test", script: `require ["envelope", "subaddress", "fileinto", "mailbox"];
if envelope :detail "to" "lists" { fileinto :create "Lists"; }`, want: want{folders: []string{"Lists"}}},
		{name: "relational count", msg: msgList, folders: []string{"hops"}, script: `require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :count "ge" :comparator "i;ascii-numeric" "received" "2" { fileinto "hops"; }`, want: want{folders: []string{"hops"}}},
		{name: "run-time error keeps", msg: msgList, script: `redirect "a@x.example"; redirect "b@x.example"; redirect "c@x.example";
redirect "d@x.example"; redirect "e@x.example";`, want: want{folders: []string{"INBOX"}}},
		{name: "5230 vacation", msg: msgDirect, from: "coyote@desert.example.org", script: `require "vacation";
vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"]
"I'm away until October 19.
If it's an emergency, call 911, I guess." ;`, want: want{folders: []string{"INBOX"}, sent: []string{"coyote@desert.example.org"}}},
		{name: "5230 vacation not named", msg: msgIETF, from: "someone@example.net", script: `require "vacation";
vacation "I'm out";`, want: want{folders: []string{"INBOX"}}},
		{name: "5230 vacation to list", msg: msgList, from: "coyote@desert.example.org",
			script: `require "vacation"; vacation "I'm out";`, want: want{folders: []string{"INBOX"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for _, f := range c.folders {
				if strings.HasPrefix(f, "INBOX/") {
					inbox := e.special("alice", store.SpecialInbox)
					st, _ := e.db.UserStore(sys, "alice")
					if _, err := e.db.CreateFolder(sys, st.ID, inbox, strings.TrimPrefix(f, "INBOX/"), store.FolderMail); err != nil {
						t.Fatal(err)
					}
					continue
				}
				e.folder("alice", f, true)
			}
			e.sieve("alice", c.script)
			from := c.from
			if from == "" {
				from = "sender@example.org"
			}
			rcpt := c.rcpt
			if rcpt == "" {
				rcpt = "alice@acme.test"
			}
			res := e.deliver(from, rcpt, c.msg)
			var rej *mail.RejectError
			if c.want.reject != "" {
				if !errors.As(res.Err, &rej) || rej.Reason != c.want.reject {
					t.Fatalf("err = %v, want reject %q", res.Err, c.want.reject)
				}
			} else if res.Err != nil {
				t.Fatal(res.Err)
			}
			total := 0
			for _, f := range c.want.folders {
				var id int64
				switch {
				case f == "INBOX":
					id = e.special("alice", store.SpecialInbox)
				case strings.HasPrefix(f, "INBOX/"):
					st, _ := e.db.UserStore(sys, "alice")
					fs, _ := e.db.ListFolders(sys, st.ID)
					for _, x := range fs {
						if x.Name == strings.TrimPrefix(f, "INBOX/") {
							id = x.ID
						}
					}
				default:
					id = e.folder("alice", f, false)
				}
				if id == 0 {
					t.Fatalf("folder %q does not exist", f)
				}
				items := e.items(id)
				if len(items) != 1 {
					t.Fatalf("folder %q holds %d messages, want 1", f, len(items))
				}
				if f == c.want.folders[0] && c.want.flags != nil && !slices.Equal(items[0].Flags, c.want.flags) {
					t.Errorf("flags %v, want %v", items[0].Flags, c.want.flags)
				}
				if w, ok := c.want.flagsOf[f]; ok && !slices.Equal(items[0].Flags, w) {
					t.Errorf("flags in %s: %v, want %v", f, items[0].Flags, w)
				}
			}
			st, _ := e.db.UserStore(sys, "alice")
			if s, err := e.db.GetStore(sys, st.ID); err == nil {
				total = int(s.Messages)
			}
			if total != len(c.want.folders) {
				t.Errorf("store holds %d messages, want %d", total, len(c.want.folders))
			}
			out := e.out.all()
			var to []string
			for _, m := range out {
				to = append(to, m.to...)
			}
			if !slices.Equal(to, c.want.sent) {
				t.Fatalf("sent to %v, want %v", to, c.want.sent)
			}
			if c.want.sentFrom != "" && out[0].from != c.want.sentFrom {
				t.Errorf("envelope sender %q, want %q", out[0].from, c.want.sentFrom)
			}
			if len(c.want.folders) > 0 && res.FolderID == 0 {
				t.Error("result names no folder")
			}
		})
	}
}

// TestVacationOnce: RFC 5230 §4.2 — one reply per sender per period;
// the reply is an RFC 3834 auto-reply from the null sender.
func TestVacationOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sieve("alice", `require "vacation"; vacation :subject "Gone fishing" "Back soon.";`)
	e.deliver("coyote@desert.example.org", "alice@acme.test", msgDirect)
	e.deliver("coyote@desert.example.org", "alice@acme.test", msgDirect)
	out := e.out.all()
	if len(out) != 1 {
		t.Fatalf("%d replies, want 1", len(out))
	}
	for _, want := range []string{"Auto-Submitted: auto-replied\r\n", "In-Reply-To: <direct1@desert.example.org>\r\n", "Subject: Gone fishing\r\n", "\r\n\r\nBack soon.\r\n"} {
		if !strings.Contains(out[0].msg, want) {
			t.Errorf("reply lacks %q:\n%s", want, out[0].msg)
		}
	}
	if out[0].from != "" {
		t.Errorf("envelope sender %q, want null", out[0].from)
	}
	// A Sieve vacation reply replaces the out-of-office one.
	mail.SetOOF(e.as("alice"), e.db, "alice", mail.OOF{Enabled: true, Message: "oof"})
	e.deliver("dora@example.org", "alice@acme.test", msgDirect)
	if n := len(e.out.all()); n != 2 {
		t.Fatalf("%d replies after a new sender, want 2 (vacation only)", n)
	}
}

// A redirect that comes back is not sent again (Delivered-To loop check).
func TestRedirectLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sieve("alice", `redirect "bob@example.net";`)
	e.deliver("x@example.org", "alice@acme.test", msgList)
	out := e.out.all()
	if len(out) != 1 || !strings.HasPrefix(out[0].msg, "Delivered-To: alice@acme.test\r\n") {
		t.Fatalf("redirect: %+v", out)
	}
	res := e.deliver("x@example.org", "alice@acme.test", strings.ReplaceAll(out[0].msg, "\r\n", "\n"))
	if res.Err != nil || len(e.out.all()) != 1 {
		t.Fatalf("looping message redirected again: err %v, sent %d", res.Err, len(e.out.all()))
	}
}

// Without Outbound a redirect is logged and skipped; the message is not
// lost when the script also keeps it.
func TestNoOutbound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.d.Outbound = nil
	e.sieve("alice", `require "copy"; redirect :copy "bob@example.net";`)
	if res := e.deliver("x@example.org", "alice@acme.test", msgList); res.Err != nil {
		t.Fatal(res.Err)
	}
	if e.inboxCount("alice") != 1 {
		t.Fatal("message lost")
	}
}

func TestScripts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := &mail.Scripts{Store: e.db, Limits: mail.SieveOptions{MaxScriptBytes: 200, MaxScripts: 2}}
	ctx := e.as("alice")
	var se *mail.ScriptError
	if err := s.Put(ctx, "alice", "bad", []byte(`fileinto "x";`)); !errors.As(err, &se) {
		t.Fatalf("script without require: %v", err)
	}
	if err := s.Put(ctx, "alice", "big", []byte(strings.Repeat("#", 201))); !errors.Is(err, mail.ErrScriptTooBig) {
		t.Fatalf("big script: %v", err)
	}
	if err := s.Put(ctx, "alice", "a\nb", []byte(`keep;`)); !errors.Is(err, mail.ErrScriptName) {
		t.Fatalf("bad name: %v", err)
	}
	if err := s.Put(ctx, "alice", "one", []byte(`keep;`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "alice", "two", []byte(`discard;`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "alice", "three", []byte(`keep;`)); !errors.Is(err, mail.ErrTooManyScripts) {
		t.Fatalf("third script: %v", err)
	}
	if err := s.SetActive(ctx, "alice", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("activate missing: %v", err)
	}
	if err := s.SetActive(ctx, "alice", "two"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "alice", "two"); !errors.Is(err, mail.ErrScriptActive) {
		t.Fatalf("delete active: %v", err)
	}
	if err := s.Rename(ctx, "alice", "two", "one"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("rename onto existing: %v", err)
	}
	if err := s.Rename(ctx, "alice", "two", "deux"); err != nil {
		t.Fatal(err)
	}
	l, err := s.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0].Name != "deux" || !l[0].Active || l[1].Name != "one" || l[1].Active {
		t.Fatalf("list = %+v", l)
	}
	// The renamed active script runs.
	e.deliver("x@example.org", "alice@acme.test", msgList)
	if e.inboxCount("alice") != 0 {
		t.Fatal("active script (discard) did not run after rename")
	}
	if err := s.Delete(ctx, "alice", "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice", "one"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	// bob cannot read alice's scripts.
	if _, err := s.List(e.as("bob"), "alice"); err == nil {
		t.Fatal("bob listed alice's scripts")
	}
	if err := s.SetActive(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	e.deliver("x@example.org", "alice@acme.test", msgList)
	if e.inboxCount("alice") != 1 {
		t.Fatal("deactivated script still ran")
	}
}

// RFC 5230 §4.4: :from may name the user's own addresses only.
func TestVacationFrom(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{AliasAdd: []string{"sales@acme.test"}}); err != nil {
		t.Fatal(err)
	}
	e.sieve("alice", `require "vacation"; vacation :from "Sales <sales@acme.test>" :handle "a" "away";`)
	e.deliver("one@example.org", "alice@acme.test", msgDirect)
	e.sieve("alice", `require "vacation"; vacation :from "ceo@bank.example" :handle "b" "away";`)
	e.deliver("two@example.org", "alice@acme.test", msgDirect)
	out := e.out.all()
	if len(out) != 2 {
		t.Fatalf("%d replies", len(out))
	}
	if !strings.Contains(out[0].msg, "From: Sales <sales@acme.test>\r\n") {
		t.Errorf("own alias as :from not used:\n%s", out[0].msg)
	}
	if !strings.Contains(out[1].msg, "From: \"Alice Example\" <alice@acme.test>\r\n") || strings.Contains(out[1].msg, "bank.example") {
		t.Errorf("forged :from used:\n%s", out[1].msg)
	}
}
