package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpSink is a minimal SMTP server standing in for the relay
// (smtp_server): it accepts everything and records the transactions.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string // "FROM rcpt1,rcpt2\n" + data
}

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(l string) { w.WriteString(l + "\r\n"); w.Flush() }
	say("220 sink ESMTP")
	var from string
	var rcpts []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		l = strings.TrimRight(l, "\r\n")
		u := strings.ToUpper(l)
		switch {
		case strings.HasPrefix(u, "EHLO"), strings.HasPrefix(u, "HELO"):
			say("250-sink\r\n250 PIPELINING")
		case strings.HasPrefix(u, "MAIL FROM:"):
			from, rcpts = strings.Fields(l[10:])[0], nil
			say("250 ok")
		case strings.HasPrefix(u, "RCPT TO:"):
			rcpts = append(rcpts, strings.Fields(l[8:])[0])
			say("250 ok")
		case u == "DATA":
			say("354 go")
			var data strings.Builder
			for {
				d, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if d == ".\r\n" {
					break
				}
				data.WriteString(d)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, from+" "+strings.Join(rcpts, ",")+"\n"+data.String())
			s.mu.Unlock()
			say("250 queued")
		case u == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// submitTLS submits over STARTTLS (the server's certificate is the
// self-signed one made at first start) with AUTH PLAIN.
func submitTLS(addr, login, pw, from string, to []string, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if err := c.Auth(smtp.PlainAuth("", login, pw, host)); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// envSubject finds the subject (the second field) of a FETCH ENVELOPE.
var envSubject = regexp.MustCompile(`ENVELOPE \((?:NIL|"[^"]*") "([^"]*)"`)

// TestMailFlowAgainstServe drives the wired mail flow of `roost serve`:
// SMTP submission to a local user (delivered through the pipeline, whose
// out-of-office reply comes back through the queue) and to a remote one
// (through the relay), as a user would see it over IMAP.
func TestMailFlowAgainstServe(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	sink := newSMTPSink(t)
	subAddr, imapAddr := freeAddr(t), freeAddr(t)
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "allow_plaintext_auth = true\nsmtp_server = %q\nsmtp_tls = \"none\"\n", sink.ln.Addr().String())
	f.Close()
	// quietConfig switched every listener off; turn two back on.
	cfgText, _ := os.ReadFile(cfg)
	cfgText = []byte(strings.NewReplacer(`submission_listen = "off"`, fmt.Sprintf("submission_listen = %q", subAddr),
		`imap_listen = "off"`, fmt.Sprintf("imap_listen = %q", imapAddr)).Replace(string(cfgText)))
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
	admin("alice-pw\n", "user", "create", "alice", "--email", "alice@acme.test", "--name", "Alice", "--password-stdin")
	admin("bob-pw\n", "user", "create", "bob", "--email", "bob@acme.test", "--name", "Bob", "--password-stdin")
	admin("I am away this week.\n", "user", "oof", "alice", "--on", "--subject", "Away", "--message-file", "-")

	send := func(login, pw, from string, to []string, subject string) {
		t.Helper()
		msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@acme.test>\r\n\r\nHello.\r\n", from, to[0], subject, strings.ReplaceAll(subject, " ", "."))
		if err := submitTLS(subAddr, login, pw, from, to, msg); err != nil {
			t.Fatalf("submit %q: %v", subject, err)
		}
	}
	send("bob", "bob-pw", "bob@acme.test", []string{"alice@acme.test"}, "Lunch")
	send("alice", "alice-pw", "alice@acme.test", []string{"partner@remote.test"}, "Offer")

	subjects := func(login, pw, folder string) []string {
		t.Helper()
		c, err := benchDial(benchConfig{addr: imapAddr})
		if err != nil {
			t.Fatal(err)
		}
		defer c.c.Close()
		if _, err := c.cmd("LOGIN %s %s", login, pw); err != nil {
			t.Fatal(err)
		}
		if _, err := c.cmd("SELECT %s", folder); err != nil {
			t.Fatal(err)
		}
		lines, err := c.cmd("FETCH 1:* (ENVELOPE)")
		if err != nil {
			return nil
		}
		var out []string
		for _, l := range lines {
			if m := envSubject.FindStringSubmatch(l); m != nil {
				out = append(out, m[1])
			}
		}
		return out
	}
	want := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	want("alice to get bob's mail", func() bool { return strings.Join(subjects("alice", "alice-pw", "INBOX"), "|") == "Lunch" })
	want("bob's Sent copy", func() bool { return strings.Join(subjects("bob", "bob-pw", "Sent"), "|") == "Lunch" })
	want("alice's out-of-office reply to reach bob", func() bool { return strings.Join(subjects("bob", "bob-pw", "INBOX"), "|") == "Away" })
	want("the remote message at the relay", func() bool {
		ms := sink.messages()
		return len(ms) == 1 && strings.HasPrefix(ms[0], "<alice@acme.test> <partner@remote.test>\n") && strings.Contains(ms[0], "Subject: Offer")
	})
	// A group with a user and a contact: the contact's copy goes out
	// through the relay (envelope sender kept, Delivered-To naming the
	// group), the user's into her Inbox.
	admin("", "contact", "create", "ann@partner.test", "--name", "Ann Partner")
	admin("", "group", "create", "project", "--email", "project@acme.test")
	admin("", "group", "add-member", "project", "alice")
	admin("", "group", "add-contact", "project", "ann@partner.test")
	send("bob", "bob-pw", "bob@acme.test", []string{"project@acme.test"}, "Kickoff")
	want("the group's contact copy at the relay", func() bool {
		for _, m := range sink.messages() {
			if strings.HasPrefix(m, "<bob@acme.test> <ann@partner.test>\n") && strings.Contains(m, "Delivered-To: project@acme.test") &&
				strings.Contains(m, "Subject: Kickoff") {
				return true
			}
		}
		return false
	})
	want("alice's copy of the group's mail", func() bool {
		return slices.Contains(subjects("alice", "alice-pw", "INBOX"), "Kickoff")
	})
	// No out-of-office for mail alice sends herself, and the queue is empty.
	if out := admin("", "queue", "list"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("queue not empty:\n%s", out)
	}
}
