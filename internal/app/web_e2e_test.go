package app

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the module's root directory (this file is internal/app's).
func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// webE2ETools finds node, Debian's chromium and playwright-core (npm ci
// in web/). Without them the browser tests skip, or fail when
// ROOST_REQUIRE_CLIENTS is set (scripts/test.sh).
func webE2ETools(t *testing.T) (node, chromium, webDir string) {
	t.Helper()
	webDir = filepath.Join(repoRoot(t), "web")
	missing := func(what string) {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s missing and ROOST_REQUIRE_CLIENTS is set", what)
		}
		t.Skipf("%s missing", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node (Debian package nodejs)")
	}
	chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium (Debian package chromium)")
	}
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core")); err != nil {
		missing("web/node_modules/playwright-core (npm ci in web/)")
	}
	return node, chromium, webDir
}

// jmapMailUsing is the "using" member of a JMAP mail request.
const jmapMailUsing = `"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"]`

// webJMAP is the JMAP client a browser test seeds its mailbox with: call
// makes one request as login (Basic auth) and fails the test on an error
// or an answer other than 2xx with JSON; acct is the user's mail account
// and inbox the id of their Inbox.
func webJMAP(t *testing.T, base, login, pw string) (call func(method, path, ctype, body string) map[string]any, acct, inbox string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	call = func(method, path, ctype, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth(login, pw)
		req.Header.Set("Content-Type", ctype)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
		}
		return out
	}
	sess := call("GET", "/jmap/session", "application/json", "")
	acct = sess["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:mail"].(string)
	mb := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Mailbox/query",{"accountId":"`+acct+`","filter":{"role":"inbox"}},"q"]]}`)
	inbox = mb["methodResponses"].([]any)[0].([]any)[1].(map[string]any)["ids"].([]any)[0].(string)
	return call, acct, inbox
}

