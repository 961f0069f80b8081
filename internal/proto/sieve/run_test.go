package sieve

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const msgPlain = `From: Tim <tim@example.com>
To: me@example.com
Subject: Make money fast
Date: Mon, 1 Jan 2024 10:00:00 +0000
X-Caffeine: yes

I have a wonderful offer about missile coordinates and the project schedule.
`

const msgList = `From: coyote@desert.example.org
To: coyote@ACME.Example.COM
Subject: [acme-users] [fwd] version 1.0 is out
List-ID: ACME users <acme-users@ACME.example.org>

hello
`

// RFC 5231 §6 message.
const msgRel = `Received: from a
Received: from b
Subject: example
From: Zoo <zoo@example.com>
To: foo@example.com, baz@example.com
CC: qux@example.com

body
`

const msgIETF = `Sender: owner-ietf-mta-filters@imc.org
From: someone@example.net
To: list@imc.org
Subject: hello

x
`

const msgCompany = `From: boss@example.com
To: me@example.com
Subject: meeting

x
`

const msgSpam = `From: spammer@example.net
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

// RFC 5228 §9.
const rfc5228Complete = `#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
`

const rfc5229Match = `require ["fileinto", "variables"];

if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.${2}"; stop;
}
`

const rfc5229Subject = `require ["fileinto", "variables"];
# Imagine the header
# Subject: [acme-users] [fwd] version 1.0 is out
if header :matches "Subject" "[*] *" {
    # ${1} will hold "acme-users",
    # ${2} will hold "[fwd] version 1.0 is out"
    fileinto "INBOX.lists.${1}/${2}"; stop;
}
`

const rfc5229Address = `require ["fileinto", "variables"];
# To: coyote@ACME.Example.COM
if address :matches ["To", "Cc"] ["coyote@**.com",
        "wile@**.com"] {
    # ${0} is the matching address
    # ${1} always holds ""
    # ${2} holds the domain name without the top-level domain
    fileinto "INBOX.business.${2}|${1}|${0}"; stop;
} else {
    # Control wouldn't reach this block if any match was
    # successful, so no match variables are set at this point.
}
`

const rfc5229Vacation = `require ["variables", "vacation"];
set "honorific"  "Mr";
set "first_name" "Wile";
set "last_name"  "Coyote";
set "vacation" text:
Dear ${HONORIFIC} ${last_name},
I'm out, please leave a message after the meep.
.
;
vacation "${vacation}";
`

const rfc5229Modifiers = `require ["variables", "fileinto"];
set "a" "juMBlEd lETteRS";
set :length "b" "${a}";
fileinto "${b}";
set :lower "b" "${a}";
fileinto "${b}";
set :upperfirst "b" "${a}";
fileinto "${b}";
set :upperfirst :lower "b" "${a}";
fileinto "${b}";
set :quotewildcard "b" "Rock*";
fileinto "${b}";
`

const rfc5230Days = `require "vacation";
vacation :days 23 :addresses ["tjs@example.edu",
                              "ts4z@landru.example.edu"]
