package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roost-mail/roost/internal/testenv"
)

// openPTY returns a pseudo-terminal's master and slave: a process given
// the slave as stderr draws its progress bar there, as on an operator's
// terminal.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// importMsg is what a message imported from Dovecot must be in Roost.
type importMsg struct {
	Folder, Flags string
	Date          time.Time
}

// fillDovecot writes n messages for login into Dovecot's Maildirs (INBOX
// and Projects/2025), with flags, keywords and dates (file times), and
// returns what Roost must hold, by subject.
func fillDovecot(t *testing.T, dv *testenv.Dovecot, login string, n int) map[string]importMsg {
	t.Helper()
	home := filepath.Join(dv.Dir, "home", login)
	boxes := []struct{ dir, folder string }{{"Maildir", "INBOX"}, {"Maildir/Projects/2025", "Projects/2025"}}
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
	flagsOf := map[string]string{"": "", "S": `\Seen`, "RS": `\Answered \Seen`, "FS": `\Flagged \Seen`,
		"Sa": `$Label1 \Seen`, "Fab": `$Label1 \Flagged project-x`, "D": `\Draft`, "Sb": `\Seen project-x`}
	want := map[string]importMsg{}
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		b := boxes[i%len(boxes)]
		fl := letters[i%len(letters)]
		subj := fmt.Sprintf("%s message %d", login, i)
		date := base.Add(time.Duration(i) * 41 * time.Minute)
		body := fmt.Sprintf("From: sender%d@old.test\nTo: %s@acme.test\nSubject: %s\nMessage-ID: <%s.%d@old.test>\n\nMessage %d of %s.\n%s",
			i%13, login, subj, login, i, i, login, strings.Repeat("Some text to make it longer.\n", i%25))
		p := filepath.Join(home, b.dir, "cur", fmt.Sprintf("%d.M%dP7.old:2,%s", 1700000000+i, i, fl))
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, date, date); err != nil {
			t.Fatal(err)
		}
		want[subj] = importMsg{Folder: b.folder, Flags: flagsOf[fl], Date: date}
	}
	if os.Getuid() == 0 {
		filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, dv.UID, dv.GID) })
	}
	return want
}

var subjectRE = regexp.MustCompile(`(?m)^Subject: (.*?)\r?$`)

