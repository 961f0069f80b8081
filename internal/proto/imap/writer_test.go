package imap

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// written runs f on a fresh Writer and returns what it flushed.
func written(t *testing.T, utf8 bool, f func(w *Writer) error) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.UTF8 = utf8
	if err := f(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriterResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		utf8 bool
		f    func(w *Writer) error
		want string
	}{
		// RFC 5524 §7
		{"urlfetch binary", false, func(w *Writer) error {
			return w.URLFetchExt("u", &URLFetchPart{BodyPartStructure: []byte(`("TEXT" "PLAIN" NIL NIL NIL "7BIT" 2 1)`), Data: "BINARY", Content: []byte("a\x00")})
		}, "* URLFETCH u (BODYPARTSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 2 1)) (BINARY ~{2}\r\na\x00)\r\n"},
		{"urlfetch body", false, func(w *Writer) error { return w.URLFetchExt("u", &URLFetchPart{Data: "BODY", Content: []byte("ab")}) },
			"* URLFETCH u (BODY {2}\r\nab)\r\n"},
		{"urlfetch binary nil", false, func(w *Writer) error { return w.URLFetchExt("u", &URLFetchPart{Data: "BINARY", NIL: true}) },
			"* URLFETCH u (BINARY NIL)\r\n"},
		{"urlfetch nil", false, func(w *Writer) error { return w.URLFetchExt("u", nil) }, "* URLFETCH u NIL\r\n"},
		{"tagged", false, func(w *Writer) error { return w.Tagged("A142", OK, CodeReadWrite, "SELECT completed") },
			"A142 OK [READ-WRITE] SELECT completed\r\n"},
		{"tagged no text", false, func(w *Writer) error { return w.Tagged("a", NO, CodeTryCreate, "") }, "a NO [TRYCREATE] no\r\n"},
		{"bracket text", false, func(w *Writer) error { return w.Tagged("a", BAD, "", "[x] y") }, "a BAD bad [x] y\r\n"},
		{"text sanitised", false, func(w *Writer) error { return w.Untagged(OK, "", "a\r\nb\x00 caf\xc3\xa9") }, "* OK a  b  caf??\r\n"},
		{"text utf8", true, func(w *Writer) error { return w.Untagged(OK, "", "café") }, "* OK café\r\n"},
		{"bye", false, func(w *Writer) error { return w.Untagged(BYE, "", "Autologout; idle for too long") }, "* BYE Autologout; idle for too long\r\n"},
		{"uidvalidity", false, func(w *Writer) error { return w.Untagged(OK, CodeUIDValidity(3857529045), "UIDs valid") },
			"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"},
		{"uidnext unseen hms", false, func(w *Writer) error {
			w.Untagged(OK, CodeUIDNext(4392), "Predicted next UID")
			w.Untagged(OK, CodeUnseen(12), "first unseen")
			return w.Untagged(OK, CodeHighestModSeq(715194045007), "Highest")
		}, "* OK [UIDNEXT 4392] Predicted next UID\r\n* OK [UNSEEN 12] first unseen\r\n* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"},
		{"appenduid", false, func(w *Writer) error {
			return w.Tagged("A003", OK, CodeAppendUID(38505, SeqSetOf(3955)), "APPEND completed")
		},
			"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"},
		{"copyuid", false, func(w *Writer) error {
			return w.Tagged("A004", OK, CodeCopyUID(38505, SeqSetOf(304, 319, 320), SeqSetOf(3956, 3957, 3958)), "Done")
		}, "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"},
		{"permanentflags", false, func(w *Writer) error {
			return w.Untagged(OK, CodePermanentFlags(`\Deleted`, `\Seen`, `\*`), "Limited")
		}, "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"},
		{"capability code", false, func(w *Writer) error { return w.Untagged(OK, CodeCapability("IMAP4rev2", "AUTH=PLAIN"), "ready") },
			"* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] ready\r\n"},
		{"modified", false, func(w *Writer) error {
			return w.Tagged("d105", OK, CodeModified(SeqSetOf(7, 9)), "Conditional STORE failed")
		},
			"d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n"},
		{"plain codes", false, func(w *Writer) error {
			for _, c := range []Code{CodeNonExistent, CodeAlreadyExists, CodeNoPerm, CodeOverQuota, CodeTooBig, CodeLimit,
				CodeClientBug, CodeCannot, CodeReadOnly, CodeClosed, CodeNoModSeq} {
				w.Tagged("a", NO, c, "x")
			}
			return w.Err()
		}, "a NO [NONEXISTENT] x\r\na NO [ALREADYEXISTS] x\r\na NO [NOPERM] x\r\na NO [OVERQUOTA] x\r\na NO [TOOBIG] x\r\n" +
			"a NO [LIMIT] x\r\na NO [CLIENTBUG] x\r\na NO [CANNOT] x\r\na NO [READ-ONLY] x\r\na NO [CLOSED] x\r\na NO [NOMODSEQ] x\r\n"},
		{"badcharset", false, func(w *Writer) error { return w.Tagged("a", NO, CodeBadCharsets("UTF-8", "US-ASCII"), "x") },
			"a NO [BADCHARSET (UTF-8 US-ASCII)] x\r\n"},
		{"continue", false, func(w *Writer) error { return w.Continue("Ready for literal data") }, "+ Ready for literal data\r\n"},
		{"continue data", false, func(w *Writer) error {
			w.ContinueData(nil)
			return w.ContinueData([]byte("challenge"))
		}, "+ \r\n+ Y2hhbGxlbmdl\r\n"},
		{"parse error", false, func(w *Writer) error {
			w.WriteParseError(&ParseError{Tag: "a", Msg: "bad", Code: CodeTooBig})
			w.WriteParseError(&ParseError{Msg: "no tag"})
			return w.WriteParseError(&ParseError{Tag: "b", Msg: "too big", No: true, Fatal: true})
		}, "a BAD [TOOBIG] bad\r\n* BAD no tag\r\nb NO too big\r\n* BYE closing connection: lost command synchronization\r\n"},
		{"capability", false, func(w *Writer) error { return w.Capability("IMAP4rev2", "IMAP4rev1", "IDLE") }, "* CAPABILITY IMAP4rev2 IMAP4rev1 IDLE\r\n"},
		{"enabled", false, func(w *Writer) error { return w.Enabled("CONDSTORE") }, "* ENABLED CONDSTORE\r\n"},
		{"flags", false, func(w *Writer) error { return w.Flags(`\Answered`, `\Flagged`, "$Forwarded") }, "* FLAGS (\\Answered \\Flagged $Forwarded)\r\n"},
		{"exists recent expunge", false, func(w *Writer) error {
			w.Exists(172)
			w.Recent(1)
			return w.Expunge(44)
		}, "* 172 EXISTS\r\n* 1 RECENT\r\n* 44 EXPUNGE\r\n"},
		{"vanished", false, func(w *Writer) error {
			w.Vanished(true, SeqSetOf(41, 43, 44, 45))
			return w.Vanished(false, SeqSetOf(405, 407, 410))
		}, "* VANISHED (EARLIER) 41,43:45\r\n* VANISHED 405,407,410\r\n"},
		{"search", false, func(w *Writer) error {
			w.Search(nil, 0)
			w.Search([]uint32{2, 84, 882}, 0)
			return w.Search([]uint32{2, 5, 6}, 917162500)
		}, "* SEARCH\r\n* SEARCH 2 84 882\r\n* SEARCH 2 5 6 (MODSEQ 917162500)\r\n"},
		{"sort", false, func(w *Writer) error { return w.Sort([]uint32{5, 3, 4, 1, 2}, 0) }, "* SORT 5 3 4 1 2\r\n"},
		{"esearch", false, func(w *Writer) error {
			w.ESearch(NewESearch("A282", false, &SearchReturn{Min: true, Count: true}, []uint32{9, 2, 5}))
			w.ESearch(NewESearch("x", true, &SearchReturn{Min: true, Max: true, Count: true, All: true}, []uint32{1, 2, 3, 5, 9}))
			w.ESearch(NewESearch("A285", true, &SearchReturn{Min: true, Max: true, Count: true, All: true}, nil))
			return w.ESearch(&ESearchData{Tag: "a", All: SeqSetOf(1), ModSeq: 1236})
		}, "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n" +
			"* ESEARCH (TAG \"x\") UID MIN 1 MAX 9 COUNT 5 ALL 1:3,5,9\r\n" +
			"* ESEARCH (TAG \"A285\") UID COUNT 0\r\n" +
			"* ESEARCH (TAG \"a\") ALL 1 MODSEQ 1236\r\n"},
		// RFC 9394 §3.1, RFC 5267 §4.3
		{"esearch partial", false, func(w *Writer) error {
			nums := []uint32{1, 2, 3, 5, 7, 8, 9, 10}
			w.ESearch(NewESearch("A01", true, &SearchReturn{Partial: &PartialRange{First: 1, Last: 3, FromEnd: true}}, nums))
			w.ESearch(NewESearch("A02", true, &SearchReturn{Count: true, Partial: &PartialRange{First: 4, Last: 2}}, nums))
			w.ESearch(NewESearch("A03", true, &SearchReturn{Partial: &PartialRange{First: 9, Last: 20}}, nums))
			w.ESearch(NewESearch("A04", true, &SearchReturn{Partial: &PartialRange{First: 8, Last: 100, FromEnd: true}}, nums))
			return w.ESearch(&ESearchData{Tag: "B01", UID: true,
				RemoveFrom: []ContextUpdate{{0, SeqSetOf(7)}},
				AddTo:      []ContextUpdate{{2, SeqSetOf(17)}, {1, SeqSetOf(2731, 2732)}}})
		}, "* ESEARCH (TAG \"A01\") UID PARTIAL (-1:-3 8:10)\r\n" +
			"* ESEARCH (TAG \"A02\") UID COUNT 8 PARTIAL (2:4 2:3,5)\r\n" +
			"* ESEARCH (TAG \"A03\") UID PARTIAL (9:20 NIL)\r\n" +
			"* ESEARCH (TAG \"A04\") UID PARTIAL (-8:-100 1)\r\n" +
			"* ESEARCH (TAG \"B01\") UID REMOVEFROM (0 7) ADDTO (2 17 1 2731:2732)\r\n"},
		{"thread", false, func(w *Writer) error {
			// RFC 5256 §4 example.
			return w.Thread([]Thread{{Num: 2}, {Num: 3, Children: []Thread{{Num: 6, Children: []Thread{
				{Num: 4, Children: []Thread{{Num: 23}}},
				{Num: 44, Children: []Thread{{Num: 7, Children: []Thread{{Num: 96}}}}},
			}}}}, {Children: []Thread{{Num: 8}, {Num: 9}}}})
		}, "* THREAD (2)(3 6 (4 23)(44 7 96))((8)(9))\r\n"},
		{"thread empty", false, func(w *Writer) error { return w.Thread(nil) }, "* THREAD\r\n"},
		{"list", false, func(w *Writer) error {
			w.List(&ListData{Attrs: []string{`\HasNoChildren`}, Delim: '/', Mailbox: "INBOX"})
			w.List(&ListData{Attrs: []string{`\Noselect`}, Delim: '/', Mailbox: ""})
			w.List(&ListData{Delim: '\\', Mailbox: "台北 x"})
			w.List(&ListData{Attrs: []string{`\NonExistent`}, Delim: '/', Mailbox: "Foo", ChildInfo: []string{"SUBSCRIBED"}})
			w.List(&ListData{Mailbox: "New", Delim: '.', OldName: "Old"})
			return w.LSub(&ListData{Delim: '.', Mailbox: "#news.comp.mail.misc"})
		}, "* LIST (\\HasNoChildren) \"/\" INBOX\r\n" +
			"* LIST (\\Noselect) \"/\" \"\"\r\n" +
			"* LIST () \"\\\\\" \"&U,BTFw- x\"\r\n" +
			"* LIST (\\NonExistent) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n" +
			"* LIST () \".\" New (\"OLDNAME\" (Old))\r\n" +
			"* LSUB () \".\" #news.comp.mail.misc\r\n"},
		{"list utf8", true, func(w *Writer) error { return w.List(&ListData{Delim: '/', Mailbox: "台北"}) },
			"* LIST () \"/\" \"台北\"\r\n"},
		{"status", false, func(w *Writer) error {
			return w.Status("blurdybloop", []StatusValue{{Item: StatusMessages, Value: 231}, {Item: StatusUIDNext, Value: 44292}})
		}, "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"},
		{"status mailboxid", false, func(w *Writer) error {
			return w.Status("foo", []StatusValue{{Item: StatusMailboxID, Str: "F2212ea87-6097-4256-9d51-71338625"}})
		}, "* STATUS foo (MAILBOXID (F2212ea87-6097-4256-9d51-71338625))\r\n"},
		{"namespace", false, func(w *Writer) error {
			w.Namespace([]Namespace{{"", '/'}}, nil, nil)
			return w.Namespace([]Namespace{{"", '/'}}, []Namespace{{"~", '/'}}, []Namespace{{"#shared/", '/'}, {"#public/", '/'}})
		}, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\"))\r\n"},
		{"quota", false, func(w *Writer) error {
			w.QuotaRoot("INBOX", "")
			return w.Quota("", []QuotaResource{{"STORAGE", 10, 512}})
		}, "* QUOTAROOT INBOX \"\"\r\n* QUOTA \"\" (STORAGE 10 512)\r\n"},
		{"acl", false, func(w *Writer) error {
			w.ACL("INBOX", []ACLEntry{{"Fred", "rwipslxetad"}, {"-Fred", "s"}})
			w.ListRights("~/Mail/saved", "smith", "la", "r", "swicdkxte")
			return w.MyRights("INBOX", "rwiptsldaex")
		}, "* ACL INBOX Fred rwipslxetad -Fred s\r\n* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n* MYRIGHTS INBOX rwiptsldaex\r\n"},
		{"metadata", false, func(w *Writer) error {
			w.Metadata("", []MetadataEntry{{"/shared/comment", []byte("Shared comment")}})
			w.Metadata("INBOX", []MetadataEntry{{"/private/comment", nil}, {"/shared/x", []byte("a\r\nb")}, {"/shared/b", []byte{0}}})
			return w.MetadataNames("INBOX", "/shared/comment", "/private/comment")
		}, "* METADATA \"\" (/shared/comment \"Shared comment\")\r\n" +
			"* METADATA INBOX (/private/comment NIL /shared/x {4}\r\na\r\nb /shared/b ~{1}\r\n\x00)\r\n" +
			"* METADATA INBOX /shared/comment /private/comment\r\n"},
		{"id", false, func(w *Writer) error {
			w.ID(nil)
			return w.ID([]IDField{{Name: "name", Value: "Roost"}, {Name: "os", Nil: true}})
		}, "* ID NIL\r\n* ID (\"name\" \"Roost\" \"os\" NIL)\r\n"},
		{"raw", false, func(w *Writer) error { return w.WriteLine([]byte("* OK [X] y")) }, "* OK [X] y\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := written(t, tc.utf8, tc.f); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestStringEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		utf8 bool
		a    string // AppendAString
		s    string // AppendString
	}{
		{"foo", false, "foo", `"foo"`},
		{"", false, `""`, `""`},
		{"a b", false, `"a b"`, `"a b"`},
		{`a"b\c`, false, `"a\"b\\c"`, `"a\"b\\c"`},
		{"a]b", false, "a]b", `"a]b"`},
		{"a*", false, `"a*"`, `"a*"`},
		{"a\r\nb", false, "{4}\r\na\r\nb", "{4}\r\na\r\nb"},
		{"café", false, "{5}\r\ncafé", "{5}\r\ncafé"},
		{"café", true, `"café"`, `"café"`},
		{"caf\xff", true, "{4}\r\ncaf\xff", "{4}\r\ncaf\xff"},
		{strings.Repeat("x", 1001), false, strings.Repeat("x", 1001), "{1001}\r\n" + strings.Repeat("x", 1001)},
	}
	for _, tc := range tests {
		if got := string(AppendAString(nil, tc.in, tc.utf8)); got != tc.a {
			t.Errorf("AppendAString(%q) = %q, want %q", tc.in, got, tc.a)
		}
		if got := string(AppendString(nil, tc.in, tc.utf8)); got != tc.s {
			t.Errorf("AppendString(%q) = %q, want %q", tc.in, got, tc.s)
		}
	}
	if got := string(AppendNString(nil, "", true, false)); got != "NIL" {
		t.Errorf("nil nstring %q", got)
	}
	if got := string(AppendNString(nil, "NIL", false, false)); got != `"NIL"` {
		t.Errorf("nstring %q", got)
	}
	if got := string(AppendMailbox(nil, "Entwürfe", false)); got != "Entw&APw-rfe" {
		t.Errorf("mailbox %q", got)
	}
}

