package app

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWebRestoreE2E: restore deleted items from Settings
// (web/e2e/restore.mjs). The user deletes a message in the browser (to
// Trash, then from Trash for good) and a folder with a message, restores
// both in Settings, and sees them back in the mail view; over IMAP the
// restored message is in Trash with the very bytes it was delivered
// with, and the folder is listed again with its message. An event put
// over CalDAV into the calendar "team" (MKCALENDAR) is deleted in the calendar view,
// restored from Settings (the calendar picked in the folder list), seen
// back in the calendar view, and a CalDAV GET of its href finds it again.
func TestWebRestoreE2E(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, imapAddr := webE2EServer(t, dir, "")
	adminCall(t, c, "POST", "/v1/users", `{"login":"rita","email":"rita@example.org","password":"pw-rita-1"}`, 201)
	const subject = "Minutes to keep"
	const bulk = 120
	adminCall(t, c, "POST", "/v1/deliver?rcpt=rita@example.org",
		"From: Sender <s@example.net>\r\nTo: rita@example.org\r\nSubject: "+subject+"\r\nDate: Mon, 1 Dec 2026 09:00:00 +0000\r\nMessage-ID: <keep@example.net>\r\n\r\nThe minutes, line one.\r\nLine two.\r\n", 201)
	adminCall(t, c, "POST", "/v1/deliver?rcpt=rita@example.org",
		"From: Sender <s@example.net>\r\nTo: rita@example.org\r\nSubject: Kept with the folder\r\nDate: Mon, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <folder@example.net>\r\n\r\nIn the folder.\r\n", 201)

	conn, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Minute))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	for _, cmd := range []string{"LOGIN rita pw-rita-1", `CREATE "Old projects"`} {
		if l := imapLine(t, conn, r, cmd); !strings.HasPrefix(l, "t OK") {
			t.Fatalf("%s: %s", cmd, l)
		}
	}
	seq := waitIMAPSubject(t, conn, r, "Kept with the folder")
	if l := imapLine(t, conn, r, `MOVE `+seq+` "Old projects"`); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("MOVE: %s", l)
	}
	before := imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, subject))
	// 120 messages in "Bulk", expunged over IMAP: more than a page of the
	// list and than one restore request.
	if l := imapLine(t, conn, r, "CREATE Bulk"); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("CREATE Bulk: %s", l)
	}
	for i := 1; i <= bulk; i++ {
		msg := fmt.Sprintf("From: Sender <s@example.net>\r\nSubject: Bulk %d\r\nMessage-ID: <bulk%d@example.net>\r\n\r\nBulk message %d.\r\n", i, i, i)
		fmt.Fprintf(conn, "a APPEND Bulk {%d}\r\n", len(msg))
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+") {
			t.Fatalf("APPEND: %q %v", l, err)
		}
		fmt.Fprintf(conn, "%s\r\n", msg)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "a ") {
				if !strings.HasPrefix(l, "a OK") {
					t.Fatalf("APPEND %d: %s", i, l)
				}
				break
			}
		}
	}
	for _, cmd := range []string{"SELECT Bulk", `STORE 1:* +FLAGS.SILENT (\Deleted)`, "EXPUNGE"} {
		if l := imapLine(t, conn, r, cmd); !strings.HasPrefix(l, "t OK") {
			t.Fatalf("%s: %s", cmd, l)
		}
	}

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	dav := func(method, path, ctype, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+httpsAddr+path, strings.NewReader(body))
		req.SetBasicAuth("rita", "pw-rita-1")
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const calPath = "/dav/calendars/rita/team/"
	if code, body := dav("MKCALENDAR", calPath, "application/xml", `<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"></C:mkcalendar>`); code != 201 {
		t.Fatalf("MKCALENDAR: %d %s", code, body)
	}
	day := time.Now().UTC().Format("20060102")
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roost test//EN\r\nBEGIN:VEVENT\r\nUID:budget-review@example.org\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:" + day + "T120000Z\r\nDTEND:" + day + "T130000Z\r\nSUMMARY:Budget review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if code, body := dav("PUT", calPath+"budget.ics", "text/calendar", ev); code != 201 && code != 204 {
		t.Fatalf("PUT event: %d %s", code, body)
	}

	runWebE2E(t, node, chromium, webDir, "restore.mjs", "web-restore",
		"BASE=https://"+httpsAddr, "USER=rita", "PASS=pw-rita-1", "SUBJECT="+subject, fmt.Sprintf("BULK=%d", bulk),
		"EVENT=Budget review", "CALENDAR=team")

	if code, body := dav("GET", calPath+"budget.ics", "", ""); code != 200 || !strings.Contains(body, "SUMMARY:Budget review") || !strings.Contains(body, "UID:budget-review@example.org") {
		t.Errorf("the restored event over CalDAV: %d %s", code, body)
	}

	if l := imapLine(t, conn, r, "SELECT Trash"); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("SELECT Trash: %s", l)
	}
	fmt.Fprintf(conn, "s SEARCH SUBJECT %q\r\n", subject)
	found := ""
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if f := strings.Fields(l); len(f) > 2 && f[0] == "*" && f[1] == "SEARCH" {
			found = f[len(f)-1]
		}
		if strings.HasPrefix(l, "s ") {
			break
		}
	}
	if found == "" {
		t.Fatal("the restored message is not in Trash over IMAP")
	}
	if after := imapFetchBody(t, conn, r, found); !bytes.Equal(after, before) {
		t.Errorf("the restored message differs from the delivered one:\n%q\nwant\n%q", after, before)
	}
	if l := imapLine(t, conn, r, "SELECT INBOX"); !strings.HasPrefix(l, "t OK") {
		t.Fatal(l)
	}
	fmt.Fprintf(conn, "x STATUS \"Old projects\" (MESSAGES)\r\n")
	status := ""
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "* STATUS") {
			status = l
		}
		if strings.HasPrefix(l, "x ") {
			if !strings.HasPrefix(l, "x OK") {
				t.Fatalf("STATUS of the restored folder: %s", l)
			}
			break
		}
	}
	if !strings.Contains(status, "MESSAGES 1") {
		t.Errorf("the restored folder over IMAP: %q, want its one message", status)
	}
	fmt.Fprintf(conn, "y STATUS Bulk (MESSAGES)\r\n")
	status = ""
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "* STATUS") {
			status = l
		}
		if strings.HasPrefix(l, "y ") {
			break
		}
	}
	if !strings.Contains(status, fmt.Sprintf("MESSAGES %d)", bulk)) {
		t.Errorf("Bulk after restoring every message: %q, want %d", status, bulk)
	}
}
