package app

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestWebClientSharing: sharing in the web client (web/e2e/sharing.mjs).
// alice shares her folder "Projects" with bob in Settings → Sharing
// (read, then custom rights read + mark read), sees the server refuse a
// share with herself; bob, in his own browser session, finds it in his
// folder tree under "Shared by alice", opens a message there (the app's
// calls name alice's account), has no delete button and is refused the
// Delete key, and sees a message alice adds arrive by push. Then, over
// IMAP: bob's LIST shows the folder in the Other Users namespace, and
// alice's GETACL and bob's MYRIGHTS are the rights the UI set.
func TestWebClientSharing(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, imapAddr := webE2EServer(t, dir, "")
	adminCall(t, c, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"pw-alice-1","name":"Alice Archer"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","password":"pw-bob-1","name":"Bob Baker"}`, 201)

	// alice's folder "Projects" with two unread messages.
	base := "https://" + httpsAddr
	call, acct, _ := webJMAP(t, base, "alice", "pw-alice-1")
	res := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Mailbox/set",{"accountId":"`+acct+`","create":{"p":{"name":"Projects"}}},"m"]]}`)
	created, _ := res["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["created"].(map[string]any)
	if created == nil || created["p"] == nil {
		t.Fatalf("Mailbox/set: %v", res)
	}
	projects := created["p"].(map[string]any)["id"].(string)
	for i, subject := range []string{"Plans for Q1", "Budget draft"} {
		up := call("POST", "/jmap/upload/"+acct+"/", "message/rfc822",
			fmt.Sprintf("From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: %s\r\nMessage-ID: <p%d@example.net>\r\n\r\nAbout %s.\r\n", subject, i, subject))
		res := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Email/import",{"accountId":"`+acct+`","emails":{"k":{"blobId":"`+
			up["blobId"].(string)+`","mailboxIds":{"`+projects+`":true},"keywords":{},"receivedAt":"2026-12-0`+fmt.Sprint(i+1)+`T09:00:00Z"}}},"i"]]}`)
		if r := res["methodResponses"].([]any)[0].([]any); r[0] != "Email/import" || len(r[1].(map[string]any)["created"].(map[string]any)) != 1 {
			t.Fatalf("import: %v", r)
		}
	}

	// session signs in over IMAP and returns a function running one
	// command (its untagged answers).
	session := func(login, pw string) func(cmd string) []string {
		conn, err := net.Dial("tcp", imapAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
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
		untagged(fmt.Sprintf("LOGIN %s %s", login, pw))
		return untagged
	}
	// The tenant's public folders: "Announcements", readable by anyone
	// of the tenant, made over IMAP by a tenant administrator.
	adminCall(t, c, "POST", "/v1/stores/public", `{}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"pat","email":"pat@example.org","password":"pw-pat-1","admin":1}`, 201)
	pat := session("pat", "pw-pat-1")
	pat(`CREATE "Shared Folders/Announcements"`)
	pat(`SETACL "Shared Folders/Announcements" anyone lr`)
	notice := "From: Pat <pat@example.org>\r\nTo: all@example.org\r\nSubject: Office closed Friday\r\nMessage-ID: <pub1@example.org>\r\n\r\nThe office is closed on Friday.\r\n"
	pat(fmt.Sprintf("APPEND \"Shared Folders/Announcements\" {%d+}\r\n%s", len(notice), notice))

	runWebE2E(t, node, chromium, webDir, "sharing.mjs", "web-sharing",
		"BASE="+base, "OWNER=alice", "OWNER_PASS=pw-alice-1", "READER=bob", "READER_PASS=pw-bob-1")

	// Over IMAP.
	bob := session("bob", "pw-bob-1")
	shared := false
	for _, l := range bob(`LIST "" "*"`) {
		if strings.HasPrefix(l, "* LIST") && strings.HasSuffix(l, `"Other Users/alice/Projects"`) {
			shared = true
		}
	}
	if !shared {
		t.Errorf("bob's LIST lacks Other Users/alice/Projects: %v", bob(`LIST "" "*"`))
	}
	// The UI set read, then custom rights adding "mark read": l r s.
	if got := strings.Join(bob(`MYRIGHTS "Other Users/alice/Projects"`), "\n"); !strings.Contains(got, `"Other Users/alice/Projects" lrs`) {
		t.Errorf("bob's MYRIGHTS: %q, want lrs", got)
	}
	alice := session("alice", "pw-alice-1")
	acl := strings.Join(alice("GETACL Projects"), "\n")
	if !strings.Contains(acl, " bob lrs") {
		t.Errorf("alice's GETACL Projects: %q, want bob lrs", acl)
	}
}
