//go:build unix

package imapserver_test

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/roost-mail/roost/internal/testenv"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Differential tests against Dovecot (Debian package dovecot-imapd): the
// same command scripts run against Roost and against a private Dovecot
// started for the test, and the responses are compared after the parts
// that may legitimately differ are normalised (normalise and normCtx
// say which and why). Where Dovecot departs from the RFCs, or the RFC
// leaves the answer to the server and the two choose differently, the
// command is listed in dovecotDeviations with the section concerned;
// every other difference fails the test.

// startDovecot starts a Dovecot of its own on 127.0.0.1 with one user,
// alice, and IMAP METADATA on (testenv.StartDovecot), and returns its
// address.
func startDovecot(t *testing.T) string {
	t.Helper()
	return testenv.StartDovecot(t, testenv.DovecotOptions{
		Users: map[string]string{"alice": password("alice")},
		Extra: "mail_attribute_dict = file:%h/Maildir/dovecot-attributes\nprotocol imap {\n  imap_metadata = yes\n}\n",
	}).Addr
}

// dialLogin connects to addr and logs in as alice, reading past whatever
// the greeting holds.
func dialLogin(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	if g := c.line(); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q", g)
	}
	c.ok("LOGIN alice %s", password("alice"))
	return c
}

// Messages appended by the scripts, with fixed dates.
var diffMessages = []string{
	"From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nCc: carol@example.test\r\n" +
		"Subject: Hello world\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <m1@diff.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
		"Hello Bob,\r\nthis is the first message.\r\n-- \r\nAlice\r\n",
	"From: Bob <bob@example.test>\r\nTo: Alice Example <alice@example.test>\r\n" +
		"Subject: Re: Hello world\r\nDate: Tue, 02 Jan 2024 09:30:00 +0100\r\nMessage-ID: <m2@diff.test>\r\n" +
		"In-Reply-To: <m1@diff.test>\r\nReferences: <m1@diff.test>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
		"preamble\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Hi Alice, caf=C3=A9 at noon?\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<p>Hi Alice, caf\xc3\xa9 at noon?</p>\r\n--alt--\r\n",
	"From: Carol <carol@example.test>\r\nTo: alice@example.test, bob@example.test\r\n" +
		"Subject: Report with attachment\r\nDate: Wed, 03 Jan 2024 08:00:00 -0500\r\nMessage-ID: <m3@diff.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n" +
		"--mix\r\nContent-Type: text/plain\r\n\r\nSee the attached report.\r\n" +
		"--mix\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n" +
		"Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n--mix--\r\n",
	"From: Dave <dave@example.test>\r\nTo: alice@example.test\r\n" +
		"Subject: Fwd: Hello world\r\nDate: Thu, 04 Jan 2024 12:00:00 +0000\r\nMessage-ID: <m4@diff.test>\r\n" +
		"References: <m1@diff.test> <m2@diff.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n" +
		"--fwd\r\nContent-Type: text/plain\r\n\r\nForwarding this.\r\n" +
		"--fwd\r\nContent-Type: message/rfc822\r\n\r\n" +
		"From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: Hello world\r\n" +
		"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <m1@diff.test>\r\n\r\nThe original.\r\n--fwd--\r\n",
	"From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.test>\r\nTo: alice@example.test\r\n" +
		"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\nDate: Fri, 05 Jan 2024 18:45:00 +0100\r\nMessage-ID: <m5@diff.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe, viele Gr\xc3\xbc\xc3\x9fe.\r\n",
	"From: list@lists.example.test\r\nTo: golang@lists.example.test\r\n" +
		"Subject: [go] Re: Re: weekly digest\r\nDate: Sat, 06 Jan 2024 07:00:00 +0000\r\nMessage-ID: <m6@diff.test>\r\n\r\n" +
		strings.Repeat("A long line of the weekly digest body, for LARGER and partial fetches.\r\n", 40),
}