// runWebE2E runs web/e2e/<script> in node against Chromium, with env
// (and ARTIFACTS, CHROMIUM, SHOTS), and fails the test unless it ends
// with OK; it returns what the script printed. Screenshots and the trace
// go under ROOST_TEST_ARTIFACTS (or the temporary directory), in
// name-<time>.
func runWebE2E(t *testing.T, node, chromium, webDir, script, name string, env ...string) string {
	t.Helper()
	artefacts := os.Getenv("ROOST_TEST_ARTIFACTS")
	if artefacts == "" {
		artefacts = filepath.Join(os.TempDir(), "roost-test-artifacts")
	}
	artefacts = filepath.Join(artefacts, name+"-"+time.Now().UTC().Format("20060102T150405"))
	cmd := exec.Command(node, filepath.Join(webDir, "e2e", script))
	cmd.Dir = webDir
	cmd.Env = append(append(os.Environ(), env...), "ARTIFACTS="+artefacts, "CHROMIUM="+chromium,
		"SHOTS="+os.Getenv("ROOST_WEB_SCREENSHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("web/e2e/%s:\n%s", script, out)
	if err != nil || !strings.Contains(string(out), "\nOK\n") {
		t.Fatalf("browser test failed (%v); screenshots and trace in %s", err, artefacts)
	}
	return string(out)
}

// remoteServer stands for the rest of the internet: tracking pixels and
// style sheets a hostile message points at, and a cross-site page that
// frames the app and posts a form at it. It counts the hits on every path
// but the attacking page itself (and its favicon).
type remoteServer struct {
	mu   sync.Mutex
	hits []string
}

func (s *remoteServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/evil.html" {
		target := r.URL.Query().Get("target")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>evil</title>
<iframe id="frame" src="%[1]s/" width="600" height="400"></iframe>
<iframe name="sink" width="10" height="10"></iframe>
<form id="f" method="post" action="%[1]s/web/logout" target="sink"><input name="everywhere" value="1"></form>
<script>document.getElementById('f').submit();</script>`, html.EscapeString(target))
		return
	}
	if r.URL.Path == "/favicon.ico" { // the attacking page's own
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.hits = append(s.hits, r.URL.Path)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "image/png")
	w.Write([]byte("\x89PNG\r\n\x1a\n"))
}

func (s *remoteServer) Hits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hits...)
}

// attackHTML is a message body that tries every trick of issue 12's list.
func attackHTML(remote string) string {
	return strings.ReplaceAll(`<html><head>
<base href="REMOTE/base/">
<meta http-equiv="refresh" content="0;url=REMOTE/refresh">
<style>@import url(REMOTE/import.css); body { background: url(REMOTE/bg.png) }</style>
<link rel="stylesheet" href="REMOTE/link.css">
</head><body>
<p id="hello">Hello HTML</p>
<script>fetch('REMOTE/script')</script>
<img src="x" onerror="fetch('REMOTE/onerror')">
<a id="js" href="javascript:fetch('REMOTE/js')">js link</a>
<a id="data" href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>
<a id="ok" href="https://example.org/page">ok link</a>
<svg xmlns="http://www.w3.org/2000/svg"><script>fetch('REMOTE/svg')</script><image href="REMOTE/svgimg.png"/></svg>
<div id="styled" style="color: red; background-image: url(REMOTE/style-bg.png)">styled</div>
<form action="REMOTE/form"><input name="q"><button>go</button></form>
<img id="pixel" src="REMOTE/pixel.png" srcset="REMOTE/srcset.png 2x" width="1" height="1">
<iframe src="REMOTE/iframe"></iframe>
<object data="REMOTE/object"></object>
<video poster="REMOTE/poster.png"></video>
</body></html>`, "REMOTE", remote)
}

// TestWebClientE2E signs in to the web client in Chromium and reads,
// flags, moves (menu and drag), searches and sends mail, checks HTML mail
// renders inert and loads nothing remote until allowed, the cookie's
// attributes, framing and cross-site posts refused (web/e2e/mail.mjs);
// then finds the sent message in the recipient's INBOX over IMAP. With
// ROOST_WEB_SCREENSHOTS set, the docs' screenshots are written there.
func TestWebClientE2E(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, imapAddr := webE2EServer(t, dir, "")
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","name":"Bob Web","password":"pw-bob-web-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"carol","email":"carol@example.org","name":"Carol","password":"pw-carol-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"dana","email":"dana@example.org","password":"pw-dana-1"}`, 201)
	var totp struct{ Key string }
	if err := json.Unmarshal([]byte(adminCall(t, c, "PUT", "/v1/users/dana/totp", "", 201)), &totp); err != nil || totp.Key == "" {
		t.Fatalf("TOTP key: %v", err)
	}

	remote := &remoteServer{}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &http.Server{Handler: remote}
	go rs.Serve(rl)
	t.Cleanup(func() { rs.Close() })
	remoteURL := "http://" + rl.Addr().String()

	deliver := func(msg string) {
		adminCall(t, c, "POST", "/v1/deliver?rcpt=bob@example.org", strings.ReplaceAll(msg, "\n", "\r\n"), 201)
	}
	deliver("From: Zed <zed@example.net>\nTo: bob@example.org\nSubject: Find the needle\nDate: Mon, 1 Dec 2026 09:00:00 +0000\nMessage-ID: <needle@example.net>\n\nA haystack.\n")
	deliver("From: Alice Sender <alice@example.com>\nTo: bob@example.org\nSubject: Plain hello\nDate: Mon, 1 Dec 2026 10:00:00 +0000\nMessage-ID: <plain@example.com>\n\nThe body of the plain message.\n")
	deliver("From: Carol <carol@example.org>\nTo: bob@example.org\nSubject: Need the file\nDate: Mon, 1 Dec 2026 08:00:00 +0000\nMessage-ID: <need@example.org>\n\nCould you send me the data?\n")
	deliver("From: Mallory <mallory@example.com>\nTo: bob@example.org\nSubject: HTML attack\nDate: Mon, 1 Dec 2026 11:00:00 +0000\nMessage-ID: <attack@example.com>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n" + attackHTML(remoteURL) + "\n")

	// A folder to move to, made over IMAP.
	imap := func(user, pw string) (net.Conn, *bufio.Reader) {
		conn, err := net.Dial("tcp", imapAddr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		r := bufio.NewReader(conn)
		r.ReadString('\n')
		if l := imapLine(t, conn, r, fmt.Sprintf("LOGIN %s %s", user, pw)); !strings.HasPrefix(l, "t OK") {
			t.Fatalf("IMAP login %s: %s", user, l)
		}
		return conn, r
	}
	conn, r := imap("bob", "pw-bob-web-1")
	if l := imapLine(t, conn, r, "CREATE Projects"); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("CREATE: %s", l)
	}
	conn.Close()

	base := "https://" + httpsAddr
	checkCSRF(t, base)

	runWebE2E(t, node, chromium, webDir, "mail.mjs", "web-e2e",
		"BASE="+base, "EVIL="+remoteURL, "USER=bob", "PASS=pw-bob-web-1", "RCPT=carol@example.org", "TOTP_USER=dana", "TOTP_PASS=pw-dana-1", "TOTP_KEY="+totp.Key)
	if h := remote.Hits(); len(h) == 0 {
		t.Errorf("the allowed remote image never reached the remote server")
	} else {
		for _, p := range h {
			if p != "/pixel.png" {
				t.Errorf("the remote server saw %s: the sanitisers let something through (hits %v)", p, h)
			}
		}
	}

	// The message sent from the browser arrives at carol, over IMAP.
	conn, r = imap("carol", "pw-carol-1")
	defer conn.Close()
	waitIMAPSubject(t, conn, r, "Hello from the web client")

	// The reply with attachments: the picked file's bytes and the dropped
	// one's, and not the file removed before sending.
	seq := waitIMAPSubject(t, conn, r, "Re: Need the file")
	raw := imapFetchBody(t, conn, r, seq)
	parts := mimeParts(t, raw)
	bin := make([]byte, 300*1024)
	for i := range bin {
		bin[i] = byte((i*31 + i>>8) & 255)
	}
	if got, ok := parts["data.bin"]; !ok || !bytes.Equal(got, bin) {
		t.Errorf("data.bin: present %v, %d bytes, equal %v (parts %v)", ok, len(got), bytes.Equal(got, bin), partNames(parts))
	}
	if got := string(parts["notes.txt"]); got != "Dropped into the composer.\n" {
		t.Errorf("notes.txt = %q (parts %v)", got, partNames(parts))
	}
	if _, ok := parts["wrong.txt"]; ok {
		t.Errorf("wrong.txt was removed before sending but arrived")
	}
	if got := string(parts["text/plain"]); !strings.Contains(got, "Here it is.") {
		t.Errorf("the text part = %q", got)
	}

	// The draft saved, reopened and sent: its last version, with the
	// attachment it was saved with.
	parts = mimeParts(t, imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, "Draft from the web client")))
	if got := string(parts["text/plain"]); !strings.Contains(got, "Final version.") {
		t.Errorf("the sent draft's text = %q", got)
	}
	if got := string(parts["draft.txt"]); got != "Attached to the draft.\n" {
		t.Errorf("the sent draft's draft.txt = %q (parts %v)", got, partNames(parts))
	}

	// Rich text: HTML with the formatting and only that, and its
	// plain-text alternative.
	parts = mimeParts(t, imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, "Rich text from the web client")))
	h, txt := string(parts["text/html"]), strings.ReplaceAll(string(parts["text/plain"]), "\r\n", "\n")
	for _, want := range []string{"<b>Strong words</b>", "<li>first item</li>", `href="https://example.org/docs"`, "Plain start"} {
		if !strings.Contains(h, want) {
			t.Errorf("the HTML part lacks %s:\n%s", want, h)
		}
	}
	for _, bad := range []string{"onsearch", "style=", "<span", "<font", "javascript:"} {
		if strings.Contains(strings.ToLower(h), bad) {
			t.Errorf("the HTML part has %s:\n%s", bad, h)
		}
	}
	for _, want := range []string{"Plain start", "Strong words", "* first item\n* second item", "https://example.org/docs"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the text part lacks %q:\n%s", want, txt)
		}
	}
}

