package netserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/proto/proxyproto"
)

// ProxyHeaderTimeout bounds the wait for a load balancer's PROXY header.
const ProxyHeaderTimeout = 10 * time.Second

// ProxyProtocol wraps ln for a load balancer that sends the PROXY
// protocol (HAProxy's send-proxy and send-proxy-v2): a connection from an
// address within trusted must open with a PROXY header of version 1 or
// 2, and its RemoteAddr is then the client the header names, for the
// server's logs, throttle, per-address limits and audit. A connection
// from a trusted address without a valid header is closed (and logged):
// one that could skip the header would pass as the load balancer. A
// connection from any other address is left as it is. With no trusted
// network ln is returned unchanged.
//
// The header is read when the connection is first used (RemoteAddr, Read
// or Write), in the goroutine that serves it: Accept never waits for a
// client. A version 2 LOCAL header (the load balancer's own health
// check) keeps the load balancer's address.
func ProxyProtocol(ln net.Listener, trusted []netip.Prefix, log *slog.Logger) net.Listener {
	if len(trusted) == 0 {
		return ln
	}
	return &proxyListener{Listener: ln, trusted: trusted, log: log}
}

type proxyListener struct {
	net.Listener
	trusted []netip.Prefix
	log     *slog.Logger
}

func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip := a.AddrPort().Addr().Unmap()
		for _, p := range l.trusted {
			if p.Contains(ip) {
				return &proxyConn{Conn: c, log: l.log}, nil
			}
		}
	}
	return c, nil
}

// proxyConn is a connection from a trusted load balancer.
type proxyConn struct {
	net.Conn
	log  *slog.Logger
	once sync.Once

	mu           sync.Mutex
	readDeadline time.Time // the last one its user set
	remote       net.Addr
	err          error
}

// header reads the PROXY header once; the connection's user may have set
// a read deadline already, which then bounds the wait too and is put
// back afterwards.
func (c *proxyConn) header() error {
	c.once.Do(func() {
		c.mu.Lock()
		rd := c.readDeadline
		c.mu.Unlock()
		dl := time.Now().Add(ProxyHeaderTimeout)
		if !rd.IsZero() && rd.Before(dl) {
			dl = rd
		}
		c.Conn.SetReadDeadline(dl)
		h, err := proxyproto.ReadHeader(c.Conn)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.Conn.SetReadDeadline(c.readDeadline)
		lb := c.Conn.RemoteAddr()
		c.remote = lb
		switch {
		case err != nil:
			c.err = fmt.Errorf("connection from load balancer %s: %w", lb, err)
			if c.log != nil {
				lvl := slog.LevelWarn
				if errors.Is(err, io.EOF) {
					lvl = slog.LevelDebug // a health check that connects and closes
				}
				c.log.Log(context.Background(), lvl, "PROXY protocol header missing or malformed; connection closed", "remote", lb.String(), "err", err)
			}
			c.Conn.Close()
		case !h.Local:
			c.remote = net.TCPAddrFromAddrPort(h.Source)
		}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *proxyConn) Read(p []byte) (int, error) {
	if err := c.header(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *proxyConn) Write(p []byte) (int, error) {
	if err := c.header(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// RemoteAddr is the client the header named (the load balancer's address
// for a LOCAL header or when the header failed).
func (c *proxyConn) RemoteAddr() net.Addr {
	c.header()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remote
}

// KnownRemoteAddr is the remote address as far as known without waiting:
// the client once the header is read, the load balancer before.
func (c *proxyConn) KnownRemoteAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

func (c *proxyConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *proxyConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// KnownRemoteAddr is c's remote address without waiting for a PROXY
// header still to come (listings of open connections).
func KnownRemoteAddr(c net.Conn) net.Addr {
	if pc, ok := c.(*proxyConn); ok {
		return pc.KnownRemoteAddr()
	}
	return c.RemoteAddr()
}
