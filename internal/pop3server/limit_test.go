package pop3server_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/pop3server"
)

// max_connections_per_ip: the connection over the limit gets -ERR and is
// closed; a place freed by a session that ended is given again.
func TestConnectionsPerIP(t *testing.T) {
	e := start(t, true, func(o *pop3server.Options) { o.MaxConnectionsPerIP = 2 })
	greet := func() (net.Conn, string) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		return c, l
	}
	a, l1 := greet()
	_, l2 := greet()
	if !strings.HasPrefix(l1, "+OK") || !strings.HasPrefix(l2, "+OK") {
		t.Fatalf("greetings %q %q", l1, l2)
	}
	if _, l3 := greet(); !strings.HasPrefix(l3, "-ERR [SYS/TEMP]") {
		t.Fatalf("third connection: %q", l3)
	}
	a.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, l := greet(); strings.HasPrefix(l, "+OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the place of a closed session was not given back")
		}
	}
}

// A backend's connections from a frontend (ProxyPeer) carry many clients
// and are not held to max_connections_per_ip; other addresses still are.
func TestConnectionsPerIPFrontend(t *testing.T) {
	for _, frontend := range []bool{true, false} {
		e := start(t, true, func(o *pop3server.Options) {
			o.MaxConnectionsPerIP = 1
			o.ProxyPeer = func(ip string) bool { return frontend && ip == "127.0.0.1" }
		})
		var lines []string
		for range 3 {
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			l, _ := bufio.NewReader(c).ReadString('\n')
			lines = append(lines, l)
		}
		refused := strings.HasPrefix(lines[2], "-ERR [SYS/TEMP]")
		if !strings.HasPrefix(lines[0], "+OK") || refused == frontend {
			t.Errorf("frontend %v: greetings %q", frontend, lines)
		}
	}
}
