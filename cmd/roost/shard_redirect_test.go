package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// redirectProxyHeader is the proxy_header of TestShardedHTTPRedirect's
// frontend.
const redirectProxyHeader = "X-Roost-Test-Proxy"

// TestShardedHTTPRedirect: the frontend in the redirect mode
// (docs/cluster.md, "HTTP redirect mode"; Kopano's proxy_header and
// KOPANOPROXYURL). alice's home is node-a (proxy_url set), bob's node-b
// (none); both register the public_url derived from their HTTP listener.
//
//   - `roost admin node list` and its --json show each node's URLs;
//   - a CalDAV PROPFIND of bob with Basic gets 307 from the frontend
//     naming node-b's public_url and the request's path; curl
//     --location-trusted, resending credentials and body, gets the 207
//     from node-b; a JMAP POST of alice followed the same way is answered
//     by node-a; EventSource and WebSocket requests are redirected too;
//   - with proxy_header present, alice's redirect names node-a's
//     proxy_url; bob's node has none, so his request is proxied (and the
//     frontend says so in its log, once);
//   - a wrong password is answered 401 by the frontend, without a
//     redirect; carol (no home node) is served by the frontend; the web
//     client's cookie session stays proxied.
func TestShardedHTTPRedirect(t *testing.T) {
	testenv.PostgresDSN(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	bin := roostBinary(t)
	// The reverse proxy in front of everything (HAProxy, below): node-a's
	// proxy_url is under its /node-a/ prefix.
	rproxy := freeAddrOn(t, "127.0.0.6")
	proxyURL := "http://" + rproxy + "/node-a"
	backends := 0
	nodes := startShardConf(t, bin, func(role string) string {
		if role == "frontend" {
			return fmt.Sprintf("http_routing = \"redirect\"\nproxy_header = %q\n", redirectProxyHeader)
		}
		backends++
		if backends == 1 { // node-a
			return fmt.Sprintf("proxy_url = %q\n", proxyURL+"/")
		}
		return ""
	})
	a, b, front := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", a.proc.out, b.proc.out, front.proc.out)
		}
	})

	// The registry names each node's URLs.
	var list []struct {
		Name      string `json:"name"`
		PublicURL string `json:"public_url"`
		ProxyURL  string `json:"proxy_url"`
	}
	if err := json.Unmarshal([]byte(adminCLI(t, bin, front.dir, "node", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	urls := map[string][2]string{}
	for _, n := range list {
		urls[n.Name] = [2]string{n.PublicURL, n.ProxyURL}
	}
	if urls["node-a"] != [2]string{"http://" + a.http, proxyURL} ||
		urls["node-b"] != [2]string{"http://" + b.http, ""} || urls["node-c"][0] != "http://"+front.http {
		t.Fatalf("node list --json URLs: %+v", list)
	}
	if text := adminCLI(t, bin, front.dir, "node", "list"); !strings.Contains(text, proxyURL) ||
		!strings.Contains(text, "http://"+b.http) || !strings.Contains(text, "Proxy URL") {
		t.Errorf("node list lacks the URLs:\n%s", text)
	}

	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, user, pw, body string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+front.http+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	propfind := `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>`

	// bob's PROPFIND: 307 to node-b's public URL, path and query kept.
	resp, _ := do("PROPFIND", "/dav/calendars/bob/?x=1", "bob", "secret-pw", propfind, "Depth", "0")
	if want := "http://" + b.http + "/dav/calendars/bob/?x=1"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("PROPFIND of bob: %d Location %q, want 307 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if !logHasSoon(front.proc.out, "redirected to the home node", "user=bob", "node=node-b", "method=PROPFIND") {
		t.Errorf("the frontend logged no redirect of bob")
	}
	// curl follows it, resending the credentials and the body: node-b
	// answers.
	curl := func(args ...string) (code, effective, body string) {
		t.Helper()
		out, err := exec.Command("curl", append([]string{"-s", "--location-trusted", "-w", "\n%{http_code} %{url_effective} %{num_redirects}"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %q: %v %s", args, err, out)
		}
		s := string(out)
		i := strings.LastIndex(s, "\n")
		f := strings.Fields(s[i+1:])
		if len(f) != 3 || f[2] != "1" {
			t.Fatalf("curl %q followed %v redirects, want 1: %s", args, f, s)
		}
		return f[0], f[1], s[:i]
	}
	code, eff, body := curl("-u", "bob:secret-pw", "-X", "PROPFIND", "-H", "Depth: 0", "-H", "Content-Type: application/xml",
		"--data", propfind, "http://"+front.http+"/dav/calendars/bob/")
	if code != "207" || eff != "http://"+b.http+"/dav/calendars/bob/" || !strings.Contains(body, "/dav/calendars/bob/") ||
		!strings.Contains(body, "collection") {
		t.Errorf("PROPFIND of bob following the redirect: %s %s\n%s", code, eff, body)
	}
	// JMAP: a POST with its body, followed to node-a.
	code, eff, body = curl("-u", "alice:secret-pw", "-H", "Content-Type: application/json",
		"--data", `{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"hello":"node-a"},"0"]]}`,
		"http://"+front.http+"/jmap/api/")
	if code != "200" || eff != "http://"+a.http+"/jmap/api/" || !strings.Contains(body, `"hello":"node-a"`) {
		t.Errorf("JMAP POST of alice following the redirect: %s %s\n%s", code, eff, body)
	}
	if strings.Contains(a.proc.out.String()+b.proc.out.String(), "proxied request") {
		t.Errorf("a backend was sent a proxied request in the redirect mode")
	}

	// Through the reverse proxy (proxy_header present): alice goes to
	// node-a's proxy_url.
	resp, _ = do("GET", "/jmap/session", "alice", "secret-pw", "", redirectProxyHeader, "1")
	if want := proxyURL + "/jmap/session"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Errorf("JMAP session of alice via the reverse proxy: %d Location %q, want 307 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// Without it: her public URL.
	resp, _ = do("GET", "/jmap/session", "alice", "secret-pw", "")
	if want := "http://" + a.http + "/jmap/session"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Errorf("JMAP session of alice: %d Location %q, want 307 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// EventSource and a WebSocket upgrade are redirected like the rest
	// (the client reconnects there).
	for _, c := range []struct{ path, hdr, val string }{
		{"/jmap/eventsource/?types=*&closeafter=no&ping=0", "Accept", "text/event-stream"},
		{"/jmap/ws", "Upgrade", "websocket"},
	} {
		resp, _ = do("GET", c.path, "alice", "secret-pw", "", c.hdr, c.val)
		if want := "http://" + a.http + c.path; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
			t.Errorf("GET %s of alice: %d Location %q, want 307 %q", c.path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// ActiveSync is redirected its own way (MS-ASHTTP 3.1.5.2.2): 451
	// with X-MS-Location, the endpoint without the command's query; a
	// device that follows it is served by node-a itself.
	eas := "/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=alice&DeviceId=redir1&DeviceType=SmartPhone"
	for _, c := range []struct {
		method, path, want string
		hdr                []string
	}{
		{"OPTIONS", "/Microsoft-Server-ActiveSync", "http://" + a.http + "/Microsoft-Server-ActiveSync", nil},
		{"POST", eas, "http://" + a.http + "/Microsoft-Server-ActiveSync", []string{"MS-ASProtocolVersion", "14.1", "Content-Type", "application/vnd.ms-sync.wbxml"}},
		{"POST", eas, proxyURL + "/Microsoft-Server-ActiveSync", []string{"MS-ASProtocolVersion", "14.1", redirectProxyHeader, "1"}},
	} {
		resp, _ := do(c.method, c.path, "alice", "secret-pw", "", c.hdr...)
		if resp.StatusCode != 451 || resp.Header.Get("X-MS-Location") != c.want || resp.Header.Get("Location") != "" {
			t.Errorf("ActiveSync %s %s of alice: %d X-MS-Location %q, want 451 %q", c.method, c.path, resp.StatusCode, resp.Header.Get("X-MS-Location"), c.want)
		}
	}
	if resp, _ := do("OPTIONS", "/Microsoft-Server-ActiveSync", "alice", "wrong", ""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-MS-Location") != "" {
		t.Errorf("ActiveSync with a wrong password: %d X-MS-Location %q, want 401 and no redirect", resp.StatusCode, resp.Header.Get("X-MS-Location"))
	}
	// Following it: node-a answers OPTIONS itself.
	{
		req, _ := http.NewRequest("OPTIONS", "http://"+a.http+"/Microsoft-Server-ActiveSync", nil)
		req.SetBasicAuth("alice", "secret-pw")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("MS-ASProtocolVersions") == "" {
			t.Errorf("ActiveSync OPTIONS on node-a after the redirect: %d versions %q", resp.StatusCode, resp.Header.Get("MS-ASProtocolVersions"))
		}
	}

	// node-b has no proxy_url: bob's request through the reverse proxy
	// is proxied instead (twice, logged once).
	for range 2 {
		resp, body := do("PROPFIND", "/dav/calendars/bob/", "bob", "secret-pw", propfind, "Depth", "0", redirectProxyHeader, "1")
		if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "/dav/calendars/bob/") {
			t.Errorf("PROPFIND of bob via the reverse proxy, node-b without proxy_url: %d %s", resp.StatusCode, body)
		}
	}
	if !logHasSoon(b.proc.out, "proxied request", "method=PROPFIND", "user=bob", "via=127.0.0.4") {
		t.Errorf("node-b logged no proxied PROPFIND of bob")
	}
	if n := strings.Count(front.proc.out.String(), "registers no proxy_url"); n != 1 {
		t.Errorf("the frontend logged node-b's missing proxy_url %d times, want once", n)
	}

	// A wrong password: 401 from the frontend, no redirect.
	resp, _ = do("PROPFIND", "/dav/calendars/bob/", "bob", "wrong", propfind, "Depth", "0")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
		t.Errorf("wrong password: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !logHasSoon(front.proc.out, "DAV login failed", "user=bob") {
		t.Errorf("the frontend logged no failed login of bob")
	}
	// carol has no home node: the frontend serves her.
	if resp, body := do("PROPFIND", "/dav/calendars/carol/", "carol", "secret-pw", propfind, "Depth", "0"); resp.StatusCode != http.StatusMultiStatus {
		t.Errorf("carol on the frontend: %d %s", resp.StatusCode, body)
	}

	// The web client's session stays proxied.
	form := url.Values{"login": {"alice"}, "password": {"secret-pw"}}
	req, _ := http.NewRequest("POST", "http://"+front.http+"/web/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+front.http)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusNoContent || len(cookies) == 0 {
		t.Fatalf("web sign-in on the frontend: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", "http://"+front.http+"/web/api/me", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if resp, err = noFollow.Do(req); err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body2), `"login":"alice"`) {
		t.Errorf("/web/api/me in the redirect mode: %d %s", resp.StatusCode, body2)
	}
	if !logHasSoon(a.proc.out, "proxied request", "path=/web/api/me", "user=alice", "via=127.0.0.4") {
		t.Errorf("node-a logged no proxied web client request of alice")
	}

	// Through a real reverse proxy: HAProxy adds proxy_header to every
	// request and sends /node-a/… to node-a (prefix stripped), the rest to
	// the frontend. curl asks the proxy; the frontend redirects to node-a's
	// proxy_url; curl follows it through the proxy to node-a.
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("haproxy not installed (Debian: apt-get install haproxy)")
		}
		t.Log("haproxy not installed: the redirect through a reverse proxy is not tried")
		return
	}
	hconf := fmt.Sprintf(`global
    maxconn 100
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind %s
    http-request set-header %s 1
    http-request set-var(txn.node_a) bool(true) if { path_beg /node-a/ }
    http-request replace-path ^/node-a(/.*)$ \1 if { var(txn.node_a) -m bool }
    use_backend node_a if { var(txn.node_a) -m bool }
    default_backend roost_frontend
backend node_a
    server node-a %s
backend roost_frontend
    server node-c %s
`, rproxy, redirectProxyHeader, a.http, front.http)
	hout := startHAProxy(t, haproxy, t.TempDir(), hconf)
	waitFor(t, 30*time.Second, "HAProxy listening", func() bool {
		c, err := net.DialTimeout("tcp", rproxy, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	before := strings.Count(front.proc.out.String(), "redirected to the home node")
	code, eff, body = curl("-u", "alice:secret-pw", "-H", "Content-Type: application/json",
		"--data", `{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"via":"haproxy"},"0"]]}`,
		"http://"+rproxy+"/jmap/api/")
	if code != "200" || eff != proxyURL+"/jmap/api/" || !strings.Contains(body, `"via":"haproxy"`) {
		t.Errorf("JMAP POST of alice through HAProxy, following the redirect: %s %s\n%s\nhaproxy:\n%s", code, eff, body, hout)
	}
	if !logSoon(front.proc.out, func(l string) bool { return strings.Count(l, "redirected to the home node") == before+1 }) {
		t.Errorf("the frontend did not redirect the request that came through HAProxy")
	}
}
