package app

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestLDAPWiring runs the composed server with user_plugin = ldap against
// a real slapd: IMAP LOGIN is checked by the directory (right and wrong
// password), LMTP delivers to a directory user who never logged in (the
// user and store are created just in time), and with the directory down
// a login gets a temporary failure, not "wrong password".
func TestLDAPWiring(t *testing.T) {
	srv := testenv.StartSlapd(t)
	srv.AddUser("alice", "alice-pw", "alice@example.org")
	srv.AddUser("bob", "bob-pw", "bob@example.org")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "roost.toml")
	imapAddr, lmtpAddr := freePort(t), freePort(t)
	writeConfig(t, cfg, dir, fmt.Sprintf("imap_listen = %q\nlmtp_listen = %q\nallow_plaintext_auth = true\n"+
		"user_plugin = \"ldap\"\nldap_uri = %q\nldap_bind_user = %q\nldap_bind_passwd = %q\nldap_search_base = %q\n"+
		"ldap_tenant = \"example\"\nldap_network_timeout = 2\n",
		imapAddr, lmtpAddr, srv.URI, testenv.SlapdSvcDN, testenv.SlapdSvcPW, testenv.SlapdSuffix))
	var stdout, stderr syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{ConfigPath: cfg, Stdout: &stdout, Stderr: &stderr, Version: "test"}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("no shutdown")
		}
	})
	waitFor(t, "imap listener", func() bool { return strings.Contains(stdout.String(), "is running") })

	// imap logs in and, on success, selects INBOX; it returns the tagged
	// answer to LOGIN and the EXISTS count.
	imap := func(user, pw string) (string, string) {
		t.Helper()
		c, err := net.Dial("tcp", imapAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		r.ReadString('\n')
		fmt.Fprintf(c, "a LOGIN %q %q\r\n", user, pw)
		var login string
		for {
			l, _ := r.ReadString('\n')
			if strings.HasPrefix(l, "a ") || l == "" {
				login = strings.TrimSpace(l)
				break
			}
		}
		if !strings.HasPrefix(login, "a OK") {
			return login, ""
		}
		fmt.Fprintf(c, "b SELECT INBOX\r\n")
		exists := ""
		for {
			l, _ := r.ReadString('\n')
			if strings.HasSuffix(strings.TrimSpace(l), "EXISTS") {
				exists = strings.TrimSpace(l)
			}
			if strings.HasPrefix(l, "b ") || l == "" {
				return login, exists
			}
		}
	}
	if got, _ := imap("alice", "alice-pw"); !strings.HasPrefix(got, "a OK") {
		t.Fatalf("LOGIN alice: %s\n%s", got, stderr.String())
	}
	if got, _ := imap("alice", "wrong"); !strings.Contains(got, "NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("LOGIN with a wrong password: %s", got)
	}

	// LMTP to bob, unknown to Roost so far.
	var c net.Conn
	var r *bufio.Reader
	dialLMTP := func() {
		t.Helper()
		var err error
		if c, err = net.Dial("tcp", lmtpAddr); err != nil {
			t.Fatal(err)
		}
		r = bufio.NewReader(c)
	}
	dialLMTP()
	expect := func(cmd, code string) {
		t.Helper()
		if cmd != "" {
			fmt.Fprintf(c, "%s\r\n", cmd)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			if len(l) >= 4 && l[3] == ' ' {
				if !strings.HasPrefix(l, code) {
					t.Fatalf("%s: %s\n%s", cmd, l, stderr.String())
				}
				return
			}
		}
	}
	expect("", "220")
	expect("LHLO test", "250")
	expect("MAIL FROM:<x@example.net>", "250")
	expect("RCPT TO:<nobody@example.org>", "550")
	expect("RCPT TO:<bob@example.org>", "250")
	expect("DATA", "354")
	expect("From: x@example.net\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n.", "250")
	expect("QUIT", "221")
	c.Close()
	if got, exists := imap("bob", "bob-pw"); !strings.HasPrefix(got, "a OK") || exists != "* 1 EXISTS" {
		t.Fatalf("bob after delivery: %s, %q", got, exists)
	}

	srv.Stop()
	if got, _ := imap("bob", "not-cached"); !strings.Contains(got, "NO [UNAVAILABLE]") {
		t.Fatalf("LOGIN with the directory down: %s", got)
	}
	// Delivery with the directory down: known users still get mail; an
	// address Roost does not know is deferred, not bounced.
	dialLMTP()
	defer c.Close()
	expect("", "220")
	expect("LHLO test", "250")
	expect("MAIL FROM:<x@example.net>", "250")
	expect("RCPT TO:<bob@example.org>", "250")
	expect("RCPT TO:<carol@example.org>", "451")
}
