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

// mbsync (isync), a real synchronising client: a Maildir and the server
// synced both ways over implicit TLS, with several folders, flags, an
// APPEND to Sent and expunges on both sides. scripts/test.sh installs
// isync.

// maildir is one Maildir folder's messages: file name → flags.
func maildir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatalf("maildir %s: %v", dir, err)
		}
		for _, e := range ents {
			flags := ""
			if i := strings.Index(e.Name(), ":2,"); i >= 0 {
				flags = e.Name()[i+3:]
			}
			out[filepath.Join(sub, e.Name())] = flags
		}
	}
	return out
}

// setMaildirFlag adds a flag letter to a message file, keeping the
// letters in ASCII order as Maildir wants.
func setMaildirFlag(t *testing.T, dir, name string, flag byte) {
	t.Helper()
	base, flags, _ := strings.Cut(filepath.Base(name), ":2,")
	fs := []byte(flags)
	if !slices.Contains(fs, flag) {
		fs = append(fs, flag)
		slices.Sort(fs)
	}
	to := filepath.Join(dir, "cur", base+":2,"+string(fs))
	if err := os.Rename(filepath.Join(dir, name), to); err != nil {
		t.Fatal(err)
	}
}

func countFlag(m map[string]string, flag string) int {
	n := 0
	for _, f := range m {
		if strings.Contains(f, flag) {
			n++
		}
	}
	return n
}

