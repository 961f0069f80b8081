package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// clusterNode is one `roost serve` process of TestCluster.
type clusterNode struct {
	name, ip, dir, cfg     string
	imap, lmtp, http, smtp string
	proc                   *serverProc
	dsn                    string // the database (TestSharded)
	pop3, sieve            string // TestSharded
}

// freeAddrOn returns a free TCP address on ip, with a port no other
// call in this test binary returned: the kernel hands a released port
// out again, and two listeners of one server given the same port make
// its configuration invalid ("already used by").
func freeAddrOn(t *testing.T, ip string) string {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().(*net.TCPAddr)
		ln.Close()
		handedOut.Lock()
		taken := handedOut.ports[addr.Port]
		handedOut.ports[addr.Port] = true
		handedOut.Unlock()
		if !taken {
			return addr.String()
		}
	}
	t.Fatal("no fresh free port in 100 tries")
	return ""
}

// handedOut remembers the ports freeAddrOn and freeAddr returned.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// TestCluster runs three `roost serve` processes on 127.0.0.2, 127.0.0.3
// and 127.0.0.4 with one PostgreSQL database and one S3 bucket
// (versitygw), each with its own data_dir and listeners (docs/cluster.md):
//
//   - a delivery over LMTP on node B reaches an IMAP client in IDLE on
//     node A (* EXISTS), through PostgreSQL LISTEN/NOTIFY; its content,
//     over the inline limit, is in S3 and node C serves it byte for byte;
//   - `roost admin node list --json` shows the three nodes, and the
//     run-once jobs' leases each held by one node;
//   - the lease holder is killed with SIGKILL and a live node takes its
//     leases over;
//   - `node drain` makes a node refuse new sessions (/readyz 503), end an
//     open IMAP session with BYE and an open LMTP session with 421 after
//     drain_grace; `node undrain` brings it back.
func TestCluster(t *testing.T) {
	testenv.PostgresDSN(t) // skips (or fails under ROOST_REQUIRE_POSTGRES) without PostgreSQL
	bin := roostBinary(t)
	sink := startSink(t)
	nodes, s3, bucket := startCluster(t, bin, 3, sink.addr)
	a, b, c := nodes[0], nodes[1], nodes[2]

	// IDLE on A and a JMAP EventSource on C; deliver through B.
	idler := imapLogin(t, a.imap)
	idler.cmd("s1", "SELECT INBOX")
	idler.send("i1 IDLE")
	idler.expect("+ ")
	pushed := jmapEventSource(t, c.http, "alice", "secret-pw")
	big := bigMessage()
	lmtpDeliver(t, b.lmtp, "bob@example.test", "alice@example.test", string(big))
	idler.expect("* 1 EXISTS")
	idler.send("DONE")
	idler.expect("i1 OK")
	select {
	case ev := <-pushed:
		if !strings.Contains(ev, `"Email"`) {
			t.Errorf("EventSource on node C: %q, want a StateChange naming Email", ev)
		}
	case <-time.After(30 * time.Second):
		t.Error("the JMAP EventSource on node C heard nothing of the delivery on node B")
	}

	// The content is in S3 (one bucket for all nodes), and C serves it.
	var objects int
	filepath.Walk(filepath.Join(s3.Dir, bucket, "blobs"), func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			objects++
		}
		return nil
	})
	if objects == 0 {
		t.Error("no blob object in the S3 bucket after a large delivery")
	}
	reader := imapLogin(t, c.imap)
	reader.cmd("s2", "SELECT INBOX")
	got := reader.fetchBody("f1", 1)
	if got != string(big) {
		t.Errorf("node C returned %d bytes, want the %d delivered through node B", len(got), len(big))
	}
	reader.send("z LOGOUT")

	// The registry: three nodes, each lease held by one of them.
	list := nodeListJSON(t, bin, c.dir)
	if len(list) != 3 {
		t.Fatalf("node list: %d nodes, want 3: %+v", len(list), list)
	}
	for i, n := range list {
		if n.Name != nodes[i].name || n.Address != nodes[i].ip || n.Draining || time.Since(n.Heartbeat) > 30*time.Second {
			t.Errorf("node %d = %+v", i, n)
		}
	}
	holder := waitLeases(t, bin, c.dir, "", 30*time.Second)
	text := adminCLI(t, bin, b.dir, "node", "list")
	for _, want := range []string{"Name", "Last heartbeat", "Draining", "node-a", "node-b", "node-c", "127.0.0.3", "purge,quota-monitor"} {
		if !strings.Contains(text, want) {
			t.Errorf("node list lacks %q:\n%s", want, text)
		}
	}

	// A message submitted on the lease holder is claimed by a node's
	// queue, which hangs at the relay; kill -9 that node: a live node
	// takes the leases and, once the claim (queue_claim_lease) expired,
	// the message over.
	var holderNode *clusterNode
	for _, n := range nodes {
		if n.name == holder {
			holderNode = n
		}
	}
	submit(t, holderNode.smtp, "alice", "secret-pw", "alice@example.test", "carol@remote.test")
	var victim *clusterNode
	select {
	case ehlo := <-sink.held:
		for _, n := range nodes {
			if ehlo == n.name+".example.test" {
				victim = n
			}
		}
		if victim == nil {
			t.Fatalf("relay greeted by %q, no node of the test", ehlo)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no node's queue connected to the relay")
	}
	if victim != holderNode {
		t.Logf("the queue of %s, not the lease holder %s, claimed the message", victim.name, holder)
	}
	victim.proc.cmd.Process.Kill()
	victim.proc.cmd.Wait()
	var live *clusterNode
	for _, n := range nodes {
		if n != victim {
			live = n
		}
	}
	newHolder := waitLeases(t, bin, live.dir, victim.name, 60*time.Second)
	t.Logf("leases held by %s after %s was killed (held by %s before)", newHolder, victim.name, holder)
	select {
	case ehlo := <-sink.delivered:
		if ehlo == victim.name+".example.test" {
			t.Errorf("the killed node delivered the message")
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the claimed message of the killed node was not delivered by another node")
	}

	// Drain a live node that is not the one answering the admin commands.
	var drained *clusterNode
	for _, n := range nodes {
		if n != victim && n != live {
			drained = n
		}
	}
	if code := readyz(drained.http); code != http.StatusOK {
		t.Fatalf("readyz of %s before the drain = %d", drained.name, code)
	}
	open := imapLogin(t, drained.imap)
	open.cmd("s3", "SELECT INBOX")
	lc, err := net.Dial("tcp", drained.lmtp)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	lr := bufio.NewReader(lc)
	if l, _ := lr.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("LMTP greeting %q", l)
	}
	out := adminCLI(t, bin, live.dir, "node", "drain", drained.name)
	if !strings.Contains(out, "drains") {
		t.Errorf("node drain said %q", out)
	}
	waitFor(t, 20*time.Second, "readyz 503 on the drained node", func() bool { return readyz(drained.http) == http.StatusServiceUnavailable })
	waitFor(t, 10*time.Second, "the drained node refusing new IMAP connections", func() bool {
		c, err := net.DialTimeout("tcp", drained.imap, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	// Within the grace period the open session still works …
	open.cmd("n1", "NOOP")
	// … and then it is told BYE, the LMTP session 421.
	open.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	open.expect("* BYE")
	lc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if l, err := lr.ReadString('\n'); err != nil || !strings.HasPrefix(l, "421 ") {
		t.Errorf("LMTP session on the drained node got %q, %v; want 421", l, err)
	}
	if n := findNode(nodeListJSON(t, bin, live.dir), drained.name); n == nil || !n.Draining {
		t.Errorf("node list does not show %s draining: %+v", drained.name, n)
	}

	adminCLI(t, bin, live.dir, "node", "undrain", drained.name)
	waitFor(t, 20*time.Second, "readyz 200 after undrain", func() bool { return readyz(drained.http) == http.StatusOK })
	back := imapLogin(t, drained.imap)
	back.cmd("s4", "SELECT INBOX")
	back.send("z LOGOUT")
	if n := findNode(nodeListJSON(t, bin, live.dir), drained.name); n == nil || n.Draining {
		t.Errorf("node list still shows %s draining: %+v", drained.name, n)
	}
}

func bigMessage() []byte {
	var sb strings.Builder
	sb.WriteString("From: bob@example.test\r\nTo: alice@example.test\r\nSubject: across nodes\r\nMessage-ID: <cluster@example.test>\r\n\r\n")
	for i := 0; sb.Len() < 100<<10; i++ {
		fmt.Fprintf(&sb, "line %d of a message that is stored in S3, not inline\r\n", i)
	}
	return []byte(sb.String())
}

func nodeListJSON(t *testing.T, bin, dir string) []nodeView {
	t.Helper()
	var list []nodeView
	out := adminCLI(t, bin, dir, "node", "list", "--json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("node list --json: %v\n%s", err, out)
	}
	return list
}

func findNode(list []nodeView, name string) *nodeView {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// waitLeases waits until one node other than not holds every lease of
// the run-once jobs and returns its name. The search indexer's leases
// ("index": one per store, spread over the nodes) are left out.
func waitLeases(t *testing.T, bin, dir, not string, limit time.Duration) string {
	t.Helper()
	var holder string
	waitFor(t, limit, "every lease held by one live node", func() bool {
		holder = ""
		held := 0
		for _, n := range nodeListJSON(t, bin, dir) {
			leases := slices.DeleteFunc(slices.Clone(n.Leases), func(l string) bool { return l == "index" })
			if len(leases) == 0 {
				continue
			}
			if n.Name == not || holder != "" {
				return false
			}
			holder, held = n.Name, len(leases)
			if !slices.Contains(leases, "purge") || !slices.Contains(leases, "quota-monitor") {
				return false
			}
		}
		return held == 2
	})
	return holder
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func readyz(addr string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// imapConn is a minimal IMAP client for TestCluster.
type imapConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func imapLogin(t *testing.T, addr string) *imapConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ic := &imapConn{t: t, conn: c, r: bufio.NewReader(c)}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	ic.expect("* OK")
	ic.cmd("l1", "LOGIN alice secret-pw")
	return ic
}

func (c *imapConn) send(line string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.conn, "%s\r\n", line); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads lines until one starts with prefix.
func (c *imapConn) expect(prefix string) string {
	c.t.Helper()
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
}

// cmd sends a command and waits for its tagged OK.
func (c *imapConn) cmd(tag, command string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	c.send(tag + " " + command)
	if l := c.expect(tag + " "); !strings.HasPrefix(l, tag+" OK") {
		c.t.Fatalf("%s: %s", command, l)
	}
}

// fetchBody returns BODY[] of message seq.
func (c *imapConn) fetchBody(tag string, seq int) string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	c.send(fmt.Sprintf("%s FETCH %d BODY.PEEK[]", tag, seq))
	l := c.expect("* ")
	i := strings.LastIndex(l, "{")
	var n int
	if i < 0 {
		c.t.Fatalf("FETCH: no literal in %q", l)
	}
	fmt.Sscanf(l[i:], "{%d}", &n)
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.r, buf); err != nil {
		c.t.Fatal(err)
	}
	if l := c.expect(tag + " "); !strings.HasPrefix(l, tag+" OK") {
		c.t.Fatalf("FETCH: %s", l)
	}
	return string(buf)
}

// sink is an SMTP relay for TestCluster: it holds its first connection
// after EHLO (the node delivering is killed meanwhile) and accepts mail on
// every later one, reporting the EHLO names.
type sink struct {
	addr      string
	held      chan string
	delivered chan string
}

func startSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sink{addr: ln.Addr().String(), held: make(chan string, 1), delivered: make(chan string, 4)}
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, n == 0)
		}
	}()
	return s
}

