package jmapserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

func (e *env) dialWS(login string, protos ...string) (*websocket.Conn, *http.Response, error) {
	e.t.Helper()
	hdr := http.Header{}
	req, _ := http.NewRequest("GET", e.url, nil)
	req.SetBasicAuth(login, password(login))
	hdr.Set("Authorization", req.Header.Get("Authorization"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/jmap/ws", &websocket.DialOptions{HTTPHeader: hdr, Subprotocols: protos})
	if c != nil {
		e.t.Cleanup(func() { c.CloseNow() })
	}
	return c, res, err
}

func wsSend(t *testing.T, c *websocket.Conn, v string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(v)); err != nil {
		t.Fatal(err)
	}
}

func wsRecv(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return m
}

// RFC 8887: requests over a WebSocket, RequestError, and push.
func TestWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxSizeRequest = 4096 })
	acct := e.acct("alice")
	sess := e.do("alice", "GET", "/jmap/session", nil).json(t)
	wsCap := sess["capabilities"].(map[string]any)["urn:ietf:params:jmap:websocket"].(map[string]any)
	if wsCap["url"] != "ws"+strings.TrimPrefix(e.url, "http")+"/jmap/ws" || wsCap["supportsPush"] != true {
		t.Fatalf("websocket capability %v", wsCap)
	}
	// Without credentials: 401; without the jmap subprotocol: closed.
	if _, res, err := e.dialWS("nobody"); err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("unauthenticated dial: %v %v", err, res)
	}
	c, _, err := e.dialWS("alice")
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _, err = c.Read(ctx)
		cancel()
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("no subprotocol: %v", err)
		}
	}
	c, _, err = e.dialWS("alice", "jmap")
	if err != nil || c.Subprotocol() != "jmap" {
		t.Fatalf("dial: %v", err)
	}
	wsSend(t, c, `{"@type":"Request","id":"r1","using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"x":1},"c0"]]}`)
	r := wsRecv(t, c)
	if r["@type"] != "Response" || r["requestId"] != "r1" || fmt.Sprint(r["methodResponses"]) != "[[Core/echo map[x:1] c0]]" || r["sessionState"] == "" {
		t.Fatalf("response %v", r)
	}
	for _, tc := range []struct{ msg, typ string }{
		{`{"@type":"Request","id":"r2","using":["urn:x"],"methodCalls":[]}`, "urn:ietf:params:jmap:error:unknownCapability"},
		{`{"@type":"Frobnicate"}`, "urn:ietf:params:jmap:error:notRequest"},
		{`not json`, "urn:ietf:params:jmap:error:notJSON"},
		{strings.Repeat("[", 200) + strings.Repeat("]", 200), "urn:ietf:params:jmap:error:notJSON"},
	} {
		wsSend(t, c, tc.msg)
		if r := wsRecv(t, c); r["@type"] != "RequestError" || r["type"] != tc.typ {
			t.Errorf("%.40s: %v", tc.msg, r)
		}
	}
	// Push: only the types asked for, with pushState.
	wsSend(t, c, `{"@type":"WebSocketPushEnable","dataTypes":["Email","Nonsense"]}`)
	wsSend(t, c, `{"@type":"Request","id":"sync","using":["urn:ietf:params:jmap:core"],"methodCalls":[]}`)
	if r := wsRecv(t, c); r["requestId"] != "sync" {
		t.Fatalf("sync %v", r)
	}
	it := e.deliver("alice", store.SpecialInbox, plainMsg)
	_ = it
	sc := wsRecv(t, c)
	changed := sc["changed"].(map[string]any)[acct].(map[string]any)
	if sc["@type"] != "StateChange" || len(changed) != 1 || changed["Email"] == nil || sc["pushState"] != changed["Email"] {
		t.Fatalf("state change %v", sc)
	}
	// A stale pushState gets a StateChange at once.
	wsSend(t, c, `{"@type":"WebSocketPushEnable","dataTypes":null,"pushState":"1"}`)
	if sc := wsRecv(t, c); sc["@type"] != "StateChange" || len(sc["changed"].(map[string]any)[acct].(map[string]any)) < 3 {
		t.Fatalf("catch-up %v", sc)
	}
	// Disabled: the next message after a delivery is the response.
	wsSend(t, c, `{"@type":"WebSocketPushDisable"}`)
	wsSend(t, c, `{"@type":"Request","id":"s2","using":["urn:ietf:params:jmap:core"],"methodCalls":[]}`)
	if r := wsRecv(t, c); r["requestId"] != "s2" {
		t.Fatalf("sync %v", r)
	}
	e.deliver("alice", store.SpecialInbox, plainMsg)
	wsSend(t, c, `{"@type":"Request","id":"s3","using":["urn:ietf:params:jmap:core"],"methodCalls":[]}`)
	if r := wsRecv(t, c); r["requestId"] != "s3" {
		t.Fatalf("push after disable: %v", r)
	}
	// A message larger than maxSizeRequest closes the socket.
	wsSend(t, c, `{"@type":"Request","x":"`+strings.Repeat("a", 5000)+`"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("oversize: %v", err)
	}
	// The server still serves.
	if r := e.do("alice", "GET", "/jmap/session", nil); r.code != 200 {
		t.Fatalf("session after: %d", r.code)
	}
}
