package imapserver_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// curl's imap:// and imaps:// (Debian package curl): LIST, a message by
// UID, a search by URL and by a custom command (-X), over STARTTLS,
// implicit TLS and plain TCP.

func TestCurl(t *testing.T) {
	t.Parallel()
	bin := needTool(t, "curl", "curl")
	e := newEnv(t)
	inbox := e.folder("alice", "inbox")
	for i := range 3 {
		e.deliver(inbox.ID, testMsg(i))
	}
	c := e.login("alice")
	c.ok("CREATE Work")
	ca := caFile(t)
	_, port := splitAddr(t, e.addr)
	_, tlsPort := splitAddr(t, e.tlsAddr)

	curl := func(url string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		all := append([]string{"-sS", "--max-time", "30", "--cacert", ca, "-u", "alice:" + password("alice"), url}, args...)
		out, err := exec.CommandContext(ctx, bin, all...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s %q: %v\n%s", url, args, err, out)
		}
		return strings.ReplaceAll(string(out), "\r\n", "\n")
	}
	starttls := "imap://localhost:" + port
	implicit := "imaps://localhost:" + tlsPort
	plain := "imap://127.0.0.1:" + port

	for _, base := range []string{starttls, implicit} {
		var out string
		if base == starttls {
			out = curl(base+"/", "--ssl-reqd")
		} else {
			out = curl(base + "/")
		}
		if !strings.Contains(out, "INBOX") || !strings.Contains(out, "Work") || !strings.Contains(out, "* LIST") {
			t.Fatalf("LIST via %s:\n%s", base, out)
		}
	}
	// A whole message by UID, byte for byte (less CRLF).
	if got, want := curl(implicit+"/INBOX;UID=2"), strings.ReplaceAll(testMsg(1), "\r\n", "\n"); got != want {
		t.Fatalf("message 2:\n%q\nwant\n%q", got, want)
	}
	// A section.
	if got := curl(implicit + "/INBOX;UID=3;SECTION=HEADER.FIELDS%20(SUBJECT)"); !strings.Contains(got, "Subject: message 2") || strings.Contains(got, "From:") {
		t.Fatalf("section: %q", got)
	}
	// SEARCH by URL (RFC 5092 §6) and by a custom command.
	if got := curl(implicit + "/INBOX?SUBJECT%20%22message%201%22"); !strings.Contains(got, "* SEARCH 2") {
		t.Fatalf("URL search: %q", got)
	}
	if got := curl(implicit+"/INBOX", "-X", "UID SEARCH FROM sender0"); !strings.Contains(got, "* SEARCH 1\n") {
		t.Fatalf("-X SEARCH: %q", got)
	}
	if got := curl(plain+"/INBOX", "-X", "STATUS INBOX (MESSAGES UIDNEXT)"); !strings.Contains(got, "MESSAGES 3") || !strings.Contains(got, "UIDNEXT 4") {
		t.Fatalf("-X STATUS: %q", got)
	}
	// A message that does not exist is an error for curl.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-sS", "--max-time", "30", "-u", "alice:"+password("alice"), plain+"/INBOX;UID=99").CombinedOutput(); err == nil {
		t.Fatalf("UID 99 fetched: %q", out)
	}
}
