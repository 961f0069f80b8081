package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// rollingClients is Python imaplib clients in threads, looping through
// the load balancer until a stop file appears: APPEND (with a Message-ID
// of their own), NOOP, STATUS, FETCH. Told BYE, or cut off, a client
// reconnects and goes on, as mail clients do; a tagged NO or BAD is an
// error. It prints what was acknowledged and what failed as JSON.
const rollingClients = `
import imaplib, json, os, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
stopfile, clients = sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
res = {"acked": [], "errors": [], "reconnects": 0, "commands": 0}

def connect():
    last = None
    for attempt in range(100):
        try:
            m = imaplib.IMAP4(host, int(port), timeout=30)
            m.login("alice", "secret-pw")
            typ, _ = m.select("INBOX")
            if typ != "OK":
                raise imaplib.IMAP4.abort("SELECT: " + typ)
            return m
        except (imaplib.IMAP4.abort, OSError) as e:
            last = e
            time.sleep(0.1)
    raise RuntimeError("cannot connect: %s" % last)

def client(i):
    m, seq = None, 0
    while not os.path.exists(stopfile):
        try:
            if m is None:
                m = connect()
            seq += 1
            op = seq % 4
            if op == 1:
                mid = "<imap-%d-%d@roll.test>" % (i, seq)
                msg = "From: alice@example.test\r\nSubject: rolling %d %d\r\nMessage-ID: %s\r\n\r\nappended during a rolling restart\r\n" % (i, seq, mid)
                typ, data = m.append("INBOX", None, None, msg.encode())
                if typ == "OK":
                    with lock:
                        res["acked"].append(mid)
                else:
                    raise imaplib.IMAP4.error("APPEND %s %s" % (typ, data))
            elif op == 2:
                typ, data = m.noop()
            elif op == 3:
                typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
            else:
                typ, data = m.fetch("1", "(FLAGS)")
            if typ != "OK":
                raise imaplib.IMAP4.error("%s %s" % (typ, data))
            with lock:
                res["commands"] += 1
        except (imaplib.IMAP4.abort, OSError) as e:
            # BYE, or the connection ended: reconnect (allowed).
            with lock:
                res["reconnects"] += 1
            m = None
        except Exception as e:
            with lock:
                res["errors"].append("client %d: %s: %s" % (i, type(e).__name__, e))
            m = None
    if m is not None:
        try:
            m.logout()
        except Exception:
            pass

threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(res))
`