// diffScript is the command script run against both servers. "$MSG1"
// and so on stand for an APPEND of that message; "$HMS" for the
// HIGHESTMODSEQ of the last SELECT or EXAMINE on that server.
var diffScript = []string{
	"NOOP",
	"CREATE Diff",
	"CREATE Diff/Sub",
	"CREATE Diff/Other",
	"CREATE Diff",
	// Roost subscribes the mailboxes it creates (so that folders made in
	// any protocol reach LSUB clients); RFC 9051 §6.3.7 leaves
	// subscriptions to the client, so the script sets them explicitly.
	"UNSUBSCRIBE Diff/Other",
	"UNSUBSCRIBE Diff/Sub",
	"UNSUBSCRIBE Diff",
	`LIST "" "Diff*"`,
	`LIST "" "Diff/%"`,
	`LIST "" "Diff/Nope*"`,
	"SUBSCRIBE Diff",
	"SUBSCRIBE Diff/Sub",
	`LSUB "" "Diff*"`,
	`LIST (SUBSCRIBED) "" "Diff*"`,
	`LIST "" "Diff" RETURN (CHILDREN)`,
	"UNSUBSCRIBE Diff/Sub",
	`LSUB "" "Diff*"`,
	// Subscriptions are to names (RFC 9051 §6.3.7, RFC 5258 §3.1).
	"CREATE Diff/Gone",
	"SUBSCRIBE Diff/Gone",
	"DELETE Diff/Gone",
	"SUBSCRIBE Diff/Never",
	"UNSUBSCRIBE Diff/Never",
	`LIST (SUBSCRIBED) "" "Diff/*"`,
	`LSUB "" "Diff/*"`,
	"CREATE Diff/Gone",
	`LIST (SUBSCRIBED) "" "Diff/G*"`,
	"CREATE Diff/Ren",
	"CREATE Diff/Ren/Kid",
	"SUBSCRIBE Diff/Ren",
	"SUBSCRIBE Diff/Ren/Kid",
	"RENAME Diff/Ren Diff/Ren2",
	`LIST (SUBSCRIBED) "" "Diff/Ren*"`,
	`LIST "" "Diff/Ren*" RETURN (SUBSCRIBED)`,
	"UNSUBSCRIBE Diff/Gone",
	"UNSUBSCRIBE Diff/Ren",
	"UNSUBSCRIBE Diff/Ren/Kid",
	"DELETE Diff/Gone",
	"DELETE Diff/Ren2/Kid",
	"DELETE Diff/Ren2",
	`LSUB "" "Diff/%"`,
	"STATUS Diff (MESSAGES UIDNEXT UNSEEN)",
	`APPEND Diff (\Seen) "01-Feb-2024 12:00:00 +0000" $MSG1`,
	`APPEND Diff () "02-Feb-2024 12:00:00 +0100" $MSG2`,
	`APPEND Diff (\Flagged $Work) "03-Feb-2024 08:00:00 -0500" $MSG3`,
	`APPEND Diff (\Answered \Seen) "04-Feb-2024 12:00:00 +0000" $MSG4`,
	`APPEND Diff (\Draft) "05-Feb-2024 18:45:00 +0100" $MSG5`,
	`APPEND Diff () "06-Feb-2024 07:00:00 +0000" $MSG6`,
	"APPEND Nope () $MSG1",
	`APPEND Diff/Other (\Seen) $MSG2 (\Flagged) "07-Feb-2024 10:00:00 +0000" $MSG3`,
	`LIST "" "Diff/%" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))`,
	`LIST "" "Diff/O*" RETURN (CHILDREN STATUS (SIZE))`,
	"STATUS Diff/Other (MESSAGES SIZE UIDNEXT)",
	"STATUS Diff (MESSAGES UIDNEXT UNSEEN SIZE)",
	"SELECT Diff",
	"FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)",
	"FETCH 1:* ENVELOPE",
	"FETCH 1:* BODYSTRUCTURE",
	"FETCH 1:* BODY",
	"FETCH 1:3 FAST",
	"FETCH 4 ALL",
	"FETCH 5 FULL",
	"FETCH 1 BODY.PEEK[]",
	"FETCH 2 BODY.PEEK[1]",
	"FETCH 2 BODY.PEEK[2]",
	"FETCH 2 BODY.PEEK[1.MIME]",
	"FETCH 3 BODY.PEEK[2.MIME]",
	"FETCH 4 BODY.PEEK[2]",
	"FETCH 4 BODY.PEEK[2.HEADER]",
	"FETCH 4 BODY.PEEK[2.TEXT]",
	"FETCH 4 BODY.PEEK[2.1]",
	"FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject From)]",
	"FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Subject From Cc)]",
	"FETCH 1 BODY.PEEK[TEXT]<0.10>",
	"FETCH 1 BODY.PEEK[]<5.20>",
	"FETCH 6 BODY.PEEK[TEXT]<100.50>",
	"FETCH 1 BODY.PEEK[TEXT]<10000.5>",
	"FETCH 3 BINARY.PEEK[2]",
	"FETCH 3 BINARY.SIZE[2]",
	"FETCH 2 BINARY.PEEK[1]",
	"FETCH 2 BINARY.SIZE[1]",
	"FETCH 5 BINARY.PEEK[1]<0.6>",
	"FETCH 1 RFC822.HEADER",
	"FETCH 6 (FLAGS RFC822.TEXT)",
	"FETCH 6 FLAGS",
	"FETCH 1 BODY[HEADER.FIELDS (Message-ID)]",
	"FETCH 2 FLAGS",
	"FETCH 7 FLAGS",
	"FETCH 1 NOSUCHITEM",
	"UID FETCH 2:4 (FLAGS)",
	"UID FETCH 100:* (UID)",
	"UID FETCH 1:* (UID) (CHANGEDSINCE 1)",
	"SEARCH ALL",
	"SEARCH SEEN",
	"SEARCH UNSEEN",
	"SEARCH FLAGGED",
	"SEARCH UNFLAGGED",
	"SEARCH ANSWERED",
	"SEARCH UNANSWERED",
	"SEARCH DRAFT",
	"SEARCH UNDRAFT",
	"SEARCH DELETED",
	"SEARCH UNDELETED",
	"SEARCH KEYWORD $Work",
	"SEARCH UNKEYWORD $Work",
	`SEARCH SUBJECT "hello world"`,
	"SEARCH SUBJECT report",
	"SEARCH FROM bob",
	"SEARCH FROM example.test",
	"SEARCH TO alice",
	"SEARCH CC carol",
	"SEARCH BCC nobody",
	"SEARCH BODY attached",
	"SEARCH TEXT Forwarding",
	"SEARCH TEXT Hello",
	"SEARCH HEADER Message-ID m3@diff.test",
	"SEARCH HEADER In-Reply-To m1",
	"SEARCH HEADER X-Nothing \"\"",
	"SEARCH LARGER 1000",
	"SEARCH SMALLER 500",
	"SEARCH BEFORE 03-Feb-2024",
	"SEARCH SINCE 04-Feb-2024",
	"SEARCH ON 02-Feb-2024",
	"SEARCH SENTBEFORE 03-Jan-2024",
	"SEARCH SENTSINCE 05-Jan-2024",
	"SEARCH SENTON 04-Jan-2024",
	"SEARCH NOT SEEN",
	"SEARCH OR FLAGGED ANSWERED",
	"SEARCH OR (FROM bob) (FROM carol) NOT DRAFT",
	"SEARCH 2:4 SEEN",
	"SEARCH UID 3:5",
	"SEARCH 1,3,5:*",
	"SEARCH CHARSET UTF-8 SUBJECT Grüße",
	"SEARCH CHARSET UTF-8 BODY Schöne",
	"SEARCH CHARSET UTF-8 BODY café",
	// PREVIEW (RFC 8970) and SAVEDATE (RFC 8514).
	"FETCH 1 (PREVIEW)",
	"FETCH 2 (PREVIEW)",
	"FETCH 3 (PREVIEW (LAZY))",
	"FETCH 5 (PREVIEW)",
	"SEARCH SAVEDATESUPPORTED",
	"SEARCH SAVEDSINCE 1-Jan-2020",
	"SEARCH SAVEDBEFORE 1-Jan-2020",
	"SEARCH OR SAVEDON 1-Jan-2020 SEEN",
	// CATENATE (RFC 4469).
	`APPEND Diff/Other CATENATE (URL "/Diff/;UID=1/;SECTION=HEADER" TEXT {13+}` + "\r\n\r\nNew body.\r\n" + ` URL "/Diff/;UID=2/;SECTION=1")`,
	`STATUS Diff/Other (MESSAGES)`,
	`APPEND Diff/Other CATENATE (URL "/Diff/;UID=99")`,
	`APPEND Diff/Other CATENATE (URL "/Nope/;UID=1")`,
	`STATUS Diff/Other (MESSAGES)`,
	"SEARCH CHARSET NOPE-8 BODY x",
	"SEARCH NOSUCHKEY",
	"SEARCH RETURN (MIN MAX COUNT) ALL",
	"SEARCH RETURN (ALL) SEEN",
	"SEARCH RETURN () FLAGGED",
	"SEARCH RETURN (COUNT) DELETED",
	"UID SEARCH ALL",
	"UID SEARCH RETURN (MIN MAX) NOT SEEN",
	"SEARCH RETURN (SAVE) FLAGGED",
	"FETCH $ (UID FLAGS)",
	"UID SEARCH UID $",
	"SEARCH RETURN (SAVE MIN) ALL",
	"FETCH $ UID",
	"SEARCH OR (SUBJECT hello) (BODY noon) NOT (FROM carol)",
	`SEARCH HEADER Subject ""`,
	"SEARCH UNSEEN SMALLER 300",
	"SEARCH {5+}\r\nhello",
	"SEARCH SUBJECT {5+}\r\nhello",
	"SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL",
	"SORT (DISPLAYFROM) UTF-8 ALL",
	"FETCH 2 (BODY.PEEK[1]<0.5> BODY.PEEK[2]<5.10> BINARY.PEEK[1]<2.4>)",
	"FETCH 3 (BODY.PEEK[3] BINARY.PEEK[3])",
	"FETCH 3 BODY.PEEK[2.1]",
	"FETCH 4 BODY.PEEK[2.1.MIME]",
	"FETCH 1:2 (RFC822.SIZE BINARY.SIZE[1])",
	"FETCH 1 BINARY.SIZE[TEXT]",
	"FETCH 4 (BODY.PEEK[2.HEADER.FIELDS (Subject)] BODY.PEEK[2.TEXT]<0.3>)",
	"SORT (SUBJECT) UTF-8 ALL",
	"SORT (REVERSE SUBJECT) UTF-8 ALL",
	"SORT (DATE) UTF-8 ALL",
	"SORT (REVERSE DATE) UTF-8 ALL",
	"SORT (ARRIVAL) UTF-8 ALL",
	"SORT (FROM) UTF-8 ALL",
	"SORT (TO) UTF-8 ALL",
	"SORT (CC) UTF-8 ALL",
	"SORT (SIZE) UTF-8 ALL",
	"SORT (REVERSE SIZE) UTF-8 SEEN",
	"UID SORT (SUBJECT DATE) UTF-8 ALL",
	"SORT (NOPE) UTF-8 ALL",
	"THREAD REFERENCES UTF-8 ALL",
	"THREAD ORDEREDSUBJECT UTF-8 ALL",
	"UID THREAD REFERENCES UTF-8 ALL",
	"THREAD NOPE UTF-8 ALL",
	`STORE 1 +FLAGS (\Flagged)`,
	`STORE 2 -FLAGS (\Seen)`,
	`STORE 2 +FLAGS.SILENT (\Seen $Later)`,
	"FETCH 2 FLAGS",
	`STORE 3:4 FLAGS ($Label1)`,
	`UID STORE 5 +FLAGS (\Seen)`,
	`STORE 1:* -FLAGS.SILENT ($Label1)`,
	"FETCH 1:* FLAGS",
	`STORE 1 +FLAGS (\Recent)`,
	`STORE 9 +FLAGS (\Seen)`,
	"COPY 1:2 Diff/Sub",
	"UID COPY 3 Diff/Sub",
	"COPY 1 Nope",
	"MOVE 6 Diff/Other",
	"FETCH 1:* (UID FLAGS)",
	"UID MOVE 4 Diff/Other",
	"STATUS Diff/Sub (MESSAGES UIDNEXT UNSEEN)",
	"STATUS Diff/Other (MESSAGES UIDNEXT)",
	`STORE 1 +FLAGS.SILENT (\Deleted)`,
	"EXPUNGE",
	"SEARCH ALL",
	`UID STORE 3 +FLAGS.SILENT (\Deleted)`,
	"UID EXPUNGE 3",
	"UID SEARCH ALL",
	"CHECK",
	"CLOSE",
	"FETCH 1 FLAGS",
	"EXAMINE Diff/Sub",
	"FETCH 1:* (UID FLAGS)",
	`UID STORE 1 +FLAGS (\Deleted)`,
	"UID EXPUNGE 1:*",
	"UNSELECT",
	"SELECT Diff/Other",
	"FETCH 1:* (UID FLAGS ENVELOPE)",
	"UNSELECT",
	"RENAME Diff/Other Diff/Renamed",
	`LIST "" "Diff*"`,
	"RENAME Diff/Nope Diff/X",
	"RENAME Diff/Renamed Diff/Sub",
	"DELETE Diff/Renamed",
	"DELETE Diff/Nope",
	`LIST "" "Diff*"`,
	"SELECT Nope",
	"EXAMINE Nope",
	"STATUS Nope (MESSAGES)",
	"NAMESPACE",
	"FOO BAR",
	"FETCH 1 FLAGS",
	"LOGIN alice x",
	"SELECT",
	"STATUS Diff (NOPE)",
	"CREATE \"\"",
	"ENABLE CONDSTORE",
	"SELECT Diff",
	`STORE 1 (UNCHANGEDSINCE $HMS) +FLAGS (\Answered)`,
	`STORE 2 (UNCHANGEDSINCE 1) +FLAGS (\Answered)`,
	"FETCH 1:* (FLAGS) (CHANGEDSINCE $HMS)",
	"SEARCH MODSEQ 1",
	"STATUS Diff (HIGHESTMODSEQ MESSAGES)",
	"UNSELECT",
	"ENABLE QRESYNC",
	"SELECT Diff (QRESYNC ($UIDV 1))",
	"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)",
	"FETCH 1:* (FLAGS) (CHANGEDSINCE $HMS)",
	`STORE 1 +FLAGS (\Flagged)`,
	"UID SEARCH RETURN (ALL) MODSEQ 1",
	"UNSELECT",
	"SELECT Diff (QRESYNC ($UIDV $HMS 1:10))",
	"EXAMINE Diff (QRESYNC (1 1))",
	"UNSELECT",
	// METADATA, RFC 5464.
	`SETMETADATA Diff (/private/comment "My comment")`,
	`SETMETADATA Diff (/shared/comment "Shared")`,
	"GETMETADATA Diff /private/comment",
	"GETMETADATA Diff (/shared/comment /private/comment)",
	"GETMETADATA Diff /private/nothing",
	`SETMETADATA Diff (/shared/vendor/roost/a "1" /shared/vendor/roost/b "22" /shared/vendor/roost/b/c "333")`,
	"GETMETADATA (DEPTH 1) Diff /shared/vendor/roost",
	"GETMETADATA (DEPTH infinity) Diff /shared/vendor",
	"GETMETADATA (MAXSIZE 1 DEPTH 1) Diff /shared/vendor/roost",
	"SETMETADATA Diff (/shared/vendor/roost/a NIL)",
	"GETMETADATA (DEPTH 1) Diff /shared/vendor/roost",
	`SETMETADATA Diff (/private/comment {5+}` + "\r\nline1)",
	"GETMETADATA Diff /PRIVATE/Comment",
	`SETMETADATA "" (/private/vendor/roost/x "y")`,
	`GETMETADATA "" /private/vendor/roost/x`,
	"GETMETADATA Nope /private/comment",
	`SETMETADATA Diff (/comment "bad")`,
	"GETMETADATA Diff /shared/vendor/",
	"DELETE Diff/Sub",
	"DELETE Diff",
	"LOGOUT",
}

