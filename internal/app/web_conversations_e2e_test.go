package app

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// pixelPNG is a 1×1 PNG: the inline image of the test message.
const pixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

// TestWebClientConversations (web/e2e/conversations.mjs): the
// conversation view (one row per thread with its count, Trash left out;
// the reader's messages oldest first, the newest expanded; remembered in
// the browser), an HTML message's cid: image shown from its own part,
// a forward carrying the original's attachments without uploading them,
// signatures set in Settings and put in (and swapped) by the composer,
// and a send-as identity (set with the admin API) as From. Over IMAP the
// recipient has what the browser sent.
func TestWebClientConversations(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, imapAddr := webE2EServer(t, dir, "")
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","name":"Bob Web","password":"pw-bob-web-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"carol","email":"carol@example.org","name":"Carol","password":"pw-carol-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"info","email":"info@example.org","name":"Info Desk","password":"pw-info-1"}`, 201)
	// bob may send as info (the queue's sender rule; JMAP lists the
	// identity).
	adminCall(t, c, "PATCH", "/v1/users/info", `{"sendas_add":["bob"]}`, 200)

	base := "https://" + httpsAddr
	call, acct, inbox := webJMAP(t, base, "bob", "pw-bob-web-1")
	roles := map[string]string{}
	mb := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Mailbox/get",{"accountId":"`+acct+`","ids":null,"properties":["id","role"]},"m"]]}`)
	for _, m := range mb["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["list"].([]any) {
		if r, _ := m.(map[string]any)["role"].(string); r != "" {
			roles[r] = m.(map[string]any)["id"].(string)
		}
	}
	if roles["sent"] == "" || roles["trash"] == "" {
		t.Fatalf("mailboxes: %v", roles)
	}
	// A conversation: carol's question (read), bob's answer in Sent,
	// carol's reply (unread), and one more reply bob threw away (Trash).
	create := func(key, box string, seen bool, from, subject, msgID, refs, text string, at string) map[string]any {
		kw := `{}`
		if seen {
			kw = `{"$seen":true}`
		}
		e := fmt.Sprintf(`{"mailboxIds":{%q:true},"keywords":%s,"from":[{"name":%q,"email":%q}],"to":[{"email":"bob@example.org"}],"subject":%q,"messageId":[%q],"receivedAt":%q,"sentAt":%q,"bodyValues":{"t":{"value":%q}},"textBody":[{"partId":"t","type":"text/plain"}]`,
			box, kw, strings.Split(from, "@")[0], from, subject, msgID, at, at, text)
		if refs != "" {
			e += fmt.Sprintf(`,"inReplyTo":[%q],"references":[%q]`, refs, refs)
		}
		e += "}"
		return map[string]any{key: json.RawMessage(e)}
	}
	emails := map[string]any{}
	for _, m := range []map[string]any{
		create("a", inbox, true, "carol@example.org", "Project plan", "plan-a@example.org", "", "What is the plan?", "2026-12-01T09:00:00Z"),
		create("b", roles["sent"], true, "bob@example.org", "Re: Project plan", "plan-b@example.org", "plan-a@example.org", "Bob proposes a plan.", "2026-12-01T10:00:00Z"),
		create("c", inbox, false, "carol@example.org", "Re: Project plan", "plan-c@example.org", "plan-a@example.org", "Carol answers the plan.", "2026-12-01T11:00:00Z"),
		create("d", roles["trash"], true, "carol@example.org", "Re: Project plan", "plan-d@example.org", "plan-a@example.org", "Thrown away.", "2026-12-01T12:00:00Z"),
	} {
		for k, v := range m {
			emails[k] = v
		}
	}
	req, _ := json.Marshal(map[string]any{"using": []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"},
		"methodCalls": []any{[]any{"Email/set", map[string]any{"accountId": acct, "create": emails}, "s"}}})
	res := call("POST", "/jmap/api/", "application/json", string(req))
	set := res["methodResponses"].([]any)[0].([]any)[1].(map[string]any)
	if nc, _ := set["notCreated"].(map[string]any); len(nc) > 0 {
		t.Fatalf("seeding the conversation: %v", nc)
	}
	threads := map[string]bool{}
	for _, v := range set["created"].(map[string]any) {
		threads[v.(map[string]any)["threadId"].(string)] = true
	}
	if len(threads) != 1 {
		t.Fatalf("the seeded conversation is %d threads, want 1: %v", len(threads), set["created"])
	}

	// An HTML message with an inline (cid:) image, a remote one, and an
	// attachment.
	msg := "From: Dave <dave@example.net>\nTo: bob@example.org\nSubject: With picture\nDate: Tue, 2 Dec 2026 09:00:00 +0000\nMessage-ID: <pic@example.net>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/related; boundary=rel\n\n" +
		"--rel\nContent-Type: text/html; charset=utf-8\n\n<p>Our logo: <img id=\"pic\" src=\"cid:logo.1@example.net\" alt=\"logo\"> and <img id=\"far\" src=\"http://127.0.0.1:9/far.png\" alt=\"far\"></p>\n" +
		"--rel\nContent-Type: image/png; name=logo.png\nContent-Disposition: inline; filename=logo.png\nContent-ID: <logo.1@example.net>\nContent-Transfer-Encoding: base64\n\n" + pixelPNG + "\n--rel--\n" +
		"--outer\nContent-Type: text/plain; name=data.txt\nContent-Disposition: attachment; filename=data.txt\n\nData for the forward.\n--outer--\n"
	adminCall(t, c, "POST", "/v1/deliver?rcpt=bob@example.org", strings.ReplaceAll(msg, "\n", "\r\n"), 201)

	runWebE2E(t, node, chromium, webDir, "conversations.mjs", "web-conversations",
		"BASE="+base, "USER=bob", "PASS=pw-bob-web-1", "RCPT=carol@example.org", "SENDAS=info@example.org")

	conn, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	if l := imapLine(t, conn, r, "LOGIN carol pw-carol-1"); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("IMAP login: %s", l)
	}

	// The forward: the original's attachment and inline image, the same
	// bytes.
	raw := imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, "Fwd: With picture"))
	parts := mimeParts(t, raw)
	if got := string(parts["data.txt"]); strings.TrimRight(got, "\r\n") != "Data for the forward." {
		t.Errorf("forwarded data.txt = %q (parts %v)", got, partNames(parts))
	}
	png, _ := base64.StdEncoding.DecodeString(pixelPNG)
	if got := parts["logo.png"]; !bytes.Equal(got, png) {
		t.Errorf("forwarded logo.png: %d bytes, want the original's %d (parts %v)", len(got), len(png), partNames(parts))
	}

	// Sent as info, with info's signature instead of bob's.
	raw = imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, "Signed as the desk"))
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !strings.Contains(head, "info@example.org") || !strings.Contains(strings.SplitN(head[strings.Index(head, "From:"):], "\r\n", 2)[0], "info@example.org") {
		t.Errorf("the send-as message's header:\n%s", head)
	}
	text := strings.ReplaceAll(string(mimeParts(t, raw)["text/plain"]), "\r\n", "\n")
	if !strings.Contains(text, "Hello from the desk.") || !strings.Contains(text, "-- \nThe Info Desk") || strings.Contains(text, "Bob Example") {
		t.Errorf("the send-as message's text:\n%s", text)
	}

	if strings.Contains(head, "\r\nSender:") {
		t.Errorf("the send-as message has a Sender:\n%s", head)
	}
	// On behalf of info: From info, Sender bob.
	raw = imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, "On behalf of the desk"))
	head, _, _ = strings.Cut(string(raw), "\r\n\r\n")
	from := strings.SplitN(head[strings.Index(head, "\r\nFrom:")+2:], "\r\n", 2)[0]
	i := strings.Index(head, "\r\nSender:")
	if i < 0 || !strings.Contains(strings.SplitN(head[i+2:], "\r\n", 2)[0], "bob@example.org") || !strings.Contains(from, "info@example.org") {
		t.Errorf("the on-behalf message's header:\n%s", head)
	}

	// The reply: bob's signature above the quote.
	text = strings.ReplaceAll(string(mimeParts(t, imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, "Re: Project plan")))["text/plain"]), "\r\n", "\n")
	sig, quote := strings.Index(text, "-- \nBob Example\nRoost team"), strings.Index(text, "> Carol adds one more thing.")
	if !strings.HasPrefix(text, "Agreed.") || sig < 0 || quote < 0 || sig > quote {
		t.Errorf("the reply's text (signature at %d, quote at %d):\n%s", sig, quote, text)
	}
}
