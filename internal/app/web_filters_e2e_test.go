package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestWebFiltersE2E: filter rules in Settings (web/e2e/filters.mjs). The
// user saves a rule made in the form, "subject contains [report] → move
// to Reports, stop" (after a raw script the form cannot show, and a
// syntax error the raw editor reports at its line). Then a message is
// delivered by LMTP: one with "[report]" in its subject lands in Reports,
// another in the INBOX (checked over IMAP). Out-of-office, set before, is
// still on afterwards: the filters are a Sieve script, out-of-office is
// not, and saving one leaves the other alone.
func TestWebFiltersE2E(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr, imapAddr, lmtpAddr := freePort(t), freePort(t), freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\nimap_listen = %q\nlmtp_listen = %q\nallow_plaintext_auth = true\n", httpsAddr, imapAddr, lmtpAddr))
	waitFor(t, "https listener", func() bool {
		conn, err := net.Dial("tcp", httpsAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"finn","email":"finn@example.org","password":"pw-finn-1"}`, 201)
	adminCall(t, c, "PATCH", "/v1/users/finn/oof", `{"enabled":true,"subject":"Away","message":"Back on Monday."}`, 200)

	conn, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Minute))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	for _, cmd := range []string{"LOGIN finn pw-finn-1", "CREATE Reports"} {
		if l := imapLine(t, conn, r, cmd); !strings.HasPrefix(l, "t OK") {
			t.Fatalf("%s: %s", cmd, l)
		}
	}

	runWebE2E(t, node, chromium, webDir, "filters.mjs", "web-filters",
		"BASE=https://"+httpsAddr, "USER=finn", "PASS=pw-finn-1")

	// LMTP: one message for the rule, one not.
	lc, err := net.Dial("tcp", lmtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	lc.SetDeadline(time.Now().Add(time.Minute))
	lr := bufio.NewReader(lc)
	expect := func(cmd, code string) {
		t.Helper()
		if cmd != "" {
			fmt.Fprintf(lc, "%s\r\n", cmd)
		}
		for {
			l, err := lr.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			if len(l) >= 4 && l[3] == ' ' {
				if !strings.HasPrefix(l, code) {
					t.Fatalf("LMTP %s: %s", cmd, l)
				}
				return
			}
		}
	}
	expect("", "220")
	expect("LHLO test", "250")
	for _, subject := range []string{"Weekly [report] 49", "Lunch on Friday"} {
		expect("MAIL FROM:<boss@example.net>", "250")
		expect("RCPT TO:<finn@example.org>", "250")
		expect("DATA", "354")
		expect("From: Boss <boss@example.net>\r\nTo: finn@example.org\r\nSubject: "+subject+"\r\nMessage-ID: <"+strings.Fields(subject)[0]+"@example.net>\r\n\r\nText.\r\n.", "250")
	}
	expect("QUIT", "221")

	subjects := func(folder string) string {
		t.Helper()
		if l := imapLine(t, conn, r, "SELECT "+folder); !strings.HasPrefix(l, "t OK") {
			t.Fatalf("SELECT %s: %s", folder, l)
		}
		fmt.Fprintf(conn, "f FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
		var got []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := strings.CutPrefix(l, "Subject: "); ok {
				got = append(got, strings.TrimSpace(s))
			}
			if strings.HasPrefix(l, "f ") {
				break
			}
		}
		return strings.Join(got, "|")
	}
	if got := subjects("Reports"); got != "Weekly [report] 49" {
		t.Errorf("Reports holds %q, want the [report] message", got)
	}
	if got := subjects("INBOX"); got != "Lunch on Friday" {
		t.Errorf("INBOX holds %q, want only the other message", got)
	}
	var oof struct {
		Enabled bool   `json:"enabled"`
		Message string `json:"message"`
	}
	json.Unmarshal([]byte(adminCall(t, c, "GET", "/v1/users/finn/oof", "", 200)), &oof)
	if !oof.Enabled || oof.Message != "Back on Monday." {
		t.Errorf("out-of-office after saving filters: %+v, want it still on", oof)
	}
}
