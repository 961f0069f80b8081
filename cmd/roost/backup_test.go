package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/roost-mail/roost/internal/testenv"
)

// installation is a running roost serve with IMAP and LMTP on TCP.
type installation struct {
	bin, dir, cfg, imap, lmtp string
	proc                      *serverProc
}

// newInstallation starts one; extra lines go into its configuration.
func newInstallation(t *testing.T, database string, extra ...string) *installation {
	t.Helper()
	bin := roostBinary(t)
	dir := shortDir(t)
	cfg := quietConfig(t, dir)
	in := &installation{bin: bin, dir: dir, cfg: cfg, imap: freeAddr(t), lmtp: freeAddr(t)}
	text, _ := os.ReadFile(cfg)
	text = []byte(strings.NewReplacer(`imap_listen = "off"`, fmt.Sprintf("imap_listen = %q", in.imap),
		`lmtp_listen = "off"`, fmt.Sprintf("lmtp_listen = %q", in.lmtp)).Replace(string(text)))
	text = append(text, "allow_plaintext_auth = true\n"...)
	if database != "" {
		text = append(text, fmt.Sprintf("database = %q\n", database)...)
	}
	for _, l := range extra {
		text = append(text, l+"\n"...)
	}
	if err := os.WriteFile(cfg, text, 0o600); err != nil {
		t.Fatal(err)
	}
	in.proc = startServer(t, bin, cfg, dir)
	in.admin(t, "", "domain", "add", "acme.test")
	for _, u := range []string{"u0", "bob"} {
		in.admin(t, u+"-pw\n", "user", "create", u, "--email", u+"@acme.test", "--password-stdin")
	}
	return in
}

func (in *installation) admin(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	return in.cli(t, stdin, 0, append([]string{"admin"}, args...)...)
}

// cli runs the binary with --config and wants exit status code.
func (in *installation) cli(t *testing.T, stdin string, code int, args ...string) string {
	t.Helper()
	return in.cliEnv(t, nil, stdin, code, args...)
}

// cliEnv is cli with variables added to the environment.
func (in *installation) cliEnv(t *testing.T, env []string, stdin string, code int, args ...string) string {
	t.Helper()
	if !(len(args) > 1 && args[1] == "verify") {
		args = append(args[:1:1], append([]string{"--config", in.cfg}, args[1:]...)...)
	}
	cmd := exec.Command(in.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if got != code {
		t.Fatalf("roost %v: exit %d, want %d\n%s", args, got, code, out)
	}
	return string(out)
}

func (in *installation) imapLogin(t *testing.T, login string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(in.imap, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(login, login+"-pw").Wait(); err != nil {
		t.Fatalf("login %s: %v", login, err)
	}
	return c
}

// imapItem is what the comparison looks at.
type imapItem struct {
	Body, Flags string
	Date        time.Time
}

// imapDump lists every mail folder of login with its messages (bytes,
// flags, internal date), its subscription and its ACL, over IMAP.
func (in *installation) imapDump(t *testing.T, login string) map[string][]imapItem {
	t.Helper()
	c := in.imapLogin(t, login)
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]imapItem{}
	for _, b := range boxes {
		if slices.Contains(b.Attrs, imap.MailboxAttrNoSelect) || strings.HasPrefix(b.Mailbox, "Other Users") || strings.HasPrefix(b.Mailbox, "Shared") {
			continue
		}
		sel, err := c.Select(b.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("select %s: %v", b.Mailbox, err)
		}
		items := []imapItem{}
		if sel.NumMessages > 0 {
			all := imap.SeqSet{}
			all.AddRange(1, sel.NumMessages)
			msgs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				t.Fatalf("fetch %s: %v", b.Mailbox, err)
			}
			for _, m := range msgs {
				var fl []string
				for _, f := range m.Flags {
					if f != `\Recent` {
						fl = append(fl, string(f))
					}
				}
				slices.Sort(fl)
				items = append(items, imapItem{Body: string(m.BodySection[0].Bytes), Flags: strings.Join(fl, " "), Date: m.InternalDate.UTC()})
			}
		}
		sort.Slice(items, func(i, j int) bool {
			if items[i].Body != items[j].Body {
				return items[i].Body < items[j].Body
			}
			return items[i].Flags < items[j].Flags
		})
		out[b.Mailbox] = items
		acl, err := c.GetACL(b.Mailbox).Wait()
		if err == nil {
			var parts []string
			for id, r := range acl.Rights {
				parts = append(parts, string(id)+"="+string(r))
			}
			slices.Sort(parts)
			out[b.Mailbox+" ACL"] = []imapItem{{Flags: strings.Join(parts, ",")}}
		}
	}
	return out
}