// waitIMAPSubject selects INBOX until a message with the subject is in
// it (30 s at most) and returns its sequence number.
func waitIMAPSubject(t *testing.T, conn net.Conn, r *bufio.Reader, subject string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		imapLine(t, conn, r, "SELECT INBOX")
		fmt.Fprintf(conn, "s SEARCH SUBJECT %q\r\n", subject)
		var found string
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
		if found != "" {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message %q sent from the web client did not arrive", subject)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// imapFetchBody returns message seq's BODY.PEEK[] literal.
func imapFetchBody(t *testing.T, conn net.Conn, r *bufio.Reader, seq string) []byte {
	t.Helper()
	fmt.Fprintf(conn, "f FETCH %s BODY.PEEK[]\r\n", seq)
	var body []byte
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if i := strings.LastIndex(l, "{"); body == nil && strings.HasPrefix(l, "* ") && i >= 0 && strings.HasSuffix(l, "}\r\n") {
			n, err := strconv.Atoi(l[i+1 : len(l)-3])
			if err != nil {
				t.Fatalf("FETCH literal: %q", l)
			}
			body = make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasPrefix(l, "f ") {
			if !strings.HasPrefix(l, "f OK") || body == nil {
				t.Fatalf("FETCH: %s", l)
			}
			return body
		}
	}
}

// mimeParts decodes a MIME message into its leaf parts' bodies, by file
// name, or by media type for a part without one (multipart/* walked).
func mimeParts(t *testing.T, raw []byte) map[string][]byte {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	var walk func(h textproto.MIMEHeader, body io.Reader)
	walk = func(h textproto.MIMEHeader, body io.Reader) {
		mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			mt = "text/plain"
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header, p)
			}
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		key := mt
		if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
			key = dp["filename"]
		}
		out[key] = b
	}
	walk(textproto.MIMEHeader(m.Header), m.Body)
	return out
}

