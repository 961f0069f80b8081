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