func sameDump(t *testing.T, what string, want, got map[string][]imapItem) {
	t.Helper()
	for box, wi := range want {
		gi := got[box]
		if len(gi) != len(wi) {
			t.Errorf("%s: %s holds %d, want %d", what, box, len(gi), len(wi))
			continue
		}
		for i := range wi {
			if wi[i] != gi[i] {
				t.Errorf("%s: %s item %d differs: flags %q date %v, want flags %q date %v (bytes equal: %v)", what, box, i,
					gi[i].Flags, gi[i].Date, wi[i].Flags, wi[i].Date, gi[i].Body == wi[i].Body)
			}
		}
	}
	for box := range got {
		if _, ok := want[box]; !ok {
			t.Errorf("%s: unexpected %s", what, box)
		}
	}
}

// TestBackupRestoreAgainstServe backs up a running server's stores while
// LMTP deliveries and IMAP flag changes go on, restores them into an empty
// installation and compares every message (bytes, flags, internal date),
// folder and ACL over IMAP; then restores twice (nothing new), a folder
// from a date range, and checks verify and restore refuse damage.
func TestBackupRestoreAgainstServe(t *testing.T) { backupRestoreAgainstServe(t, "") }

func TestBackupRestoreAgainstServePostgres(t *testing.T) {
	testenv.PostgresDSN(t)
	roostBinary(t)
	backupRestoreAgainstServe(t, testenv.NewPostgresDB(t))
}

