package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/adminapi"
)

// TestProxyProtocolBehindHAProxy: HAProxy (from Debian) in front of a
// node sends the PROXY protocol, version 2 for IMAP and version 1 for
// HTTP, and the node sees the clients (127.0.0.9, 127.0.0.10) rather than
// the load balancer: in `roost stats`, in its log and in the per-address
// connection limit, which counts each client and not the balancer. A
// connection from the balancer's address without the header is closed;
// one from any other address is served as usual.
func TestProxyProtocolBehindHAProxy(t *testing.T) {
	haproxy := haproxyPath(t)
	bin := roostBinary(t)
	dir := t.TempDir()
	imapAddr, httpAddr := freeAddrOn(t, "127.0.0.1"), freeAddrOn(t, "127.0.0.1")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "data_dir = %q\n", dir)
	for _, k := range []string{"imaps", "pop3", "pop3s", "submission", "submissions", "lmtp", "https", "managesieve"} {
		fmt.Fprintf(&cfg, "%s_listen = \"off\"\n", k)
	}
	fmt.Fprintf(&cfg, "imap_listen = %q\nhttp_listen = %q\nallow_plaintext_auth = true\n", imapAddr, httpAddr)
	// HAProxy reaches the node from 127.0.0.1; two sessions per client.
	fmt.Fprintf(&cfg, "proxy_protocol_trusted = [\"127.0.0.1\"]\nmax_connections_per_ip = 2\n")
	cfgPath := filepath.Join(dir, "roost.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, bin, cfgPath, dir)
	cmd := exec.Command(bin, "admin", "--data", dir, "user", "create", "alice", "--email", "alice@example.test", "--password-stdin")
	cmd.Stdin = strings.NewReader("s3cret\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}

	lbIMAP, lbHTTP := freeAddrOn(t, "127.0.0.5"), freeAddrOn(t, "127.0.0.5")
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	conf := fmt.Sprintf(`global
    maxconn 100
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend imap
    bind %s
    default_backend imap
backend imap
    option httpchk GET /readyz
    server node %s send-proxy-v2 check-send-proxy check port %s inter 300ms fall 1
frontend http
    bind %s
    default_backend http
backend http
    option httpchk GET /readyz
    server node %s send-proxy check-send-proxy check inter 300ms fall 1
`, lbIMAP, imapAddr, httpPort, lbHTTP, httpAddr)
	hout := startHAProxy(t, haproxy, dir, conf)

	// dialFrom connects to addr from the client address src.
	dialFrom := func(src, addr string) (net.Conn, *bufio.Reader) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second))
		return c, bufio.NewReader(c)
	}
	greeting := func(r *bufio.Reader) string {
		l, err := r.ReadString('\n')
		if err != nil {
			return "error: " + err.Error()
		}
		return l
	}
	var g string
	waitFor(t, 20*time.Second, "IMAP through HAProxy", func() bool {
		c, err := net.DialTimeout("tcp", lbIMAP, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		g, _ = bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(g, "* OK")
	})

	// Two sessions of client 127.0.0.9 and one of 127.0.0.10 through the
	// balancer; the limit of two per address refuses a third of .9 only.
	c1, r1 := dialFrom("127.0.0.9", lbIMAP)
	if g := greeting(r1); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q", g)
	}
	fmt.Fprintf(c1, "a1 LOGIN alice s3cret\r\n")
	if l := greeting(r1); !strings.HasPrefix(l, "a1 OK") {
		t.Fatalf("login through HAProxy: %q", l)
	}
	_, r2 := dialFrom("127.0.0.9", lbIMAP)
	if g := greeting(r2); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("second session of 127.0.0.9: %q", g)
	}
	_, r3 := dialFrom("127.0.0.9", lbIMAP)
	if g := greeting(r3); !strings.Contains(g, "BYE [LIMIT]") {
		t.Errorf("third session of 127.0.0.9: %q, want the per-address limit", g)
	}
	_, r4 := dialFrom("127.0.0.10", lbIMAP)
	if g := greeting(r4); !strings.HasPrefix(g, "* OK") {
		t.Errorf("first session of 127.0.0.10 behind the same balancer: %q", g)
	}

	// roost stats lists the sessions by client.
	var st adminapi.Stats
	sout, err := exec.Command(bin, "stats", "--data", dir, "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("roost stats: %v\n%s", err, sout)
	}
	if err := json.Unmarshal(sout, &st); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, sout)
	}
	remotes := map[string]int{}
	for _, c := range st.Runtime.Connections {
		if c.Listener == "imap" {
			h, _, _ := net.SplitHostPort(c.Remote)
			remotes[h]++
		}
	}
	if remotes["127.0.0.9"] != 2 || remotes["127.0.0.10"] != 1 || remotes["127.0.0.1"] != 0 {
		t.Errorf("IMAP sessions by remote address %v, want 2 of 127.0.0.9 and 1 of 127.0.0.10", remotes)
	}

	// HTTP with version 1: a failed JMAP login is logged with the client.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}).DialContext}}
	req, _ := http.NewRequest("GET", "http://"+lbHTTP+"/jmap/session", nil)
	req.SetBasicAuth("alice", "wrong")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("JMAP with a wrong password through HAProxy: %s", resp.Status)
	}
	waitFor(t, 10*time.Second, "the failed login logged with the client's address", func() bool {
		for _, l := range strings.Split(srv.out.String(), "\n") {
			if strings.Contains(l, "login failed") && strings.Contains(l, "127.0.0.9") {
				return true
			}
		}
		return false
	})

	// From the balancer's address without a header: closed, no greeting.
	_, r5 := dialFrom("127.0.0.1", imapAddr)
	if g := greeting(r5); !strings.HasPrefix(g, "error:") {
		t.Errorf("a connection from the trusted address without a header got %q", g)
	}
	if !logHasSoon(srv.out, "PROXY protocol header missing or malformed") { // the log comes through a pipe
		t.Errorf("the refused connection is not logged:\n%s", srv.out)
	}
	// From any other address: served as usual.
	_, r6 := dialFrom("127.0.0.2", imapAddr)
	if g := greeting(r6); !strings.HasPrefix(g, "* OK") {
		t.Errorf("a direct client got %q", g)
	}
	// The balancer's checks (with the header) kept the node up.
	time.Sleep(time.Second)
	if strings.Contains(hout.String(), " is DOWN") {
		t.Errorf("HAProxy's checks took the node down")
	}
	if t.Failed() {
		t.Logf("haproxy:\n%s\nroost:\n%s", hout, srv.out)
	}
}
