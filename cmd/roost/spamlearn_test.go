package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// needBinary returns the path of a program a test drives, or skips the
// test (fails it when ROOST_REQUIRE_CLIENTS is set, as in CI).
func needBinary(t *testing.T, name, pkg string, paths ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
		t.Fatalf("%s is missing (Debian package %s)", name, pkg)
	}
	t.Skipf("%s is missing (Debian package %s)", name, pkg)
	return ""
}

// rspamdInstance is a real rspamd (Debian's) with a minimal configuration
// of its own: a normal worker, a controller and the Bayes classifier in a
// Redis of its own, all on loopback.
type rspamdInstance struct {
	normal, controller string // host:port
	password           string
	log                string
}

func startRspamd(t *testing.T) *rspamdInstance {
	t.Helper()
	rspamd := needBinary(t, "rspamd", "rspamd", "/usr/bin/rspamd")
	redis := needBinary(t, "redis-server", "redis-server", "/usr/bin/redis-server")
	dir := t.TempDir()
	for _, d := range []string{"run", "db", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	redisAddr := freeAddr(t)
	rhost, rport, _ := net.SplitHostPort(redisAddr)
	rc := exec.Command(redis, "--port", rport, "--bind", rhost, "--save", "", "--appendonly", "no", "--dir", filepath.Join(dir, "db"))
	if err := rc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Process.Kill(); rc.Wait() })

	in := &rspamdInstance{normal: freeAddr(t), controller: freeAddr(t), password: "learn-secret", log: filepath.Join(dir, "log", "rspamd.log")}
	// A short TLD list: compiling the full public suffix list takes
	// minutes on a busy machine, and no rule here needs it.
	if err := os.WriteFile(filepath.Join(dir, "tld.dat"), []byte("com\norg\nnet\ntest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`options {
  pidfile = "%[1]s/run/rspamd.pid";
  dbdir = "%[1]s/db";
  hs_cache_dir = "%[1]s/db";
  url_tld = "%[1]s/tld.dat";
  dns { nameserver = ["127.0.0.1:1"]; timeout = 1s; retransmits = 1; }
}
logging { type = "file"; filename = "%[1]s/log/rspamd.log"; level = "info"; }
actions { reject = 15; add_header = 6; greylist = 4; }
redis { servers = "%[2]s"; }
worker "normal" { bind_socket = "%[3]s"; count = 1; }
worker "controller" { bind_socket = "%[4]s"; count = 1; password = "%[5]s"; enable_password = "%[5]s"; }
classifier "bayes" {
  tokenizer { name = "osb"; }
  backend = "redis";
  servers = "%[2]s";
  new_schema = true;
  min_tokens = 11;
  min_learns = 1;
  statfile { symbol = "BAYES_HAM"; spam = false; }
  statfile { symbol = "BAYES_SPAM"; spam = true; }
}
`, dir, redisAddr, in.normal, in.controller, in.password)
	cf := filepath.Join(dir, "rspamd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", "-c", cf}
	if os.Geteuid() == 0 {
		args = append(args, "-i") // rspamd refuses root without it
	}
	cmd := exec.Command(rspamd, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// rspamd forks workers that share its output: stop the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		c1, err1 := net.Dial("tcp", in.normal)
		c2, err2 := net.Dial("tcp", in.controller)
		if err1 == nil && err2 == nil {
			c1.Close()
			c2.Close()
			return in
		}
		if err1 == nil {
			c1.Close()
		}
		if err2 == nil {
			c2.Close()
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(in.log)
			t.Fatalf("rspamd did not start:\n%s\n%s", out.String(), log)
		}
	}
}

// learned returns the Message-IDs the controller reports as learned in
// class ("spam" or "ham"), one per learn.
func (in *rspamdInstance) learned(t *testing.T, class string) []string {
	t.Helper()
	b, err := os.ReadFile(in.log)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`learned message as ` + class + `: (\S+)`)
	var ids []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestSpamLearningWithRspamd moves messages into and out of Junk over
// IMAP and watches a real rspamd learn them: spam on the way in, ham on
// the way out (not to Trash), each at most once. A GTUBE message is filed
// in Junk by the /checkv2 verdict and is not trained when moved within.
func TestSpamLearningWithRspamd(t *testing.T) {
	bin := roostBinary(t)
	rs := startRspamd(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	imapAddr := freeAddr(t)
	cfgText, _ := os.ReadFile(cfg)
	cfgText = []byte(strings.Replace(string(cfgText), `imap_listen = "off"`, fmt.Sprintf("imap_listen = %q", imapAddr), 1))
	cfgText = fmt.Appendf(cfgText, "allow_plaintext_auth = true\nspam_rspamd_url = %q\nspam_learn_rspamd_url = %q\nspam_learn_rspamd_password = %q\n",
		"http://"+rs.normal, "http://"+rs.controller, rs.password)
	if err := os.WriteFile(cfg, cfgText, 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, bin, cfg, dir)
	admin := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"admin", "--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("roost admin %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	admin("", "domain", "add", "acme.test")
	admin("alice-pw\n", "user", "create", "alice", "--email", "alice@acme.test", "--password-stdin")

	c, err := imapclient.DialInsecure(imapAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", "alice-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	words := []string{"offer", "cheap", "money", "winner", "prize", "click", "free", "urgent", "bank", "transfer", "lottery", "million", "claim", "meeting", "report"}
	r := rand.New(rand.NewPCG(1, 2))
	message := func(id string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "From: <someone@remote.test>\r\nTo: <alice@acme.test>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\n", id, id)
		for i := range 120 {
			b.WriteString(words[r.IntN(len(words))])
			if i%12 == 11 {
				b.WriteString("\r\n")
			} else {
				b.WriteString(" ")
			}
		}
		return b.String()
	}
	appendTo := func(box, msg string) {
		t.Helper()
		ac := c.Append(box, int64(len(msg)), nil)
		ac.Write([]byte(msg))
		ac.Close()
		if _, err := ac.Wait(); err != nil {
			t.Fatalf("APPEND %s: %v", box, err)
		}
	}
	// uidOf finds a message by Message-ID in the selected mailbox.
	moveByID := func(from, to, id string) {
		t.Helper()
		if _, err := c.Select(from, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: id}}}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		uids := data.AllUIDs()
		if len(uids) != 1 {
			t.Fatalf("%s in %s: %d matches", id, from, len(uids))
		}
		if _, err := c.Move(imap.UIDSetNum(uids...), to).Wait(); err != nil {
			t.Fatalf("MOVE %s → %s: %v", from, to, err)
		}
	}
	waitLearned := func(class string, want ...string) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got := rs.learned(t, class)
			if strings.Join(got, " ") == strings.Join(want, " ") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("rspamd learned as %s %q, want %q", class, got, want)
			}
		}
	}

	appendTo("INBOX", message("m1@remote.test"))
	appendTo("INBOX", message("m2@remote.test"))

	// Into Junk: spam.
	moveByID("INBOX", "Junk", "m1@remote.test")
	waitLearned("spam", "m1@remote.test")
	waitLearned("ham")
	// Out of Junk: ham.
	moveByID("Junk", "INBOX", "m1@remote.test")
	waitLearned("ham", "m1@remote.test")
	// Again into Junk and out: already trained in both directions.
	moveByID("INBOX", "Junk", "m1@remote.test")
	moveByID("Junk", "INBOX", "m1@remote.test")
	// COPY into Junk trains the copy (a new message); from Junk to
	// Trash is no ham.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "m2@remote.test"}}}, nil).Wait()
	if err != nil || len(data.AllUIDs()) != 1 {
		t.Fatalf("m2: %v %v", data, err)
	}
	if _, err := c.Copy(imap.UIDSetNum(data.AllUIDs()...), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	waitLearned("spam", "m1@remote.test", "m2@remote.test")
	moveByID("Junk", "Trash", "m2@remote.test")

	// rspamd's own verdict (/checkv2) files GTUBE in Junk; moving it
	// out and back in trains it as ham, then not again as spam? It was
	// judged spam at delivery, so only the ham lesson is sent.
	gtube := "From: <x@remote.test>\r\nTo: <alice@acme.test>\r\nSubject: gtube\r\nMessage-ID: <gtube@remote.test>\r\n\r\n" +
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n" + message("filler@remote.test")[strings.Index(message("filler@remote.test"), "\r\n\r\n")+4:]
	dc := exec.Command(bin, "deliver", "--config", cfg, "alice@acme.test")
	dc.Stdin = strings.NewReader(gtube)
	if out, err := dc.CombinedOutput(); err != nil {
		t.Fatalf("roost deliver: %v\n%s", err, out)
	}
	if _, err := c.Select("Junk", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err = c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "gtube@remote.test"}}}, nil).Wait()
	if err != nil || len(data.AllUIDs()) != 1 {
		t.Fatalf("GTUBE is not in Junk: %v %v", data, err)
	}
	moveByID("Junk", "INBOX", "gtube@remote.test")
	moveByID("INBOX", "Junk", "gtube@remote.test")
	waitLearned("ham", "m1@remote.test", "gtube@remote.test")
	// Give a wrong second lesson time to show, then check nothing more
	// was learned.
	time.Sleep(5 * time.Second)
	waitLearned("spam", "m1@remote.test", "m2@remote.test")
	waitLearned("ham", "m1@remote.test", "gtube@remote.test")
}
