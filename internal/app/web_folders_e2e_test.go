package app

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestWebClientFolders: folder management and multi-select in the web
// client (web/e2e/folders.mjs) — create, rename (F2), move (drag and
// dialog), delete (with a confirm; the Inbox refused), the tree updating
// from push, and a three-message move plus flag and mark-read on a
// selection — then checks over IMAP that LIST shows the renamed and moved
// folders and that the moved messages are in theirs.
func TestWebClientFolders(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, imapAddr := webE2EServer(t, dir, "")
	adminCall(t, c, "POST", "/v1/users", `{"login":"fay","email":"fay@example.org","password":"pw-fay-1"}`, 201)
	for i := 1; i <= 6; i++ {
		msg := fmt.Sprintf("From: Sender <s@example.net>\r\nTo: fay@example.org\r\nSubject: Batch %d\r\nDate: Mon, 1 Dec 2026 %02d:00:00 +0000\r\nMessage-ID: <batch%d@example.net>\r\n\r\nBody %d.\r\n", i, 8+i, i, i)
		adminCall(t, c, "POST", "/v1/deliver?rcpt=fay@example.org", msg, 201)
	}

	runWebE2E(t, node, chromium, webDir, "folders.mjs", "web-folders",
		"BASE=https://"+httpsAddr, "USER=fay", "PASS=pw-fay-1")

	// Over IMAP: the tree the browser left, and the moved messages.
	conn, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	// untagged collects the untagged lines of a command up to its OK.
	untagged := func(cmd string) []string {
		t.Helper()
		fmt.Fprintf(conn, "t %s\r\n", cmd)
		var lines []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			if strings.HasPrefix(l, "t ") {
				if !strings.HasPrefix(l, "t OK") {
					t.Fatalf("%s: %s", cmd, l)
				}
				return lines
			}
			lines = append(lines, strings.TrimRight(l, "\r\n"))
		}
	}
	untagged("LOGIN fay pw-fay-1")
	names := map[string]bool{}
	for _, l := range untagged(`LIST "" "*"`) {
		if i := strings.LastIndex(l, " "); i > 0 && strings.HasPrefix(l, "* LIST") {
			names[strings.Trim(l[i+1:], `"`)] = true
		}
	}
	for _, want := range []string{"Clients", "Clients/Done", "Acme", "Pushed"} {
		if !names[want] {
			t.Errorf("LIST lacks %q: %v", want, names)
		}
	}
	for _, gone := range []string{"Old", "Clients/Old", "Done", "Clients/Acme", "Scratch"} {
		if names[gone] {
			t.Errorf("LIST still has %q: %v", gone, names)
		}
	}
	untagged("SELECT Acme")
	var subjects []string
	for _, l := range untagged("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])") {
		if strings.HasPrefix(l, "Subject: ") {
			subjects = append(subjects, strings.TrimPrefix(l, "Subject: "))
		}
	}
	if got := strings.Join(subjects, ","); len(subjects) != 3 || !strings.Contains(got, "Batch 4") || !strings.Contains(got, "Batch 5") || !strings.Contains(got, "Batch 6") {
		t.Errorf("Acme holds %v, want Batch 4, 5 and 6", subjects)
	}
	flagged := 0
	for _, l := range untagged("SELECT INBOX") {
		if strings.Contains(l, "EXISTS") && !strings.HasPrefix(l, "* 3 EXISTS") {
			t.Errorf("INBOX: %s, want 3 messages", l)
		}
	}
	for _, l := range untagged("FETCH 1:* (FLAGS)") {
		if strings.Contains(l, `\Flagged`) && strings.Contains(l, `\Seen`) {
			flagged++
		}
	}
	if flagged != 2 {
		t.Errorf("INBOX has %d flagged and read messages, want 2 (Batch 2 and 3)", flagged)
	}
}
