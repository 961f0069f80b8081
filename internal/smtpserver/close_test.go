package smtpserver_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCloseSays421: closing the server (shutdown, or a drained cluster
// node at the end of its grace period) answers a session waiting for its
// next command with 421 before the connection closes (RFC 5321 §3.8),
// on LMTP and on submission, also on a TLS connection.
func TestCloseSays421(t *testing.T) {
	t.Parallel()
	t.Run("lmtp", func(t *testing.T) {
		t.Parallel()
		e := start(t, 1)
		c := dial(t, "tcp", e.addr) // greeted and LHLO done
		done := make(chan struct{})
		go func() { e.srv.Close(); close(done) }()
		if l := c.line(); !strings.HasPrefix(l, "421 4.3.2 ") {
			t.Errorf("after Close: %q, want 421 4.3.2", l)
		}
		<-done
	})
	t.Run("submission", func(t *testing.T) {
		t.Parallel()
		e := startSubmission(t, nil)
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q", l)
		}
		done := make(chan struct{})
		go func() { e.srv.Close(); close(done) }()
		if l, err := r.ReadString('\n'); !strings.HasPrefix(l, "421 4.3.2 ") {
			t.Errorf("after Close: %q, %v; want 421 4.3.2", l, err)
		}
		<-done
	})
}