// dovecotDeviations lists the commands whose answers differ between the
// two servers because Dovecot departs from the RFC (or the RFC leaves
// the choice to the server): the reason cites the section. Any other
// difference fails the test.
var dovecotDeviations = map[string]string{
	"FETCH 1:* (FLAGS UID)": "RFC 2180 §4.1.1: a message another session expunged keeps its number until the EXPUNGE can be sent; " +
		"its data is the server's last view: Roost has the flags it announced, Dovecot the \\Deleted set just before the expunge",
	"SEARCH 1:*": "RFC 2180 §4.1.2: whether SEARCH matches a message expunged by another session but not yet announced " +
		"is the server's choice; Roost leaves it out, Dovecot includes it",
	"FETCH 3 (BODY.PEEK[3] BINARY.PEEK[3])": "RFC 9051 §6.4.5 does not say what a part that does not exist returns; " +
		"Roost answers NIL, Dovecot an empty string",
	"FETCH 3 BODY.PEEK[2.1]": "RFC 9051 §6.4.5 gives a part 1 only to a message (2.1 of a leaf part does not exist): " +
		"Roost answers NIL, Dovecot returns part 2 itself",
	"FETCH 1 BINARY.SIZE[TEXT]": "RFC 3516 §6 section-binary holds part numbers only: Roost answers BAD, Dovecot accepts TEXT",
	`STORE 2 -FLAGS (\Seen)`:    "RFC 9051 §6.4.6: STORE without .SILENT SHOULD return the flags; Dovecot sends nothing when the flags did not change",
	`STORE 1 +FLAGS (\Recent)`:  "RFC 3501 §2.3.2: \\Recent cannot be altered by the client; Roost ignores it in STORE, Dovecot answers BAD",
	`UID STORE 1 +FLAGS (\Deleted)`: "RFC 9051 §6.3.3: no change is permitted in a mailbox opened by EXAMINE; " +
		"Roost answers NO [READ-ONLY], Dovecot OK without storing, so the client cannot tell it failed",
	"UID EXPUNGE 1:*": "RFC 9051 §6.3.3 (as above) and §6.4.3 (NO: can't expunge): Roost NO [READ-ONLY], Dovecot OK",
	"NAMESPACE": "RFC 2342 §5: the namespaces are the server's configuration; Roost has other users' and shared folders, " +
		"the test's Dovecot only the personal namespace",
	"SUBSCRIBE Diff/Never": "RFC 9051 §6.3.7: a server MAY accept a name that does not exist, or refuse it; " +
		"Roost keeps subscriptions to names (RFC 3501 §6.3.6), Dovecot refuses a missing mailbox",
	`LSUB "" "Diff/*"`: "RFC 5258 §3.1 and RFC 3501 §6.3.9: a subscribed name without a mailbox cannot be selected; " +
		"Roost flags it \\Noselect in LSUB (LIST's \\NonExistent implies \\Noselect), Dovecot sends no attribute",
	"FETCH 3 (PREVIEW (LAZY))": "RFC 8970 §3.2: with LAZY a server may answer NIL for a preview it has not made yet; " +
		"Dovecot does, Roost makes it at once",
	"NOTIFY SET (personal (FlagChange))": "RFC 5465 §5: with FlagChange the client MUST also give MessageNew and MessageExpunge; " +
		"Roost answers the client error BAD, Dovecot accepts it",
	"ENABLE CONDSTORE": "RFC 5161 §3.1 and RFC 7162 §3.1: CONDSTORE was already enabled by an earlier CHANGEDSINCE; " +
		"Roost lists only what this ENABLE turned on (nothing), Dovecot lists it again",
}

