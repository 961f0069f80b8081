package app

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWebClientSharedData: messages and folders across accounts, and
// public calendars, in the web client (web/e2e/shareddata.mjs). alice
// shares her folder "Projects" with bob with every right but
// administering it (IMAP SETACL lrswipkxte); the tenant's public store
// has a mail folder "Announcements" (anyone: lr) and, made over CalDAV
// inside it, a calendar "Events" (inheriting that ACL) with an event.
// bob, in his browser, copies a flagged message from Projects into his
// Inbox (Email/copy), drags another one from Projects onto his Inbox (a
// move), moves one of his own into Projects (the move dialog), copies a
// public announcement into his Inbox (read-only: a copy only), creates
// and renames a subfolder of Projects and creates and deletes another, and sees the public event
// in his calendar under "Public calendars", read-only. Then, over IMAP:
// bob's Inbox has the copies with their flags, alice's Projects has what
// bob moved there and not what he moved out, the public folder keeps its
// message.
func TestWebClientSharedData(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr, imapAddr := freePort(t), freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\nimap_listen = %q\nallow_plaintext_auth = true\n", httpsAddr, imapAddr))
	waitFor(t, "https listener", func() bool {
		conn, err := net.Dial("tcp", httpsAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"pw-alice-1","name":"Alice Archer"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","password":"pw-bob-1","name":"Bob Baker"}`, 201)
	base := "https://" + httpsAddr

	// importTo imports messages into a user's folder (by name; "" is the
	// Inbox) with keywords.
	importTo := func(login, pw, folder string, msgs map[string]string) {
		t.Helper()
		call, acct, inbox := webJMAP(t, base, login, pw)
		box := inbox
		if folder != "" {
			res := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Mailbox/set",{"accountId":"`+acct+`","create":{"p":{"name":"`+folder+`"}}},"m"]]}`)
			created, _ := res["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["created"].(map[string]any)
			if created == nil || created["p"] == nil {
				t.Fatalf("Mailbox/set: %v", res)
			}
			box = created["p"].(map[string]any)["id"].(string)
		}
		i := 0
		for subject, keywords := range msgs {
			i++
			up := call("POST", "/jmap/upload/"+acct+"/", "message/rfc822",
				fmt.Sprintf("From: Carol <carol@example.net>\r\nTo: %s@example.org\r\nSubject: %s\r\nMessage-ID: <%s-%d@example.net>\r\n\r\nAbout %s.\r\n", login, subject, login, i, subject))
			res := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Email/import",{"accountId":"`+acct+`","emails":{"k":{"blobId":"`+
				up["blobId"].(string)+`","mailboxIds":{"`+box+`":true},"keywords":`+keywords+`,"receivedAt":"2026-12-0`+fmt.Sprint(i)+`T09:00:00Z"}}},"i"]]}`)
			if r := res["methodResponses"].([]any)[0].([]any); r[0] != "Email/import" || len(r[1].(map[string]any)["created"].(map[string]any)) != 1 {
				t.Fatalf("import: %v", r)
			}
		}
	}
	importTo("alice", "pw-alice-1", "Projects", map[string]string{"Plans for Q1": `{"$flagged":true}`, "Budget draft": `{}`})
	importTo("bob", "pw-bob-1", "", map[string]string{"Notes from Bob": `{"$seen":true}`})

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
	alice := session("alice", "pw-alice-1")
	alice("SETACL Projects bob lrswipkxte")

	// The public store: "Announcements" (anyone: lr) with a message, and
	// inside it a calendar made over CalDAV, which inherits that ACL.
	adminCall(t, c, "POST", "/v1/stores/public", `{}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"pat","email":"pat@example.org","password":"pw-pat-1","admin":1}`, 201)
	pat := session("pat", "pw-pat-1")
	pat(`CREATE "Shared Folders/Announcements"`)
	pat(`SETACL "Shared Folders/Announcements" anyone lr`)
	notice := "From: Pat <pat@example.org>\r\nTo: all@example.org\r\nSubject: Office closed Friday\r\nMessage-ID: <pub1@example.org>\r\n\r\nThe office is closed on Friday.\r\n"
	pat(fmt.Sprintf("APPEND \"Shared Folders/Announcements\" {%d+}\r\n%s", len(notice), notice))
	pcall, _, _ := webJMAP(t, base, "pat", "pw-pat-1")
	sess := pcall("GET", "/jmap/session", "application/json", "")
	var pubAcct string
	for id, a := range sess["accounts"].(map[string]any) {
		if a.(map[string]any)["name"] == "Public folders" {
			pubAcct = id
		}
	}
	if pubAcct == "" {
		t.Fatalf("pat's session has no public account: %v", sess["accounts"])
	}
	// A calendar in the public store, made as an administrator does
	// (`roost admin store public-folder Events --type calendar --acl …`:
	// no client protocol creates one there): "Events", readable by
	// anyone of the tenant, writable by pat.
	var cal struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(adminCall(t, c, "POST", "/v1/stores/public/folders",
		`{"path":"Events","type":"calendar","acl":{"anyone":"lr","user:pat":"lrswipkxte"}}`, 201)), &cal); err != nil || cal.ID == 0 {
		t.Fatalf("public calendar: %v", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	dav := func(method, path, ctype, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth("pat", "pw-pat-1")
		req.Header.Set("Content-Type", ctype)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	calPath := "/dav/calendars/pat/~" + strconv.FormatInt(cal.ID, 10) + "/"
	day := time.Now().UTC().Format("20060102")
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roost test//EN\r\nBEGIN:VEVENT\r\nUID:town-hall@example.org\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:" + day + "T120000Z\r\nDTEND:" + day + "T130000Z\r\nSUMMARY:Town hall\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if code, body := dav("PUT", calPath+"town-hall.ics", "text/calendar", ev); code != 201 && code != 204 {
		t.Fatalf("PUT event: %d %s", code, body)
	}

	runWebE2E(t, node, chromium, webDir, "shareddata.mjs", "web-shareddata",
		"BASE="+base, "OWNER=alice", "READER=bob", "READER_PASS=pw-bob-1")

	// Over IMAP: bob's Inbox has the copies, the flag kept.
	bob := session("bob", "pw-bob-1")
	bob("SELECT INBOX")
	inbox := strings.Join(bob("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "\n")
	for _, want := range []string{"Plans for Q1", "Budget draft", "Office closed Friday"} {
		if !strings.Contains(inbox, "Subject: "+want) {
			t.Errorf("bob's Inbox lacks %q:\n%s", want, inbox)
		}
	}
	if strings.Contains(inbox, "Subject: Notes from Bob") {
		t.Errorf("bob's Inbox still has the message he moved to alice's Projects:\n%s", inbox)
	}
	flagged := false
	for _, l := range bob(`SEARCH FLAGGED`) {
		if strings.HasPrefix(l, "* SEARCH ") && len(strings.Fields(l)) == 3 {
			got := bob("FETCH " + strings.Fields(l)[2] + " (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
			flagged = strings.Contains(strings.Join(got, "\n"), "Plans for Q1")
		}
	}
	if !flagged {
		t.Errorf("the copy of Plans for Q1 in bob's Inbox is not the one flagged message: %v", bob("SEARCH FLAGGED"))
	}
	// alice's Projects: the copied one stays, the one dragged out is gone,
	// bob's arrived with its \Seen.
	alice("SELECT Projects")
	proj := strings.Join(alice("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "\n")
	if !strings.Contains(proj, "Subject: Plans for Q1") || strings.Contains(proj, "Subject: Budget draft") || !strings.Contains(proj, "Subject: Notes from Bob") {
		t.Errorf("alice's Projects after bob's moves:\n%s", proj)
	}
	if seen := alice(`SEARCH SEEN SUBJECT "Notes from Bob"`); len(seen) != 1 || len(strings.Fields(seen[0])) != 3 {
		t.Errorf("the message bob moved lost its \\Seen flag: %v", seen)
	}
	// The subfolder bob made and renamed is there, the one he deleted is
	// not; the public folder keeps its message.
	list := strings.Join(alice(`LIST "" "*"`), "\n")
	if !strings.Contains(list, `"Projects/Q1 minutes"`) || strings.Contains(list, "Scratch") || strings.Contains(list, "Q1 notes") {
		t.Errorf("alice's folders after bob's subfolders:\n%s", list)
	}
	if st := strings.Join(pat(`STATUS "Shared Folders/Announcements" (MESSAGES)`), "\n"); !strings.Contains(st, "MESSAGES 1") {
		t.Errorf("the public folder after bob's copy: %s", st)
	}
}
