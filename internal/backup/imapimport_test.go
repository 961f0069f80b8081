package backup_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// dovecotSource is a Dovecot (Debian's) of its own on loopback, with
// users whose Maildirs the test writes directly.
type dovecotSource struct {
	addr string
	dir  string
	uid  int
	gid  int
}

func startDovecot(t *testing.T, users []string) *dovecotSource {
	t.Helper()
	pw := map[string]string{}
	for _, u := range users {
		pw[u] = u + "-pw"
	}
	d := testenv.StartDovecot(t, testenv.DovecotOptions{Users: pw})
	return &dovecotSource{addr: d.Addr, dir: d.Dir, uid: d.UID, gid: d.GID}
}

type srcMsg struct {
	folder string // Roost folder name it must land in ("" = Inbox)
	flags  []string
	date   time.Time
}

// fill writes n messages for user into Maildirs (INBOX, Archive/2025,
// Sent) with flags and keywords, and returns what Roost must hold, by
// subject.
func (d *dovecotSource) fill(t *testing.T, login string, n int) map[string]srcMsg {
	t.Helper()
	home := filepath.Join(d.dir, "home", login)
	boxes := []struct{ dir, folder string }{{"Maildir", ""}, {"Maildir/Archive/2025", "2025"}, {"Maildir/Projects", "Projects"}}
	for _, b := range boxes {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(home, b.dir, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(home, b.dir, "dovecot-keywords"), []byte("0 $Label1\n1 project-x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	letters := []string{"", "S", "RS", "FS", "Sa", "Fab", "D", "Sb"}
	flagsOf := map[string][]string{"": nil, "S": {`\Seen`}, "RS": {`\Answered`, `\Seen`}, "FS": {`\Flagged`, `\Seen`},
		"Sa": {"$Label1", `\Seen`}, "Fab": {"$Label1", `\Flagged`, "project-x"}, "D": {`\Draft`}, "Sb": {`\Seen`, "project-x"}}
	want := map[string]srcMsg{}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		b := boxes[i%len(boxes)]
		fl := letters[i%len(letters)]
		subj := fmt.Sprintf("%s message %d", login, i)
		date := base.Add(time.Duration(i) * 37 * time.Minute)
		body := fmt.Sprintf("From: sender%d@remote.test\nTo: %s@acme.test\nSubject: %s\nMessage-ID: <%s.%d@remote.test>\n\nThis is message %d of %s.\n%s",
			i%17, login, subj, login, i, i, login, strings.Repeat("A line of text to make it longer.\n", i%20))
		name := fmt.Sprintf("%d.M%dP1.source:2,%s", 1700000000+i, i, fl)
		p := filepath.Join(home, b.dir, "cur", name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, date, date); err != nil {
			t.Fatal(err)
		}
		want[subj] = srcMsg{folder: b.folder, flags: flagsOf[fl], date: date}
	}
	if os.Getuid() == 0 {
		filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, d.uid, d.gid) })
		os.Lchown(filepath.Join(d.dir, "home"), d.uid, d.gid)
	}
	return want
}

// checkImported compares every message of the user's store with want,
// one by one: folder, flags (keywords included) and internal date, and
// that nothing is there twice.
func checkImported(t *testing.T, s *testenv.Store, login string, want map[string]srcMsg) {
	t.Helper()
	ctx := testenv.As(t, s, login)
	st, err := s.UserStore(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.ListFolders(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range fs {
		if f.Type != store.FolderMail || f.Deleted {
			continue
		}
		name := f.Name
		if f.Special == store.SpecialInbox {
			name = ""
		}
		for subj, g := range folderItems(t, ctx, s, f.ID) {
			w, ok := want[subj]
			if !ok {
				t.Errorf("%s: unexpected message %q in %s", login, subj, f.Name)
				continue
			}
			seen++
			if w.folder != name {
				t.Errorf("%s: %q in %q, want %q", login, subj, name, w.folder)
			}
			if !slices.Equal(g.flags, w.flags) {
				t.Errorf("%s: %q flags %v, want %v", login, subj, g.flags, w.flags)
			}
			if !g.date.Equal(w.date) {
				t.Errorf("%s: %q date %v, want %v", login, subj, g.date, w.date)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%s: %d messages imported, want %d", login, seen, len(want))
	}
}

// TestImportIMAPFromDovecot imports 3 users with 5,000 messages in all
// from a real Dovecot, the first user's import interrupted halfway and
// run again, and checks every message's folder, flags and date.
func TestImportIMAPFromDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 messages")
	}
	users := []string{"ann", "ben", "cat"}
	dv := startDovecot(t, users)
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	wants := map[string]map[string]srcMsg{}
	total := 5000
	for i, u := range users {
		s.User(t, "acme", store.User{Login: u, Active: true}, "")
		n := total / len(users)
		if i == 0 {
			n += total % len(users)
		}
		wants[u] = dv.fill(t, u, n)
	}
	host, port, _ := net.SplitHostPort(dv.addr)
	p, _ := strconv.Atoi(port)
	src := func(u string) *backup.IMAPSource {
		return &backup.IMAPSource{Host: host, Port: p, Security: "none", User: u, Password: u + "-pw"}
	}
	run := func(ctx context.Context, u string, progress func(backup.Progress)) (*backup.ImportSummary, error) {
		return backup.ImportMail(ctx, s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: u, Format: "imap", IMAP: src(u)}, Progress: progress})
	}

	// Interrupted: stop once a third of ann's messages are in.
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := run(ctx, "ann", func(p backup.Progress) {
		if p.Items >= int64(len(wants["ann"])/3) {
			cancel()
		}
	})
	cancel()
	if !errors.Is(err, context.Canceled) || sum.Imported == 0 || sum.Imported >= int64(len(wants["ann"])) {
		t.Fatalf("interrupted import: %+v, %v", sum, err)
	}
	first := sum.Imported
	// Resumed: the rest, nothing twice.
	start := time.Now()
	var imported int64
	sum, err = run(context.Background(), "ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	if first+sum.Imported != int64(len(wants["ann"])) {
		t.Errorf("resumed import: %d + %d imported, want %d in all (%+v)", first, sum.Imported, len(wants["ann"]), sum)
	}
	imported += sum.Imported
	for _, u := range users[1:] {
		sum, err := run(context.Background(), u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Problems) > 0 {
			t.Errorf("%s: problems %q", u, sum.Problems)
		}
		imported += sum.Imported
	}
	el := time.Since(start)
	t.Logf("imported %d messages from Dovecot in %v: %.0f messages/s", imported, el.Round(time.Millisecond), float64(imported)/el.Seconds())
	for _, u := range users {
		checkImported(t, s, u, wants[u])
	}
	// A third run finds nothing new.
	sum, err = run(context.Background(), "ben", nil)
	if err != nil || sum.Imported != 0 {
		t.Fatalf("third run: %+v %v", sum, err)
	}
}