// expandCmd substitutes the script's placeholders for one server.
func expandCmd(line, hms, uidv string) string {
	for i := len(diffMessages); i >= 1; i-- {
		msg := diffMessages[i-1]
		line = strings.ReplaceAll(line, "$MSG"+strconv.Itoa(i), "{"+strconv.Itoa(len(msg))+"+}\r\n"+msg)
	}
	line = strings.ReplaceAll(line, "$UIDV", uidv)
	return strings.ReplaceAll(line, "$HMS", hms)
}

var (
	hmsRE  = regexp.MustCompile(`\[HIGHESTMODSEQ (\d+)\]`)
	uidvRE = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)
)

// diffRun runs one script line on a server and returns its normalised
// answer.
type diffSide struct {
	c         *client
	hms, uidv string
	raw       []string
	closed    bool
}

func (d *diffSide) run(line string) (untagged []string, tagged string) {
	lines, st := d.cmd(expandCmd(line, d.hms, d.uidv))
	d.raw = append(lines, st)
	up := strings.ToUpper(line)
	verb := strings.Fields(strings.TrimPrefix(up, "UID "))[0]
	cx := normCtx{
		dropChildren: (verb == "LIST" || verb == "LSUB") && !strings.Contains(up, "CHILDREN"),
		dropModSeq:   verb == "FETCH" && !strings.Contains(up, "MODSEQ") && !strings.Contains(up, "CHANGEDSINCE"),
		dropUID:      !strings.HasPrefix(up, "UID ") && verb != "FETCH" && verb != "SELECT" && verb != "EXAMINE",
		maskLines:    verb == "FETCH",
	}
	for _, l := range lines {
		if m := hmsRE.FindStringSubmatch(l); m != nil {
			d.hms = m[1]
		}
		if m := uidvRE.FindStringSubmatch(l); m != nil {
			d.uidv = m[1]
		}
		if n := normalise(l, cx); n != "" {
			untagged = append(untagged, n)
		}
	}
	slices.Sort(untagged)
	return untagged, normalise("a "+st, cx)
}

