// Package postfixtest runs a private instance of Debian's Postfix for
// tests: its own main.cf, master.cf, queue and log under t.TempDir(),
// smtpd on a free port of 127.0.0.1, the master in the foreground, stopped
// by t.Cleanup.
//
// An instance can, at the same time,
//   - deliver every recipient of some domains over LMTP to a unix socket or
//     a TCP address (Config.LMTP), the way Postfix sits in front of Roost;
//   - relay everything else to one next hop (Config.Relayhost), or
//   - keep everything else in files that the test reads (Config.Sink,
//     Postfix.Messages), including the bounces Postfix itself writes.
//
// Postfix's master refuses to run as anyone but root, so Start skips the
// test when not root, and when /usr/sbin/postfix is missing, unless the
// environment variable ROOST_REQUIRE_CLIENTS is set: then a missing
// Postfix fails the test. Instances are independent of each other and of
// the system's Postfix (which need not run), so tests using them can run
// in parallel.
package postfixtest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian installs Postfix's control program.
const Binary = "/usr/sbin/postfix"

// Config describes one instance.
type Config struct {
	// Hostname is myhostname, seen in Received lines and bounces; "" means
	// "postfix.test".
	Hostname string
	// LMTP maps a domain to the LMTP server that receives every recipient
	// of it: "unix:/path/to/socket" or "inet:127.0.0.1:port". Postfix
	// accepts any local part of these domains and leaves the recipient
	// check to the LMTP server (a refusal there becomes a bounce). Postfix's
	// lmtp client runs as user postfix: a unix socket must be writable and
	// its directory reachable for it (see Reachable).
	LMTP map[string]string
	// Relayhost ("host:port") receives all mail not for an LMTP domain.
	Relayhost string
	// Sink keeps all mail not for an LMTP domain in files instead (read
	// them with Messages). It excludes Relayhost.
	Sink bool
	// Cert, when set, makes smtpd offer STARTTLS with it.
	Cert *tls.Certificate
	// Extra is appended to main.cf.
	Extra string
}

// Postfix is a running instance.
type Postfix struct {
	// Addr is smtpd's address, 127.0.0.1:port.
	Addr string
	// Dir is the instance's directory: conf/, queue/, data/, sink/, maillog.
	Dir  string
	conf string
}

// Message is one message the sink received.
type Message struct {
	From string   // envelope sender; "" for the null sender
	To   []string // envelope recipients
	// Data is the message as Postfix passed it on (its Received line on
	// top), with CRLF line endings as on the wire.
	Data string
}