func partNames[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkCSRF: a request with a valid session cookie is refused when the
// browser says it comes from another site (Sec-Fetch-Site) or, without
// fetch metadata, from another origin; the same request from the app's
// origin is served.
func checkCSRF(t *testing.T, base string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	do := func(method, path, body string, hdr map[string]string) (int, http.Header) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, res.Header
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": base}
	if st, _ := do("POST", "/web/login", url.Values{"login": {"bob"}, "password": {"pw-bob-web-1"}}.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}); st != 403 {
		t.Errorf("cross-site login: %d, want 403", st)
	}
	st, h := do("POST", "/web/login", url.Values{"login": {"bob"}, "password": {"pw-bob-web-1"}}.Encode(), form)
	if st != 204 {
		t.Fatalf("login: %d", st)
	}
	sc := h.Get("Set-Cookie")
	for _, want := range []string{"__Host-roost-session=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Domain=") {
		t.Errorf("Set-Cookie %q has a Domain", sc)
	}
	api := `{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],"methodCalls":[["Mailbox/get",{"accountId":null,"ids":null},"0"]]}`
	jmapJSON := map[string]string{"Content-Type": "application/json"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range jmapJSON {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"no origin", map[string]string{}, 403},
		{"same-origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": base}, 200},
	} {
		st, h := do("POST", "/jmap/api/", api, with(c.hdr))
		if st != c.want {
			t.Errorf("JMAP API with the cookie, %s: %d, want %d", c.name, st, c.want)
		}
		if st == 403 && h.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: a challenge on a CSRF refusal", c.name)
		}
	}
	if st, _ := do("POST", "/web/logout", "everywhere=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}); st != 403 {
		t.Errorf("cross-site logout: %d, want 403", st)
	}
	if st, _ := do("GET", "/web/api/me", "", nil); st != 200 {
		t.Errorf("session gone after a refused cross-site logout: %d", st)
	}
	// Framing and the other headers on the app itself.
	_, h = do("GET", "/", "", nil)
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q", csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", h)
	}
	u, _ := url.Parse(base)
	var token string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "__Host-roost-session" {
			token = ck.Value
		}
	}
	if st, _ := do("POST", "/web/logout", "", form); st != 204 {
		t.Errorf("logout: %d", st)
	}
	// The old cookie opens nothing any more: the session was revoked,
	// not just the cookie cleared.
	if st, _ := do("GET", "/web/api/me", "", map[string]string{"Cookie": "__Host-roost-session=" + token}); st != 401 || token == "" {
		t.Errorf("the revoked session's cookie: %d, want 401", st)
	}
}