// cmd sends one command and reads its answer; a connection the server
// closes ends the answer with "CLOSED".
func (d *diffSide) cmd(line string) ([]string, string) {
	if d.closed {
		return nil, "CLOSED"
	}
	c := d.c
	c.n++
	tag := fmt.Sprintf("a%d", c.n)
	c.send(tag + " " + line + "\r\n")
	var lines []string
	for {
		l, err := c.readLine(10 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || isReset(err) {
				d.closed = true
				return lines, "CLOSED"
			}
			c.t.Fatalf("read: %v", err)
		}
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return lines, rest
		}
		lines = append(lines, l)
	}
}

// optionalLines match untagged responses that one server may send and
// the other not, which the RFCs allow; they are compared only when both
// sides have them.
var optionalLines = []*regexp.Regexp{
	// RFC 7162 §3.1.2.1: a server with persistent MODSEQs MUST send
	// HIGHESTMODSEQ on every SELECT and EXAMINE; Dovecot sends it only
	// once CONDSTORE is enabled. (Roost sends it always.)
	regexp.MustCompile(`^\* OK \[HIGHESTMODSEQ N\]$`),
	// Sending PERMANENTFLAGS again when a keyword is created is the
	// server's choice (RFC 9051 §7.1: it is sent with SELECT).
	regexp.MustCompile(`^\* OK \[PERMANENTFLAGS `),
	// OBJECTID (RFC 8474 §4): MAILBOXID with SELECT and EXAMINE; the
	// test's Dovecot 2.3 does not have OBJECTID.
	regexp.MustCompile(`^\* OK \[MAILBOXID \(`),
}