// Start starts an instance and registers its shutdown with t.Cleanup.
func Start(t testing.TB, c Config) *Postfix {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("postfix is required (ROOST_REQUIRE_CLIENTS is set): %v", err)
		}
		t.Skip("postfix not installed (Debian package postfix)")
	}
	if os.Geteuid() != 0 {
		// Postfix's master refuses to run as anyone else; an installed
		// Postfix is not enough.
		t.Skip("Postfix runs only as root; run the tests as root (scripts/test.sh in CI does) to include it")
	}
	if c.Sink && c.Relayhost != "" {
		t.Fatal("postfixtest: Sink and Relayhost exclude each other")
	}
	if c.Hostname == "" {
		c.Hostname = "postfix.test"
	}
	dir := t.TempDir()
	Reachable(t, dir)
	p := &Postfix{Dir: dir, conf: filepath.Join(dir, "conf")}
	qdir, data, sink := filepath.Join(dir, "queue"), filepath.Join(dir, "data"), filepath.Join(dir, "sink")
	for _, d := range []string{p.conf, qdir, data, sink} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// data_directory belongs to the mail owner; the sink's files are
	// written by the pipe transport as nobody.
	chown(t, "postfix", data)
	chown(t, "nobody", sink)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Addr = ln.Addr().String()
	ln.Close() // Postfix binds it itself a moment later

	var main strings.Builder
	fmt.Fprintf(&main, `compatibility_level = 3.6
queue_directory = %[1]s
data_directory = %[2]s
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = %[3]s
mydomain = %[3]s
myorigin = %[3]s
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file_prefixes = %[4]s
maillog_file = %[4]s/maillog
smtp_tls_security_level = none
lmtp_tls_security_level = none
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
in_flow_delay = 0
`, qdir, data, c.Hostname, dir)
	if c.Cert != nil {
		certFile := filepath.Join(p.conf, "cert.pem")
		writeCert(t, certFile, c.Cert)
		fmt.Fprintf(&main, "smtpd_tls_security_level = may\nsmtpd_tls_chain_files = %s\n", certFile)
	}
	if len(c.LMTP) > 0 {
		var domains []string
		var transport strings.Builder
		for d, target := range c.LMTP {
			if !strings.HasPrefix(target, "unix:") && !strings.HasPrefix(target, "inet:") {
				t.Fatalf("postfixtest: LMTP target %q is neither unix:PATH nor inet:HOST:PORT", target)
			}
			domains = append(domains, d)
			fmt.Fprintf(&transport, "%s lmtp:%s\n", d, target)
		}
		sort.Strings(domains)
		tfile := filepath.Join(p.conf, "transport")
		if err := os.WriteFile(tfile, []byte(transport.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		// An empty virtual_mailbox_maps accepts every local part of the
		// virtual domains: the LMTP server decides.
		fmt.Fprintf(&main, "virtual_mailbox_domains = %s\nvirtual_mailbox_maps =\ntransport_maps = texthash:%s\n",
			strings.Join(domains, ", "), tfile)
	}
	switch {
	case c.Relayhost != "":
		host, port, err := net.SplitHostPort(c.Relayhost)
		if err != nil {
			t.Fatalf("postfixtest: Relayhost: %v", err)
		}
		fmt.Fprintf(&main, "relayhost = [%s]:%s\n", host, port)
	case c.Sink:
		script := filepath.Join(p.conf, "sink.sh")
		// One file per delivery (per recipient domain): the envelope
		// sender, the recipients separated by spaces, then the message. Written aside and renamed, so a reader never sees
		// half a message. EX_TEMPFAIL (75) makes Postfix retry.
		sh := fmt.Sprintf(`#!/bin/sh
umask 022
tmp=$(mktemp %[1]s/tmp.XXXXXXXX) || exit 75
{ printf '%%s\n' "$1"; shift; printf '%%s\n' "$*"; cat; } >"$tmp" || exit 75
mv "$tmp" "%[1]s/msg.${tmp##*.}" || exit 75
`, sink)
		if err := os.WriteFile(script, []byte(sh), 0o755); err != nil {
			t.Fatal(err)
		}
		main.WriteString("default_transport = sink\nrelay_transport = sink\nsink_destination_recipient_limit = 50\n")
	}
	main.WriteString(c.Extra)
	main.WriteString("\n")
	if err := os.WriteFile(filepath.Join(p.conf, "main.cf"), []byte(main.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.conf, "master.cf"), []byte(masterCF(t, p.Addr, c.Sink, filepath.Join(p.conf, "sink.sh"))), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(Binary, "-c", p.conf, "start-fg")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		exec.Command(Binary, "-c", p.conf, "stop").Run()
		if b, err := os.ReadFile(filepath.Join(qdir, "pid", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		// Whatever is left of the process group started here (a
		// delivery agent that outlived its master).
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("postfix output:\n%s\npostfix log:\n%s", out.String(), p.Log())
		}
	})
	// Wait for smtpd to answer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-exited:
			t.Fatalf("postfix exited at start: %s\n%s", out.String(), p.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix did not start: %v\n%s\n%s", err, out.String(), p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// masterCF is Debian's master.cf with smtpd on addr instead of port 25,
// no chroot (the private queue has no libraries), and the sink transport.
func masterCF(t testing.TB, addr string, sink bool, script string) string {
	t.Helper()
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	var mc strings.Builder
	for _, l := range strings.Split(string(master), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 8 && f[0] == "smtp" && f[1] == "inet":
			fmt.Fprintf(&mc, "%s inet n - n - - smtpd\n", addr)
		case len(f) >= 8 && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, " ") && (f[1] == "unix" || f[1] == "unix-dgram" || f[1] == "fifo" || f[1] == "inet"):
			f[4] = "n"
			mc.WriteString(strings.Join(f, " ") + "\n")
		default:
			mc.WriteString(l + "\n")
		}
	}
	if sink {
		// pipe(8) refuses root; null_sender= passes <> as an empty
		// argument instead of MAILER-DAEMON.
		fmt.Fprintf(&mc, "sink unix - n n - - pipe\n  flags= null_sender= user=nobody argv=/bin/sh %s ${sender} ${recipient}\n", script)
	}
	return mc.String()
}

func chown(t testing.TB, user, path string) {
	t.Helper()
	if out, err := exec.Command("chown", user, path).CombinedOutput(); err != nil {
		t.Fatalf("chown %s %s: %v %s", user, path, err, out)
	}
}

func writeCert(t testing.TB, file string, cert *tls.Certificate) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	for _, der := range cert.Certificate {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Reachable lets Postfix's unprivileged daemons (user postfix, and nobody
// for the sink) reach path: it opens path and the directories above it
// up to the temporary directory for search. Use it on the directory of an
// LMTP socket; make the socket itself writable with os.Chmod(sock, 0o666).
func Reachable(t testing.TB, path string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	path = filepath.Clean(path)
	for d := path; d != "/" && d != tmp && d != "."; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if info.IsDir() {
			if err := os.Chmod(d, info.Mode().Perm()|0o755); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.HasPrefix(path, tmp+"/") {
			break // outside the temporary directory: only path itself
		}
	}
}

// Log returns Postfix's log so far.
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	return string(b)
}

// Messages returns what the sink has received, in no particular order.
func (p *Postfix) Messages() ([]Message, error) {
	dir := filepath.Join(p.Dir, "sink")
	names, err := filepath.Glob(filepath.Join(dir, "msg.*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []Message
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		from, rest, ok1 := strings.Cut(string(b), "\n")
		to, data, ok2 := strings.Cut(rest, "\n")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("sink file %s: no envelope", n)
		}
		// pipe(8) ends lines with LF; the wire has CRLF.
		ms = append(ms, Message{From: from, To: strings.Fields(to), Data: strings.ReplaceAll(data, "\n", "\r\n")})
	}
	return ms, nil
}

// Wait polls until cond holds for the sink's messages, for up to a minute,
// and returns them; it fails the test with what arrived when it does not.
func (p *Postfix) Wait(t testing.TB, what string, cond func([]Message) bool) []Message {
	t.Helper()
	var ms []Message
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ms, err = p.Messages(); err == nil && cond(ms) {
			return ms
		}
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "--- from <%s> to %v\n%s\n", m.From, m.To, m.Data)
	}
	t.Fatalf("timed out waiting for %s at the Postfix sink (err %v); it has %d messages:\n%s", what, err, len(ms), b.String())
	return nil
}

// WaitLog polls until Postfix's log has a line containing every one of
// the strings, for up to a minute, and returns that line.
func (p *Postfix) WaitLog(t testing.TB, all ...string) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
	line:
		for _, l := range strings.Split(p.Log(), "\n") {
			for _, s := range all {
				if !strings.Contains(l, s) {
					continue line
				}
			}
			return l
		}
	}
	t.Fatalf("timed out waiting for a Postfix log line with %q; log:\n%s", all, p.Log())
	return ""
}

// QueueEmpty reports whether Postfix's queue is empty (nothing deferred
// or waiting), with the queue listing when it is not.
func (p *Postfix) QueueEmpty() (bool, string, error) {
	out, err := exec.Command("/usr/sbin/postqueue", "-c", p.conf, "-p").CombinedOutput()
	if err != nil {
		return false, string(out), fmt.Errorf("postqueue: %v: %s", err, out)
	}
	return strings.Contains(string(out), "Mail queue is empty"), string(out), nil
}

// lockedBuf collects the output of postfix start-fg.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