// checkIMAPImport compares every message of login's mailboxes (over
// Roost's IMAP) with want, one by one: folder, flags, internal date, and
// nothing twice.
func checkIMAPImport(t *testing.T, in *installation, login string, want map[string]importMsg) {
	t.Helper()
	seen := map[string]bool{}
	for box, items := range in.imapDump(t, login) {
		if strings.HasSuffix(box, " ACL") {
			continue
		}
		for _, it := range items {
			m := subjectRE.FindStringSubmatch(it.Body)
			if m == nil {
				t.Errorf("%s: a message without a subject in %s", login, box)
				continue
			}
			subj := m[1]
			w, ok := want[subj]
			switch {
			case !ok:
				t.Errorf("%s: unexpected message %q in %s", login, subj, box)
			case seen[subj]:
				t.Errorf("%s: %q imported twice", login, subj)
			case w.Folder != box || w.Flags != it.Flags || !w.Date.Equal(it.Date):
				t.Errorf("%s: %q is in %s with flags %q, date %v; want %s, %q, %v", login, subj, box, it.Flags, it.Date, w.Folder, w.Flags, w.Date)
			}
			seen[subj] = true
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%s: %d distinct messages imported, want %d", login, len(seen), len(want))
	}
}

// progressFrame is one drawing of the progress bar:
// "ann          [#########---------------------]  30%  450/1500 items  …".
var progressFrame = regexp.MustCompile(`^(\S+)\s+\[([#-]{30})\]\s+(\d+)%\s+(\d+)/(\d+) items\s`)

type frame struct {
	login      string
	hashes     int
	pct        int
	done, all  int64
	textBefore bool
}

// frames splits what a terminal received into progress bar drawings
// (each starts with "\r\x1b[K") and other lines.
func frames(out string) (bars []frame, lines []string) {
	for _, part := range strings.Split(out, "\r\x1b[K") {
		if part == "" {
			continue
		}
		if m := progressFrame.FindStringSubmatch(part); m != nil {
			pct, _ := strconv.Atoi(m[3])
			done, _ := strconv.ParseInt(m[4], 10, 64)
			all, _ := strconv.ParseInt(m[5], 10, 64)
			bars = append(bars, frame{login: m[1], hashes: strings.Count(m[2], "#"), pct: pct, done: done, all: all})
			continue
		}
		for _, l := range strings.Split(part, "\n") {
			if l = strings.TrimRight(l, "\r"); l != "" {
				lines = append(lines, l)
			}
		}
	}
	return bars, lines
}

// TestAdminImportIMAPCSV drives `roost admin import imap --csv FILE`
// against a running server, importing 3 users from Debian's Dovecot: the
// first run is killed in the middle of the first user (while its progress
// bar is drawn on a pseudo-terminal, whose drawings must add up), the
// same command run again finishes the job, and every message's folder,
// flags and internal date is checked one by one. A malformed CSV row and
// a row naming an unknown Roost user are reported with their line
// numbers while the other rows import.
func TestAdminImportIMAPCSV(t *testing.T) {
	bin := roostBinary(t)
	counts := map[string]int{"ann": 1500, "ben": 300, "cat": 300}
	users := []string{"ann", "ben", "cat"}
	pw := map[string]string{}
	for _, u := range users {
		pw[u] = u + "-old-pw"
	}
	dv := testenv.StartDovecot(t, testenv.DovecotOptions{Users: pw})
	want := map[string]map[string]importMsg{}
	for _, u := range users {
		want[u] = fillDovecot(t, dv, u, counts[u])
	}
	in := newInstallation(t, "")
	for _, u := range users {
		in.admin(t, u+"-pw\n", "user", "create", u, "--email", u+"@acme.test", "--password-stdin")
	}
	csvFile := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(csvFile, []byte("# login,source user,source password\n"+
		"ann,ann,ann-old-pw\n"+
		"ben, ben, ben-old-pw\n"+
		"dan,dan\n"+ // line 4: two fields
		"cat,cat,cat-old-pw\n"+
		"ghost,ann,ann-old-pw\n"+ // line 6: no such Roost user
		"Ann,ann,ann-old-pw\n"), 0o600); err != nil { // line 7: ann again (logins ignore case)
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(dv.Addr, ":")
	args := []string{"admin", "--config", in.cfg, "import", "imap", "--csv", csvFile, "--host", host, "--port", port}

	// First run, its progress on a terminal, killed a quarter into ann.
	master, slave := openPTY(t)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = slave
	var stdout lockedBuffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var term lockedBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&term, master); close(copied) }()
	deadline := time.Now().Add(2 * time.Minute)
	killed := false
	for !killed && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		bars, _ := frames(term.String())
		for _, b := range bars {
			if b.login == "ann" && b.done >= b.all/4 && b.done < b.all*3/4 {
				cmd.Process.Kill()
				killed = true
				break
			}
		}
	}
	cmd.Wait()
	<-copied // the slave is closed with the process: EIO ends the copy
	if !killed {
		t.Fatalf("ann's import was not seen between 25 %% and 75 %% within 2 minutes; terminal:\n%q\nstdout:\n%s", term.String(), stdout.String())
	}
	bars, lines := frames(term.String())
	if len(bars) < 2 {
		t.Errorf("%d progress drawings before the kill, want several: %q", len(bars), term.String())
	}
	var last int64
	for i, b := range bars {
		if b.login != "ann" {
			t.Errorf("drawing %d names %q: only ann was being imported", i, b.login)
		}
		if b.all != int64(counts["ann"]) || b.done < last || b.done > b.all {
			t.Errorf("drawing %d: %d/%d items after %d; want a count of %d that never goes back", i, b.done, b.all, last, counts["ann"])
		}
		frac := float64(b.done) / float64(b.all)
		if b.hashes != int(frac*30) || b.pct < int(frac*100)-1 || b.pct > int(frac*100)+1 {
			t.Errorf("drawing %d: %d%%, %d of 30 marks for %d/%d", i, b.pct, b.hashes, b.done, b.all)
		}
		last = b.done
	}
	if !slices.ContainsFunc(lines, func(l string) bool {
		return l == "roost admin: import imap: "+csvFile+" line 4: want LOGIN,USER,PASSWORD (3 fields), not 2 (row skipped)"
	}) || !slices.Contains(lines, "roost admin: import imap: user 1 of 4: ann ("+csvFile+" line 2)") {
		t.Errorf("first run's terminal lines: %q", lines)
	}

	// The server stops the import when the client goes away.
	for time.Now().Before(deadline) && !strings.Contains(in.proc.out.String(), `msg="import failed"`) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(in.proc.out.String(), `msg="import failed"`) {
		t.Fatalf("the server did not stop the import:\n%s", in.proc.out.String())
	}
	before := 0
	for box, items := range in.imapDump(t, "ann") {
		if !strings.HasSuffix(box, " ACL") {
			before += len(items)
		}
	}
	if before == 0 || before >= counts["ann"] {
		t.Fatalf("after the kill ann holds %d of %d messages", before, counts["ann"])
	}

	// The same command again: the rest, the bad rows named again.
	cmd = exec.Command(bin, args...)
	var out2, err2 lockedBuffer
	cmd.Stdout, cmd.Stderr = &out2, &err2
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("second run: %v, want exit 1 (bad rows)\nstdout:\n%s\nstderr:\n%s", err, out2.String(), err2.String())
	}
	so, se := out2.String(), err2.String()
	for _, w := range []string{
		fmt.Sprintf("imported %d messages ", counts["ann"]-before), "into 2 folders of ann in ",
		fmt.Sprintf("imported %d messages ", counts["ben"]), fmt.Sprintf("imported %d messages ", counts["cat"]),
	} {
		if !strings.Contains(so, w) {
			t.Errorf("second run's output lacks %q:\n%s", w, so)
		}
	}
	// Resumed, not started over: what the first run stored after the
	// last position it remembered (every 100 messages per folder) is
	// fetched again and found there, nothing more.
	if m := regexp.MustCompile(`of ann in .*; (\d+) already there`).FindStringSubmatch(so); m == nil {
		t.Errorf("no summary for ann:\n%s", so)
	} else if present, _ := strconv.Atoi(m[1]); present > before || present >= 2*100 {
		t.Errorf("the resumed run found %d of ann's %d messages already there: it did not resume from the remembered position", present, before)
	}
	for _, w := range []string{
		"roost admin: import imap: " + csvFile + " line 4: want LOGIN,USER,PASSWORD (3 fields), not 2 (row skipped)\n",
		"roost admin: import imap ghost (" + csvFile + " line 6): user \"ghost\": not found\n",
		"roost admin: import imap: " + csvFile + " line 7: Ann is already imported by " + csvFile + " line 2 (row skipped)\n",
		"roost admin: import imap: 1 of 4 users failed: ghost (run the same command again to resume); 2 rows of " + csvFile + " skipped: line 4, line 7\n",
	} {
		if !strings.Contains(se, w) {
			t.Errorf("second run's errors lack %q:\n%s", w, se)
		}
	}
	if strings.Contains(se, "\x1b[K") {
		t.Errorf("a progress bar drawn where stderr is not a terminal:\n%q", se)
	}
	for _, u := range users {
		checkIMAPImport(t, in, u, want[u])
	}
}
