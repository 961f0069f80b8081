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

// Close cancels Context, and with a Grace a session that watches it ends
// on its own: here it still says goodbye on its connection.
func TestContextAndGrace(t *testing.T) {
	tr := Tracker{Grace: time.Minute}
	ctx := tr.Context()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		done <- tr.Serve(ln, func(c net.Conn) {
			close(started)
			<-tr.Context().Done()
			c.Write([]byte("bye\n"))
		})
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-started
	if ctx.Err() != nil {
		t.Fatal("context cancelled before Close")
	}
	tr.Close()
	if ctx.Err() == nil {
		t.Fatal("Close did not cancel the context")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := bufio.NewReader(c).ReadString('\n'); l != "bye\n" {
		t.Fatalf("the session's goodbye: %q, %v", l, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
	a, b := net.Pipe()
	defer b.Close()
	if tr.Run(a, func(net.Conn) { t.Error("handler ran after Close") }) {
		t.Fatal("Run after Close accepted a connection")
	}
}

// A session that does not end on its own within Grace has its connection
// closed, and Close still returns.
func TestGraceExpires(t *testing.T) {
	tr := Tracker{Grace: 100 * time.Millisecond}
	a, b := net.Pipe()
	defer b.Close()
	readErr := make(chan error, 1)
	tr.Run(a, func(c net.Conn) {
		_, err := c.Read(make([]byte, 1)) // ignores Context: only a close ends it
		readErr <- err
	})
	start := time.Now()
	closed := make(chan struct{})
	go func() { tr.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after its grace")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("Close returned after %v, before its grace", d)
	}
	if err := <-readErr; err == nil {
		t.Error("the session's read ended without an error")
	}
}

// CloseGently cancels Ending at once and Context only after the sessions
// ended (or Grace passed): a command in progress completes.
func TestCloseGently(t *testing.T) {
	tr := Tracker{Grace: time.Minute}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	result := make(chan error, 1)
	go tr.Serve(ln, func(c net.Conn) {
		close(started)
		<-tr.Ending().Done()
		// A command that was in progress: it still has its context.
		time.Sleep(50 * time.Millisecond)
		result <- tr.Context().Err()
	})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-started
	tr.CloseGently()
	if err := <-result; err != nil {
		t.Errorf("Context cancelled while the session was finishing: %v", err)
	}
	if tr.Context().Err() == nil {
		t.Error("Context not cancelled after CloseGently")
	}

	// Past Grace, Context is cancelled and the connection closed.
	tr2 := Tracker{Grace: 100 * time.Millisecond}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started2 := make(chan struct{})
	go tr2.Serve(ln2, func(c net.Conn) {
		close(started2)
		<-tr2.Context().Done() // a command stuck until cancelled
	})
	c2, err := net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	<-started2
	tr2.CloseGently()
	if tr2.Context().Err() == nil {
		t.Error("Context not cancelled after Grace")
	}
}