// TestRollingRestart restarts the three nodes of a cluster behind HAProxy
// one after another, as docs/cluster.md's "Rolling restarts" says — drain,
// wait for the sessions to end, SIGTERM, undrain, start again — while
// three Python imaplib clients loop (APPEND, NOOP, STATUS, FETCH) and an
// MTA delivers over LMTP, both through HAProxy: no acknowledged message
// is lost, and the clients see no error a mail client would not retry
// (reconnecting after BYE is allowed).
func TestRollingRestart(t *testing.T) {
	testenv.PostgresDSN(t)
	haproxy := haproxyPath(t)
	bin := roostBinary(t)
	nodes, _, _ := startCluster(t, bin, 3, "127.0.0.1:1")
	lmtpDeliver(t, nodes[0].lmtp, "bob@example.test", "alice@example.test", "Subject: first\r\nMessage-ID: <first@roll.test>\r\n\r\nhello\r\n")
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("%s log:\n%s", n.name, tail(n.proc.out.String()))
			}
		}
	})

	imapFront, lmtpFront := freeAddrOn(t, "127.0.0.5"), freeAddrOn(t, "127.0.0.5")
	var imapServers, lmtpServers strings.Builder
	for _, n := range nodes {
		_, hp, _ := net.SplitHostPort(n.http)
		fmt.Fprintf(&imapServers, "    server %s %s check port %s inter 300ms fall 1 rise 2\n", n.name, n.imap, hp)
		fmt.Fprintf(&lmtpServers, "    server %s %s check port %s inter 300ms fall 1 rise 2\n", n.name, n.lmtp, hp)
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
    option httpchk GET /readyz
    http-check expect status 200
frontend imap
    bind %s
    default_backend imap
backend imap
    balance leastconn
%sfrontend lmtp
    bind %s
    default_backend lmtp
backend lmtp
    balance roundrobin
%s`, imapFront, imapServers.String(), lmtpFront, lmtpServers.String())
	dir := t.TempDir()
	startHAProxy(t, haproxy, dir, conf)
	seen := map[string]bool{}
	waitFor(t, 30*time.Second, "three nodes reachable through HAProxy", func() bool {
		if h := greetingHost(imapFront); h != "" {
			seen[h] = true
		}
		return len(seen) == 3
	})

	// The load.
	stopFile := filepath.Join(dir, "stop")
	py := exec.Command("/usr/bin/python3", "-c", rollingClients, imapFront, stopFile, "3")
	pyOut, pyErr := &lockedBuffer{}, &lockedBuffer{}
	py.Stdout, py.Stderr = pyOut, pyErr
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { py.Process.Kill(); py.Wait() })
	var (
		mu        sync.Mutex
		lmtpAcked = map[string]bool{}
		failures  []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		lmtpLoop(lmtpFront, "alice@example.test", stop, func(id string) {
			mu.Lock()
			lmtpAcked[id] = true
			mu.Unlock()
		}, func(s string) {
			mu.Lock()
			failures = append(failures, s)
			mu.Unlock()
		})
	})
	time.Sleep(2 * time.Second)

	// The rolling restart.
	for _, n := range nodes {
		start := time.Now()
		adminCLI(t, bin, n.dir, "node", "drain", n.name)
		waitFor(t, 20*time.Second, n.name+" draining", func() bool { return readyz(n.http) == http.StatusServiceUnavailable })
		time.Sleep(4 * time.Second) // drain_grace (3 s): its sessions are told BYE
		if err := n.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- n.proc.cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s exited with %v after SIGTERM", n.name, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not exit after SIGTERM", n.name)
		}
		// Undrain before the start: the flag is kept in the registry.
		other := nodes[0]
		if other == n {
			other = nodes[1]
		}
		adminCLI(t, bin, other.dir, "node", "undrain", n.name)
		n.proc = startServer(t, bin, n.cfg, n.dir)
		waitFor(t, 30*time.Second, n.name+" ready again", func() bool { return readyz(n.http) == http.StatusOK })
		time.Sleep(time.Second) // HAProxy's check (300 ms, rise 2) takes it back
		t.Logf("%s restarted in %s", n.name, time.Since(start).Round(100*time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	if err := os.WriteFile(stopFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if err := py.Wait(); err != nil {
		t.Fatalf("imaplib clients: %v\n%s", err, pyErr)
	}
	var res struct {
		Acked      []string `json:"acked"`
		Errors     []string `json:"errors"`
		Reconnects int      `json:"reconnects"`
		Commands   int      `json:"commands"`
	}
	if err := json.Unmarshal([]byte(pyOut.String()), &res); err != nil {
		t.Fatalf("imaplib clients' report: %v\n%s\n%s", err, pyOut, pyErr)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("imaplib: %d commands, %d APPENDs acknowledged, %d reconnections; LMTP: %d deliveries acknowledged",
		res.Commands, len(res.Acked), res.Reconnects, len(lmtpAcked))
	if len(res.Errors) > 0 {
		t.Errorf("imaplib clients saw errors: %v", res.Errors)
	}
	if len(failures) > 0 {
		t.Errorf("LMTP failures: %v", failures)
	}
	if res.Commands < 100 || len(res.Acked) == 0 || len(lmtpAcked) == 0 || res.Reconnects == 0 {
		t.Errorf("too little load, or no session was moved by the restarts: %d commands, %d APPENDs, %d deliveries, %d reconnections",
			res.Commands, len(res.Acked), len(lmtpAcked), res.Reconnects)
	}

	// Every acknowledged message is there, once.
	c := imapLogin(t, imapFront)
	c.cmd("s1", "SELECT INBOX")
	count := map[string]int{}
	for _, l := range c.lines("f1", "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])") {
		if m := reMessageID.FindStringSubmatch(l); m != nil {
			count[m[1]]++
		}
	}
	for _, id := range res.Acked {
		if count[id] != 1 {
			t.Errorf("APPENDed %s is there %d times", id, count[id])
		}
	}
	for id := range lmtpAcked {
		if count[id] != 1 {
			t.Errorf("delivered %s is there %d times", id, count[id])
		}
	}
}
