package netserve

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// proxyPair accepts one connection on a PROXY-protocol listener trusting
// trusted, after the client wrote send.
func proxyPair(t *testing.T, trusted string, send string) (server net.Conn, client net.Conn) {
	t.Helper()
	ln0, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := ProxyProtocol(ln0, []netip.Prefix{netip.MustParsePrefix(trusted)}, nil)
	t.Cleanup(func() { ln.Close() })
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if send != "" {
		if _, err := client.Write([]byte(send)); err != nil {
			t.Fatal(err)
		}
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

func TestProxyProtocol(t *testing.T) {
	// A trusted load balancer names the client; the data after the
	// header is the session's, and the server may speak first.
	s, c := proxyPair(t, "127.0.0.0/8", "PROXY TCP4 192.0.2.7 127.0.0.1 50000 143\r\na001 NOOP\r\n")
	if got := s.RemoteAddr().String(); got != "192.0.2.7:50000" {
		t.Errorf("RemoteAddr %s, want the client of the header", got)
	}
	if _, err := s.Write([]byte("* OK hello\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(s).ReadString('\n')
	if err != nil || line != "a001 NOOP\r\n" {
		t.Errorf("session data %q, %v", line, err)
	}
	if g, err := bufio.NewReader(c).ReadString('\n'); err != nil || g != "* OK hello\r\n" {
		t.Errorf("greeting %q, %v", g, err)
	}

	// Version 2, read on the first Read (a TLS handshake or an HTTP
	// request arrives right behind the header).
	v2 := append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c"), 198, 51, 100, 9, 127, 0, 0, 1, 0x30, 0x39, 0, 25)
	s, _ = proxyPair(t, "127.0.0.1/32", string(v2)+"EHLO x\r\n")
	buf := make([]byte, 64)
	n, err := s.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "EHLO") {
		t.Errorf("read after a v2 header: %q, %v", buf[:n], err)
	}
	if got := s.RemoteAddr().String(); got != "198.51.100.9:12345" {
		t.Errorf("v2 RemoteAddr %s", got)
	}

	// A LOCAL header (a health check) keeps the load balancer's address.
	s, c = proxyPair(t, "127.0.0.1/32", "\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00")
	if got := s.RemoteAddr().String(); got != c.LocalAddr().String() {
		t.Errorf("LOCAL: RemoteAddr %s, want %s", got, c.LocalAddr())
	}

	// A trusted address without a header is refused: it could pass as
	// the load balancer.
	s, c = proxyPair(t, "127.0.0.1/32", "a001 LOGIN x y\r\n")
	if _, err := s.Write([]byte("* OK\r\n")); err == nil {
		t.Error("a connection without the header was served")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err == nil {
		t.Errorf("the client read %q from a refused connection", buf[:n])
	}

	// The user's read deadline bounds the wait for the header and stays
	// in force afterwards.
	s, _ = proxyPair(t, "127.0.0.1/32", "")
	s.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := s.Read(buf); err == nil {
		t.Error("a connection that never sent its header was served")
	}

	// Any other address is left alone: the header is data there.
	s, _ = proxyPair(t, "10.0.0.0/8", "PROXY TCP4 192.0.2.7 127.0.0.1 50000 143\r\n")
	if h, _, _ := net.SplitHostPort(s.RemoteAddr().String()); h != "127.0.0.1" {
		t.Errorf("untrusted peer: RemoteAddr %s", s.RemoteAddr())
	}
	line, _ = bufio.NewReader(s).ReadString('\n')
	if !strings.HasPrefix(line, "PROXY ") {
		t.Errorf("untrusted peer's data %q", line)
	}
}

// TestProxyProtocolKnownAddr: listing a connection does not wait for a
// header still to come.
func TestProxyProtocolKnownAddr(t *testing.T) {
	s, c := proxyPair(t, "127.0.0.1/32", "")
	done := make(chan net.Addr, 1)
	go func() { done <- s.RemoteAddr() }()
	if got := KnownRemoteAddr(s).String(); got != c.LocalAddr().String() {
		t.Errorf("known address before the header %s, want the load balancer's %s", got, c.LocalAddr())
	}
	c.Write([]byte("PROXY TCP6 2001:db8::7 ::1 443 8443\r\n"))
	if got := (<-done).String(); got != "[2001:db8::7]:443" {
		t.Errorf("RemoteAddr %s", got)
	}
	if got := KnownRemoteAddr(s).String(); got != "[2001:db8::7]:443" {
		t.Errorf("known address after the header %s", got)
	}
}