func backupRestoreAgainstServe(t *testing.T, database string) {
	src := newInstallation(t, database)
	c := src.imapLogin(t, "u0")
	for _, box := range []string{"Projects", "Projects/2025"} {
		if err := c.Create(box, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetACL("Projects", "bob", imap.RightModificationReplace, imap.RightSet("lrs")).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		date := time.Date(2025, 1, 1+i, 12, 0, 0, 0, time.UTC)
		box := "Projects"
		if i%2 == 1 {
			box = "Projects/2025"
		}
		msg := fmt.Sprintf("From: a@example.org\r\nSubject: project %d\r\n\r\nbody %d\r\n", i, i)
		ac := c.Append(box, int64(len(msg)), &imap.AppendOptions{Time: date, Flags: []imap.Flag{imap.FlagSeen}})
		ac.Write([]byte(msg))
		ac.Close()
		if _, err := ac.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	// Mail through LMTP, and flag changes over IMAP, before and during
	// the backup.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if _, _, err := lmtpClient(ctx, src.lmtp, "u%d@acme.test", 1, 1, 3000, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	ctx, cancel = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		lmtpClient(ctx, src.lmtp, "u%d@acme.test", 1, 1, 3000, 2)
	}()
	go func() {
		defer wg.Done()
		fc, err := imapclient.DialInsecure(src.imap, nil)
		if err != nil {
			return
		}
		defer fc.Close()
		if fc.Login("u0", "u0-pw").Wait() != nil {
			return
		}
		if _, err := fc.Select("INBOX", nil).Wait(); err != nil {
			return
		}
		for i := 1; ctx.Err() == nil; i++ {
			fc.Store(imap.SeqSetNum(uint32(1+i%20)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.Flag(fmt.Sprintf("$k%d", i%4))}}, nil).Close()
		}
	}()
	bdir := filepath.Join(shortDir(t), "bk")
	out := src.cli(t, "", 0, "backup", "--to", bdir)
	cancel()
	wg.Wait()
	if !strings.Contains(out, "backup run 1 (full)") {
		t.Errorf("first backup: %s", out)
	}
	// The writers stopped: an incremental run brings the backup up to date.
	out = src.cli(t, "", 0, "backup", "--to", bdir)
	if !strings.Contains(out, "backup run 2 (incremental)") {
		t.Errorf("second backup: %s", out)
	}
	out = src.cli(t, "", 0, "backup", "verify", bdir)
	if !strings.Contains(out, "is intact") {
		t.Errorf("verify: %s", out)
	}
	want := src.imapDump(t, "u0")
	if len(want["INBOX"]) < 10 {
		t.Fatalf("only %d messages delivered", len(want["INBOX"]))
	}

	// An empty installation.
	dst := newInstallation(t, "")
	out = dst.cli(t, "", 0, "restore", "--from", bdir, "u0")
	if !strings.Contains(out, "restored from run 2") {
		t.Errorf("restore: %s", out)
	}
	sameDump(t, "restored", want, dst.imapDump(t, "u0"))
	out = dst.cli(t, "", 0, "restore", "--from", bdir, "u0", "--json")
	if !strings.Contains(out, `"created": 0`) {
		t.Errorf("second restore created items: %s", out)
	}
	sameDump(t, "restored twice", want, dst.imapDump(t, "u0"))

	// One folder from a date range into a new folder.
	dst.cli(t, "", 0, "restore", "--from", bdir, "u0", "--folder", "Projects/2025", "--since", "2025-01-10", "--until", "2025-01-19", "--into", "Recovered")
	got := dst.imapDump(t, "u0")
	if n := len(got["Recovered"]); n != 5 { // odd days 10..19: 10, 12, 14, 16, 18 (i = 9, 11, …)
		t.Errorf("Recovered holds %d messages, want 5", n)
	}
	for _, it := range got["Recovered"] {
		if it.Date.Before(time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)) || !it.Date.Before(time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("restored a message of %v", it.Date)
		}
	}

	// Damage: verify says so, restore refuses.
	var obj string
	filepath.WalkDir(filepath.Join(bdir, "objects"), func(p string, d os.DirEntry, err error) error {
		if d != nil && !d.IsDir() && obj == "" && !strings.Contains(p, "/objects/tmp/") {
			obj = p
		}
		return nil
	})
	if err := os.Truncate(obj, 10); err != nil {
		t.Fatal(err)
	}
	out = src.cli(t, "", 1, "backup", "verify", bdir)
	if !strings.Contains(out, "truncated") {
		t.Errorf("verify of a truncated object: %s", out)
	}
	dst2 := newInstallation(t, "")
	out = dst2.cli(t, "", 1, "restore", "--from", bdir, "u0")
	if !strings.Contains(out, "refusing to restore") || !strings.Contains(out, "truncated") {
		t.Errorf("restore of a damaged backup: %s", out)
	}
}

// TestBackupVerifyNoDirectory: verifying a directory that does not exist,
// or a file, says so in one line instead of reporting a damaged backup.
func TestBackupVerifyNoDirectory(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nothing")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		missing: "roost backup verify: cannot read the backup directory: stat " + missing + ": no such file or directory\n",
		file:    "roost backup verify: " + file + " is not a directory (give the --to directory of roost backup)\n",
	} {
		var out, errb bytes.Buffer
		if code := runVerify(context.Background(), []string{dir}, &out, &errb); code != 1 || out.Len() != 0 || errb.String() != want {
			t.Errorf("backup verify %s: exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", dir, code, out.String(), errb.String(), want)
		}
	}
}
