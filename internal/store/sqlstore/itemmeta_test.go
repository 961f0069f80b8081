package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// Summaries are stored with small messages when they arrive, computed and
// stored on first use for content that predates them: after that one
// call, reading a range's summaries is a fixed number of statements.
func TestMessageMetasStoredLazily(t *testing.T) {
	dir := t.TempDir()
	db := openSQLite(t, dir, newBlobs(t, dir))
	sys := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(sys, "acme", store.User{Login: "alice", Active: true}); err != nil {
		t.Fatal(err)
	}
	st, err := db.UserStore(sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.ListFolders(sys, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	var inbox, cal *store.Folder
	for _, f := range fs {
		switch {
		case f.Special == store.SpecialInbox:
			inbox = f
		case f.Type == store.FolderCalendar && cal == nil:
			cal = f
		}
	}
	const n = 30
	var uids []uint32
	for i := range n {
		it, err := db.AppendItem(sys, inbox.ID, store.NewItem{Content: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, it.UID)
	}
	// A large message, split by MIME part, is summarized at delivery too.
	big := "Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n" +
		strings.Repeat("0123456789abcdef", 10<<10) + "\r\n--b--\r\n"
	if _, err := db.AppendItem(sys, inbox.ID, store.NewItem{Content: strings.NewReader(big)}); err != nil {
		t.Fatal(err)
	}
	if cal != nil {
		// Not mail: no summary.
		if _, err := db.AppendItem(sys, cal.ID, store.NewItem{Content: strings.NewReader("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), Name: "a.ics"}); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := db.ForgetSummaries(sys)
	if err != nil || stored != n+1 {
		t.Fatalf("%d summaries stored at delivery (%v), want %d", stored, err, n+1)
	}
	cost := func() uint64 {
		before := db.Statements()
		ms, err := db.MessageMetas(sys, inbox.ID, uids)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != n || ms[n-1].Summary == nil || !strings.Contains(string(ms[n-1].Summary.EnvelopeText(false)), fmt.Sprintf(`"%d"`, n-1)) {
			t.Fatalf("%d summaries, last %+v", len(ms), ms[n-1].Summary)
		}
		return db.Statements() - before
	}
	first, second, third := cost(), cost(), cost()
	if first <= second || second != third || second > 4 {
		t.Fatalf("statements: %d computing, then %d and %d reading", first, second, third)
	}
	if stored, _ := db.ForgetSummaries(sys); stored != n {
		t.Fatalf("%d summaries stored on first use, want %d", stored, n)
	}
}

// BenchmarkAppendMail appends distinct 10 KB mail messages (a usual
// header, a text part and a small attachment) from 8 writers: with
// BenchmarkAppend10KB8Writers's random bytes the whole message reads as
// one header, which no mail has. Its CPU includes summarizing each
// message at delivery.
func BenchmarkAppendMail(b *testing.B) {
	db := sqliteBench(b)
	env := benchSetup(b, db)
	var hdr strings.Builder
	for i := range 6 {
		fmt.Fprintf(&hdr, "Received: from relay%d.example.test (relay%d.example.test [192.0.2.%d])\r\n\tby mx.example.test with ESMTPS id abc%d\r\n\tfor <alice@example.test>; Mon, 2 Jan 2006 15:04:05 -0700\r\n", i, i, i, i)
	}
	hdr.WriteString("From: \"Sender Name\" <sender@example.test>\r\nTo: Alice <alice@example.test>, bob@example.test\r\nCc: team@example.test\r\n" +
		"Subject: =?UTF-8?Q?Quarterly_report_=E2=80=93_draft?=\r\nDate: Mon, 2 Jan 2006 15:04:05 -0700\r\nMIME-Version: 1.0\r\n" +
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=from:to:subject:date; bh=" + strings.Repeat("A", 44) + "; b=" + strings.Repeat("B", 340) + "\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n")
	body := "\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat("Some text of the message, line by line.\r\n", 100) +
		"--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n\r\n" +
		strings.Repeat(strings.Repeat("QUJD", 19)+"\r\n", 50) + "--b1--\r\n"
	var n atomic.Int64
	b.SetParallelism((8 + testingProcs() - 1) / testingProcs())
	b.SetBytes(int64(hdr.Len() + 40 + len(body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			msg := fmt.Sprintf("Message-ID: <%020d@bench>\r\n", n.Add(1)) + hdr.String() + body
			if _, err := db.AppendItem(env.alice, env.inbox, store.NewItem{Content: strings.NewReader(msg)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
