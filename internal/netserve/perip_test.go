package netserve

import (
	"net"
	"testing"
)

type addrConn struct {
	net.Conn
	addr string
}

func (c addrConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.ParseIP(c.addr), Port: 1234} }

func TestPerIP(t *testing.T) {
	l := &PerIP{Max: 2}
	a, b := addrConn{addr: "192.0.2.1"}, addrConn{addr: "192.0.2.2"}
	r1, ok1 := l.Admit(a)
	r2, ok2 := l.Admit(a)
	if !ok1 || !ok2 {
		t.Fatal("the first two connections were refused")
	}
	if _, ok := l.Admit(a); ok {
		t.Fatal("a third connection from one address was admitted")
	}
	if _, ok := l.Admit(b); !ok {
		t.Fatal("another address was refused")
	}
	r1()
	r1() // releasing twice counts once
	if _, ok := l.Admit(a); !ok {
		t.Fatal("a connection after a release was refused")
	}
	if _, ok := l.Admit(a); ok {
		t.Fatal("a double release freed two places")
	}
	r2()
	if _, ok := (&PerIP{}).Admit(a); !ok {
		t.Fatal("no limit refused a connection")
	}
}