// compareTagged compares two normalised tagged lines. Response codes are
// optional (RFC 9051 §7.1): Dovecot sends none with BAD and often none
// with NO, so a code only one side sends is not compared.
func compareTagged(r, d string) bool {
	if r == d {
		return true
	}
	strip := func(s string) string {
		if i := strings.Index(s, " ["); i >= 0 {
			return s[:i]
		}
		return s
	}
	rs, ds := strip(r), strip(d)
	if rs != ds {
		return false
	}
	return rs == r || ds == d || strings.HasPrefix(rs, "a BAD")
}

// compareUntagged compares two sorted, normalised untagged responses.
func compareUntagged(r, d []string) bool {
	opt := func(l string) bool {
		return slices.ContainsFunc(optionalLines, func(re *regexp.Regexp) bool { return re.MatchString(l) })
	}
	only := func(a, b []string) []string {
		var out []string
		for _, l := range a {
			if !slices.Contains(b, l) {
				out = append(out, l)
			}
		}
		return out
	}
	for _, l := range append(only(r, d), only(d, r)...) {
		if !opt(l) {
			return false
		}
	}
	return len(slices.DeleteFunc(slices.Clone(r), opt)) == len(slices.DeleteFunc(slices.Clone(d), opt))
}

// diffTwoSessions is run with two sessions on each server ("B: " marks
// the second): what one session sees of the other's changes.
var diffTwoSessions = []string{
	"CREATE Two",
	`APPEND Two (\Seen) "01-Feb-2024 12:00:00 +0000" $MSG1`,
	`APPEND Two () "02-Feb-2024 12:00:00 +0000" $MSG2`,
	`APPEND Two () "03-Feb-2024 12:00:00 +0000" $MSG3`,
	"SELECT Two",
	"B: SELECT Two",
	`B: STORE 1 +FLAGS.SILENT (\Flagged)`,
	"NOOP",
	`B: STORE 2 +FLAGS.SILENT (\Deleted)`,
	"B: EXPUNGE",
	"FETCH 1:* (FLAGS UID)",
	"SEARCH 1:*",
	"NOOP",
	"FETCH 1:* (UID FLAGS)",
	`B: APPEND Two (\Answered) "04-Feb-2024 12:00:00 +0000" $MSG4`,
	"NOOP",
	"UID FETCH 1:* (FLAGS)",
	"B: UID EXPUNGE 1",
	"UID SEARCH ALL",
	"STORE 1 +FLAGS ($Both)",
	"B: NOOP",
	"B: FETCH 1:* (UID FLAGS)",
	"B: DELETE Two",
	"NOOP",
	"LOGOUT",
}

