package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestClusterDrainBehindHAProxy drains a node behind HAProxy (from
// Debian) while IMAP clients keep sending commands through it: no command
// fails. Sessions on the drained node end with BYE after drain_grace and
// their clients reconnect, as every IMAP client does after BYE, landing on
// the other node, which HAProxy alone picks from the moment /readyz of the
// drained node answers 503.
func TestClusterDrainBehindHAProxy(t *testing.T) {
	testenv.PostgresDSN(t)
	haproxy := haproxyPath(t)
	bin := roostBinary(t)
	nodes, _, _ := startCluster(t, bin, 2, "127.0.0.1:1")
	a, b := nodes[0], nodes[1]
	lmtpDeliver(t, a.lmtp, "bob@example.test", "alice@example.test", "Subject: one\r\n\r\nhello\r\n")

	front := freeAddrOn(t, "127.0.0.5")
	dir := t.TempDir()
	var servers strings.Builder
	for _, n := range nodes {
		_, hp, _ := net.SplitHostPort(n.http)
		fmt.Fprintf(&servers, "    server %s %s check port %s inter 300ms fall 1 rise 2\n", n.name, n.imap, hp)
	}
	conf := fmt.Sprintf(`global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend imap
    bind %s
    default_backend imap
backend imap
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
%s`, front, servers.String())
	hout := startHAProxy(t, haproxy, dir, conf)
	// Both nodes up behind the proxy.
	seen := map[string]bool{}
	waitFor(t, 30*time.Second, "both nodes reachable through HAProxy", func() bool {
		if h := greetingHost(front); h != "" {
			seen[h] = true
		}
		return len(seen) == 2
	})

	var (
		commands, byes, failures atomic.Int64
		mu                       sync.Mutex
		failed                   []string
		sessions                 = map[string]int{} // node → sessions opened after the drain took effect
		drained                  atomic.Bool
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			imapLoad(front, i, stop, &commands, &byes, func(host string) {
				if drained.Load() {
					mu.Lock()
					sessions[host]++
					mu.Unlock()
				}
			}, func(msg string) {
				failures.Add(1)
				mu.Lock()
				failed = append(failed, msg)
				mu.Unlock()
			})
		})
	}
	time.Sleep(2 * time.Second)
	adminCLI(t, bin, b.dir, "node", "drain", a.name)
	waitFor(t, 20*time.Second, "readyz 503 on the drained node", func() bool { return readyz(a.http) == http.StatusServiceUnavailable })
	time.Sleep(time.Second) // HAProxy's check (300 ms) marks it down
	drained.Store(true)
	time.Sleep(5 * time.Second) // drain_grace (3 s) and reconnections
	close(stop)
	wg.Wait()

	t.Logf("%d commands, %d BYEs, sessions opened after the drain: %v", commands.Load(), byes.Load(), sessions)
	if failures.Load() > 0 {
		t.Errorf("%d failed IMAP commands: %v\nhaproxy:\n%s", failures.Load(), failed, hout)
	}
	if commands.Load() < 50 {
		t.Errorf("only %d commands went through", commands.Load())
	}
	if byes.Load() == 0 {
		t.Error("no session of the drained node was told BYE")
	}
	if sessions[a.name+".example.test"] > 0 || sessions[b.name+".example.test"] == 0 {
		t.Errorf("sessions opened after the drain: %v, want all on %s", sessions, b.name)
	}
}

// greetingHost connects to an IMAP server and returns the host name its
// greeting names ("" if none).
func greetingHost(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return ""
	}
	return greetHost(l)
}

func greetHost(l string) string {
	if i := strings.Index(l, "] "); i >= 0 {
		if f := strings.Fields(l[i+2:]); len(f) > 0 {
			return f[0]
		}
	}
	return ""
}

// imapLoad is one IMAP client behaving as clients do: it logs in and sends
// commands in a loop; when told BYE, or when the connection ends without
// an answer, it reconnects and sends the unanswered command again. A
// tagged NO or BAD is a failure; so is a connection that fails to open.
func imapLoad(addr string, id int, stop <-chan struct{}, commands, byes *atomic.Int64, opened func(host string), fail func(string)) {
	cmds := []string{"NOOP", "STATUS INBOX (MESSAGES UIDNEXT)", "FETCH 1:* (UID FLAGS)", `STORE 1 +FLAGS (\Flagged)`, "SELECT INBOX"}
	var (
		c   net.Conn
		r   *bufio.Reader
		tag int
	)
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	// run sends one command and reads to its tagged answer; retry is true
	// when the session ended first.
	run := func(cmd string) (ok, retry bool) {
		tag++
		t := fmt.Sprintf("c%d.%d", id, tag)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := fmt.Fprintf(c, "%s %s\r\n", t, cmd); err != nil {
			return false, true
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return false, true
			}
			if strings.HasPrefix(l, "* BYE") {
				byes.Add(1)
				return false, true
			}
			if strings.HasPrefix(l, t+" ") {
				if strings.HasPrefix(l, t+" OK") {
					return true, false
				}
				fail(fmt.Sprintf("%s: %s", cmd, strings.TrimSpace(l)))
				return false, false
			}
		}
	}
	connect := func() bool {
		if c != nil {
			c.Close()
			c = nil
		}
		for attempt := 0; attempt < 3; attempt++ {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				continue
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			l, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(l, "* OK") {
				conn.Close()
				time.Sleep(100 * time.Millisecond)
				continue
			}
			c, r = conn, br
			opened(greetHost(l))
			for _, setup := range []string{"LOGIN alice secret-pw", "SELECT INBOX"} {
				if ok, _ := run(setup); !ok {
					return false
				}
			}
			return true
		}
		fail("could not connect through the load balancer")
		return false
	}
	if !connect() {
		return
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		cmd := cmds[i%len(cmds)]
		ok, retry := run(cmd)
		for retry {
			if !connect() {
				return
			}
			ok, retry = run(cmd)
		}
		if ok {
			commands.Add(1)
		}
	}
}

// haproxyPath is Debian's haproxy; without it t is skipped (failed under
// ROOST_REQUIRE_CLIENTS, as in CI).
func haproxyPath(t *testing.T) string {
	t.Helper()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("haproxy not installed (Debian: apt-get install haproxy)")
		}
		t.Skip("haproxy not installed (Debian: apt-get install haproxy)")
	}
	return haproxy
}

// startHAProxy runs haproxy in the foreground with the configuration conf
// (written into dir) until t ends, and returns its output.
func startHAProxy(t *testing.T, haproxy, dir, conf string) *lockedBuffer {
	t.Helper()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	hp := exec.Command(haproxy, "-db", "-f", path)
	out := &lockedBuffer{}
	hp.Stdout, hp.Stderr = out, out
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hp.Process.Kill(); hp.Wait() })
	return out
}