"I'm away until October 19.
If it's an emergency, call 911, I guess." ;
`

const rfc5230If = `require "vacation";
if header :contains "subject" "cyrus" {
    vacation "I'm out -- send mail to cyrus-bugs";
} else {
    vacation "I'm out -- call me at +1 304 555 0123";
}
`

const rfc5232Flags = `require ["fileinto", "imap4flags", "variables"];
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
keep;
`

const rfc5232Hasflag = `require ["imap4flags", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
setflag "MyVar" "Fun Work";
if hasflag :contains "MyVar" "Fun" { fileinto "a"; }
if hasflag :is "MyVar" "Work" { fileinto "b"; }
if hasflag :is "MyVar" "Play" { fileinto "c"; }
setflag "\\Flagged";
if hasflag "\\flagged" { fileinto "d"; }
if hasflag :count "ge" :comparator "i;ascii-numeric" "MyVar" "2" { fileinto "e"; }
`

const rfc5233 = `require ["envelope", "subaddress", "fileinto"];
if envelope :user "to" "postmaster" {
    fileinto "inbox.postmaster";
    stop;
}
if envelope :detail "to" "mta-filters" {
    fileinto "inbox.ietf-mta-filters";
}
if envelope :detail "to" "foo" {
    redirect "ken@example.net";
}
`

var runCases = []struct {
	name, script, msg string
	envTo             string
	want              string
}{
	// RFC 5228 §4.1
	{"fileinto", `require "fileinto";
if header :contains ["from"] "coyote" { fileinto "INBOX.harassment"; }`, msgList, "", "fileinto INBOX.harassment"},
	// RFC 5228 §4.2
	{"redirect", `redirect "bart@example.com";`, msgPlain, "", "redirect bart@example.com"},
	// RFC 5228 §4.3
	{"keep under", `if size :under 1M { keep; } else { discard; }`, msgPlain, "", "keep"},
	{"keep over", `if size :over 1K { keep; } else { discard; }`, msgPlain, "", "discard"},
	{"size 10", `if size :over 10 { discard; }`, msgPlain, "", "discard"},
	// RFC 5228 §4.4
	{"discard", `if header :contains ["from"] ["tim@example.com"] { discard; }`, msgPlain, "", "discard"},
	// RFC 5228 §5.1
	{"address all", `if address :is :all "from" "tim@example.com" { discard; }`, msgPlain, "", "discard"},
	{"address localpart", `if address :localpart :is "from" "TIM" { discard; }`, msgPlain, "", "discard"},
	{"address domain octet", `if address :domain :comparator "i;octet" :is "from" "EXAMPLE.com" { discard; }`, msgPlain, "", "implicit keep"},
	// RFC 5228 §5.2, §5.3, §5.8
	{"allof", `if allof (true, false) { discard; }`, msgPlain, "", "implicit keep"},
	{"anyof", `if anyof (false, true) { discard; }`, msgPlain, "", "discard"},
	{"not", `if not false { discard; }`, msgPlain, "", "discard"},
	// RFC 5228 §5.4
	{"envelope", `require "envelope"; if envelope :all :is "from" "sender@example.org" { discard; }`, msgPlain, "", "discard"},
	// RFC 5228 §5.5
	{"exists", `if exists ["From","Date"] { discard; }`, msgPlain, "", "discard"},
	{"exists missing", `if exists ["From","X-None"] { discard; }`, msgPlain, "", "implicit keep"},
	// RFC 5228 §5.7: "" matches any existing header with :contains.
	{"header empty key", `if header :contains ["X-Caffeine"] [""] { discard; }`, msgPlain, "", "discard"},
	{"header missing", `if header :contains ["X-Decaf"] [""] { discard; }`, msgPlain, "", "implicit keep"},
	// RFC 5228 §2.7.1 wildcards and escapes.
	{"matches", `if header :matches "Subject" "MAKE MONEY FAST" { discard; }`, msgPlain, "", "discard"},
	{"matches ?", `if header :matches "Subject" "Make ?oney*" { discard; }`, msgPlain, "", "discard"},
	{"matches escape", `if header :matches "Subject" "Make\\*" { discard; }`, msgPlain, "", "implicit keep"},
	{"matches star literal", `if header :matches "X-Star" "a\\*b" { discard; }`, "X-Star: a*b\n\nx\n", "", "discard"},
	{"matches escape q", `if header :matches "X-Star" "a\\?b" { discard; }`, "X-Star: axb\n\nx\n", "", "implicit keep"},
	// RFC 5228 §2.10.2 implicit keep.
	{"implicit keep", `if false { discard; }`, msgPlain, "", "implicit keep"},
	{"stop", `stop; discard;`, msgPlain, "", "implicit keep"},
	{"keep twice", `keep; keep;`, msgPlain, "", "keep"},
	{"fileinto twice", `require "fileinto"; fileinto "a"; fileinto "a";`, msgPlain, "", "fileinto a"},
	// RFC 5228 §9.
	{"complete ietf", rfc5228Complete, msgIETF, "", "fileinto filter"},
	{"complete company", rfc5228Complete, msgCompany, "", "keep"},
	{"complete spam", rfc5228Complete, msgSpam, "", "fileinto spam"},
	{"complete personal", rfc5228Complete, msgPersonal, "", "fileinto personal"},
	{"elsif chain", `if false { discard; } elsif true { keep; } else { discard; } if true {} else { discard; }`, msgPlain, "", "keep"},
	// RFC 5228 §2.4.2.4
	{"encoded", `require ["encoded-character", "fileinto"]; fileinto "${hex:40 41}${unicode:263a}";`, msgPlain, "", "fileinto @A☺"},
	{"not encoded", `require "fileinto"; fileinto "${hex:40}";`, msgPlain, "", "fileinto ${hex:40}"},
	// RFC 5229
	{"5229 list-id", rfc5229Match, msgList, "", "fileinto INBOX.lists.acme-users"},
	{"5229 subject", rfc5229Subject, msgList, "", "fileinto INBOX.lists.acme-users/[fwd] version 1.0 is out"},
	{"5229 address", rfc5229Address, msgList, "", "fileinto INBOX.business.ACME.Example||coyote@ACME.Example.COM"},
	{"5229 vacation", rfc5229Vacation, msgPlain, "", "vacation \"Dear Mr Coyote,\\nI'm out, please leave a message after the meep.\\n\"; implicit keep"},
	{"5229 modifiers", rfc5229Modifiers, msgPlain, "", `fileinto 15; fileinto jumbled letters; fileinto JuMBlEd lETteRS; fileinto Jumbled letters; fileinto Rock\*`},
	{"5229 string", `require ["variables"]; set "x" "abc"; if string :is "${x}" "ABC" { discard; }`, msgPlain, "", "discard"},
	{"5229 string count", `require ["variables", "relational"]; if string :count "eq" ["a", "", "b"] "2" { discard; }`, msgPlain, "", "discard"},
	{"5229 unknown var", `require ["variables", "fileinto"]; fileinto "x${nope}y${1}z${bad-name}";`, msgPlain, "", "fileinto xyz${bad-name}"},
	{"5229 quotewildcard", `require ["variables", "fileinto"]; set :quotewildcard "q" "a*b?"; if string :matches "a*b?" "${q}" { fileinto "lit"; } if string :matches "axxb?" "${q}" { fileinto "wild"; }`, msgPlain, "", "fileinto lit"},
	{"5229 failed match keeps vars", `require ["variables", "fileinto"]; if header :matches "Subject" "Make *" {} if header :matches "Subject" "zzz*" {} fileinto "${1}";`, msgPlain, "", "fileinto money fast"},
	{"matches octet case", `require "fileinto"; if header :matches :comparator "i;octet" "Subject" "make*" { fileinto "a"; } if header :matches :comparator "i;octet" "Subject" "Make*" { fileinto "b"; }`, msgPlain, "", "fileinto b"},
	{"matches unicode ?", `if header :matches "X-U" "?b" { discard; }`, "X-U: =?utf-8?q?=C3=A9b?=\n\nx\n", "", "discard"},
	{"encoded bad", `require ["encoded-character", "fileinto"]; fileinto "${hex:zz}${unicode:d800}${hex:4}";`, msgPlain, "", "fileinto ${hex:zz}${unicode:d800}\x04"},
	// RFC 5230
	{"5230 days", rfc5230Days, msgPlain, "", "vacation \"I'm away until October 19.\\nIf it's an emergency, call 911, I guess.\"; implicit keep"},
	{"5230 if", rfc5230If, msgPlain, "", "vacation \"I'm out -- call me at +1 304 555 0123\"; implicit keep"},
	// RFC 5232
	{"5232 flags", rfc5232Flags, msgPlain, "", `fileinto Big messages [Big]; fileinto GrandMa [Big \answered $MDNSent]; keep [\Seen Junk]`},
	{"5232 keep flags", `require "imap4flags"; addflag "\\Seen"; keep; keep :flags "x";`, msgPlain, "", `keep [\Seen]`},
	{"5232 hasflag", rfc5232Hasflag, msgPlain, "", `fileinto a; fileinto b; fileinto d [\Flagged]; fileinto e [\Flagged]`},
	// RFC 5233
	{"5233 user", rfc5233, msgPlain, "postmaster+x@example.com", "fileinto inbox.postmaster"},
	{"5233 detail", rfc5233, msgPlain, "ken+mta-filters@example.com", "fileinto inbox.ietf-mta-filters"},
	{"5233 foo", rfc5233, msgPlain, "ken+foo@example.com", "redirect ken@example.net"},
	{"5233 none", rfc5233, msgPlain, "ken@example.com", "implicit keep"},
	{"5233 address", `require "subaddress"; if address :detail "to" "" { discard; }`, "To: a+@b.example\n\nx\n", "", "discard"},
	// RFC 5173
	{"5173 raw", `require "body"; if body :raw :contains "MISSILE" { discard; }`, msgPlain, "", "discard"},
	{"5173 content", `require ["body", "fileinto"];
if body :content "text" :contains ["missile", "coordinates"] { fileinto "secrets"; }
if body :content "audio/mp3" :contains "" { fileinto "jukebox"; }`, msgPlain, "", "fileinto secrets"},
	{"5173 text", `require ["body", "fileinto"]; if body :text :contains "project schedule" { fileinto "project/schedule"; }`, msgPlain, "", "fileinto project/schedule"},
	// RFC 3894
	{"3894 fileinto", `require ["copy", "fileinto"]; fileinto :copy "incoming";`, msgPlain, "", "fileinto incoming copy; implicit keep"},
	{"3894 redirect", `require ["copy"]; redirect :copy "bob@example.net";`, msgPlain, "", "redirect bob@example.net copy; implicit keep"},
	// RFC 5231 §6
	{"5231 addr count", `require ["relational", "comparator-i;ascii-numeric"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"] { discard; }`, msgRel, "", "discard"},
	{"5231 addr count each", `require ["relational", "comparator-i;ascii-numeric"];
if anyof (address :count "ge" :comparator "i;ascii-numeric" ["to"] ["3"],
          address :count "ge" :comparator "i;ascii-numeric" ["cc"] ["3"]) { discard; }`, msgRel, "", "implicit keep"},
	{"5231 received", `require ["relational", "comparator-i;ascii-numeric"];
if header :count "ge" :comparator "i;ascii-numeric" ["received"] ["3"] { discard; }`, msgRel, "", "implicit keep"},
	{"5231 received subject", `require ["relational", "comparator-i;ascii-numeric"];
if header :count "ge" :comparator "i;ascii-numeric" ["received", "subject"] ["3"] { discard; }`, msgRel, "", "discard"},
	{"5231 header to cc", `require ["relational", "comparator-i;ascii-numeric"];
if header :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"] { discard; }`, msgRel, "", "implicit keep"},
	{"5231 value", `require ["relational"]; if address :value "gt" :all :comparator "i;ascii-casemap" ["from"] ["M"] { discard; }`, msgRel, "", "discard"},
	{"5231 numeric", `require ["relational", "comparator-i;ascii-numeric"]; if header :value "lt" :comparator "i;ascii-numeric" "X-Pri" "10" { discard; }`, "X-Pri: 9\n\nx\n", "", "discard"},
	{"numeric is", `require "comparator-i;ascii-numeric"; if header :is :comparator "i;ascii-numeric" "X-Pri" "007" { discard; }`, "X-Pri: 7 high\n\nx\n", "", "discard"},
	// RFC 5429
	{"reject", `require "reject"; reject "go away";`, msgPlain, "", "reject go away"},
	{"ereject", `require "ereject"; if true { ereject "no"; discard; }`, msgPlain, "", "ereject no; discard"},
	// RFC 5490 :create
	{"create", `require ["fileinto", "mailbox"]; fileinto :create "New";`, msgPlain, "", "fileinto New create"},
}

func TestRunRFCExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range runCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tc.script), Limits{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			m := newMsg(t, tc.msg)
			if tc.envTo != "" {
				m.to = tc.envTo
			}
			res, err := Run(s, m, Env{})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := summary(res); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestVacationFields(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(`require ["vacation", "vacation-seconds"];
vacation :seconds 1800 :subject "Out of office" :from "me@example.com" :mime :handle "h1" :addresses "me2@example.com" text:
Content-Type: text/plain

away
.
;`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(s, newMsg(t, msgPlain), Env{})
	if err != nil {
		t.Fatal(err)
	}
	v, ok := res.Actions[0].(Vacation)
	if !ok {
		t.Fatalf("first action %T", res.Actions[0])
	}
	if v.Period != 30*time.Minute || !v.PeriodSet || v.Subject != "Out of office" || v.From != "me@example.com" ||
		!v.Mime || v.Handle != "h1" || len(v.Addresses) != 1 || !strings.Contains(v.Reason, "away") {
		t.Errorf("vacation = %+v", v)
	}
	if !res.ImplicitKeep {
		t.Error("vacation must not cancel the implicit keep")
	}
	s, _ = Parse([]byte(`require "vacation"; vacation "a";`), Limits{})
	res, _ = Run(s, newMsg(t, msgPlain), Env{})
	v = res.Actions[0].(Vacation)
	if v.PeriodSet || v.Handle == "" {
		t.Errorf("default vacation = %+v", v)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, script, want string }{
		{"reject keep", `require "reject"; keep; reject "x";`, "cannot be combined"},
		{"keep after reject", `require "reject"; reject "x"; keep;`, "cannot be combined"},
		{"two vacations", `require "vacation"; vacation "a"; vacation "b";`, "only one vacation"},
		{"bad redirect", `require "variables"; set "a" "not an address"; redirect "${a}";`, "not a valid email address"},
		{"too many redirects", `redirect "a@x.example"; redirect "b@x.example"; redirect "c@x.example"; redirect "d@x.example"; redirect "e@x.example";`, "more than 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse([]byte(tc.script), Limits{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, err = Run(s, newMsg(t, msgPlain), Env{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	t.Parallel()
	script := strings.Repeat(`if header :matches "Subject" "*a*a*a*a*a*a*a*b" { discard; }`+"\n", 50)
	s, err := Parse([]byte(script), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m := newMsg(t, "Subject: "+strings.Repeat("a", 900)+"\n\nx\n")
	_, err = Run(s, m, Env{MaxSteps: 20000})
	if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "instruction budget of 20000") {
		t.Fatalf("err = %v, want budget error", err)
	}
}

func TestVariableGrowth(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`require ["variables", "fileinto"]; set "a" "0123456789";`)
	for range 200 {
		b.WriteString(`set "a" "${a}${a}${a}${a}";`)
	}
	b.WriteString(`set "b" "` + strings.Repeat("${a}", 5000) + `";`)
	b.WriteString(`fileinto "` + strings.Repeat("${a}", 5000) + `";`)
	s, err := Parse([]byte(b.String()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(s, newMsg(t, msgPlain), Env{})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Actions[0].(FileInto)
	if len(f.Mailbox) > 64<<10 {
		t.Fatalf("expanded string is %d bytes", len(f.Mailbox))
	}
}

func TestMailboxExists(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(`require ["mailbox", "fileinto"];
if mailboxexists ["Lists", "Lists/ietf"] { fileinto "Lists/ietf"; } else { fileinto :create "Lists/new"; }`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg  Message
		want string
	}{
		{boxMsg{newMsg(t, msgPlain), map[string]bool{"Lists": true, "Lists/ietf": true}}, "fileinto Lists/ietf"},
		{boxMsg{newMsg(t, msgPlain), map[string]bool{"Lists": true}}, "fileinto Lists/new create"},
		{newMsg(t, msgPlain), "fileinto Lists/new create"},
	} {
		res, err := Run(s, tc.msg, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(res); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src := []byte(rfc5228Complete)
	for b.Loop() {
		if _, err := Parse(src, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRun(b *testing.B) {
	s, err := Parse([]byte(rfc5228Complete), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	m := newMsg(b, msgSpam)
	for b.Loop() {
		if _, err := Run(s, m, Env{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRunUnvalidated(t *testing.T) {
	t.Parallel()
	s := &Script{Commands: []*Command{{Name: "keep"}}, Require: map[string]bool{}}
	if _, err := Run(s, newMsg(t, msgPlain), Env{}); err == nil {
		t.Fatal("hand-built script ran")
	}
}

// A parsed Script is read-only, so one may serve many deliveries at once.
func TestRunConcurrent(t *testing.T) {
	t.Parallel()
	s, err := Parse([]byte(rfc5232Flags), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m := newMsg(t, msgPlain)
	done := make(chan string)
	for range 8 {
		go func() {
			res, err := Run(s, m, Env{})
			if err != nil {
				done <- err.Error()
				return
			}
			done <- summary(res)
		}()
	}
	first := <-done
	for range 7 {
		if got := <-done; got != first {
			t.Errorf("concurrent runs differ: %s vs %s", got, first)
		}
	}
}
