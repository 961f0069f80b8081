// Package netserve is the server lifecycle that every TCP/unix-socket
// protocol server shares: the accept loop, one goroutine per connection,
// a context that sessions derive theirs from, and a Close that stops the
// listeners, cancels that context, lets sessions end on their own for a
// grace period, then closes the connections and waits for the handlers.
package netserve

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by Serve on a closed Tracker.
var ErrClosed = errors.New("server closed")

// Tracker tracks listeners and live connections. The zero value is ready.
type Tracker struct {
	// Grace is how long Close lets sessions end on their own after it
	// cancelled Context (each says goodbye at its next chance) before it
	// closes their connections; 0 closes them at once.
	Grace time.Duration

	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
	// end is cancelled when closing begins, before ctx: sessions watch it
	// to say goodbye at their next command boundary (Ending).
	end       context.Context
	endCancel context.CancelFunc
}

func (t *Tracker) initLocked() {
	if t.conns == nil {
		t.lns, t.conns = map[net.Listener]struct{}{}, map[net.Conn]struct{}{}
	}
	if t.ctx == nil {
		t.ctx, t.cancel = context.WithCancel(context.Background())
		t.end, t.endCancel = context.WithCancel(context.Background())
	}
}

// Ending is cancelled as soon as Close or CloseGently begins. A session
// watches it to end at its next command boundary with the protocol's
// goodbye (IMAP BYE, SMTP 421), while a command in progress still runs on
// Context.
func (t *Tracker) Ending() context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.initLocked()
	return t.end
}

// Context is cancelled when Close begins. Sessions derive their contexts
// from it (adding the principal and per-command deadlines), so a store
// call in flight ends with the server.
func (t *Tracker) Context() context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.initLocked()
	return t.ctx
}

// Serve accepts connections on ln until Close, running handle for each in
// its own goroutine; the connection is closed when handle returns. Serve
// returns nil after Close, or the listener's error. Temporary accept
// errors (out of file descriptors, …) are retried with a backoff.
func (t *Tracker) Serve(ln net.Listener, handle func(net.Conn)) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	t.initLocked()
	t.lns[ln] = struct{}{}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.lns, ln)
		t.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			t.mu.Lock()
			closed := t.closed
			t.mu.Unlock()
			if closed {
				return nil
			}
			if temporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !t.Run(c, handle) {
			return nil
		}
	}
}

func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	tmp, ok := err.(interface{ Temporary() bool })
	return ok && tmp.Temporary()
}

// Run handles one connection in a new goroutine (for connections that do
// not come from Serve, such as tests over net.Pipe). It returns false, and
// closes c, when the Tracker is closed.
func (t *Tracker) Run(c net.Conn, handle func(net.Conn)) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		c.Close()
		return false
	}
	t.initLocked()
	t.conns[c] = struct{}{}
	t.wg.Add(1) // under mu, so that Close never waits before it is counted
	t.mu.Unlock()
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
	t.initLocked()
	t.conns[c] = struct{}{}
	return true
}

// Untrack forgets a connection.
func (t *Tracker) Untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// Close stops the listeners, cancels Ending and Context, waits up to Grace
// for the handlers to return, then closes every connection and waits for
// them.
func (t *Tracker) Close() error { return t.close(false) }

// CloseGently is Close for a server that lets commands in progress
// finish: it stops the listeners and cancels Ending only, waits up to
// Grace for the sessions to end on their own at their next command
// boundary, and only then cancels Context and closes what is left.
func (t *Tracker) CloseGently() error { return t.close(true) }

func (t *Tracker) close(gently bool) error {
	t.mu.Lock()
	t.initLocked()
	t.closed = true
	for ln := range t.lns {
		ln.Close()
	}
	t.endCancel()
	if !gently {
		t.cancel()
	}
	grace := t.Grace
	t.mu.Unlock()
	defer t.cancel()
	if grace > 0 {
		done := make(chan struct{})
		go func() { t.wg.Wait(); close(done) }()
		timer := time.NewTimer(grace)
		select {
		case <-done:
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
	t.cancel() // gently: commands still running end now
	t.mu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}