// diffContext is run with two sessions too: CONTEXT=SEARCH (RFC 5267),
// whose PARTIAL and UPDATE Dovecot 2.3 implements: what an updating
// search tells one session of the other's changes. The search is the
// tenth command of the first session (after LOGIN), hence "a10".
var diffContext = []string{
	"CREATE Ctx",
	`APPEND Ctx (\Seen) "01-Feb-2024 12:00:00 +0000" $MSG1`,
	`APPEND Ctx () "02-Feb-2024 12:00:00 +0000" $MSG2`,
	`APPEND Ctx () "03-Feb-2024 12:00:00 +0000" $MSG3`,
	`APPEND Ctx () "04-Feb-2024 12:00:00 +0000" $MSG4`,
	"SELECT Ctx",
	"UID SEARCH RETURN (PARTIAL 1:2) ALL",
	"SEARCH RETURN (COUNT PARTIAL 2:3) UNSEEN",
	"UID SEARCH RETURN (UPDATE) UNSEEN",
	"B: SELECT Ctx",
	`B: UID STORE 2 +FLAGS.SILENT (\Seen)`,
	"NOOP",
	`B: APPEND Ctx () "05-Feb-2024 12:00:00 +0000" $MSG5`,
	"NOOP",
	`B: UID STORE 3 +FLAGS.SILENT (\Deleted)`,
	"B: EXPUNGE",
	"NOOP",
	`B: UID STORE 2 -FLAGS.SILENT (\Seen)`,
	"NOOP",
	`CANCELUPDATE "a10"`,
	`B: UID STORE 4 +FLAGS.SILENT (\Seen)`,
	"NOOP",
	`CANCELUPDATE "a10"`,
	"UNSELECT",
	"B: UNSELECT",
	"DELETE Ctx",
	// NOTIFY (RFC 5465): the answers to the command itself.
	"CREATE Watched",
	`APPEND Watched () "01-Feb-2024 12:00:00 +0000" $MSG1`,
	"NOTIFY SET (selected (MessageNew))",
	"NOTIFY SET (personal (FlagChange))",
	"NOTIFY SET (mailboxes Watched (MessageNew MessageExpunge))",
	`B: APPEND Watched () "02-Feb-2024 12:00:00 +0000" $MSG2`,
	"NOOP",
	"B: SELECT Watched",
	`B: STORE 1 +FLAGS.SILENT (\Deleted)`,
	"B: EXPUNGE",
	"NOOP",
	"B: UNSELECT",
	"NOTIFY NONE",
	`B: APPEND Watched () "03-Feb-2024 12:00:00 +0000" $MSG3`,
	"NOOP",
	"DELETE Watched",
	"LOGOUT",
}

