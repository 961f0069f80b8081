package imap

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newTestReader(in string) *Reader {
	return NewReader(bufio.NewReader(strings.NewReader(in)), Limits{})
}

func readOne(in string) (*Command, error) {
	return newTestReader(in).ReadCommand()
}

func u64(n uint64) *uint64 { return &n }
func u32(n uint32) *uint32 { return &n }

// TestCommands parses RFC examples of every command. want is the canonical
// String() form ("" when it equals the input); args, when set, is compared
// with Command.Args.
func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		args Args
	}{
		// RFC 9051 §6.1
		{in: "abcd CAPABILITY"},
		{in: "a002 noop", want: "a002 NOOP"},
		{in: "A023 LOGOUT"},
		{in: `a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")`,
			args: &IDCmd{Fields: []IDField{{Name: "name", Value: "sodr"}, {Name: "version", Value: "19.34"}, {Name: "vendor", Value: "Pink Floyd Music Limited"}}}},
		{in: "a ID NIL", args: &IDCmd{}},
		{in: `a ID ("x" NIL)`, args: &IDCmd{Fields: []IDField{{Name: "x", Nil: true}}}},
		{in: "a ID ()", args: &IDCmd{Fields: []IDField{}}},
		{in: "t2 ENABLE CONDSTORE qresync", want: "t2 ENABLE CONDSTORE QRESYNC", args: &EnableCmd{Caps: []string{"CONDSTORE", "QRESYNC"}}},
		{in: "t ENABLE IMAP4rev2 UTF8=ACCEPT", want: "t ENABLE IMAP4REV2 UTF8=ACCEPT"},
		// RFC 9051 §6.2
		{in: "a002 STARTTLS"},
		{in: "A001 AUTHENTICATE GSSAPI", args: &AuthenticateCmd{Mechanism: "GSSAPI"}},
		{in: "a AUTHENTICATE plain dGVzdAB0ZXN0AHRlc3Q=", want: "a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
			args: &AuthenticateCmd{Mechanism: "PLAIN", HasInitialResponse: true, InitialResponse: []byte("test\x00test\x00test")}},
		{in: "a AUTHENTICATE PLAIN =", args: &AuthenticateCmd{Mechanism: "PLAIN", HasInitialResponse: true, InitialResponse: []byte{}}},
		{in: "a001 LOGIN SMITH SESAME", args: &LoginCmd{User: "SMITH", Password: "SESAME"}},
		{in: `a LOGIN "fred" "foo\"b\\ar"`, want: `a LOGIN fred "foo\"b\\ar"`, args: &LoginCmd{User: "fred", Password: `foo"b\ar`}},
		{in: "a LOGIN {4}\r\nfred {5+}\r\npa ss", want: `a LOGIN fred "pa ss"`},
		{in: "a LOGIN fred \"\"", args: &LoginCmd{User: "fred"}},
		{in: "a COMPRESS deflate", want: "a COMPRESS DEFLATE", args: &CompressCmd{Algorithm: "DEFLATE"}},
		// RFC 9051 §6.3
		{in: "A142 SELECT INBOX", args: &SelectCmd{Mailbox: "INBOX"}},
		{in: "A142 SELECT inbox", want: "A142 SELECT INBOX"},
		{in: "A142 SELECT InBoX/sub", args: &SelectCmd{Mailbox: "InBoX/sub"}},
		{in: "A932 EXAMINE blurdybloop", args: &SelectCmd{Mailbox: "blurdybloop"}},
		{in: "a SELECT INBOX (CONDSTORE)", args: &SelectCmd{Mailbox: "INBOX", CondStore: true}},
		// RFC 7162 §3.2.5.2
		{in: "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
			args: &SelectCmd{Mailbox: "INBOX", QResync: &QResync{UIDValidity: 67890007, ModSeq: 20050715194045000,
				KnownUIDs: SeqSet{Ranges: []SeqRange{{41, 41}, {43, 211}, {214, 541}}}}}},
		{in: "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))"},
		{in: "a SELECT INBOX (QRESYNC (1 2 (1:2 5:6)))"},
		{in: "a EXAMINE INBOX (CONDSTORE QRESYNC (1 2))"},
		{in: "A003 CREATE owatagusiam/", args: &CreateCmd{Mailbox: "owatagusiam/"}},
		{in: `t1 CREATE "Important Messages" (USE (\important))`, want: `t1 CREATE "Important Messages" (USE (\Important))`,
			args: &CreateCmd{Mailbox: "Important Messages", SpecialUse: []string{`\Important`}}},
		{in: `t3 CREATE MyJunk (USE (\Junk \Sent \X-Foo))`, args: &CreateCmd{Mailbox: "MyJunk", SpecialUse: []string{`\Junk`, `\Sent`, `\X-Foo`}}},
		{in: "A683 DELETE blurdybloop", args: &MailboxCmd{Mailbox: "blurdybloop"}},
		{in: "A683 RENAME blurdybloop sarasoop", args: &RenameCmd{From: "blurdybloop", To: "sarasoop"}},
		{in: "A684 RENAME foo/bar INBOX", args: &RenameCmd{From: "foo/bar", To: "INBOX"}},
		{in: "A002 SUBSCRIBE #news.comp.mail.mime", args: &MailboxCmd{Mailbox: "#news.comp.mail.mime"}},
		{in: "A002 UNSUBSCRIBE #news.comp.mail.mime"},
		{in: `A101 LIST "" ""`, args: &ListCmd{Patterns: []string{""}}},
		{in: `A102 LIST #news.comp.mail.misc ""`},
		{in: `A202 LIST ~/Mail/ %`, args: &ListCmd{Reference: "~/Mail/", Patterns: []string{"%"}}},
		{in: `A LIST "" *`},
		{in: `A LIST "" "*"`, want: `A LIST "" *`},
		{in: `A LIST "" "foo bar/%"`},
		// RFC 5258 §6
		{in: `A01 LIST (REMOTE SUBSCRIBED) "" "*"`, want: `A01 LIST (SUBSCRIBED REMOTE) "" *`,
			args: &ListCmd{Patterns: []string{"*"}, Extended: true, Select: ListSelect{Subscribed: true, Remote: true}}},
		{in: `A02 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)`, want: `A02 LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)`},
		{in: `A03 LIST () "" "%" RETURN (CHILDREN)`, want: `A03 LIST () "" % RETURN (CHILDREN)`},
		{in: `A04 LIST "" ("INBOX" "Drafts" "Sent/%")`, want: `A04 LIST () "" (INBOX Drafts Sent/%)`,
			args: &ListCmd{Patterns: []string{"INBOX", "Drafts", "Sent/%"}, Extended: true}},
		{in: `A05 LIST "" % RETURN ()`, want: `A05 LIST () "" %`},
		// RFC 6154 §5.4, RFC 5819 §2
		{in: `t4 LIST (SPECIAL-USE) "" "*"`, want: `t4 LIST (SPECIAL-USE) "" *`},
		{in: `t5 LIST "" "*" RETURN (SPECIAL-USE)`, want: `t5 LIST () "" * RETURN (SPECIAL-USE)`},
		{in: `A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))`, want: `A01 LIST () "" % RETURN (STATUS (MESSAGES UNSEEN))`,
			args: &ListCmd{Patterns: []string{"%"}, Extended: true, Return: ListReturn{Status: []StatusItem{StatusMessages, StatusUnseen}}}},
		{in: `A002 LSUB "#news." "comp.mail.*"`, want: `A002 LSUB #news. comp.mail.*`},
		{in: "A001 NAMESPACE"},
		{in: "A042 STATUS blurdybloop (UIDNEXT MESSAGES)", args: &StatusCmd{Mailbox: "blurdybloop", Items: []StatusItem{StatusUIDNext, StatusMessages}}},
		{in: "a STATUS INBOX (highestmodseq APPENDLIMIT SIZE DELETED UIDVALIDITY UNSEEN RECENT)",
			want: "a STATUS INBOX (HIGHESTMODSEQ APPENDLIMIT SIZE DELETED UIDVALIDITY UNSEEN RECENT)"},
		{in: "a IDLE"},
		// RFC 9051 §6.4
		{in: "FXXZ CHECK"},
		{in: "A341 CLOSE"},
		{in: "a UNSELECT"},
		{in: "A202 EXPUNGE"},
		{in: "A003 UID EXPUNGE 3000:3002", args: &ExpungeCmd{UIDs: SeqSet{Ranges: []SeqRange{{3000, 3002}}}}},
		{in: `A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"`,
			want: `A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM Smith`,
			args: &SearchCmd{Return: &SearchReturn{Min: true, Count: true}, Keys: []SearchKey{
				{Op: "FLAGGED"},
				{Op: "SINCE", Date: time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)},
				{Op: "NOT", Keys: []SearchKey{{Op: "FROM", Str: "Smith"}}},
			}}},
		{in: `A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"`,
			want: `A283 SEARCH RETURN (ALL) FLAGGED SINCE 1-Feb-1994 NOT FROM Smith`},
		{in: `A284 SEARCH TEXT "string not in mailbox"`},
		{in: "A285 SEARCH CHARSET UTF-8 TEXT {12}\r\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x96\x87",
			args: &SearchCmd{Charset: "UTF-8", Keys: []SearchKey{{Op: "TEXT", Str: "日本語文"}}}},
		{in: `a SEARCH OR (FROM a TO b) (UNSEEN 2:4,*) UID 1:* NOT ANSWERED`},
		{in: `a SEARCH ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN`},
		{in: `a SEARCH BCC x BODY y CC z FROM a SUBJECT b TEXT c TO d KEYWORD $Forwarded UNKEYWORD $Junk`},
		{in: `a SEARCH HEADER Message-ID "<x@y>" LARGER 1024 SMALLER 4096 BEFORE "5-Mar-2000" ON 29-Feb-2000 SENTBEFORE 1-Jan-2000 SENTON 01-Jan-2000 SENTSINCE 1-jan-2000`,
			want: `a SEARCH HEADER Message-ID <x@y> LARGER 1024 SMALLER 4096 BEFORE 5-Mar-2000 ON 29-Feb-2000 SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000`},
		// RFC 7162 §3.1.5, RFC 5032, RFC 6203, RFC 5182
		{in: `a SEARCH MODSEQ "/flags/\\draft" all 620162338`, args: &SearchCmd{Keys: []SearchKey{{Op: "MODSEQ", Str: `/flags/\draft`, Value: "all", Num: 620162338}}}},
		{in: `t SEARCH OR NOT MODSEQ 720162338 LARGER 50000 OR UNSEEN SMALLER 0`},
		{in: `a SEARCH YOUNGER 3600 OLDER 7200`},
		{in: `a SEARCH FUZZY (SUBJECT "interesting stuff" FROM bob)`},
		{in: `a UID SEARCH RETURN (SAVE) SINCE 1-Jan-2020`},
		{in: `a UID SEARCH UID $`},
		{in: `a SEARCH $`},
		{in: `a SEARCH RETURN (MIN MAX ALL COUNT SAVE) 1`},
		{in: "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
			args: &FetchCmd{Seq: SeqSet{Ranges: []SeqRange{{2, 4}}}, Items: []FetchItem{{Attr: FetchFlags},
				{Attr: FetchBodySection, Section: Section{Specifier: "HEADER.FIELDS", Fields: []string{"DATE", "FROM"}}}}}},
		{in: "a FETCH 1 ALL", want: "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"},
		{in: "a FETCH 1 FAST", want: "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)"},
		{in: "a FETCH 1 full", want: "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)"},
		{in: "a FETCH 1:* flags", want: "a FETCH 1:* (FLAGS)"},
		{in: "a FETCH 1 (ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID MODSEQ)"},
		{in: "a FETCH 1 (BODY[] BODY.PEEK[] BODY[TEXT] BODY[HEADER] BODY[1] BODY[1.2.3] BODY[1.2.MIME] BODY[4.2.HEADER] BODY[3.TEXT])"},
		{in: "a FETCH 1 (body.peek[header.fields.not (Received \"X-Spam\")]<0.1024>)",
			want: "a FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Received X-Spam)]<0.1024>)",
			args: &FetchCmd{Seq: SeqSet{Ranges: []SeqRange{{1, 1}}}, Items: []FetchItem{{Attr: FetchBodySection, Peek: true,
				Section: Section{Specifier: "HEADER.FIELDS.NOT", Fields: []string{"Received", "X-Spam"}}, Partial: &Partial{0, 1024}}}}},
		// RFC 3516 §4
		{in: "a FETCH 1 (BINARY[] BINARY.PEEK[1.2]<10.20> BINARY.SIZE[1] BINARY.SIZE[])"},
		// RFC 7162 §3.1.4.2, §3.2.6
		{in: "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)", args: &FetchCmd{Seq: SeqSet{Ranges: []SeqRange{{1, 0}}},
			Items: []FetchItem{{Attr: FetchFlags}}, ChangedSince: 12345}},
		{in: "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)"},
		{in: "a UID FETCH $ (UID)"},
		{in: `A003 STORE 2:4 +FLAGS (\Deleted)`, args: &StoreCmd{Seq: SeqSet{Ranges: []SeqRange{{2, 4}}}, Op: StoreAdd, Flags: []string{`\Deleted`}}},
		{in: `a STORE 1 flags.silent \seen \FLAGGED $Forwarded`, want: `a STORE 1 FLAGS.SILENT (\Seen \Flagged $Forwarded)`,
			args: &StoreCmd{Seq: SeqSet{Ranges: []SeqRange{{1, 1}}}, Silent: true, Flags: []string{`\Seen`, `\Flagged`, "$Forwarded"}}},
		{in: `a STORE 1 -FLAGS ()`, args: &StoreCmd{Seq: SeqSet{Ranges: []SeqRange{{1, 1}}}, Op: StoreRemove}},
		// RFC 7162 §3.1.3
		{in: `d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)`,
			args: &StoreCmd{Seq: SeqSet{Ranges: []SeqRange{{7, 7}, {5, 5}, {9, 9}}}, Op: StoreAdd, Silent: true, Flags: []string{`\Deleted`}, UnchangedSince: u64(320162338)}},
		{in: `a UID STORE 1 (UNCHANGEDSINCE 0) FLAGS ()`},
		{in: "A003 COPY 2:4 MEETING", args: &CopyCmd{Seq: SeqSet{Ranges: []SeqRange{{2, 4}}}, Mailbox: "MEETING"}},
		{in: "a UID MOVE 42:69 foo"},
		{in: "a MOVE $ Trash"},
		// RFC 5256 §3, RFC 5267 §3
		{in: "A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994"},
		{in: "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL", args: &SortCmd{Criteria: []SortCriterion{{Key: "SUBJECT"}, {Key: "DATE", Reverse: true}},
			Charset: "UTF-8", Keys: []SearchKey{{Op: "ALL"}}}},
		{in: `A284 SORT (SUBJECT) US-ASCII TEXT "not in mailbox"`},
		{in: "a UID SORT RETURN (MIN MAX) (ARRIVAL CC FROM SIZE TO DISPLAYFROM DISPLAYTO) UTF-8 UNSEEN"},
		// RFC 9394 §3.1 and §3.2, RFC 5267 §4
		{in: "A01 UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED UNKEYWORD $Junk",
			args: &SearchCmd{Return: &SearchReturn{Partial: &PartialRange{First: 1, Last: 100, FromEnd: true}},
				Keys: []SearchKey{{Op: "UNDELETED"}, {Op: "UNKEYWORD", Str: "$Junk"}}}},
		{in: "A02 UID SEARCH RETURN (COUNT PARTIAL 500:400) ALL"},
		{in: "B01 UID SEARCH RETURN (UPDATE) FLAGGED", args: &SearchCmd{Return: &SearchReturn{Update: true}, Keys: []SearchKey{{Op: "FLAGGED"}}}},
		{in: "B02 SEARCH RETURN (CONTEXT) FLAGGED", want: "B02 SEARCH RETURN (ALL CONTEXT) FLAGGED"},
		{in: "B02 UID SEARCH RETURN (COUNT UPDATE CONTEXT) FLAGGED"},
		{in: "C01 UID SORT RETURN (PARTIAL 23500:24000 UPDATE) (REVERSE DATE) UTF-8 UNDELETED",
			want: "C01 UID SORT RETURN (UPDATE PARTIAL 23500:24000) (REVERSE DATE) UTF-8 UNDELETED"},
		{in: "A03 UID FETCH 1:* (FLAGS) (PARTIAL -1:-30)",
			args: &FetchCmd{Seq: SeqSet{Ranges: []SeqRange{{1, 0}}}, Items: []FetchItem{{Attr: FetchFlags}},
				Partial: &PartialRange{First: 1, Last: 30, FromEnd: true}}},
		{in: "A04 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 PARTIAL 1:5)"},
		{in: `B03 CANCELUPDATE "B01" "C01"`, args: &CancelUpdateCmd{Tags: []string{"B01", "C01"}}},
		// RFC 5465 §8 examples
		{in: "a NOTIFY NONE", args: &NotifyCmd{None: true}},
		// RFC 4467 §7
		{in: `a GENURLAUTH "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred" INTERNAL`,
			want: `a GENURLAUTH imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred INTERNAL`,
			args: &GenURLAuthCmd{URLs: []URLMech{{URL: "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred", Mechanism: "INTERNAL"}}}},
		{in: `a URLFETCH "imap://joe@example.com/INBOX/;uid=20;urlauth=submit+fred:internal:91354a" x`,
			want: `a URLFETCH imap://joe@example.com/INBOX/;uid=20;urlauth=submit+fred:internal:91354a x`,
			args: &URLFetchCmd{URLs: []string{"imap://joe@example.com/INBOX/;uid=20;urlauth=submit+fred:internal:91354a", "x"}}},
		// RFC 5524 §7
		{in: `a URLFETCH ("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a" BINARY BODYPARTSTRUCTURE) x`,
			want: `a URLFETCH (imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a BODYPARTSTRUCTURE BINARY) x`,
			args: &URLFetchCmd{URLs: []string{"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=anonymous:internal:91354a", "x"},
				Opts: []URLFetchOpts{{Extended: true, BodyPartStructure: true, Data: "BINARY"}, {}}}},
		{in: "a URLFETCH x (y body) (z)", want: "a URLFETCH x (y BODY) (z)",
			args: &URLFetchCmd{URLs: []string{"x", "y", "z"}, Opts: []URLFetchOpts{{}, {Extended: true, Data: "BODY"}, {Extended: true}}}},
		{in: "a RESETKEY", args: &ResetKeyCmd{}},
		{in: "a RESETKEY INBOX INTERNAL", args: &ResetKeyCmd{Mailbox: "INBOX", Mechanisms: []string{"INTERNAL"}}},
		{in: "a NOTIFY SET STATUS (selected (MessageNew (uid body.peek[header.fields (from to subject)]) messageexpunge)) (subtree Lists (MessageNew MessageExpunge MailboxName))",
			want: "a NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (from to subject)]) MessageExpunge)) (subtree (Lists) (MessageNew MessageExpunge MailboxName))"},
		{in: "a NOTIFY SET (selected (MessageNew (UID) MessageExpunge)) (mailboxes (INBOX Sent) NONE) (personal (messagenew messageexpunge flagchange mailboxname subscriptionchange))",
			args: &NotifyCmd{Groups: []NotifyGroup{
				{Filter: "selected", Events: []NotifyEvent{{Name: "MessageNew", Fetch: []FetchItem{{Attr: FetchUID}}}, {Name: "MessageExpunge"}}},
				{Filter: "mailboxes", Mailboxes: []string{"INBOX", "Sent"}},
				{Filter: "personal", Events: []NotifyEvent{{Name: "MessageNew"}, {Name: "MessageExpunge"}, {Name: "FlagChange"}, {Name: "MailboxName"}, {Name: "SubscriptionChange"}}},
			}},
			want: "a NOTIFY SET (selected (MessageNew (UID) MessageExpunge)) (mailboxes (INBOX Sent) NONE) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))"},
		{in: "a NOTIFY SET (inboxes (MessageNew MessageExpunge)) (subscribed (XFOO))"},
		// Outside the selected mailbox events stand alone (RFC 5465 §3.1
		// with errata 1804: "(subtree Lists (MessageNew))"; imaptest's
		// notify group).
		{in: "a NOTIFY SET STATUS (subtree Lists (MessageNew)) (mailboxes x (MessageExpunge)) (personal (FlagChange))",
			want: "a NOTIFY SET STATUS (subtree (Lists) (MessageNew)) (mailboxes (x) (MessageExpunge)) (personal (FlagChange))"},
		{in: "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", want: "A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-Mar-2000"},
		{in: `A284 UID THREAD references US-ASCII TEXT "gewp"`, want: `A284 UID THREAD REFERENCES US-ASCII TEXT gewp`,
			args: &ThreadCmd{Algorithm: "REFERENCES", Charset: "US-ASCII", Keys: []SearchKey{{Op: "TEXT", Str: "gewp"}}}},
		// RFC 9208
		{in: `G0001 GETQUOTA "!partition/sda4"`, want: `G0001 GETQUOTA !partition/sda4`, args: &GetQuotaCmd{Root: "!partition/sda4"}},
		{in: "G0002 GETQUOTAROOT INBOX", args: &MailboxCmd{Mailbox: "INBOX"}},
		{in: `S0000 SETQUOTA "#user/alice" (STORAGE 510)`, want: `S0000 SETQUOTA #user/alice (STORAGE 510)`,
			args: &SetQuotaCmd{Root: "#user/alice", Limits: []QuotaLimit{{"STORAGE", 510}}}},
		{in: `a SETQUOTA "" (storage 1 MESSAGE 2)`, want: `a SETQUOTA "" (STORAGE 1 MESSAGE 2)`},
		{in: `a SETQUOTA "" ()`},
		// RFC 4314 §3
		{in: "A001 GETACL INBOX", args: &MailboxCmd{Mailbox: "INBOX"}},
		{in: "A002 SETACL INBOX/Drafts Chris +cda", args: &ACLCmd{Mailbox: "INBOX/Drafts", Identifier: "Chris", Rights: "+cda"}},
		{in: "A035 DELETEACL INBOX Fred", args: &ACLCmd{Mailbox: "INBOX", Identifier: "Fred"}},
		{in: "a LISTRIGHTS ~/Mail/saved smith", args: &ACLCmd{Mailbox: "~/Mail/saved", Identifier: "smith"}},
		{in: "A003 MYRIGHTS INBOX"},
		// RFC 5464 §4
		{in: `a GETMETADATA "" /shared/comment`, want: `a GETMETADATA "" (/shared/comment)`, args: &GetMetadataCmd{Entries: []string{"/shared/comment"}}},
		{in: `a GETMETADATA INBOX (/shared/comment /private/comment)`},
		{in: `a GETMETADATA (MAXSIZE 1024) INBOX /shared/comment`, want: `a GETMETADATA (MAXSIZE 1024) INBOX (/shared/comment)`,
			args: &GetMetadataCmd{Mailbox: "INBOX", Entries: []string{"/shared/comment"}, MaxSize: u32(1024)}},
		{in: `a GETMETADATA INBOX (MAXSIZE 1024 DEPTH infinity) (/Shared/Comment)`, want: `a GETMETADATA (MAXSIZE 1024 DEPTH infinity) INBOX (/shared/comment)`},
		{in: `a GETMETADATA (DEPTH 1) "" "/private/vendor/vendor.foo"`, want: `a GETMETADATA (DEPTH 1) "" (/private/vendor/vendor.foo)`},
		{in: `a SETMETADATA INBOX (/private/comment "My new comment")`,
			args: &SetMetadataCmd{Mailbox: "INBOX", Entries: []MetadataEntry{{"/private/comment", []byte("My new comment")}}}},
		{in: `a SETMETADATA INBOX (/private/comment NIL /shared/x "")`,
			args: &SetMetadataCmd{Mailbox: "INBOX", Entries: []MetadataEntry{{"/private/comment", nil}, {"/shared/x", []byte{}}}}},
		{in: "a SETMETADATA INBOX (/private/comment {12}\r\nline1\r\nline2)"},
		{in: "a SETMETADATA \"\" (/shared/bin ~{3}\r\na\x00b)", args: &SetMetadataCmd{Entries: []MetadataEntry{{"/shared/bin", []byte("a\x00b")}}}},
		// Modified UTF-7 names (RFC 3501 §5.1.3).
		{in: "a SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-", args: &SelectCmd{Mailbox: "~peter/mail/台北/日本語"}},
		{in: "a CREATE &-foo", args: &CreateCmd{Mailbox: "&foo"}},
	}
	for _, tc := range tests {
		t.Run(firstLine(tc.in), func(t *testing.T) {
			t.Parallel()
			c, err := readOne(tc.in + "\r\n")
			if err != nil {
				t.Fatalf("parse %q: %v", tc.in, err)
			}
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got := c.String(); got != want {
				t.Errorf("String():\n got %q\nwant %q", got, want)
			}
			if tc.args != nil && !reflect.DeepEqual(c.Args, tc.args) {
				t.Errorf("Args:\n got %#v\nwant %#v", c.Args, tc.args)
			}
			// Round trip: the canonical form parses to the same thing.
			c2, err := readOne(c.String() + "\r\n")
			if err != nil {
				t.Fatalf("reparse %q: %v", c.String(), err)
			}
			if !reflect.DeepEqual(c, c2) {
				t.Errorf("round trip:\n got %#v\nwant %#v", c2, c)
			}
		})
	}
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// TestCommandErrors feeds malformed commands: each gives a ParseError with
// the expected tag, is not fatal, and the next command still parses.
func TestCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string
		tag string
		msg string // substring of the error message
	}{
		{"", "", "empty"},
		{"a", "a", "missing command"},
		{"* NOOP", "", "invalid tag"},
		{"+ NOOP", "", "invalid tag"},
		{"a{ NOOP", "", "invalid tag"},
		{"a BOGUS", "a", "unknown command"},
		{"a UID NOOP", "a", "not a command"},
		{"a UID", "a", "expected"},
		{"a NOOP extra", "a", "unexpected characters"},
		{"a NOOP ", "a", "unexpected characters"},
		{"a  NOOP", "a", "expected atom"},
		{"a LOGIN fred", "a", "expected ' '"},
		{"a LOGIN fred \"pass", "a", "unterminated"},
		{`a LOGIN fred "p\x"`, "a", "invalid escape"},
		{"a LOGIN fred \"caf\xc3\xa9\"", "a", "8-bit"},
		{"a LOGIN fred pa(ss", "a", "unexpected"},
		{"a LOGIN {3}\r\na\x00b pass", "a", "NUL in literal"},
		{"a LOGIN fred {3} pass", "a", "literal must end the line"},
		{"a AUTHENTICATE PLAIN !!!!", "a", "base64"},
		{"a AUTHENTICATE PLAIN dGVzd", "a", "base64"},
		{"a ENABLE", "a", "expected ' '"},
		{"a ID", "a", "expected ' '"},
		{`a ID ("a")`, "a", "expected ' '"},
		{`a ID (a b)`, "a", "expected string"},
		{"a SELECT", "a", "expected ' '"},
		{"a SELECT INBOX (FOO)", "a", "unknown select parameter"},
		{"a SELECT INBOX ()", "a", "empty list"},
		{"a SELECT INBOX (QRESYNC (0 1))", "a", "must not be 0"},
		{"a SELECT INBOX (QRESYNC (1 0))", "a", "must not be 0"},
		{"a SELECT INBOX (QRESYNC (1 2 1:*))", "a", `"*" not allowed`},
		{"a SELECT INBOX (QRESYNC (1 2 1:5 ))", "a", "expected"},
		{"a SELECT \"foo\x00bar\"", "a", "NUL"},
		{"a SELECT {7}\r\nfoo\x00bar", "a", "NUL in literal"},
		{"a SELECT {7}\r\nfoo\nbar", "a", "must be encoded"},
		{"a SELECT \"foo\tbar\"", "a", "must be encoded"},
		{"a SELECT &Jjo", "a", "unterminated"},
		{"a SELECT &AGE-", "a", "printable ASCII"},
		{"a SELECT &2D0-", "a", "surrogate"},
		{"a SELECT &U,BTFw-&ZeVnLIqe-", "a", "adjacent"},
		{"a SELECT &AAA-", "a", "control character"},
		{"a SELECT {4}\r\ncaf\xe9", "a", "must be encoded"},
		{"a CREATE foo (BOGUS)", "a", "unknown CREATE parameter"},
		{"a CREATE foo (USE (Drafts))", "a", `expected '\\'`},
		{"a RENAME foo", "a", "expected ' '"},
		{`a LIST (RECURSIVEMATCH) "" *`, "a", "RECURSIVEMATCH"},
		{`a LIST (BOGUS) "" *`, "a", "unknown LIST selection"},
		{`a LIST "" * RETURN (BOGUS)`, "a", "unknown LIST return"},
		{`a LIST "" * RETURN (STATUS ())`, "a", "empty list"},
		{`a LIST "" ()`, "a", "empty list"},
		{`a LIST "" * RETURNS ()`, "a", "expected RETURN"},
		{`a LSUB () "" *`, "a", "expected string"},
		{"a STATUS INBOX (BOGUS)", "a", "unknown STATUS item"},
		{"a STATUS INBOX ()", "a", "empty list"},
		{"a STATUS INBOX", "a", "expected ' '"},
		{"a APPEND INBOX (\\Seen) notaliteral", "a", "expected message literal"},
		{"a APPEND INBOX \"31-Feb-2020 00:00:00 +0000\" {1}", "a", "invalid date"},
		{"a APPEND INBOX \"1-Feb-2020 24:00:00 +0000\" {1}", "a", "invalid date-time"},
		{"a APPEND INBOX \"1-Feb-2020 00:00:00 0000\" {1}", "a", "expected '+'"},
		{"a EXPUNGE 1", "a", "unexpected"},
		{"a UID EXPUNGE", "a", "expected ' '"},
		{"a SEARCH", "a", "expected ' '"},
		{"a SEARCH FOO", "a", "unknown search key"},
		{"a SEARCH SINCE 31-Feb-2020", "a", "invalid date"},
		{"a SEARCH SINCE 0-Feb-2020", "a", "day must not be 0"},
		{"a SEARCH SINCE 1-Foo-2020", "a", "month"},
		{"a SEARCH SINCE 1-Feb-20", "a", "year"},
		{"a SEARCH (", "a", "expected"},
		{"a SEARCH ()", "a", "empty list"},
		{"a SEARCH (ALL", "a", "expected"},
		{"a SEARCH OR ALL", "a", "expected ' '"},
		{"a SEARCH LARGER -1", "a", "expected number"},
		{"a SEARCH LARGER 99999999999999999999", "a", "out of range"},
		{"a SEARCH YOUNGER 0", "a", "must not be 0"},
		{"a SEARCH RETURN (BOGUS) ALL", "a", "unknown SEARCH return option"},
		{"a SEARCH RETURN (PARTIAL 1:5 ALL) ALL", "a", "mutually exclusive"},
		{"a SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL", "a", "duplicate PARTIAL"},
		{"a SEARCH RETURN (PARTIAL) ALL", "a", "expected ' '"},
		{"a SEARCH RETURN (PARTIAL 0:5) ALL", "a", "must not be 0"},
		{"a SEARCH RETURN (PARTIAL 1:*) ALL", "a", "expected number"},
		{"a SEARCH RETURN (PARTIAL -1:5) ALL", "a", "expected '-'"},
		{"a SEARCH RETURN (PARTIAL 5) ALL", "a", "expected ':'"},
		{"a SEARCH RETURN (PARTIAL 1:4294967296) ALL", "a", "out of range"},
		{"a SEARCH RETURN (UPDATE UPDATE) ALL", "a", "duplicate UPDATE"},
		{"a UID FETCH 1:* FLAGS (PARTIAL 1:5 PARTIAL 1:2)", "a", "duplicate PARTIAL"},
		{"a UID FETCH 1:* FLAGS (PARTIAL)", "a", "expected ' '"},
		{"a CANCELUPDATE", "a", "expected ' '"},
		{"a CANCELUPDATE A1", "a", "quoted tags"},
		{"a NOTIFY", "a", "expected ' '"},
		{"a GENURLAUTH", "a", "expected ' '"},
		{"a GENURLAUTH x", "a", "expected ' '"},
		{"a URLFETCH", "a", "expected ' '"},
		{"a URLFETCH (x BINARY BODY)", "a", "exclusive"},
		{"a URLFETCH (x BODYPARTSTRUCTURE BODYPARTSTRUCTURE)", "a", "duplicate BODYPARTSTRUCTURE"},
		{"a URLFETCH (x MIME)", "a", "unknown URLFETCH parameter"},
		{"a URLFETCH (x BINARY", "a", "expected ' '"},
		{"a NOTIFY SET", "a", "expected ' '"},
		{"a NOTIFY SET (bogus (MessageNew MessageExpunge))", "a", "unknown NOTIFY filter"},
		{"a NOTIFY SET (selected (MessageNew))", "a", "together"},
		{"a NOTIFY SET (selected (FlagChange))", "a", "need MessageNew"},
		{"a NOTIFY SET (personal (MessageNew (UID) MessageExpunge))", "a", "selected mailbox only"},
		{"a NOTIFY SET (selected ())", "a", "empty list"},
		{"a NOTIFY SET (mailboxes (MessageNew MessageExpunge))", "a", "expected ' '"},
		{`a SEARCH MODSEQ "/foo" all 1`, "a", "MODSEQ entry name"},
		{`a SEARCH MODSEQ "/flags/\\seen" every 1`, "a", "MODSEQ entry type"},
		{"a SEARCH HEADER \"\" x", "a", "empty header field name"},
		{"a SEARCH 1,$", "a", "invalid sequence set"},
		{"a FETCH 0 FLAGS", "a", "must not be 0"},
		{"a FETCH 1:0 FLAGS", "a", "must not be 0"},
		{"a FETCH 4294967296 FLAGS", "a", "out of range"},
		{"a FETCH 1, FLAGS", "a", "invalid sequence set"},
		{"a FETCH 1", "a", "expected ' '"},
		{"a FETCH 1 (FLAGS", "a", "expected"},
		{"a FETCH 1 ()", "a", "empty list"},
		{"a FETCH 1 BOGUS", "a", "unknown FETCH item"},
		{"a FETCH 1 (FLAGS ALL)", "a", "unknown FETCH item"},
		{"a FETCH 1 BODY[1.]", "a", "invalid section"},
		{"a FETCH 1 BODY[MIME]", "a", "invalid section"},
		{"a FETCH 1 BODY[0]", "a", "must not be 0"},
		{"a FETCH 1 BODY[HEADER.FIELDS]", "a", "expected ' '"},
		{"a FETCH 1 BODY[HEADER.FIELDS ()]", "a", "empty list"},
		{"a FETCH 1 BODY[HEADER.FIELDS (a:b)]", "a", "invalid header field name"},
		{"a FETCH 1 BODY[]<0.0>", "a", "partial count"},
		{"a FETCH 1 BODY[]<0>", "a", "expected '.'"},
		{"a FETCH 1 BODY.PEEK", "a", "expected '['"},
		{"a FETCH 1 BINARY[TEXT]", "a", "expected number"},
		{"a FETCH 1 BINARY[1.]", "a", "expected number"},
		{"a FETCH 1 (FLAGS) (VANISHED)", "a", "VANISHED requires"},
		{"a UID FETCH 1 (FLAGS) (VANISHED)", "a", "VANISHED requires"},
		{"a FETCH 1 (FLAGS) (CHANGEDSINCE 12345 VANISHED)", "a", "VANISHED requires"},
		{"a FETCH 1 (FLAGS) (CHANGEDSINCE 0)", "a", "must not be 0"},
		{"a FETCH 1 (FLAGS) (BOGUS)", "a", "unknown FETCH modifier"},
		{"a STORE 1 FLAGS (\\Seen", "a", "expected"},
		{"a STORE 1 BLAGS \\Seen", "a", "expected FLAGS"},
		{"a STORE 1 +FLAGS \\*", "a", "expected atom"},
		{"a STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()", "a", "duplicate"},
		{"a STORE 1 (FOO 1) FLAGS ()", "a", "unknown STORE modifier"},
		{"a COPY 1:2", "a", "expected ' '"},
		{"a SORT (BOGUS) UTF-8 ALL", "a", "unknown sort key"},
		{"a SORT () UTF-8 ALL", "a", "empty list"},
		{"a SORT (DATE) UTF-8", "a", "expected ' '"},
		{"a THREAD REFERENCES UTF-8", "a", "expected ' '"},
		{"a SETQUOTA x (STORAGE)", "a", "expected ' '"},
		{"a SETACL INBOX fred", "a", "expected ' '"},
		{"a GETMETADATA INBOX foo", "a", "invalid metadata entry"},
		{"a GETMETADATA INBOX /shared/", "a", "invalid metadata entry"},
		{"a GETMETADATA INBOX /shared//x", "a", "invalid metadata entry"},
		{"a GETMETADATA INBOX /shared/*", "a", "invalid metadata entry"},
		{"a GETMETADATA (DEPTH 2) INBOX /shared/x", "a", "invalid DEPTH"},
		{"a GETMETADATA (FOO 2) INBOX /shared/x", "a", "unknown GETMETADATA option"},
		{"a SETMETADATA INBOX (/shared/x)", "a", "expected ' '"},
		{"a SETMETADATA INBOX (/shared/x foo)", "a", "expected NIL"},
		{"a COMPRESS", "a", "expected ' '"},
	}
	for _, tc := range tests {
		t.Run(firstLine(tc.in), func(t *testing.T) {
			t.Parallel()
			r := newTestReader(tc.in + "\r\nz NOOP\r\n")
			c, err := r.ReadCommand()
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: got %v, %v; want ParseError", tc.in, c, err)
			}
			if pe.Tag != tc.tag {
				t.Errorf("tag %q, want %q", pe.Tag, tc.tag)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tc.msg)
			}
			if pe.Fatal {
				t.Errorf("fatal")
			}
			c, err = r.ReadCommand()
			if err != nil || c.Tag != "z" {
				t.Errorf("next command: %v, %v", c, err)
			}
		})
	}
}
