package netserve

import (
	"bufio"
	"net"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	var tr Tracker
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	handled := make(chan struct{}, 1)
	go func() {
		done <- tr.Serve(ln, func(c net.Conn) {
			handled <- struct{}{}
			bufio.NewReader(c).ReadString('\n') // blocks until Close
		})
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-handled
	closed := make(chan struct{})
	go func() { tr.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the handler")
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
	if err := tr.Serve(ln, func(net.Conn) {}); err != ErrClosed {
		t.Fatalf("Serve on a closed tracker: %v", err)
	}
}
