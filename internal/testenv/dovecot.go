package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Dovecot is a Dovecot (Debian's dovecot-imapd) of a test's own on
// 127.0.0.1: passwd-file users, Maildirs under Dir/home/<user>/Maildir.
// Nothing of the system's Dovecot is used.
type Dovecot struct {
	Addr     string // host:port of its IMAP listener
	Dir      string // its directory: run/, state/, home/, dovecot.log
	UID, GID int    // the owner mail files must have (the test's own user unless root)
}

// DovecotOptions configure StartDovecot.
type DovecotOptions struct {
	// Users maps logins to their passwords ({PLAIN} in the passwd file).
	Users map[string]string
	// Extra is appended to the configuration (e.g. imap_metadata).
	Extra string
}

// StartDovecot starts Dovecot for the test and stops it when the test
// ends. Without Dovecot the test is skipped, or fails when
// ROOST_REQUIRE_CLIENTS is set.
func StartDovecot(t testing.TB, o DovecotOptions) *Dovecot {
	t.Helper()
	need := func(what string) {
		t.Helper()
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s (Debian packages dovecot-core, dovecot-imapd)", what)
		}
		t.Skipf("%s (Debian packages dovecot-core, dovecot-imapd)", what)
	}
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		bin = "/usr/sbin/dovecot" // not on a non-root user's PATH
	}
	if _, err := os.Stat(bin); err != nil {
		need("Dovecot is not installed")
	}
	if _, err := os.Stat("/usr/lib/dovecot/imap"); err != nil {
		need("Dovecot's imap binary is missing")
	}
	// Dovecot's unprivileged processes must reach the directory: one
	// outside the test's 0700 temporary directory, removed afterwards.
	dir, err := os.MkdirTemp("", "roost-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run", "state", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// As root, Dovecot's own users run its processes and the mail user is
	// "dovecot"; otherwise everything runs as the current user.
	internal, login, group := "dovecot", "dovenull", "dovecot"
	var uid, gid string
	if os.Getuid() == 0 {
		u, err := user.Lookup("dovecot")
		if err == nil {
			_, err = user.Lookup("dovenull")
		}
		if err != nil {
			need(fmt.Sprintf("Dovecot's users are missing: %v", err))
		}
		uid, gid = u.Uid, u.Gid
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		internal, login, uid, gid, group = u.Username, u.Username, u.Uid, u.Gid, g.Name
	}
	d := &Dovecot{Dir: dir}
	d.UID, _ = strconv.Atoi(uid)
	d.GID, _ = strconv.Atoi(gid)
	if err := os.Chown(filepath.Join(dir, "home"), d.UID, d.GID); err != nil && os.Getuid() == 0 {
		t.Fatal(err)
	}
	var pw []byte
	for u, p := range o.Users {
		pw = fmt.Appendf(pw, "%s:{PLAIN}%s\n", u, p)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), pw, 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		addr, err := runDovecot(t, bin, dir, internal, group, login, uid, gid, o.Extra)
		if err == nil {
			d.Addr = addr
			return d
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("Dovecot did not start (%v); again on another port", err)
	}
}

// runDovecot writes the configuration for a free port and starts Dovecot
// in the foreground; it is stopped when the test ends. An error means
// it exited early (e.g. another process took the port first).
func runDovecot(t testing.TB, bin, dir, internal, group, login, uid, gid, extra string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // Dovecot binds it again
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %[2]s
default_internal_group = %[3]s
default_login_user = %[4]s
first_valid_uid = %[5]s
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[5]s gid=%[6]s home=%[1]s/home/%%u
}
mail_location = maildir:~/Maildir:LAYOUT=fs
namespace inbox {
  inbox = yes
  separator = /
  prefix =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[7]s
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
%[8]s
`, dir, internal, group, login, uid, gid, port, extra)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, nil
		}
		select {
		case <-exited:
			logs, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			so, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			return "", fmt.Errorf("dovecot exited: %s\n%s", so, logs)
		default:
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			so, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			t.Fatalf("Dovecot did not start on %s: %v\n%s\n%s", addr, err, so, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
