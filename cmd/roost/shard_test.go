package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roost-mail/roost/internal/testenv"
)

// shardSecret is the shard_secret_file content of TestSharded.
const shardSecret = "sharded-test-secret-0123456789abcdef"

// startShard runs the sharded mode of docs/cluster.md: backends node-a
// (127.0.0.2) and node-b (127.0.0.3) and the frontend node-c (127.0.0.4)
// on one PostgreSQL database and one S3 bucket (versitygw). alice's home is node-a,
// bob's node-b; carol has none and is served by the frontend itself.
//
// With ca the nodes use mutual TLS instead of the shard secret: each has
// a certificate of ca (server and client authentication) as its
// ssl_certificate_file, ssl_ca_file is ca, frontends present their
// certificate to backends and backends require one on LMTP.
func startShard(t *testing.T, bin string, ca ...*testenv.CA) []*clusterNode {
	t.Helper()
	return startShardConf(t, bin, nil, ca...)
}

// startShardConf is startShard with extra(role) appended to the
// configuration of each node (role "backend" or "frontend").
func startShardConf(t *testing.T, bin string, extra func(role string) string, ca ...*testenv.CA) []*clusterNode {
	t.Helper()
	dsn := testenv.NewPostgresDB(t)
	s3 := testenv.StartS3(t)
	bucket := s3.Bucket(t)
	secret := filepath.Join(t.TempDir(), "shard.key")
	if err := os.WriteFile(secret, []byte(shardSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var nodes []*clusterNode
	for i, role := range []string{"backend", "backend", "frontend"} {
		name := fmt.Sprintf("node-%c", 'a'+i)
		ip := fmt.Sprintf("127.0.0.%d", i+2)
		n := &clusterNode{name: name, ip: ip, dir: filepath.Join(t.TempDir(), name),
			imap: freeAddrOn(t, ip), lmtp: freeAddrOn(t, ip), http: freeAddrOn(t, ip), pop3: freeAddrOn(t, ip),
			sieve: freeAddrOn(t, ip)}
		if err := os.MkdirAll(n.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		n.cfg = filepath.Join(n.dir, "roost.toml")
		var off strings.Builder
		for _, k := range []string{"imaps", "pop3s", "submission", "submissions", "https"} {
			fmt.Fprintf(&off, "%s_listen = \"off\"\n", k)
		}
		conf := off.String() + fmt.Sprintf(`data_dir = %[1]q
database = %[2]q
node_name = %[3]q
server_name = "%[3]s.example.test"
node_heartbeat = 1
allow_plaintext_auth = true
imap_listen = %[4]q
lmtp_listen = %[5]q
http_listen = %[6]q
node_roles = [%[7]q]
shard_secret_file = %[8]q
pop3_listen = %[13]q
managesieve_listen = %[14]q
blob_store = "s3"
s3_endpoint = %[9]q
s3_bucket = %[10]q
s3_prefix = "blobs/"
s3_access_key = %[11]q
s3_secret_key = %[12]q
s3_tls = false
`, n.dir, dsn, name, n.imap, n.lmtp, n.http, role, secret, s3.Endpoint, bucket, s3.AccessKey, s3.SecretKey, n.pop3, n.sieve)
		if len(ca) > 0 {
			leaf := ca[0].Issue(name, ip)
			conf = strings.Replace(conf, fmt.Sprintf("shard_secret_file = %q\n", secret), "", 1)
			conf += fmt.Sprintf("ssl_certificate_file = %q\nssl_private_key_file = %q\nssl_ca_file = %q\n", leaf.CertFile, leaf.KeyFile, ca[0].File)
			// Frontends send HTTP to the backends' HTTPS endpoint, with
			// their client certificate.
			conf = strings.Replace(conf, "https_listen = \"off\"\n", fmt.Sprintf("https_listen = %q\n", freeAddrOn(t, ip)), 1)
			if role == "frontend" {
				conf += fmt.Sprintf("ssl_client_certificate_file = %q\nssl_client_key_file = %q\n", leaf.CertFile, leaf.KeyFile)
			} else {
				conf += "lmtp_require_client_certificate = true\n"
			}
		}
		if extra != nil {
			conf += extra(role)
		}
		if err := os.WriteFile(n.cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		n.proc = startServer(t, bin, n.cfg, n.dir)
		nodes = append(nodes, n)
	}
	adminCLI(t, bin, nodes[0].dir, "domain", "add", "example.test")
	for _, n := range nodes {
		n.dsn = dsn
	}
	for _, u := range [][2]string{{"alice", "node-a"}, {"bob", "node-b"}, {"carol", ""}} {
		cmd := exec.Command(bin, "admin", "--data", nodes[0].dir, "user", "create", u[0], "--email", u[0]+"@example.test", "--password-stdin")
		cmd.Stdin = strings.NewReader("secret-pw\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("user create: %v\n%s", err, out)
		}
		setHome(t, nodes[0], u[1], u[0])
	}
	// Every node has registered its endpoints.
	waitFor(t, 30*time.Second, "three nodes in the registry", func() bool {
		return len(nodeListJSON(t, bin, nodes[2].dir)) == 3
	})
	return nodes
}

// TestSharded: users on two backends behind one frontend.
//
//   - Python imaplib logs in to the frontend as alice and as bob and reads
//     each one's message, delivered on the user's backend: the frontend
//     passed the sessions through;
//   - carol, with no home node, is served by the frontend itself;
//   - each backend logs the login with the client's own address (via the
//     frontend), and the frontend logs where it proxied;
//   - a client cannot use the proxy identity on a backend directly.
func TestSharded(t *testing.T) {
	testenv.PostgresDSN(t)
	bin := roostBinary(t)
	nodes := startShard(t, bin)
	a, b, front := nodes[0], nodes[1], nodes[2]

	big := bigMessage()
	lmtpDeliver(t, a.lmtp, "bob@example.test", "alice@example.test", string(big))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", a.proc.out, b.proc.out, front.proc.out)
		}
	})
	lmtpDeliver(t, b.lmtp, "alice@example.test", "bob@example.test", strings.Replace(string(big), "Subject:", "Subject: for bob", 1))

	script := `
import imaplib, sys
host, port = sys.argv[1].rsplit(":", 1)
for user in sys.argv[2:]:
    m = imaplib.IMAP4(host, int(port))
    m.login(user, "secret-pw")
    typ, data = m.select("INBOX")
    n = int(data[0])
    body = b""
    if n:
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        body = data[0][1]
    print(user, n, len(body), b"for bob" in body)
    m.logout()
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, front.imap, "alice", "bob", "carol").CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib through the frontend: %v\n%s\nfrontend log:\n%s", err, out, front.proc.out)
	}
	want := fmt.Sprintf("alice 1 %d False\nbob 1 %d True\ncarol 0 0 False\n", len(big), len(big)+len(" for bob"))
	if string(out) != want {
		t.Errorf("imaplib through the frontend:\n%s\nwant\n%s", out, want)
	}

	// The backends saw the client (127.0.0.1, imaplib's address) via the
	// frontend (127.0.0.4).
	for _, c := range []struct {
		n    *clusterNode
		user string
	}{{a, "alice"}, {b, "bob"}} {
		if !logHasSoon(c.n.proc.out, "logged in", "remote=127.0.0.1", "via=127.0.0.4", "user="+c.user) {
			t.Errorf("%s's log has no login of %s from the client via the frontend:\n%s", c.n.name, c.user, c.n.proc.out.String())
		}
		if !logHasSoon(front.proc.out, "logged in, proxied", "user="+c.user, "backend="+c.n.imap) {
			t.Errorf("the frontend's log has no proxied login of %s to %s", c.user, c.n.imap)
		}
	}
	if !logHasSoon(front.proc.out, "logged in", "user=carol") || strings.Contains(a.proc.out.String()+b.proc.out.String(), "user=carol") {
		t.Errorf("carol (no home node) was not served by the frontend")
	}

	// LMTP through the frontend, one transaction for all three: each
	// recipient is delivered by its home node (carol's by the frontend)
	// and gets its own reply.
	lc, err := net.Dial("tcp", front.lmtp)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	lc.SetDeadline(time.Now().Add(60 * time.Second))
	lr := bufio.NewReader(lc)
	lstep := func(send string, want ...string) {
		t.Helper()
		if send != "" {
			fmt.Fprintf(lc, "%s\r\n", send)
		}
		for _, w := range want {
			l, err := lr.ReadString('\n')
			if err != nil || !strings.HasPrefix(l, w) {
				t.Fatalf("LMTP after %q: %q, %v; want %s", send, l, err, w)
			}
			for len(l) > 3 && l[3] == '-' {
				l, _ = lr.ReadString('\n')
			}
		}
	}
	lstep("", "220")
	lstep("LHLO test", "250")
	lstep("MAIL FROM:<dave@remote.test>", "250")
	lstep("RCPT TO:<alice@example.test>", "250")
	lstep("RCPT TO:<nobody@example.test>", "550 5.1.1")
	lstep("RCPT TO:<bob@example.test>", "250")
	lstep("RCPT TO:<carol@example.test>", "250")
	lstep("DATA", "354")
	lstep("Subject: through the frontend\r\n\r\nhello\r\n.",
		"250 2.0.0 <alice@example.test>", "250 2.0.0 <bob@example.test>", "250 2.0.0 <carol@example.test>")
	lstep("QUIT", "221")
	for _, c := range []struct {
		n    *clusterNode
		user string
	}{{a, "alice"}, {b, "bob"}, {front, "carol"}} {
		want := 2
		if c.user == "carol" {
			want = 1
		}
		line := "msg=delivered proto=delivery user=" + c.user + " "
		if !logSoon(c.n.proc.out, func(log string) bool { return strings.Count(log, line) == want }) {
			t.Errorf("%s logged %d deliveries to %s, want %d", c.n.name, strings.Count(c.n.proc.out.String(), line), c.user, want)
		}
	}

	// mbsync through the frontend: bob's two messages.
	if mb, err := exec.LookPath("mbsync"); err == nil {
		dir := t.TempDir()
		host, port, _ := net.SplitHostPort(front.imap)
		conf := filepath.Join(dir, "mbsyncrc")
		os.WriteFile(conf, []byte(fmt.Sprintf(`IMAPAccount roost
Host %s
Port %s
User bob
Pass secret-pw
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account roost

MaildirStore local
Path %s/
Inbox %s/INBOX

Channel roost
Far :remote:
Near :local:
Patterns INBOX
Create Near
SyncState *
Sync Pull
`, host, port, dir, dir)), 0o600)
		cmd := exec.Command(mb, "-c", conf, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("mbsync through the frontend: %v\n%s", err, out)
		}
		ents, _ := os.ReadDir(filepath.Join(dir, "INBOX", "new"))
		cur, _ := os.ReadDir(filepath.Join(dir, "INBOX", "cur"))
		if len(ents)+len(cur) != 2 {
			t.Errorf("mbsync fetched %d messages of bob through the frontend, want 2", len(ents)+len(cur))
		}
	} else {
		t.Log("mbsync is not installed (Debian isync)")
	}

	// POP3 (Python poplib) through the frontend: alice's two messages,
	// her backend logging the client's address.
	pop := `
import poplib, sys
host, port = sys.argv[1].rsplit(":", 1)
p = poplib.POP3(host, int(port))
p.user("alice")
p.pass_("secret-pw")
print(p.stat()[0], b"through the frontend" in b"\n".join(p.retr(2)[1]))
p.quit()
`
	if out, err := exec.Command("/usr/bin/python3", "-c", pop, front.pop3).CombinedOutput(); err != nil || string(out) != "2 True\n" {
		t.Errorf("poplib through the frontend: %q, %v", out, err)
	}
	if !logHasSoon(a.proc.out, "proto=pop3", "remote=127.0.0.1", "via=127.0.0.4", "user=alice") {
		t.Errorf("node-a has no POP3 session of alice from the client via the frontend")
	}

	// ManageSieve through the frontend: bob stores and activates a script,
	// his backend doing the work under the client's address.
	sieveThroughFrontend(t, front.sieve, "bob")
	if !logHasSoon(b.proc.out, "proto=managesieve", "script stored", "remote=127.0.0.1", "via=127.0.0.4", "user=bob") {
		t.Errorf("node-b stored no script of bob from the client via the frontend")
	}
	if !logHasSoon(front.proc.out, "proto=managesieve", "logged in, proxied", "user=bob", "backend="+b.sieve) {
		t.Errorf("the frontend's log has no proxied ManageSieve login of bob to %s", b.sieve)
	}

	// CalDAV, JMAP and EventSource through the frontend.
	shardHTTPThroughFrontend(t, a, b, front, shardSecret)

	// The proxy identity straight to a backend, from an address that is
	// no frontend's, with the right secret: refused.
	c := imapDial(t, a.imap)
	c.send("x1 AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("alice\x00@roost-proxy\x00"+shardSecret)))
	if l := c.expect("x1 "); !strings.HasPrefix(l, "x1 NO") {
		t.Errorf("proxy login from a non-frontend: %q", l)
	}
}

// logSoon polls a node's log for up to ten seconds until ok holds: a
// server writes its log line after (or while) answering the client, and
// the line reaches the test's buffer through a pipe, so a check right
// after the reply races the copy.
func logSoon(out *lockedBuffer, ok func(log string) bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ok(out.String()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logHasSoon is logHas on a node's log, polled as logSoon does.
func logHasSoon(out *lockedBuffer, parts ...string) bool {
	return logSoon(out, func(log string) bool { return logHas(log, parts...) })
}

// logHas reports whether one line of log holds every part.
func logHas(log string, parts ...string) bool {
	for _, l := range strings.Split(log, "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(l, p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// imapDial connects without logging in.
func imapDial(t *testing.T, addr string) *imapConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ic := &imapConn{t: t, conn: c, r: bufio.NewReader(c)}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	ic.expect("* OK")
	return ic
}

// setHome sets the home node of users (the db directory's home_node).
func setHome(t *testing.T, n *clusterNode, home string, users ...string) {
	t.Helper()
	db, err := sql.Open("pgx", n.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, u := range users {
		if _, err := db.Exec(`UPDATE users SET home_node = $1 WHERE login = $2`, home, u); err != nil {
			t.Fatal(err)
		}
	}
}

// sieveThroughFrontend logs in to the ManageSieve server at addr as user
// (password secret-pw), stores and activates a script and lists it.
func sieveThroughFrontend(t *testing.T, addr, user string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	answer := func(send string) []string {
		t.Helper()
		if send != "" {
			fmt.Fprintf(c, "%s\r\n", send)
		}
		var lines []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("ManageSieve after %q: %v (%q)", send, err, lines)
			}
			l = strings.TrimRight(l, "\r\n")
			if strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
				t.Fatalf("ManageSieve after %q: %q", send, l)
			}
			if strings.HasPrefix(l, "OK") {
				return lines
			}
			lines = append(lines, l)
		}
	}
	answer("")
	answer(`AUTHENTICATE "PLAIN" "` + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00secret-pw")) + `"`)
	script := "require \"fileinto\";\r\nkeep;\r\n"
	answer(fmt.Sprintf("PUTSCRIPT \"filter\" {%d+}\r\n%s", len(script), script))
	answer(`SETACTIVE "filter"`)
	if l := answer("LISTSCRIPTS"); len(l) != 1 || l[0] != `"filter" ACTIVE` {
		t.Errorf("LISTSCRIPTS through the frontend: %q", l)
	}
	if caps := strings.Join(answer("CAPABILITY"), "\n"); !strings.Contains(caps, `"OWNER" "`+user+`"`) {
		t.Errorf("CAPABILITY through the frontend: %s", caps)
	}
	answer("LOGOUT")
}