func (s *sink) serve(c net.Conn, hold bool) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "220 sink ESMTP\r\n")
	var ehlo string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(l + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			ehlo = strings.TrimSpace(l[5:])
			fmt.Fprintf(c, "250-sink\r\n250 8BITMIME\r\n")
			if hold {
				s.held <- ehlo
				io.Copy(io.Discard, r) // until the node dies
				return
			}
		case "DATA":
			fmt.Fprintf(c, "354 go on\r\n")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			fmt.Fprintf(c, "250 2.0.0 queued\r\n")
			s.delivered <- ehlo
		case "QUIT":
			fmt.Fprintf(c, "221 bye\r\n")
			return
		default:
			fmt.Fprintf(c, "250 ok\r\n")
		}
	}
}

// submit sends one message over SMTP submission with AUTH PLAIN.
func submit(t *testing.T, addr, login, pw, from, to string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(c)
	step := func(send, want string) {
		t.Helper()
		if send != "" {
			fmt.Fprintf(c, "%s\r\n", send)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("submission after %q: %v", send, err)
			}
			if !strings.HasPrefix(l, want) {
				t.Fatalf("submission after %q: %q, want %s", send, l, want)
			}
			if len(l) < 4 || l[3] != '-' {
				return
			}
		}
	}
	step("", "220")
	step("EHLO test", "250")
	step("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+login+"\x00"+pw)), "235")
	step("MAIL FROM:<"+from+">", "250")
	step("RCPT TO:<"+to+">", "250")
	step("DATA", "354")
	fmt.Fprintf(c, "From: %s\r\nTo: %s\r\nSubject: queued across nodes\r\nMessage-ID: <q@example.test>\r\n\r\nhello\r\n.\r\n", from, to)
	step("", "250")
	step("QUIT", "221")
}

