// Package netserve is the accept loop and connection bookkeeping that
// every TCP/unix-socket protocol server shares: one goroutine per
// connection, and a Close that stops the listeners, closes the connections
// and waits for their handlers.
package netserve

import (
	"errors"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by Serve on a closed Tracker.
var ErrClosed = errors.New("server closed")

// Tracker tracks listeners and live connections. The zero value is ready.
type Tracker struct {
	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Serve accepts connections on ln until Close, running handle for each in
// its own goroutine; the connection is closed when handle returns. Serve
// returns nil after Close, or the listener's error.
func (t *Tracker) Serve(ln net.Listener, handle func(net.Conn)) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	if t.lns == nil {
		t.lns, t.conns = map[net.Listener]struct{}{}, map[net.Conn]struct{}{}
	}
	t.lns[ln] = struct{}{}
	t.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			t.mu.Lock()
			closed := t.closed
			t.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if !t.Run(c, handle) {
			return nil
		}
	}
}

// Run handles one connection in a new goroutine (for connections that do
// not come from Serve, such as tests over net.Pipe). It returns false, and
// closes c, when the Tracker is closed.
func (t *Tracker) Run(c net.Conn, handle func(net.Conn)) bool {
	if !t.Track(c) {
		c.Close()
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer func() {
			t.Untrack(c)
			c.Close()
		}()
		handle(c)
	}()
	return true
}

// Track adds a connection (e.g. the TLS connection that replaces a plain
// one after STARTTLS) so that Close closes it; false if closed already.
func (t *Tracker) Track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.conns == nil {
		t.lns, t.conns = map[net.Listener]struct{}{}, map[net.Conn]struct{}{}
	}
	t.conns[c] = struct{}{}
	return true
}

// Untrack forgets a connection.
func (t *Tracker) Untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// Close stops the listeners, closes every connection and waits for the
// handlers to return.
func (t *Tracker) Close() error {
	t.mu.Lock()
	t.closed = true
	for ln := range t.lns {
		ln.Close()
	}
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}
