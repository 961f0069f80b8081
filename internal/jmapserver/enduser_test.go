package jmapserver_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// TestEndUser: EndUser (the sharded mode's store move) ends alice's
// EventSource (its body ends) and closes her WebSocket with 1012 and the
// reason; bob's stream goes on and still gets his changes.
// Options.Watch hears of each stream with its user's store and of its
// end.
func TestEndUser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	watched := map[string]int{}
	e := newEnv(t, func(o *jmapserver.Options) {
		o.Watch = func(p *store.Principal, storeID int64) func() {
			mu.Lock()
			watched[p.Login]++
			mu.Unlock()
			return func() {
				mu.Lock()
				watched[p.Login]--
				mu.Unlock()
			}
		}
	})
	watching := func(login string, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := watched[login]
			mu.Unlock()
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's streams watched: %d, want %d", login, n, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	open := func(login string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?types=*&closeafter=no&ping=0", nil)
		req.SetBasicAuth(login, password(login))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("eventsource of %s: %v %v", login, res, err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	aliceES, bobES := open("alice"), open("bob")
	// One more over HTTP/2: served by net/http's loop, not hijacked.
	h2 := httptest.NewUnstartedServer(e.h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)
	req, _ := http.NewRequest("GET", h2.URL+"/jmap/eventsource/?types=*&closeafter=no&ping=0", nil)
	req.SetBasicAuth("alice", password("alice"))
	aliceH2, err := h2.Client().Do(req)
	if err != nil || aliceH2.StatusCode != 200 || aliceH2.ProtoMajor != 2 {
		t.Fatalf("eventsource over HTTP/2: %v %v", aliceH2, err)
	}
	defer aliceH2.Body.Close()
	ws, _, err := e.dialWS("alice", "jmap")
	if err != nil {
		t.Fatal(err)
	}
	watching("alice", 3)
	watching("bob", 1)

	if n := e.h.EndUser("alice", "Mailbox moved to another server; please reconnect"); n != 3 {
		t.Errorf("EndUser ended %d streams, want 3", n)
	}
	for _, res := range []*http.Response{aliceES, aliceH2} {
		done := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, res.Body); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("alice's EventSource over HTTP/%d ended with %v", res.ProtoMajor, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("alice's EventSource over HTTP/%d did not end", res.ProtoMajor)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusServiceRestart || ce.Reason != "Mailbox moved to another server; please reconnect" {
		t.Errorf("alice's WebSocket: %v", err)
	}
	watching("alice", 0)

	// bob's stream is open and pushes his change.
	e.deliver("bob", store.SpecialInbox, plainMsg)
	if typ, _ := readEvent(t, bufio.NewReader(bobES.Body)); typ != "state" {
		t.Errorf("bob's EventSource: %q", typ)
	}
	watching("bob", 1)
}
