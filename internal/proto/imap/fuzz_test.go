package imap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// fuzzSeeds are RFC examples and edge cases for FuzzReadCommand.
var fuzzSeeds = []string{
	"a URLFETCH (\"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a\" BINARY BODYPARTSTRUCTURE) x (y BODY)\r\n",
	"abcd CAPABILITY\r\na002 NOOP\r\nA023 LOGOUT\r\n",
	"a001 LOGIN SMITH SESAME\r\n",
	"a LOGIN {4}\r\nfred {5+}\r\npa ss\r\n",
	"A001 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
	"t2 ENABLE CONDSTORE QRESYNC\r\n",
	`a023 ID ("name" "sodr" "version" "19.34")` + "\r\n",
	"A142 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:3 41:43)))\r\n",
	"t1 CREATE \"Important Messages\" (USE (\\Important))\r\n",
	"A683 RENAME blurdybloop sarasoop\r\n",
	`A01 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))` + "\r\n",
	`A002 LSUB "#news." "comp.mail.*"` + "\r\n",
	"A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)\r\n",
	"A003 APPEND saved-messages (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nhello ~{3+}\r\na\x00b\r\n",
	"A003 UID EXPUNGE 3000:3002\r\n",
	`A282 SEARCH RETURN (MIN COUNT) CHARSET UTF-8 FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith" OR (UID 1:*) $` + "\r\n",
	`a SEARCH MODSEQ "/flags/\\draft" all 620162338 YOUNGER 5 FUZZY TEXT {3}` + "\r\nabc\r\n",
	"A654 FETCH 2:4 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (DATE FROM)]<0.100> BINARY.SIZE[1] BINARY[1]<0.5>)\r\n",
	"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
	"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
	"A003 UID MOVE 2:4 MEETING\r\n",
	"A283 UID SORT RETURN (MIN) (SUBJECT REVERSE DATE) UTF-8 ALL\r\n",
	"A284 THREAD REFERENCES US-ASCII TEXT \"gewp\"\r\n",
	`S0000 SETQUOTA "#user/alice" (STORAGE 510)` + "\r\nG GETQUOTAROOT INBOX\r\n",
	"A002 SETACL INBOX/Drafts Chris +cda\r\nA035 DELETEACL INBOX Fred\r\n",
	"a GETMETADATA (MAXSIZE 1024 DEPTH 1) INBOX (/shared/comment)\r\n",
	"a SETMETADATA INBOX (/private/comment {3}\r\nfoo /shared/x NIL)\r\n",
	"a SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n",
	"a LOGIN (bad) {5+}\r\nhello\r\nb NOOP\r\n",
	"a LOGIN {4294967295}\r\n",
	"a SEARCH NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT ALL\r\n",
	"a IDLE\r\nDONE\r\n",
	"a COMPRESS DEFLATE\r\n",
	// OBJECTID, SAVEDATE, PREVIEW, LIST-MYRIGHTS, REPLACE.
	// CATENATE (RFC 4469 §6 examples), also within a MULTIAPPEND.
	"A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT {42}\r\n" +
		"\r\n--------------030308070208000400050907\r\n URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME\" URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1\" TEXT {2}\r\nxy)\r\n",
	"a APPEND x CATENATE (TEXT {3+}\r\nabc) () {2+}\r\nhi CATENATE (TEXT ~{1+}\r\n\x00 URL u)\r\nb NOOP\r\n",
	"a APPEND x CATENATE (URL \"\") {2}\r\nhi\r\n",
	"a FETCH 1:* (EMAILID THREADID SAVEDATE PREVIEW (LAZY) PREVIEW FLAGS)\r\n",
	"a UID SEARCH EMAILID M6d99ebf5 THREADID T64b478a1 SAVEDBEFORE 1-Jan-2020 SAVEDATESUPPORTED SAVEDON 2-Feb-2021 SAVEDSINCE 3-Mar-2022\r\n",
	"a STATUS INBOX (MAILBOXID MESSAGES)\r\n",
	`a LIST "" % RETURN (MYRIGHTS STATUS (MAILBOXID))` + "\r\n",
	"a UID REPLACE 4 Drafts (\\Draft) {5}\r\nhello\r\nb REPLACE 1 x {1+}\r\na {1+}\r\nb\r\n",
	"A01 UID SEARCH RETURN (COUNT PARTIAL -1:-100 UPDATE CONTEXT) UNDELETED\r\nB CANCELUPDATE \"A01\" \"x\"\r\n",
	"C01 UID SORT RETURN (PARTIAL 23500:24000) (REVERSE DATE) UTF-8 UNDELETED\r\n",
	"A03 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 PARTIAL -1:-30)\r\n",
	"a NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER]) MessageExpunge FlagChange)) (subtree (Lists \"a b\") (MessageNew MessageExpunge MailboxName)) (inboxes NONE)\r\nb NOTIFY NONE\r\n",
	// Invalid modified UTF-7: NO, not BAD; kept as is in a LIST pattern.
	"a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\nb LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n",
	"a STATUS \"a&Jjo\" (BOGUS)\r\nb APPEND \"a&AGE-\" {5}\r\nhello\r\n",
}

