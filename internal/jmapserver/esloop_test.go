package jmapserver_test

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// Held EventSource streams are hijacked and never read (esloop.go): a
// client that went away must not keep its slot. With the limit of 4
// reached, closing two streams on the client side lets two new ones in
// at once (the server looks before refusing); a fifth live one is still
// refused. The new streams get pings and state changes.
func TestEventSourceSlotsOfGoneClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MinPing = time.Second })
	open := func(query string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?"+query, nil)
		req.SetBasicAuth("alice", password("alice"))
		// One connection per stream, as browsers hold them.
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var held []*http.Response
	for range 4 {
		res := open("types=*&closeafter=no&ping=0")
		if res.StatusCode != 200 {
			t.Fatalf("stream: %d", res.StatusCode)
		}
		held = append(held, res)
	}
	if res := open("types=*&closeafter=no&ping=0"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fifth stream: %d", res.StatusCode)
	}
	held[0].Body.Close()
	held[1].Body.Close()
	var fresh []*http.Response
	for range 2 {
		res := open("types=Email&closeafter=no&ping=1")
		if res.StatusCode != 200 {
			t.Fatalf("stream after clients went away: %d", res.StatusCode)
		}
		fresh = append(fresh, res)
	}
	defer func() {
		for _, r := range append(held[2:], fresh...) {
			r.Body.Close()
		}
	}()
	if res := open("types=*&closeafter=no&ping=0"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("stream beyond the limit: %d", res.StatusCode)
	}
	br := bufio.NewReader(fresh[0].Body)
	if typ, data := readEvent(t, br); typ != "ping" || data != `{"interval":1}` {
		t.Fatalf("ping: %s %s", typ, data)
	}
	e.deliver("alice", store.SpecialInbox, plainMsg)
	for {
		typ, data := readEvent(t, br)
		if typ == "ping" {
			continue
		}
		if typ != "state" || data == "" {
			t.Fatalf("event %s %s", typ, data)
		}
		break
	}
	// A held stream of the first batch got it too.
	if typ, _ := readEvent(t, bufio.NewReader(held[2].Body)); typ != "state" {
		t.Fatalf("held stream: %s", typ)
	}
}

// Server.Close ends the held (hijacked) streams: net/http no longer
// knows them, so only the server's own loop can (esloop.go closeAll).
func TestEventSourceClosedByServerClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?types=*&closeafter=no&ping=0", nil)
	req.SetBasicAuth("alice", password("alice"))
	res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, res.Body)
		ended <- err
	}()
	e.h.Close()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("stream ended with %v, want its end (EOF)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the held stream is still open after Server.Close")
	}
}
