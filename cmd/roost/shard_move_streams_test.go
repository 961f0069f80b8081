package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestShardedMoveEndsStreams: `roost admin store move` ends the moved
// user's ManageSieve sessions and HTTP streams on the old node cleanly
// (docs/cluster.md, "Moving a store"). alice (home node-a) has, through
// the frontend, an idle ManageSieve session, a JMAP EventSource, a JMAP
// WebSocket and a parked ActiveSync Ping; bob (node-b) has an
// EventSource. After alice's move to node-b: the ManageSieve session is
// told BYE (TRYLATER), the EventSource's body ends, the WebSocket is
// closed with 1012, the Ping answers status 1 (the device asks again),
// and node-a logs ending four of her sessions; the next ManageSieve
// login and Ping go to node-b. bob's stream goes on.
func TestShardedMoveEndsStreams(t *testing.T) {
	testenv.PostgresDSN(t)
	testenv.NeedLibwbxml(t)
	bin := roostBinary(t)
	nodes := startShard(t, bin)
	a, b, front := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", a.proc.out, b.proc.out, front.proc.out)
		}
	})

	// ManageSieve, logged in and idle.
	sc, err := net.DialTimeout("tcp", front.sieve, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.SetDeadline(time.Now().Add(60 * time.Second))
	sr := bufio.NewReader(sc)
	sieveUntil := func(prefix string) string {
		t.Helper()
		for {
			l, err := sr.ReadString('\n')
			if err != nil {
				t.Fatalf("ManageSieve: waiting for %s: %v", prefix, err)
			}
			if strings.HasPrefix(l, prefix) {
				return strings.TrimRight(l, "\r\n")
			}
		}
	}
	sieveUntil("OK")
	fmt.Fprintf(sc, "AUTHENTICATE \"PLAIN\" \"%s\"\r\n", base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret-pw")))
	sieveUntil("OK")

	// EventSources of alice and bob.
	eventSource := func(user string) <-chan string {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+front.http+"/jmap/eventsource/?types=*&closeafter=no&ping=0", nil)
		req.SetBasicAuth(user, "secret-pw")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("EventSource of %s: %v %v", user, res, err)
		}
		t.Cleanup(func() { res.Body.Close() })
		out := make(chan string, 16)
		go func() {
			defer close(out)
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if l := sc.Text(); strings.HasPrefix(l, "data:") {
					out <- l
				}
			}
		}()
		return out
	}
	aliceES, bobES := eventSource("alice"), eventSource("bob")

	// A JMAP WebSocket of alice.
	wctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(wctx, "ws://"+front.http+"/jmap/ws", &websocket.DialOptions{Subprotocols: []string{"jmap"},
		HTTPHeader: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret-pw"))}}})
	if err != nil {
		t.Fatalf("JMAP WebSocket: %v", err)
	}
	defer ws.CloseNow()

	// A parked ActiveSync Ping of alice.
	dev := &easClient{t: t, base: "http://" + front.http + "/Microsoft-Server-ActiveSync", login: "alice", pw: "secret-pw",
		device: "MOVEPHONE", http: &http.Client{Timeout: 2 * time.Minute}}
	dev.provision()
	inbox := dev.inbox()
	key := dev.do("Sync", easSyncDoc(inbox, "0")).n.Child("Collections").Child("Collection").ChildText("SyncKey")
	dev.do("Sync", easSyncDoc(inbox, key))
	pinged := make(chan easAnswer, 1)
	go func() { pinged <- dev.do("Ping", easPingDoc(inbox)) }()
	for _, part := range []string{"path=/jmap/eventsource/", "path=/jmap/ws", "cmd=Ping"} {
		if !logHasSoon(a.proc.out, "proxied request", "user=alice", part) {
			t.Fatalf("node-a logged no proxied request of alice with %s", part)
		}
	}
	time.Sleep(300 * time.Millisecond) // the Ping parks

	start := time.Now()
	adminCLI(t, bin, front.dir, "store", "move", "alice", "--to", "node-b")

	if l := sieveUntil("BYE"); l != `BYE (TRYLATER) "Mailbox moved to another server; please reconnect"` {
		t.Errorf("alice's ManageSieve session was told %q", l)
	}
	select {
	case p := <-pinged:
		if p.n == nil || p.n.ChildText("Status") != "1" {
			t.Errorf("alice's Ping after the move: %d %s", p.code, p.xml)
		}
	case <-time.After(30 * time.Second):
		t.Error("alice's parked Ping was not answered after the move")
	}
	_, _, err = ws.Read(wctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusServiceRestart {
		t.Errorf("alice's WebSocket after the move: %v", err)
	}
	timeout := time.After(30 * time.Second)
	for open := true; open; {
		select {
		case _, ok := <-aliceES:
			open = ok
		case <-timeout:
			t.Fatal("alice's EventSource did not end after the move")
		}
	}
	t.Logf("alice's streams ended %v after the move started", time.Since(start).Round(time.Millisecond))
	if !logHasSoon(a.proc.out, "home node moved: ending the user's sessions here", "user=alice", "home=node-b") {
		t.Errorf("node-a did not log ending alice's sessions")
	}

	// Her next ManageSieve login and Ping go to node-b.
	sieveThroughFrontend(t, front.sieve, "alice")
	if !logHasSoon(b.proc.out, "proto=managesieve", "logged in", "user=alice", "via=127.0.0.4") {
		t.Errorf("alice's next ManageSieve session is not on node-b")
	}
	go func() { pinged <- dev.do("Ping", easPingDoc(inbox)) }()
	if !logHasSoon(b.proc.out, "proxied request", "user=alice", "cmd=Ping") {
		t.Errorf("alice's next Ping did not reach node-b")
	}
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "alice@example.test", "Subject: after the move\r\n\r\nhello\r\n")
	select {
	case p := <-pinged:
		if p.n == nil || p.n.ChildText("Status") != "2" {
			t.Errorf("alice's Ping on node-b: %d %s", p.code, p.xml)
		}
	case <-time.After(30 * time.Second):
		t.Error("alice's Ping on node-b was not woken by a delivery")
	}

	// bob's EventSource (node-b) is still open and pushes.
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "bob@example.test", "Subject: for bob\r\n\r\nhello\r\n")
	select {
	case l, ok := <-bobES:
		if !ok || !strings.Contains(l, `"Email"`) {
			t.Errorf("bob's EventSource after alice's move: %q %v", l, ok)
		}
	case <-time.After(30 * time.Second):
		t.Error("bob's EventSource pushed nothing after alice's move")
	}
}
