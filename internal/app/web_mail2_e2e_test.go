package app

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWebClientMail2 (web/e2e/mail2.mjs): the search box's JMAP filters
// (from, to, subject, after/before, has:attachment, in:all with each
// result's folder named) and the advanced search form that writes them,
// in Chromium, with an axe-core scan light and dark.
func TestWebClientMail2(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, imapAddr := webE2EServer(t, dir, "")
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

	// Attachment preview: an image, a PDF and an HTML page that tries to
	// script the app.
	att := func(typ, name, body string) string {
		return fmt.Sprintf("--b\nContent-Type: %s; name=%s\nContent-Disposition: attachment; filename=%s\nContent-Transfer-Encoding: base64\n\n%s\n",
			typ, name, name, base64.StdEncoding.EncodeToString([]byte(body)))
	}
	png, _ := base64.StdEncoding.DecodeString(pixelPNG)
	msg = "From: Erin <erin@example.net>\nTo: bob@example.org\nSubject: Files to look at\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nThree files.\n" +
		att("image/png", "pixel.png", string(png)) + att("application/pdf", "doc.pdf", minimalPDF("Hello PDF", "app.launchURL('"+base+"/pwned-pdf', true); this.submitForm('"+base+"/pwned-pdf'); this.getURL('"+base+"/pwned-pdf');")) +
		att("text/html", "page.html", `<html><body><p id="p">attached page</p><script>document.title='pwned';try{parent.document.title='pwned'}catch(e){};new Image().src='/pwned-html';</script></body></html>`) +
		"--b--\n"
	adminCall(t, c, "POST", "/v1/deliver?rcpt=bob@example.org", strings.ReplaceAll(msg, "\n", "\r\n"), 201)

	// A keyword set over IMAP is a tag in the browser.
	conn, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(120 * time.Second))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	if l := imapLine(t, conn, r, "LOGIN bob pw-bob-web-1"); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("IMAP login: %s", l)
	}
	if l := imapLine(t, conn, r, "STORE "+waitIMAPSubject(t, conn, r, "Budget sheet")+" +FLAGS (imap-tag)"); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("STORE: %s", l)
	}

	runWebE2E(t, node, chromium, webDir, "mail2.mjs", "web-mail2",
		"BASE="+base, "USER=bob", "PASS=pw-bob-web-1", "REMOTE="+rs.URL)

	// The tags set in the browser are IMAP flags: Budget 2026 has
	// project-x, Budget draft neither project-x nor later (removed).
	for subject, want := range map[string]map[string]bool{
		"Budget 2026":  {"project-x": true, "later": false},
		"Budget draft": {"project-x": false, "later": false},
	} {
		seq := waitIMAPSubject(t, conn, r, subject)
		fmt.Fprintf(conn, "g FETCH %s FLAGS\r\n", seq)
		var flags string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "* ") && strings.Contains(l, "FLAGS") {
				flags = l
			}
			if strings.HasPrefix(l, "g ") {
				break
			}
		}
		fields := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(strings.ToLower(flags)))
		for k, on := range want {
			if slices.Contains(fields, k) != on {
				t.Errorf("%s over IMAP: %s (want %s %v)", subject, strings.TrimSpace(flags), k, on)
			}
		}
	}

	// The server saw the trusted sender's images and never the other's.
	hits := remote.Hits()
	if !slices.Contains(hits, "/news1.png") || !slices.Contains(hits, "/news2.png") || slices.Contains(hits, "/promo.png") {
		t.Errorf("remote hits: %v", hits)
	}
}

// minimalPDF is a one-page PDF showing text (Helvetica), with a correct
// cross-reference table, so a browser's viewer opens it; js, when set,
// is run when it opens (an OpenAction).
func minimalPDF(text, js string) string {
	stream := fmt.Sprintf("BT /F1 24 Tf 20 100 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /S /JavaScript /JS (%s) >>", strings.NewReplacer("(", `\(`, ")", `\)`).Replace(js)),
	}
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.String()
}
