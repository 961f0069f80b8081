package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
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
