package imapserver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// offlineimap, a second real synchronising client: 1,000 messages in
// three folders synced down over implicit TLS, then changes on both sides
// (flags, deletions, a message put in Sent locally; new mail, flags and an
// expunge on the server) synced both ways. Debian package offlineimap.

// needTool returns the path of an outside program, or skips the test;
// with ROOST_REQUIRE_CLIENTS set a missing program fails it instead.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s is not installed (Debian package %s) and ROOST_REQUIRE_CLIENTS is set", name, pkg)
		}
		t.Skipf("%s is not installed (Debian package %s)", name, pkg)
	}
	return p
}

func TestOfflineIMAP(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "offlineimap", "offlineimap")
	e := newEnv(t)
	c := e.dialTLS()
	c.ok("LOGIN alice %s", password("alice"))
	c.ok("CREATE Work")
	c.ok("CREATE Lists/Go")

	counts := map[string]int{"INBOX": 500, "Work": 300, "Lists/Go": 200}
	folders := map[string]string{"INBOX": "inbox", "Work": "Work", "Lists/Go": "Go"}
	for name, n := range counts {
		f := e.folder("alice", folders[name])
		for i := range n {
			var flags []string
			if i%3 == 0 {
				flags = append(flags, `\Seen`)
			}
			if i%10 == 0 {
				flags = append(flags, `\Flagged`)
			}
			e.deliver(f.ID, fmt.Sprintf("From: s%d@example.test\r\nTo: alice@acme.test\r\n"+
				"Subject: %s %d\r\nMessage-ID: <%s.%d@offlineimap>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n"+
				"Body %d of %s\r\n", i, name, i, strings.ReplaceAll(name, "/", "."), i, i, name), flags...)
		}
	}

	dir := t.TempDir()
	mail := filepath.Join(dir, "mail")
	// imaplib2 checks DNS names only, not IP addresses: connect to
	// "localhost" (the server listens on 127.0.0.1).
	_, port := splitAddr(t, e.tlsAddr)
	host := "localhost"
	conf := filepath.Join(dir, "offlineimaprc")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`[general]
accounts = roost
metadata = %s/meta
ui = quiet

[Account roost]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s
sep = /

[Repository remote]
type = IMAP
remotehost = %s
remoteport = %s
remoteuser = alice
remotepass = %s
ssl = yes
sslcacertfile = %s
folderfilter = lambda f: f in ['INBOX', 'Work', 'Lists/Go', 'Sent']
createfolders = True
expunge = yes
maxconnections = 2
`, dir, mail, host, port, password("alice"), caFile(t))), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	sync := func(step string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-c", conf, "-o", "-u", "basic")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(out), "ERROR") {
			t.Fatalf("offlineimap (%s): %v\n%s", step, err, lastBytes(string(out), 4000))
		}
	}

	sync("initial")
	for name, n := range counts {
		m := maildir(t, filepath.Join(mail, filepath.FromSlash(name)))
		if len(m) != n {
			t.Fatalf("%s: %d messages in the Maildir, want %d", name, len(m), n)
		}
		if got, want := countFlag(m, "S"), (n+2)/3; got != want {
			t.Errorf("%s: %d seen, want %d", name, got, want)
		}
		if got, want := countFlag(m, "F"), (n+9)/10; got != want {
			t.Errorf("%s: %d flagged, want %d", name, got, want)
		}
	}

	// Local changes: flag five and delete five messages of Work, put three
	// sent messages in Sent.
	work := filepath.Join(mail, "Work")
	names := slices.Sorted(func(yield func(string) bool) {
		for k, flags := range maildir(t, work) {
			if !strings.Contains(flags, "F") && !yield(k) {
				return
			}
		}
	})
	for i, name := range names[:10] {
		if i < 5 {
			setMaildirFlag(t, work, name, 'F')
		} else if err := os.Remove(filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	sent := filepath.Join(mail, "Sent")
	if _, err := os.Stat(filepath.Join(sent, "cur")); err != nil {
		t.Fatalf("Sent was not created locally: %v", err)
	}
	for i := range 3 {
		msg := fmt.Sprintf("From: alice@acme.test\r\nTo: bob@acme.test\r\nSubject: sent %d\r\n"+
			"Message-ID: <sent%d@offlineimap>\r\n\r\nhello bob\r\n", i, i)
		if err := os.WriteFile(filepath.Join(sent, "cur", fmt.Sprintf("%d_%d.local:2,S", time.Now().Unix(), i)), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Server changes: new mail, a flag and two expunges in INBOX.
	inbox := e.folder("alice", "inbox")
	for i := range 5 {
		e.deliver(inbox.ID, testMsg(2000+i))
	}
	c.ok("SELECT INBOX")
	c.ok(`STORE 2 +FLAGS (\Answered)`)
	c.ok(`STORE 1,3 +FLAGS (\Deleted)`)
	c.ok("EXPUNGE")
	c.ok("UNSELECT")

	sync("both ways")
	c.ok("SELECT Work")
	if lines := c.ok("SEARCH ALL"); len(strings.Fields(lines[0])) != 2+295 {
		t.Errorf("Work on the server: %d messages, want 295", len(strings.Fields(lines[0]))-2)
	}
	if lines := c.ok("SEARCH FLAGGED"); len(strings.Fields(lines[0])) != 2+30+5 {
		t.Errorf("Work on the server: %d flagged, want 35", len(strings.Fields(lines[0]))-2)
	}
	c.ok("SELECT Sent")
	mustHave(t, c.ok("SEARCH SUBJECT sent"), "* SEARCH 1 2 3")
	mustHave(t, c.ok("SEARCH SEEN"), "* SEARCH 1 2 3")
	m := maildir(t, filepath.Join(mail, "INBOX"))
	if len(m) != 500+5-2 {
		t.Errorf("INBOX Maildir: %d messages, want 503", len(m))
	}
	if countFlag(m, "R") != 1 {
		t.Errorf("INBOX Maildir: %d answered, want 1", countFlag(m, "R"))
	}
	agree(t, c, mail)

	// A third run changes nothing.
	sync("again")
	if got := len(maildir(t, filepath.Join(mail, "INBOX"))); got != 503 {
		t.Errorf("INBOX Maildir after a no-op sync: %d", got)
	}
	agree(t, c, mail)
}

// skipOrFail skips a test whose outside program is missing, or fails it
// when ROOST_REQUIRE_CLIENTS is set (as scripts/test.sh does).
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
		t.Fatal(why + " and ROOST_REQUIRE_CLIENTS is set")
	}
	t.Skip(why)
}
