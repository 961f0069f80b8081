package jmapserver_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// waitABit yields to the server goroutines while polling for a state.
func waitABit() { time.Sleep(5 * time.Millisecond) }

// heldRequest is a POST whose body was only partly sent.
type heldRequest struct {
	e    *env
	conn net.Conn
}

// hold sends a POST with Content-Length n but only the first part of its
// body, so the server holds the request open.
func (e *env) hold(login, path, part string, n int) *heldRequest {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	req, _ := http.NewRequest("POST", e.url+path, nil)
	req.SetBasicAuth(login, password(login))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, req.Header.Get("Authorization"), n, part)
	return &heldRequest{e: e, conn: conn}
}

// finish sends the rest of the body and returns the status.
func (h *heldRequest) finish(rest string) int {
	h.e.t.Helper()
	if _, err := h.conn.Write([]byte(rest)); err != nil {
		h.e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(h.conn), nil)
	if err != nil {
		h.e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// holdUntilRefused holds a request (part of its body sent, the rest
// pending) and sends probe until the server refuses one with 429 while the
// held request is in progress. A probe that is not refused means the held
// request has not taken its slot yet, or lost the race for it to an
// earlier probe; the held request is then finished: if it was refused
// itself it is held again, if it succeeded the limit was not enforced.
func (e *env) holdUntilRefused(login, path, part, rest string, probe func() resp) (*heldRequest, resp) {
	e.t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		held := e.hold(login, path, part, len(part)+len(rest))
		var r resp
		for i := 0; i < 200; i++ { // the held request may not have arrived yet
			if r = probe(); r.code == http.StatusTooManyRequests {
				return held, r
			}
			waitABit()
		}
		switch code := held.finish(rest); code {
		case http.StatusTooManyRequests:
			continue // the probe took the slot first
		default:
			e.t.Fatalf("a request ran (%d) beside a held one (%d): %s", r.code, code, r.body)
		}
	}
	e.t.Fatal("the held request never took its slot")
	return nil, resp{}
}
