package queue_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// startPostfix runs Debian's Postfix in the foreground with a private
// configuration and queue under a temporary directory: smtpd on a free
// port of 127.0.0.1 with STARTTLS (the test certificate), relaying
// everything to relayhost. It needs root (Postfix insists on it).
func startPostfix(t *testing.T, relayhost string, extra string) (addr string) {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/postfix"); err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("postfix is required (ROOST_REQUIRE_CLIENTS is set): %v", err)
		}
		t.Skip("postfix not installed")
	}
	if os.Geteuid() != 0 {
		// Postfix's master refuses to run as anyone else; an installed
		// Postfix is not enough.
		t.Skip("Postfix runs only as root; run the tests as root (scripts/test.sh in CI does) to include it")
	}
	dir := t.TempDir()
	// Postfix daemons run as user postfix: they must reach the directory.
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	conf, qdir, data := filepath.Join(dir, "conf"), filepath.Join(dir, "queue"), filepath.Join(dir, "data")
	for _, d := range []string{conf, qdir, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("chown", "postfix", data).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	cert, _ := testCert()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})...)
	certFile := filepath.Join(conf, "cert.pem")
	if err := os.WriteFile(certFile, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close() // Postfix binds it itself a moment later
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
			f[4] = "n" // no chroot: the temporary queue has no libraries
			mc.WriteString(strings.Join(f, " ") + "\n")
		default:
			mc.WriteString(l + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(conf, "master.cf"), []byte(mc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s
data_directory = %[2]s
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.test
mydestination =
relayhost = [%[3]s]:%[4]s
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
maillog_file_prefixes = %[5]s
maillog_file = %[5]s/maillog
smtpd_tls_security_level = may
smtpd_tls_chain_files = %[6]s
smtp_tls_security_level = none
queue_run_delay = 1s
minimal_backoff_time = 1s
%[7]s
`, qdir, data, strings.Split(relayhost, ":")[0], strings.Split(relayhost, ":")[1], dir, certFile, extra)
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/postfix", "-c", conf, "start-fg")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("/usr/sbin/postfix", "-c", conf, "stop").Run()
		if b, err := os.ReadFile(filepath.Join(qdir, "pid", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Logf("postfix log:\n%s", log)
		}
	})
	// Wait for smtpd to answer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Fatalf("postfix did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPostfixRelay sends through a real Postfix as the relay: STARTTLS
// with certificate verification, pipelining, DSN parameters passed on,
// a per-recipient 5xx turned into our DSN, and a DKIM signature that
// still verifies after Postfix relayed the message to its next hop.
func TestPostfixRelay(t *testing.T) {
	t.Parallel()
	next := newSink(t, nil) // Postfix's relayhost
	pf := startPostfix(t, next.addr,
		"smtpd_recipient_restrictions = check_recipient_access inline:{ gone@remote.test=REJECT }, permit_mynetworks, reject")
	e := newEnv(t, func(o *queue.Options) {
		o.Relay = &queue.Relay{Addr: pf, TLS: "starttls"}
		o.TLS = clientTLS()
	})
	rec, err := queue.GenerateDKIMKey(sys, e.db, "acme.test", "pf")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.submit("alice", "alice@acme.test", []string{"x@remote.test", "gone@remote.test"}, msg("alice@acme.test", "x@remote.test", "via postfix"),
		func(s *queue.Submission) { s.EnvID = "PF1"; s.Recipients[0].Notify = "FAILURE" })
	if err != nil {
		t.Fatal(err)
	}
	e.runDue()
	e.runDue() // our DSN for gone@remote.test, delivered locally
	if n := e.queueLen(); n != 0 {
		ms, _ := e.db.ListQueue(sys)
		t.Fatalf("queue has %d: %+v", n, ms[0])
	}
	all := e.folder("alice", store.SpecialInbox)
	if len(all) != 1 || !strings.Contains(all[0], "Final-Recipient: rfc822; gone@remote.test") || !strings.Contains(all[0], "Diagnostic-Code: smtp; 554 5.7.1 <gone@remote.test>: Recipient address rejected") {
		t.Fatalf("DSN: %q", all)
	}
	// Postfix relays to its next hop.
	deadline := time.Now().Add(60 * time.Second)
	for len(next.transactions()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	tx := next.transactions()
	if len(tx) != 1 {
		t.Fatalf("next hop got %d transactions", len(tx))
	}
	if tx[0].From != "alice@acme.test" || strings.Join(tx[0].Rcpts, ",") != "x@remote.test" || !strings.Contains(tx[0].MailArgs, "ENVID=PF1") {
		t.Fatalf("relayed envelope %+v", tx[0])
	}
	if !strings.Contains(tx[0].Data, "by relay.test") || !strings.Contains(tx[0].Data, "ESMTPS") {
		t.Errorf("no Received line showing TLS from Postfix:\n%s", tx[0].Data)
	}
	lookup := func(name string) ([]string, error) {
		if name == queue.DKIMRecordName("acme.test", "pf") {
			return []string{rec}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	vs, err := dkim.VerifyWithOptions(strings.NewReader(tx[0].Data), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("DKIM after Postfix: %v %+v", err, vs)
	}
}
