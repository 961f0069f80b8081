package jmapserver_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// readEvent reads one server-sent event: its type and data.
func readEvent(t *testing.T, br *bufio.Reader) (string, string) {
	t.Helper()
	var typ, data string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "" && typ != "":
			return typ, data
		case strings.HasPrefix(line, "event: "):
			typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

// RFC 8620 §7.3: a flag set over IMAP (through the store and the events
// hub IDLE uses) reaches an open EventSource as a StateChange, with the
// state Email/changes then starts from.
func TestEventSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	it := e.deliver("alice", store.SpecialInbox, plainMsg)
	state := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)

	req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?types=Email,Mailbox&closeafter=state&ping=0", nil)
	req.SetBasicAuth("alice", password("alice"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("eventsource %d %v", res.StatusCode, res.Header)
	}
	// The subscription is live once the headers arrived.
	if _, err := e.db.UpdateFlags(e.as("alice"), it.FolderID, []uint32{it.UID}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(res.Body)
	typ, data := readEvent(t, br)
	var sc struct {
		Type    string                       `json:"@type"`
		Changed map[string]map[string]string `json:"changed"`
	}
	if err := json.Unmarshal([]byte(data), &sc); err != nil || typ != "state" || sc.Type != "StateChange" {
		t.Fatalf("event %s %s", typ, data)
	}
	newState := sc.Changed[acct]["Email"]
	if newState == "" || newState == state || sc.Changed[acct]["Mailbox"] != newState || sc.Changed[acct]["Thread"] != "" {
		t.Fatalf("changed %v", sc.Changed)
	}
	ch := e.must("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": state})
	if len(ch["updated"].([]any)) != 1 || ch["newState"] != newState {
		t.Fatalf("changes %v", ch)
	}
	// closeafter=state: the stream ends after the event.
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("stream still open after closeafter=state")
	}
	if r := e.do("alice", "GET", "/jmap/eventsource/?closeafter=maybe", nil); r.code != 400 {
		t.Fatalf("bad closeafter: %d", r.code)
	}
}

// types limits what a StateChange names; ping sends ping events.
func TestEventSourceTypesPing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MinPing = time.Second })
	acct := e.acct("alice")
	req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?types=Mailbox&closeafter=no&ping=1", nil)
	req.SetBasicAuth("alice", password("alice"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if typ, data := readEvent(t, br); typ != "ping" || data != `{"interval":1}` {
		t.Fatalf("first event %s %s", typ, data)
	}
	e.deliver("alice", store.SpecialInbox, plainMsg)
	for {
		typ, data := readEvent(t, br)
		if typ == "ping" {
			continue
		}
		var sc struct {
			Changed map[string]map[string]string `json:"changed"`
		}
		json.Unmarshal([]byte(data), &sc)
		if typ != "state" || len(sc.Changed[acct]) != 1 || sc.Changed[acct]["Mailbox"] == "" {
			t.Fatalf("event %s %s", typ, data)
		}
		break
	}
}

// Each open EventSource holds a goroutine and a hub subscription: one
// user may keep only MaxEventSources of them; closing one frees its slot,
// and other users are not affected.
func TestEventSourceLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxEventSources = 2 })
	open := func(login string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?closeafter=no&ping=0", nil)
		req.SetBasicAuth(login, password(login))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	a1, a2 := open("alice"), open("alice")
	if a1.StatusCode != 200 || a2.StatusCode != 200 {
		t.Fatalf("first two streams: %d %d", a1.StatusCode, a2.StatusCode)
	}
	a3 := open("alice")
	if a3.StatusCode != 429 {
		t.Fatalf("third stream: %d", a3.StatusCode)
	}
	var pr map[string]any
	if err := json.NewDecoder(a3.Body).Decode(&pr); err != nil || pr["type"] != "urn:ietf:params:jmap:error:limit" || pr["limit"] != "maxEventSources" {
		t.Fatalf("third stream: %v %v", pr, err)
	}
	b := open("bob")
	b.Body.Close()
	if b.StatusCode != 200 {
		t.Fatalf("bob's stream: %d", b.StatusCode)
	}
	a1.Body.Close()
	// The server sees the close when its next write or the context ends.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := open("alice")
		res.Body.Close()
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after close: %d", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A ping interval past any duration is held at the maximum (RFC 8620
// §7.3 lets the server bound it), not overflowed into a panic.
func TestEventSourceHugePing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?closeafter=state&ping=9223372036854775807", nil)
	req.SetBasicAuth("alice", password("alice"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("eventsource %d", res.StatusCode)
	}
	e.deliver("alice", store.SpecialInbox, plainMsg)
	if typ, _ := readEvent(t, bufio.NewReader(res.Body)); typ != "state" {
		t.Fatalf("event %s", typ)
	}
}