// jmapEventSource opens a JMAP EventSource (RFC 8620 §7.3) on addr and
// returns a channel that gets the data of its first state event.
func jmapEventSource(t *testing.T, addr, login, pw string) <-chan string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+"/jmap/eventsource/?types=*&closeafter=state&ping=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(login, pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("EventSource: %s", resp.Status)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		state := false
		for sc.Scan() {
			l := sc.Text()
			if l == "event: state" {
				state = true
			} else if state && strings.HasPrefix(l, "data: ") {
				out <- l
				return
			}
		}
	}()
	return out
}

// startCluster starts count `roost serve` processes (node-a, node-b, …)
// on 127.0.0.2, 127.0.0.3, … with one fresh PostgreSQL database and one
// S3 bucket (versitygw), relaying outbound mail to relay, and creates the
// user alice@example.test (password secret-pw).
func startCluster(t *testing.T, bin string, count int, relay string) ([]*clusterNode, *testenv.S3, string) {
	t.Helper()
	s3 := testenv.StartS3(t)
	bucket := s3.Bucket(t)
	dsn := testenv.NewPostgresDB(t)

	var nodes []*clusterNode
	for i := range count {
		name := fmt.Sprintf("node-%c", 'a'+i)
		ip := fmt.Sprintf("127.0.0.%d", i+2)
		n := &clusterNode{name: name, ip: ip, dir: filepath.Join(t.TempDir(), name),
			imap: freeAddrOn(t, ip), lmtp: freeAddrOn(t, ip), http: freeAddrOn(t, ip), smtp: freeAddrOn(t, ip)}
		if err := os.MkdirAll(n.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		n.cfg = filepath.Join(n.dir, "roost.toml")
		var off strings.Builder
		for _, k := range []string{"imaps", "pop3", "pop3s", "submissions", "https", "managesieve"} {
			fmt.Fprintf(&off, "%s_listen = \"off\"\n", k)
		}
		conf := off.String() + fmt.Sprintf(`data_dir = %[1]q
database = %[2]q
node_name = %[3]q
server_name = "%[3]s.example.test"
node_heartbeat = 1
drain_grace = 3
allow_plaintext_auth = true
imap_listen = %[4]q
lmtp_listen = %[5]q
http_listen = %[6]q
submission_listen = %[12]q
smtp_server = %[13]q
smtp_tls = "none"
queue_claim_lease = 10
blob_store = "s3"
s3_endpoint = %[7]q
s3_bucket = %[8]q
s3_prefix = "blobs/"
s3_access_key = %[9]q
s3_secret_key = %[10]q
s3_tls = false
`, n.dir, dsn, name, n.imap, n.lmtp, n.http, s3.Endpoint, bucket, s3.AccessKey, s3.SecretKey, "", n.smtp, relay)
		if err := os.WriteFile(n.cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		// One after another: the first creates the schema and the
		// administrator.
		n.proc = startServer(t, bin, n.cfg, n.dir)
		nodes = append(nodes, n)
	}
	adminCLI(t, bin, nodes[0].dir, "domain", "add", "example.test")
	cmd := exec.Command(bin, "admin", "--data", nodes[0].dir, "user", "create", "alice", "--email", "alice@example.test", "--password-stdin")
	cmd.Stdin = strings.NewReader("secret-pw\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}

	return nodes, s3, bucket
}