func TestMbsync(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("mbsync")
	if err != nil {
		skipOrFail(t, "mbsync is not installed (Debian package isync; scripts/test.sh installs it)")
	}
	e := newEnv(t)
	c := e.dialTLS()
	c.ok("LOGIN alice %s", password("alice"))
	c.ok("CREATE Work")
	c.ok("CREATE Lists/Go")

	// 200 messages in three folders, some flagged.
	counts := map[string]int{"INBOX": 100, "Work": 60, "Lists/Go": 40}
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
				"Subject: %s %d\r\nMessage-ID: <%s.%d@mbsync>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n"+
				"Body %d of %s\r\n", i, name, i, strings.ReplaceAll(name, "/", "."), i, i, name), flags...)
		}
	}

	dir := t.TempDir()
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o700); err != nil {
		t.Fatal(err)
	}
	host, port := splitAddr(t, e.tlsAddr)
	conf := filepath.Join(dir, "mbsyncrc")
	err = os.WriteFile(conf, []byte(fmt.Sprintf(`IMAPAccount roost
Host %s
Port %s
User alice
Pass %s
SSLType IMAPS
CertificateFile %s
AuthMechs LOGIN
PipelineDepth 10

IMAPStore remote
Account roost

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel roost
Far :remote:
Near :local:
Patterns INBOX Work Lists/Go Sent
Create Both
Expunge Both
SyncState *
Sync All
`, host, port, password("alice"), caFile(t), mail, mail)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	sync := func(step string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(strings.Fields(os.Getenv("MBSYNC_FLAGS")), "-c", conf, "-a")...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync (%s): %v\n%s", step, err, out)
		}
	}

	// First sync: the server's folders come down.
	sync("initial")
	for name, n := range counts {
		m := maildir(t, filepath.Join(mail, name))
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

	// Local changes: flag and delete in Work, a sent message in Sent.
	work := filepath.Join(mail, "Work")
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range maildir(t, work) {
			if !yield(k) {
				return
			}
		}
	})
	for i, name := range names[:10] {
		if i < 5 {
			setMaildirFlag(t, work, name, 'F')
		} else {
			setMaildirFlag(t, work, name, 'T') // trashed: expunged on sync
		}
	}
	sent := filepath.Join(mail, "Sent")
	if _, err := os.Stat(sent); err != nil {
		t.Fatalf("Sent was not created locally: %v", err)
	}
	for i := range 3 {
		msg := fmt.Sprintf("From: alice@acme.test\r\nTo: bob@acme.test\r\nSubject: sent %d\r\n"+
			"Message-ID: <sent%d@mbsync>\r\n\r\nhello bob\r\n", i, i)
		if err := os.WriteFile(filepath.Join(sent, "cur", fmt.Sprintf("%d.sent%d.local:2,S", time.Now().Unix(), i)), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Server changes: new mail, a flag, an expunge in INBOX.
	inbox := e.folder("alice", "inbox")
	for i := range 5 {
		e.deliver(inbox.ID, testMsg(1000+i))
	}
	c.ok("SELECT INBOX")
	c.ok(`STORE 2 +FLAGS (\Answered)`)
	c.ok(`STORE 1,3 +FLAGS (\Deleted)`)
	c.ok("EXPUNGE")
	c.ok("UNSELECT")

	sync("both ways")
	// The server has what the Maildir did.
	c.ok("SELECT Work")
	mustHave(t, c.ok("STATUS Sent (MESSAGES)"), "MESSAGES 3")
	if lines := c.ok("SEARCH ALL"); len(strings.Fields(lines[0])) != 2+55 {
		t.Errorf("Work on the server: %q", lines)
	}
	mustHave(t, c.ok("SEARCH DELETED"), "* SEARCH")
	c.ok("SELECT Sent")
	mustHave(t, c.ok("SEARCH SUBJECT sent"), "* SEARCH 1 2 3")
	mustHave(t, c.ok("SEARCH SEEN"), "* SEARCH 1 2 3")
	// The Maildir has what the server did.
	m := maildir(t, filepath.Join(mail, "INBOX"))
	if len(m) != 100+5-2 {
		t.Errorf("INBOX Maildir: %d messages, want 103", len(m))
	}
	if countFlag(m, "R") != 1 {
		t.Errorf("INBOX Maildir: %d answered, want 1", countFlag(m, "R"))
	}
	if got := len(maildir(t, work)); got != 55 {
		t.Errorf("Work Maildir: %d messages, want 55", got)
	}
	if got := len(maildir(t, filepath.Join(mail, "Lists", "Go"))); got != 40 {
		t.Errorf("Lists/Go Maildir: %d messages, want 40", got)
	}

	agree(t, c, mail)
	if got := countFlag(maildir(t, work), "F"); got < 6+1 {
		t.Errorf("Work Maildir: %d flagged", got)
	}

	// A third run finds nothing to do and changes nothing.
	sync("again")
	if got := len(maildir(t, filepath.Join(mail, "INBOX"))); got != 103 {
		t.Errorf("INBOX Maildir after a no-op sync: %d", got)
	}
	c.ok("SELECT INBOX")
	if lines := c.ok("SEARCH ALL"); len(strings.Fields(lines[0])) != 2+103 {
		t.Errorf("INBOX on the server after a no-op sync: %d", len(strings.Fields(lines[0]))-2)
	}
	agree(t, c, mail)
}

// agree checks that each folder holds as many messages, and as many with
// each flag, on the server as in the Maildir.
func agree(t *testing.T, c *client, mail string) {
	t.Helper()
	count := func(key string) int {
		lines := c.ok("SEARCH %s", key)
		return len(strings.Fields(lines[0])) - 2
	}
	for _, name := range []string{"INBOX", "Work", "Lists/Go", "Sent"} {
		m := maildir(t, filepath.Join(mail, filepath.FromSlash(name)))
		c.ok("EXAMINE %s", quote(name))
		for _, k := range []struct{ key, flag string }{{"ALL", ""}, {"SEEN", "S"}, {"FLAGGED", "F"}, {"ANSWERED", "R"}, {"DELETED", "T"}} {
			local := len(m)
			if k.flag != "" {
				local = countFlag(m, k.flag)
			}
			if server := count(k.key); server != local {
				t.Errorf("%s %s: %d on the server, %d in the Maildir", name, k.key, server, local)
			}
		}
	}
}