func TestFetchWriter(t *testing.T) {
	t.Parallel()
	env := &Envelope{
		Date:    "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
		Subject: "IMAP4rev2 WG mtg summary and minutes",
		From:    []Address{{"Terry Gray", "gray", "cac.washington.edu"}},
		Sender:  []Address{{"Terry Gray", "gray", "cac.washington.edu"}},
		ReplyTo: []Address{{"Terry Gray", "gray", "cac.washington.edu"}},
		To:      []Address{{"", "imap", "cac.washington.edu"}},
		Cc: []Address{{"", "minutes", "CNRI.Reston.VA.US"},
			{"John Klensin", "KLENSIN", "MIT.EDU"}},
		MessageID: "<B27397-0100000@cac.washington.edu>",
	}
	// RFC 9051 §7.5.2 examples.
	wantEnv := `ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ` +
		`((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ` +
		`"<B27397-0100000@cac.washington.edu>")`
	text := &BodyStructure{Type: "TEXT", Subtype: "PLAIN", Params: []Param{{"CHARSET", "US-ASCII"}}, Encoding: "7BIT", Size: 3028, Lines: 92}
	mixed := &BodyStructure{Type: "MULTIPART", Subtype: "MIXED", Params: []Param{{"BOUNDARY", "x"}}, Parts: []*BodyStructure{
		{Type: "TEXT", Subtype: "PLAIN", Params: []Param{{"CHARSET", "US-ASCII"}}, Encoding: "7BIT", Size: 1152, Lines: 23},
		{Type: "TEXT", Subtype: "PLAIN", Params: []Param{{"CHARSET", "US-ASCII"}, {"NAME", "cc.diff"}},
			ID: "<960723163407.20117h@cac.washington.edu>", Description: "Compiler diff", Encoding: "BASE64", Size: 4554, Lines: 73},
		{Type: "MESSAGE", Subtype: "RFC822", Size: 100, Envelope: &Envelope{Subject: "fwd"}, Body: &BodyStructure{Type: "IMAGE", Subtype: "PNG", Size: 50}, Lines: 5,
			Disposition: "attachment", DispositionParams: []Param{{"filename", "x.eml"}}, Language: []string{"en", "de"}},
	}}
	date := time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	got := written(t, false, func(w *Writer) error {
		f := w.Fetch(12)
		f.UID(4827313).Flags(`\Seen`).InternalDate(date).RFC822Size(4286).ModSeq(12121231000)
		f.Envelope(env).Body(text)
		f.Section("BODY[HEADER]", []byte("Subject: x\r\n\r\n")).Section("BODY[1]", nil).Section("BINARY[2]", []byte("a\x00"))
		if err := f.Literal("BODY[]", 5, strings.NewReader("hello"), false); err != nil {
			return err
		}
		if err := f.Literal("BINARY[1]", 2, strings.NewReader("\x00\x01"), true); err != nil {
			return err
		}
		f.BinarySize("BINARY.SIZE[1]", 2).Raw("EMAILID", "(M1)")
		if err := f.Close(); err != nil {
			return err
		}
		f = w.Fetch(1)
		f.BodyStructure(mixed).Body(mixed)
		return f.Close()
	})
	want := "* 12 FETCH (UID 4827313 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 MODSEQ (12121231000) " +
		wantEnv + ` BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)` +
		" BODY[HEADER] {14}\r\nSubject: x\r\n\r\n BODY[1] NIL BINARY[2] ~{2}\r\na\x00 BODY[] {5}\r\nhello BINARY[1] ~{2}\r\n\x00\x01" +
		" BINARY.SIZE[1] 2 EMAILID (M1))\r\n" +
		`* 1 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)` +
		`("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 NIL NIL NIL NIL)` +
		`("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 100 (NIL "fwd" NIL NIL NIL NIL NIL NIL NIL NIL) ("IMAGE" "PNG" NIL NIL NIL "7BIT" 50 NIL NIL NIL NIL) 5 NIL ("attachment" ("filename" "x.eml")) ("en" "de") NIL)` +
		` "MIXED" ("BOUNDARY" "x") NIL NIL NIL)` +
		` BODY (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)` +
		`("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73)` +
		`("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 100 (NIL "fwd" NIL NIL NIL NIL NIL NIL NIL NIL) ("IMAGE" "PNG" NIL NIL NIL "7BIT" 50) 5)` +
		` "MIXED"))` + "\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}

	// A body shorter than announced breaks the response.
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Fetch(1).Literal("BODY[]", 10, strings.NewReader("short"), false); err == nil {
		t.Error("short body accepted")
	}
	if w.Flush() == nil {
		t.Error("Writer error not sticky")
	}
}

func BenchmarkFetchResponse(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	body := strings.Repeat("x", 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		f := w.Fetch(1)
		f.UID(42).Flags(`\Seen`, `\Answered`).RFC822Size(4096)
		f.Literal("BODY[]", int64(len(body)), strings.NewReader(body), false)
		f.Close()
		w.Flush()
	}
}

func TestWriterDetach(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Untagged("OK", "", "one")
	bw, err := w.Detach()
	if err != nil || out.String() != "* OK one\r\n" {
		t.Fatalf("detach flushed %q, %v", out.String(), err)
	}
	w.Attach(bw)
	w.Untagged("OK", "", "two")
	if err := w.Flush(); err != nil || out.String() != "* OK one\r\n* OK two\r\n" {
		t.Fatalf("after attach %q, %v", out.String(), err)
	}
	w.Detach()
	w.Untagged("OK", "", "lost")
	if w.Err() == nil {
		t.Fatal("a write to a detached Writer did not fail")
	}
}