// TestWebClientBigMailbox fills an Inbox (5,000 messages, or
// ROOST_WEB_BIG_MESSAGES) and checks in Chromium that the message list
// is virtualised: a bounded number of rows in the page whatever the
// total, the first page shown quickly, a jump to the middle loading only
// the pages in view (web/e2e/biglist.mjs prints the timings).
func TestWebClientBigMailbox(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	n := 5000
	if v := os.Getenv("ROOST_WEB_BIG_MESSAGES"); v != "" {
		fmt.Sscan(v, &n)
	}
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\n", httpsAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"big","email":"big@example.org","password":"pw-big-1"}`, 201)
	base := "https://" + httpsAddr
	call, acct, inbox := webJMAP(t, base, "big", "pw-big-1")
	up := call("POST", "/jmap/upload/"+acct+"/", "message/rfc822",
		"From: Sender <sender@example.net>\r\nTo: big@example.org\r\nSubject: One of many\r\n\r\nA message in a big mailbox.\r\n")
	blob := up["blobId"].(string)
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	seeded := time.Now()
	for i := 0; i < n; i += 500 {
		var b strings.Builder
		for k := i; k < min(n, i+500); k++ {
			if k > i {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":{"blobId":%q,"mailboxIds":{%q:true},"keywords":{"$seen":true},"receivedAt":%q}`,
				k, blob, inbox, start.Add(time.Duration(k)*time.Minute).Format(time.RFC3339))
		}
		res := call("POST", "/jmap/api/", "application/json", `{`+jmapMailUsing+`,"methodCalls":[["Email/import",{"accountId":"`+acct+`","emails":{`+b.String()+`}},"i"]]}`)
		r := res["methodResponses"].([]any)[0].([]any)
		if r[0] != "Email/import" {
			t.Fatalf("import: %v", r[1])
		}
		if nc, _ := r[1].(map[string]any)["notCreated"].(map[string]any); len(nc) > 0 {
			t.Fatalf("import refused: %v", nc)
		}
	}
	t.Logf("seeded %d messages in %v", n, time.Since(seeded).Round(time.Millisecond))

	runWebE2E(t, node, chromium, webDir, "biglist.mjs", "web-big",
		"BASE="+base, "USER=big", "PASS=pw-big-1", "TOTAL="+fmt.Sprint(n))
}

// TestWebClientUndoSend: with jmap_send_delay, the web client's "Sending…
// Undo" cancels the held submission and reopens the message; the second
// send goes out after the delay. Over IMAP the recipient has only the
// second version.
func TestWebClientUndoSend(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	c, httpsAddr, imapAddr := webE2EServer(t, dir, "jmap_send_delay = 4\n")
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","password":"pw-bob-web-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"carol","email":"carol@example.org","password":"pw-carol-1"}`, 201)
	runWebE2E(t, node, chromium, webDir, "undo.mjs", "web-undo",
		"BASE=https://"+httpsAddr, "USER=bob", "PASS=pw-bob-web-1", "RCPT=carol@example.org")
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
	seq := waitIMAPSubject(t, conn, r, "Undo me")
	if seq != "1" {
		t.Errorf("carol has %s messages called Undo me, want 1", seq)
	}
	raw := string(imapFetchBody(t, conn, r, seq))
	if !strings.Contains(raw, "The second try, sent.") || strings.Contains(raw, "taken back") {
		t.Errorf("carol received:\n%s", raw)
	}
}

// webE2EServer starts roost serve in dir with an HTTPS listener and an
// IMAP one (plaintext logins allowed, for the tests' checks over IMAP),
// and the configuration lines extra, waits for HTTPS and adds the domain
// example.org.
func webE2EServer(t *testing.T, dir, extra string) (c *http.Client, httpsAddr, imapAddr string) {
	t.Helper()
	httpsAddr, imapAddr = freePort(t), freePort(t)
	c = startServer(t, dir, fmt.Sprintf("https_listen = %q\nimap_listen = %q\nallow_plaintext_auth = true\n", httpsAddr, imapAddr)+extra)
	waitFor(t, "https listener", func() bool {
		conn, err := net.Dial("tcp", httpsAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	return c, httpsAddr, imapAddr
}