// shardHTTPThroughFrontend: HTTP for users on backends, through the
// frontend (docs/cluster.md, "HTTP on a frontend"):
//
//   - Python's caldav (python3-caldav) as bob makes a calendar and an
//     event through the frontend; bob's backend serves every request,
//     logging the client's address via the frontend;
//   - a JMAP request as alice is answered by her backend, and an
//     EventSource opened through the frontend streams a state change
//     when mail is delivered to her backend;
//   - a wrong password is answered 401 by the frontend, and a client
//     naming a user in the proxy headers on a backend is refused.
func shardHTTPThroughFrontend(t *testing.T, a, b, front *clusterNode, secret string) {
	t.Helper()
	// CalDAV as bob (node-b).
	py := `
import caldav, sys, json
c = caldav.DAVClient(url=sys.argv[1], username=sys.argv[2], password="secret-pw")
p = c.principal()
cal = p.make_calendar(name="Through the frontend", cal_id="front")
cal.save_event("""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:front-1@example.test
DTSTAMP:20260101T000000Z
DTSTART:20260110T100000Z
DTEND:20260110T110000Z
SUMMARY:Proxied
END:VEVENT
END:VCALENDAR
""")
evs = [e.vobject_instance.vevent.summary.value for e in cal.events()]
print(json.dumps({"principal": str(p.url), "calendars": sorted(str(x.url) for x in p.calendars()), "events": evs}))
`
	out, err := exec.Command("/usr/bin/python3", "-c", py, "http://"+front.http+"/dav/", "bob").CombinedOutput()
	if err != nil {
		t.Fatalf("caldav through the frontend: %v\n%s", err, out)
	}
	var got struct {
		Principal string   `json:"principal"`
		Calendars []string `json:"calendars"`
		Events    []string `json:"events"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("caldav through the frontend: %v: %s", err, out)
	}
	if !strings.HasPrefix(got.Principal, "http://"+front.http+"/dav/principals/bob") ||
		!slices.ContainsFunc(got.Calendars, func(u string) bool { return strings.HasSuffix(u, "/dav/calendars/bob/front/") }) ||
		!slices.Equal(got.Events, []string{"Proxied"}) {
		t.Errorf("caldav through the frontend: %+v", got)
	}
	for _, m := range []string{"PROPFIND", "MKCALENDAR", "PUT", "REPORT"} {
		if !logHasSoon(b.proc.out, "proxied request", "method="+m, "user=bob", "remote=127.0.0.1", "via=127.0.0.4") {
			t.Errorf("node-b logged no proxied %s of bob from the client via the frontend", m)
		}
	}
	if strings.Contains(a.proc.out.String(), "user=bob") {
		t.Errorf("node-a served bob")
	}

	// JMAP as alice (node-a).
	hc := &http.Client{Timeout: 30 * time.Second}
	jmapReq := func(method, path, body, user, pw string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+front.http+path, strings.NewReader(body))
		req.SetBasicAuth(user, pw)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s through the frontend: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := jmapReq("GET", "/jmap/session", "", "alice", "secret-pw")
	var sess struct {
		APIURL         string            `json:"apiUrl"`
		EventSourceURL string            `json:"eventSourceUrl"`
		Primary        map[string]string `json:"primaryAccounts"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &sess) != nil || !strings.HasPrefix(sess.APIURL, "http://"+front.http+"/") {
		t.Fatalf("JMAP session through the frontend: %d %s", resp.StatusCode, body)
	}
	acct := sess.Primary["urn:ietf:params:jmap:mail"]
	resp, body = jmapReq("POST", "/jmap/api/", `{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"],
		"methodCalls":[["Mailbox/get",{"accountId":"`+acct+`","properties":["name","totalEmails"]},"0"]]}`, "alice", "secret-pw")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"Inbox"`) {
		t.Errorf("JMAP Mailbox/get through the frontend: %d %s", resp.StatusCode, body)
	}
	if !logHasSoon(a.proc.out, "proxied request", "method=POST", "path=/jmap/api/", "user=alice", "remote=127.0.0.1", "via=127.0.0.4") {
		t.Errorf("node-a logged no proxied JMAP request of alice from the client via the frontend")
	}
	if resp, _ := jmapReq("POST", "/jmap/api/", `{}`, "alice", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("JMAP with a wrong password through the frontend: %d", resp.StatusCode)
	}

	// The web client: signed in on the frontend (a session every node
	// knows), its API calls are served by alice's backend.
	form := url.Values{"login": {"alice"}, "password": {"secret-pw"}}
	req, _ := http.NewRequest("POST", "http://"+front.http+"/web/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+front.http)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	if resp.StatusCode != http.StatusNoContent || cookie == nil {
		t.Fatalf("web sign-in on the frontend: %d %v", resp.StatusCode, resp.Cookies())
	}
	req, _ = http.NewRequest("GET", "http://"+front.http+"/web/api/me", nil)
	req.AddCookie(cookie)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"login":"alice"`) {
		t.Errorf("the web client's /web/api/me through the frontend: %d %s", resp.StatusCode, body)
	}
	if !logHasSoon(a.proc.out, "proxied request", "path=/web/api/me", "user=alice", "remote=127.0.0.1", "via=127.0.0.4") {
		t.Errorf("node-a logged no proxied web client request of alice")
	}

	// EventSource through the frontend: a delivery on node-a is pushed.
	esURL := strings.NewReplacer("{types}", "*", "{closeafter}", "no", "{ping}", "0").Replace(sess.EventSourceURL)
	req, _ = http.NewRequest("GET", esURL, nil)
	req.SetBasicAuth("alice", "secret-pw")
	req.Header.Set("Accept", "text/event-stream")
	es, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("EventSource through the frontend: %v", err)
	}
	defer es.Body.Close()
	if es.StatusCode != 200 || !strings.HasPrefix(es.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("EventSource through the frontend: %d %s", es.StatusCode, es.Header.Get("Content-Type"))
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(es.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data:") {
				events <- l
			}
		}
		close(events)
	}()
	// The stream is open on node-a when it has logged it: then deliver.
	if !logHasSoon(a.proc.out, "proxied request", "path=/jmap/eventsource/", "user=alice") {
		t.Fatalf("node-a logged no proxied EventSource of alice")
	}
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "alice@example.test", "Subject: pushed\r\n\r\nhello\r\n")
	timeout := time.After(30 * time.Second)
	for pushed := false; !pushed; {
		select {
		case l, ok := <-events:
			if !ok {
				t.Fatalf("the EventSource through the frontend ended without a push")
			}
			pushed = strings.Contains(l, `"Email"`)
		case <-timeout:
			t.Fatalf("no Email state change pushed through the frontend within 30 s")
		}
	}

	// JMAP over WebSocket (RFC 8887) through the frontend: a request,
	// then push of a delivery to node-a.
	wctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(wctx, "ws://"+front.http+"/jmap/ws", &websocket.DialOptions{Subprotocols: []string{"jmap"},
		HTTPHeader: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret-pw"))}}})
	if err != nil {
		t.Fatalf("JMAP WebSocket through the frontend: %v", err)
	}
	defer ws.CloseNow()
	wsRead := func(want string) {
		t.Helper()
		for {
			_, m, err := ws.Read(wctx)
			if err != nil {
				t.Fatalf("JMAP WebSocket through the frontend: waiting for %s: %v", want, err)
			}
			if strings.Contains(string(m), want) {
				return
			}
		}
	}
	ws.Write(wctx, websocket.MessageText, []byte(`{"@type":"Request","using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"through":"frontend"},"e1"]]}`))
	wsRead(`"through":"frontend"`)
	ws.Write(wctx, websocket.MessageText, []byte(`{"@type":"WebSocketPushEnable"}`))
	// Messages are handled in order: once this echo is answered, push is on.
	ws.Write(wctx, websocket.MessageText, []byte(`{"@type":"Request","using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"push":"on"},"e2"]]}`))
	wsRead(`"push":"on"`)
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "alice@example.test", "Subject: pushed again\r\n\r\nhello\r\n")
	wsRead(`"StateChange"`)
	if !logHasSoon(a.proc.out, "proxied request", "path=/jmap/ws", "user=alice", "remote=127.0.0.1", "via=127.0.0.4") {
		t.Errorf("node-a logged no proxied WebSocket of alice")
	}

	// The proxy headers from a client straight to a backend: refused.
	req, _ = http.NewRequest("PROPFIND", "http://"+a.http+"/dav/", nil)
	req.Header.Set("X-Roost-Proxy-User", "alice")
	req.Header.Set("X-Roost-Proxy-Secret", secret)
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("proxy headers from a non-frontend: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}