func TestDovecotDifferential(t *testing.T) {
	t.Parallel()
	dovecot := startDovecot(t)
	e := newEnv(t)
	verbose := os.Getenv("ROOST_DIFF_LOG") != ""
	failed, total := 0, 0
	for _, script := range [][]string{diffScript, diffTwoSessions, diffContext} {
		// Each script starts with new sessions (the first ends with LOGOUT).
		roost := []*diffSide{{c: e.login("alice")}, {c: e.login("alice")}}
		dv := []*diffSide{{c: dialLogin(t, dovecot)}, {c: dialLogin(t, dovecot)}}
		for _, line := range script {
			total++
			side, cmd := 0, line
			if rest, ok := strings.CutPrefix(line, "B: "); ok {
				side, cmd = 1, rest
			}
			ru, rt := roost[side].run(cmd)
			du, dt := dv[side].run(cmd)
			r, d := strings.Join(append(ru, rt), "\n"), strings.Join(append(du, dt), "\n")
			if verbose {
				t.Logf("C: %s\nroost:\n%s\ndovecot:\n%s", line, r, d)
			}
			if compareTagged(rt, dt) && compareUntagged(ru, du) {
				continue
			}
			if why, ok := dovecotDeviations[line]; ok {
				t.Logf("%s: differs as allowed (%s)", line, why)
				continue
			}
			failed++
			t.Errorf("C: %s\n--- roost (raw)\n%s\n--- dovecot (raw)\n%s\n--- roost (normalised)\n%s\n--- dovecot (normalised)\n%s",
				line, strings.Join(roost[side].raw, "\n"), strings.Join(dv[side].raw, "\n"), r, d)
		}
	}
	if failed > 0 {
		t.Logf("%d of %d commands differ", failed, total)
	}
}
