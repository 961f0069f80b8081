package backup_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// folderItems returns the subjects → (flags, date) of a folder's items.
type gotItem struct {
	flags []string
	date  time.Time
	body  string
}

func folderItems(t *testing.T, ctx context.Context, b store.Backend, folderID int64) map[string]gotItem {
	t.Helper()
	its, err := b.ListItems(ctx, folderID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]gotItem{}
	for _, it := range its {
		rc, err := b.OpenItem(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		subj := ""
		for _, l := range strings.Split(string(data), "\r\n") {
			if s, ok := strings.CutPrefix(l, "Subject: "); ok {
				subj = s
				break
			}
		}
		fl := slices.Clone(it.Flags)
		slices.Sort(fl)
		if _, dup := out[subj]; dup {
			t.Fatalf("%q imported twice", subj)
		}
		out[subj] = gotItem{flags: fl, date: it.InternalDate, body: string(data)}
	}
	return out
}

func TestImportMboxBrokenFromLines(t *testing.T) {
	s := install(t, "")
	dir := t.TempDir()
	mbox := "garbage before the first message\n" +
		"\n" +
		"From alice@example.org Mon Mar  2 10:00:00 2026\n" +
		"From: a@example.org\nSubject: one\nStatus: RO\nX-Status: A\n\nHello\n>From the start, quoted.\n\n" +
		"From broken-line-without-date\n" +
		"From: b@example.org\nSubject: two\nDate: Tue, 3 Mar 2026 11:00:00 +0000\n\nSecond\n\n" +
		"From nobody Wed Mar  4 12:00:00 2026\n" +
		"\n" +
		"From x@example.org Thu Mar  5 13:00:00 2026\n" +
		"this is not a header\n\n" +
		"From y@example.org Fri Mar  6 14:00:00 2026\n" +
		"From: c@example.org\nSubject: three\n\nfirst line\nFrom inside a body line, not after a blank line\nend\n"
	path := filepath.Join(dir, "old.mbox")
	if err := os.WriteFile(path, []byte(mbox), 0o600); err != nil {
		t.Fatal(err)
	}
	var reports int
	sum, err := backup.ImportMail(context.Background(), s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: "alice", Format: "mbox", Path: path, Folder: "Old/Mail"},
		Progress: func(backup.Progress) { reports++ }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 3 || sum.Present != 0 || len(sum.Problems) != 3 {
		t.Fatalf("summary %+v", sum)
	}
	for i, want := range []string{"line 19: From_ line \"From nobody", "line 21: not a message", "1 lines before the first From_ line"} {
		if !strings.Contains(sum.Problems[i], want) {
			t.Errorf("problem %d = %q, want %q", i, sum.Problems[i], want)
		}
	}
	if reports == 0 {
		t.Error("no progress reported")
	}
	ctx := testenv.As(t, s, "alice")
	f := testenv.Folder(t, ctx, s, "alice", "Mail")
	got := folderItems(t, ctx, s, f.ID)
	want := map[string]struct {
		flags []string
		date  time.Time
	}{
		"one":   {[]string{`\Answered`, `\Seen`}, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		"two":   {nil, time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC)},
		"three": {nil, time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("imported %d messages, want %d", len(got), len(want))
	}
	for subj, w := range want {
		g, ok := got[subj]
		if !ok {
			t.Fatalf("%q missing", subj)
		}
		if !slices.Equal(g.flags, w.flags) || !g.date.Equal(w.date) {
			t.Errorf("%q: flags %v date %v, want %v %v", subj, g.flags, g.date, w.flags, w.date)
		}
	}
	if !strings.Contains(got["one"].body, "\r\nFrom the start, quoted.\r\n") {
		t.Errorf("the >From line was not unquoted:\n%s", got["one"].body)
	}
	if !strings.Contains(got["three"].body, "\r\nFrom inside a body line") {
		t.Errorf("a From line inside a body split the message:\n%s", got["three"].body)
	}
	// Again: nothing twice.
	sum, err = backup.ImportMail(context.Background(), s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: "alice", Format: "mbox", Path: path, Folder: "Old/Mail"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 0 || sum.Present != 3 {
		t.Fatalf("second import: %+v", sum)
	}
	if n := len(folderItems(t, ctx, s, f.ID)); n != 3 {
		t.Fatalf("%d messages after a second import", n)
	}
}

func TestImportMaildirOddNames(t *testing.T) {
	s := install(t, "")
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	write := func(rel, content string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(md, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	m := func(subj string) string {
		return "From: a@example.org\nSubject: " + subj + "\n\nbody of " + subj + "\n"
	}
	d := func(day int) time.Time { return time.Date(2026, 4, day, 8, 30, 0, 0, time.UTC) }
	write("cur/1700000000.M1P1.host:2,SR", m("seen-answered"), d(1))
	write("cur/1700000001.M2P1.host:2,Fab", m("flagged-keywords"), d(2))
	write("new/1700000002.M3P1.host", m("new"), d(3))
	write("cur/1700000003.M4P1.host:1,weird", m("odd-info"), d(4))
	write("cur/1700000004.M5P1.host:2,SZ", m("unknown-letter"), d(5))
	write("cur/odd name with spaces & ümlauts", m("odd-name"), d(6))
	write("cur/.hidden", m("hidden"), d(7))
	write("cur/empty:2,S", "", d(8))
	write("dovecot-keywords", "0 $Label1\n1 project-x\n", d(1))
	write(".Archive.2025/cur/1600000000.M1P1.host:2,S", m("archived"), d(9))
	write(".Archive.2025/new/1600000001.M2P1.host", m("archived-new"), d(10))
	write(".Broken..Name/cur/x:2,S", m("bad-folder"), d(11))
	if err := os.MkdirAll(filepath.Join(md, "cur", "a-directory"), 0o700); err != nil {
		t.Fatal(err)
	}

	sum, err := backup.ImportMail(context.Background(), s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: "alice", Format: "maildir", Path: md}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 8 {
		t.Errorf("imported %d, want 8: %+v", sum.Imported, sum)
	}
	for _, want := range []string{".Broken..Name: not a Maildir++ folder name", "a-directory: not a regular file",
		`:1,weird: unknown info "1,weird"`, ":2,SZ: unknown flag letters Z", "empty:2,S: not a message"} {
		found := false
		for _, p := range sum.Problems {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("no problem %q in %q", want, sum.Problems)
		}
	}
	if len(sum.Problems) != 5 {
		t.Errorf("problems %q", sum.Problems)
	}
	ctx := testenv.As(t, s, "alice")
	inbox := folderItems(t, ctx, s, testenv.Folder(t, ctx, s, "alice", store.SpecialInbox).ID)
	want := map[string]struct {
		flags []string
		day   int
	}{
		"seen-answered":    {[]string{`\Answered`, `\Seen`}, 1},
		"flagged-keywords": {[]string{"$Label1", `\Flagged`, "project-x"}, 2},
		"new":              {nil, 3},
		"odd-info":         {nil, 4},
		"unknown-letter":   {[]string{`\Seen`}, 5},
		"odd-name":         {nil, 6},
	}
	if len(inbox) != len(want) {
		t.Fatalf("inbox has %d messages, want %d", len(inbox), len(want))
	}
	for subj, w := range want {
		g := inbox[subj]
		if !slices.Equal(g.flags, w.flags) || !g.date.Equal(d(w.day)) {
			t.Errorf("%q: flags %v date %v, want %v %v", subj, g.flags, g.date, w.flags, d(w.day))
		}
		if !strings.Contains(g.body, "\r\n\r\nbody of "+subj+"\r\n") {
			t.Errorf("%q: body not in CRLF form: %q", subj, g.body)
		}
	}
	arch := folderItems(t, ctx, s, testenv.Folder(t, ctx, s, "alice", "2025").ID)
	if len(arch) != 2 || !slices.Equal(arch["archived"].flags, []string{`\Seen`}) || !arch["archived-new"].date.Equal(d(10)) {
		t.Errorf("Archive/2025: %+v", arch)
	}
	// Again: nothing twice.
	sum, err = backup.ImportMail(context.Background(), s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: "alice", Format: "maildir", Path: md}})
	if err != nil || sum.Imported != 0 || sum.Present != 8 {
		t.Fatalf("second import: %+v %v", sum, err)
	}
}

// TestImportIntoJunkIsNotTrained: messages imported into Junk are marked
// as judged, so spam learning does not train them as the user's lesson.
func TestImportIntoJunkIsNotTrained(t *testing.T) {
	s := install(t, "")
	md := filepath.Join(t.TempDir(), "Maildir")
	p := filepath.Join(md, ".Junk", "cur", "1.M1P1.h:2,S")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("From: spammer@x.test\nSubject: junk\n\nbuy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if sum, err := backup.ImportMail(context.Background(), s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: "alice", Format: "maildir", Path: md}}); err != nil || sum.Imported != 1 {
		t.Fatalf("import: %+v %v", sum, err)
	}
	ctx := testenv.As(t, s, "alice")
	junk := testenv.Folder(t, ctx, s, "alice", store.SpecialJunk)
	its, err := s.ListItems(ctx, junk.ID, 1, 0)
	if err != nil || len(its) != 1 {
		t.Fatalf("Junk: %v %v", its, err)
	}
	st, _ := s.UserStore(ctx, "alice")
	first, err := s.RecordOnce(testenv.Sys, st.ID, store.SpamLearnKey("spam", its[0].ID), store.SpamLearnKeep)
	if err != nil || first {
		t.Fatalf("the imported junk is not marked as judged (first=%v, %v)", first, err)
	}
}
