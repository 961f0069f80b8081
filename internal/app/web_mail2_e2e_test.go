package app

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestWebClientMail2 (web/e2e/mail2.mjs): the search box's JMAP filters
// (from, to, subject, after/before, has:attachment, in:all with each
// result's folder named) and the advanced search form that writes them,
// in Chromium, with an axe-core scan light and dark.
func TestWebClientMail2(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, _ := webE2EServer(t, dir, "")
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","name":"Bob Web","password":"pw-bob-web-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"carol","email":"carol@example.org","name":"Carol","password":"pw-carol-1"}`, 201)

	base := "https://" + httpsAddr
	call, acct, inbox := webJMAP(t, base, "bob", "pw-bob-web-1")
	roles := map[string]string{}
	mb := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Mailbox/get",{"accountId":"`+acct+`","ids":null,"properties":["id","role"]},"m"]]}`)
	for _, m := range mb["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["list"].([]any) {
		if r, _ := m.(map[string]any)["role"].(string); r != "" {
			roles[r] = m.(map[string]any)["id"].(string)
		}
	}
	if roles["sent"] == "" {
		t.Fatalf("mailboxes: %v", roles)
	}
	create := func(box, from, to, subject, at string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"mailboxIds":{%q:true},"keywords":{"$seen":true},"from":[{"email":%q}],"to":[{"email":%q}],"subject":%q,"receivedAt":%q,"sentAt":%q,"bodyValues":{"t":{"value":"About the budget."}},"textBody":[{"partId":"t","type":"text/plain"}]}`,
			box, from, to, subject, at, at))
	}
	emails := map[string]any{
		"a": create(inbox, "carol@example.org", "bob@example.org", "Budget 2026", "2026-01-15T12:00:00Z"),
		"b": create(inbox, "dave@example.net", "bob@example.org", "Budget draft", "2026-03-15T12:00:00Z"),
		"c": create(roles["sent"], "bob@example.org", "carol@example.org", "Budget reply", "2026-02-10T12:00:00Z"),
	}
	req, _ := json.Marshal(map[string]any{"using": []string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"},
		"methodCalls": []any{[]any{"Email/set", map[string]any{"accountId": acct, "create": emails}, "s"}}})
	res := call("POST", "/jmap/api/", "application/json", string(req))
	if nc, _ := res["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["notCreated"].(map[string]any); len(nc) > 0 {
		t.Fatalf("seeding: %v", nc)
	}
	// One with an attachment, delivered (received now, December 2026).
	msg := "From: Dave <dave@example.net>\nTo: bob@example.org\nSubject: Budget sheet\nMessage-ID: <sheet@example.net>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nThe sheet.\n" +
		"--b\nContent-Type: text/csv; name=budget.csv\nContent-Disposition: attachment; filename=budget.csv\n\nitem,cost\n--b--\n"
	adminCall(t, c, "POST", "/v1/deliver?rcpt=bob@example.org", strings.ReplaceAll(msg, "\n", "\r\n"), 201)

	// Remote content per sender: two HTML messages from news@example.com,
	// one from someone else, each with a remote image of its own.
	remote := &remoteServer{}
	rs := httptest.NewServer(remote)
	defer rs.Close()
	for _, m := range []struct{ from, subject, img string }{
		{"news@example.com", "Newsletter one", "news1.png"},
		{"News@Example.com", "Newsletter two", "news2.png"},
		{"promo@example.net", "Promotion", "promo.png"},
	} {
		msg := fmt.Sprintf("From: %s\nTo: bob@example.org\nSubject: %s\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<p>%s body</p><img id=\"img\" src=\"%s/%s\" alt=\"remote\">\n",
			m.from, m.subject, m.subject, rs.URL, m.img)
		adminCall(t, c, "POST", "/v1/deliver?rcpt=bob@example.org", strings.ReplaceAll(msg, "\n", "\r\n"), 201)
	}

	runWebE2E(t, node, chromium, webDir, "mail2.mjs", "web-mail2",
		"BASE="+base, "USER=bob", "PASS=pw-bob-web-1", "REMOTE="+rs.URL)

	// The server saw the trusted sender's images and never the other's.
	hits := remote.Hits()
	if !slices.Contains(hits, "/news1.png") || !slices.Contains(hits, "/news2.png") || slices.Contains(hits, "/promo.png") {
		t.Errorf("remote hits: %v", hits)
	}
}