// FuzzReadCommand feeds arbitrary bytes to the Reader: it must never
// panic, memory stays bounded by the (small) limits, and every command it
// accepts formats to a string that parses back to the same command.
func FuzzReadCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("a SELECT \"Entwürfe\"\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, utf8Mode bool) {
		lim := Limits{MaxLine: 1024, MaxLiteral: 4096, MaxCommand: 8192, MaxDepth: 16, MaxLiterals: 20}
		r := NewReader(bufio.NewReader(bytes.NewReader(data)), lim)
		r.UTF8 = utf8Mode
		for range 50 {
			c, err := r.ReadCommand()
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Fatal {
					return
				}
				continue
			}
			switch a := c.Args.(type) {
			case *AppendCmd:
				checkAppend(t, r, c, a)
				continue
			case *ReplaceCmd:
				checkReplace(t, r, c, a)
				continue
			case nil:
				if c.Name == "IDLE" {
					r.ReadIdleDone()
				}
			}
			checkRoundTrip(t, c, lim)
		}
	})
}

// checkRoundTrip parses c.String() again (in IMAP4rev1 mode, since String
// encodes for it) and requires the same canonical form.
func checkRoundTrip(t *testing.T, c *Command, lim Limits) {
	t.Helper()
	s := c.String()
	// String may turn quoted strings into literals and grow macros.
	lim.MaxLine, lim.MaxCommand, lim.MaxLiterals = 1<<20, 1<<20, 1000
	r2 := NewReader(bufio.NewReader(bytes.NewBufferString(s+"\r\n")), lim)
	c2, err := r2.ReadCommand()
	if err != nil {
		t.Fatalf("%q does not parse back: %v", s, err)
	}
	if s2 := c2.String(); s2 != s {
		t.Fatalf("round trip:\n%q\n%q", s, s2)
	}
	if !reflect.DeepEqual(c, c2) {
		t.Fatalf("round trip of %q:\n%#v\n%#v", s, c.Args, c2.Args)
	}
}

// checkReplace reads the message of a REPLACE and checks the command
// formats and parses back to the same message.
func checkReplace(t *testing.T, r *Reader, c *Command, a *ReplaceCmd) {
	t.Helper()
	body, err := io.ReadAll(a.Message.Body)
	if err != nil {
		return // truncated input
	}
	if m, err := r.NextAppendMessage(); err != nil || m != nil {
		return
	}
	wire := c.String() + "\r\n" + string(body) + "\r\n"
	r2 := NewReader(bufio.NewReader(bytes.NewBufferString(wire)), Limits{MaxLiteral: 4096, MaxLiterals: 100})
	c2, err := r2.ReadCommand()
	if err != nil {
		t.Fatalf("%q does not parse back: %v", wire, err)
	}
	if c2.String() != c.String() {
		t.Fatalf("round trip:\n%q\n%q", c.String(), c2.String())
	}
	body2, _ := io.ReadAll(c2.Args.(*ReplaceCmd).Message.Body)
	if !bytes.Equal(body, body2) {
		t.Fatal("message differs")
	}
	if m, err := r2.NextAppendMessage(); err != nil || m != nil {
		t.Fatalf("after the message: %v, %v", m, err)
	}
}

// checkAppend reads all messages of an APPEND and checks the canonical
// form of the whole command parses back to the same messages.
func checkAppend(t *testing.T, r *Reader, c *Command, a *AppendCmd) {
	t.Helper()
	var wire bytes.Buffer
	wire.WriteString(c.Tag + " APPEND ")
	wire.Write(AppendMailbox(nil, a.Mailbox, false))
	var bodies [][]byte
	var cats [][]CatPart
	var err error
	for m := a.Message; m != nil; m, err = r.NextAppendMessage() {
		cats = append(cats, m.Catenate)
		if m.Catenate != nil {
			bodies = append(bodies, nil)
			wire.WriteByte(' ')
			wire.Write(m.appendHeader(nil))
			continue
		}
		body, rerr := io.ReadAll(m.Body)
		if rerr != nil {
			return // truncated input
		}
		if int64(len(body)) != m.Size {
			t.Fatalf("body %d bytes, announced %d", len(body), m.Size)
		}
		bodies = append(bodies, body)
		wire.WriteByte(' ')
		wire.Write(m.appendHeader(nil))
		wire.WriteString("\r\n")
		wire.Write(body)
	}
	if err != nil {
		return
	}
	wire.WriteString("\r\n")
	r2 := NewReader(bufio.NewReader(&wire), Limits{MaxLiteral: 4096, MaxLiterals: 100})
	c2, err := r2.ReadCommand()
	if err != nil {
		t.Fatalf("%q does not parse back: %v", wire.String(), err)
	}
	if c2.String() != c.String() {
		t.Fatalf("round trip:\n%q\n%q", c.String(), c2.String())
	}
	i := 0
	for m := c2.Args.(*AppendCmd).Message; m != nil; m, err = r2.NextAppendMessage() {
		if i >= len(bodies) || !reflect.DeepEqual(m.Catenate, cats[i]) {
			t.Fatalf("message %d differs", i)
		}
		if m.Catenate != nil {
			i++
			continue
		}
		body, _ := io.ReadAll(m.Body)
		if !bytes.Equal(body, bodies[i]) {
			t.Fatalf("message %d differs", i)
		}
		i++
	}
	if err != nil || i != len(bodies) {
		t.Fatalf("got %d messages, %v; want %d", i, err, len(bodies))
	}
}
