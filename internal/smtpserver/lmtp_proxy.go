package smtpserver

// LMTP on a frontend of the sharded mode (docs/cluster.md): the
// recipients of one transaction whose users live on another backend are
// relayed to that backend's LMTP endpoint, one transaction per backend
// and all of them in parallel with the local delivery, and each
// recipient gets the reply its backend gave it (RFC 2033 §4.2), in the
// order of the RCPT commands.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/proto/smtp"
)

// relayTimeout bounds one step of a relay transaction.
const relayTimeout = 5 * time.Minute

// relay starts the relay transactions of the session's recipients that
// have a backend and returns a function that waits for them and returns
// each recipient's reply, CRLF-terminated, by its index ("" for the
// recipients delivered here).
func (s *lsession) relay(ctx context.Context, open func() (io.ReadCloser, error)) func() []string {
	replies := make([]string, len(s.rcpts))
	groups := map[string][]int{}
	for i, r := range s.rcpts {
		if r.backend != "" {
			groups[r.backend] = append(groups[r.backend], i)
		}
	}
	var wg sync.WaitGroup
	for backend, idx := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.relayTo(ctx, backend, idx, open)
			for k, i := range idx {
				if err != nil && got[k] == "" {
					got[k] = fmt.Sprintf("451 4.3.0 <%s> temporary failure, try again later\r\n", s.rcpts[i].addr)
				}
				replies[i] = got[k]
			}
			if err != nil {
				s.log.Error("relay to the home backend", "backend", backend, "rcpts", len(idx), "err", err)
			}
		}()
	}
	return func() []string {
		wg.Wait()
		return replies
	}
}

// relayTo runs one LMTP transaction with backend for the recipients idx.
// It returns the reply of each ("" where it has none because of err).
func (s *lsession) relayTo(ctx context.Context, backend string, idx []int, open func() (io.ReadCloser, error)) ([]string, error) {
	got := make([]string, len(idx))
	rc, err := s.l.relays.get(ctx, s.l, backend)
	if err != nil {
		return got, err
	}
	reuse := false
	defer func() {
		if reuse {
			s.l.relays.put(backend, rc)
		} else {
			rc.c.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { rc.c.SetDeadline(time.Now()) })
	defer stop()
	rc.c.SetDeadline(time.Now().Add(relayTimeout))
	// PIPELINING (RFC 2920, which RFC 2033 §5 requires of every LMTP
	// server): MAIL, the RCPTs and DATA go in one write and their replies
	// are read after it, one round trip to the backend instead of one per
	// command. The message follows only after DATA's 354.
	var r *bufio.Reader
	send := func() (smtp.Reply, error) {
		r = rc.r
		w := rc.w
		w.WriteString("MAIL " + s.fromArg + "\r\n")
		for _, i := range idx {
			w.WriteString("RCPT " + s.rcpts[i].arg + "\r\n")
		}
		w.WriteString("DATA\r\n")
		if err := w.Flush(); err != nil {
			return smtp.Reply{}, err
		}
		rep, err := smtp.ReadReply(r)
		if err == nil && rep.Code != 250 {
			err = fmt.Errorf("MAIL answered %s", rep)
		}
		return rep, err
	}
	if _, err := send(); err != nil {
		if !rc.pooled {
			return got, err
		}
		// A pooled connection the backend has closed meanwhile: nothing
		// was accepted yet, so start again on a new one.
		// (rc stays set when the dial fails: the deferred close needs one.)
		rc.c.Close()
		fresh, err := s.l.relays.dial(ctx, s.l, backend)
		if err != nil {
			return got, err
		}
		rc = fresh
		rc.c.SetDeadline(time.Now().Add(relayTimeout))
		if _, err := send(); err != nil {
			return got, err
		}
	}
	w := rc.w
	var accepted []int // positions in idx
	for k := range idx {
		rep, err := smtp.ReadReply(r)
		if err != nil {
			return got, err
		}
		if rep.Code == 250 {
			accepted = append(accepted, k)
		} else {
			got[k] = render(rep)
		}
	}
	rep, err := smtp.ReadReply(r) // DATA's
	if err != nil {
		return got, err
	}
	if len(accepted) == 0 {
		if rep.Code == 354 {
			// No recipient, yet the backend waits for a message: an
			// empty one ends it; nobody receives it.
			w.WriteString(".\r\n")
			if err := w.Flush(); err != nil {
				return got, err
			}
			if _, err := smtp.ReadReply(r); err != nil {
				return got, err
			}
		}
		w.WriteString("RSET\r\n")
		if err := w.Flush(); err != nil {
			return got, err
		}
		_, err := smtp.ReadReply(r)
		reuse = err == nil
		return got, nil
	}
	if rep.Code != 354 {
		return got, fmt.Errorf("DATA answered %s", rep)
	}
	f, err := open()
	if err != nil {
		return got, err
	}
	err = smtp.WriteData(w, f)
	f.Close()
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return got, err
	}
	for _, k := range accepted {
		rep, err := smtp.ReadReply(r)
		if err != nil {
			return got, err
		}
		got[k] = render(rep)
	}
	reuse = true
	return got, nil
}

// A frontend keeps the route of a relayed recipient (its address, users
// and backend) for routeTTL, so that a stream of mail to the same
// addresses does not cost a directory lookup per recipient; the lookups
// weighed on the database the backends work on. Only relayed recipients
// are kept: the backend resolves each of them again and answers for it,
// so a stale route is at worst a recipient refused by the backend after
// DATA (an address removed meanwhile) or a delivery made on the user's
// previous home node, which every node can do (a store move). Recipients
// delivered on the frontend itself, unknown addresses and failures are
// never kept. At most maxRoutes routes are kept.
const (
	routeTTL  = 5 * time.Second
	maxRoutes = 10000
)

type routeEntry struct {
	r       rcpt
	expires time.Time
}

// routeCache maps a lowercased recipient address to its route.
type routeCache struct {
	mu sync.Mutex
	m  map[string]routeEntry
}

func (c *routeCache) get(addr string, now time.Time) (rcpt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[strings.ToLower(addr)]
	if !ok || now.After(e.expires) {
		return rcpt{}, false
	}
	r := e.r
	r.addr = addr // as this client wrote it, for its replies
	return r, true
}

func (c *routeCache) put(addr string, r rcpt, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxRoutes {
		// Full: start again rather than look for the oldest; the
		// lookups are what a frontend without the cache would do.
		c.m = make(map[string]routeEntry)
	}
	c.m[strings.ToLower(addr)] = routeEntry{r: r, expires: now.Add(routeTTL)}
}

// maxIdleRelays bounds the idle connections kept per backend, and
// relayIdle how long one is kept (the backend's own idle timeout is
// longer).
const (
	maxIdleRelays = 16
	relayIdle     = time.Minute
)

// relayConn is an LMTP connection to a backend, greeted (LHLO done).
type relayConn struct {
	c      net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	idle   time.Time // when it was put back
	pooled bool      // taken from the pool (may have been closed by the backend)
}

// relayPool keeps idle relay connections by backend address, so a
// frontend does not pay a connection and LHLO per transaction.
type relayPool struct {
	mu   sync.Mutex
	idle map[string][]*relayConn
}

func (p *relayPool) get(ctx context.Context, l *LMTP, backend string) (*relayConn, error) {
	p.mu.Lock()
	for len(p.idle[backend]) > 0 {
		cs := p.idle[backend]
		rc := cs[len(cs)-1]
		p.idle[backend] = cs[:len(cs)-1]
		if time.Since(rc.idle) < relayIdle {
			p.mu.Unlock()
			rc.pooled = true
			return rc, nil
		}
		rc.c.Close()
	}
	p.mu.Unlock()
	return p.dial(ctx, l, backend)
}

func (p *relayPool) put(backend string, rc *relayConn) {
	rc.c.SetDeadline(time.Time{})
	rc.idle, rc.pooled = time.Now(), false
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = map[string][]*relayConn{}
	}
	if len(p.idle[backend]) >= maxIdleRelays {
		rc.c.Close()
		return
	}
	p.idle[backend] = append(p.idle[backend], rc)
}

// closeAll closes the idle connections (the server's Close).
func (p *relayPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cs := range p.idle {
		for _, rc := range cs {
			rc.c.Close()
		}
	}
	p.idle = nil
}

// dial opens a connection to backend and greets it.
func (p *relayPool) dial(ctx context.Context, l *LMTP, backend string) (*relayConn, error) {
	dial := l.o.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	c, err := dial(ctx, backend)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(relayTimeout))
	// 64 KiB: a message goes to the backend in few writes.
	rc := &relayConn{c: c, r: bufio.NewReader(c), w: bufio.NewWriterSize(c, 64<<10)}
	for _, cmd := range []string{"", "LHLO " + l.o.Hostname} {
		if cmd != "" {
			rc.w.WriteString(cmd + "\r\n")
			if err := rc.w.Flush(); err != nil {
				c.Close()
				return nil, err
			}
		}
		rep, err := smtp.ReadReply(rc.r)
		if err == nil && rep.Code != 220 && rep.Code != 250 {
			err = fmt.Errorf("backend greeting: %s", rep)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	if l.o.RelayTLS != nil {
		if err := rc.startTLS(ctx, l, backend); err != nil {
			c.Close()
			return nil, err
		}
	}
	return rc, nil
}

// startTLS upgrades a relay connection (STARTTLS, RFC 3207) presenting
// the frontend's client certificate, and greets again.
func (rc *relayConn) startTLS(ctx context.Context, l *LMTP, backend string) error {
	rc.w.WriteString("STARTTLS\r\n")
	if err := rc.w.Flush(); err != nil {
		return err
	}
	rep, err := smtp.ReadReply(rc.r)
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		return fmt.Errorf("backend STARTTLS: %s", rep)
	}
	if rc.r.Buffered() > 0 {
		return fmt.Errorf("backend sent %d bytes after STARTTLS", rc.r.Buffered())
	}
	tc, err := netserve.ClientTLS(ctx, rc.c, l.o.RelayTLS, backend)
	if err != nil {
		return err
	}
	rc.c, rc.r, rc.w = tc, bufio.NewReader(tc), bufio.NewWriter(tc)
	rc.w.WriteString("LHLO " + l.o.Hostname + "\r\n")
	if err := rc.w.Flush(); err != nil {
		return err
	}
	rep, err = smtp.ReadReply(rc.r)
	if err == nil && rep.Code != 250 {
		err = fmt.Errorf("backend LHLO after STARTTLS: %s", rep)
	}
	return err
}

// render writes a backend's reply as this server's reply line.
func render(rep smtp.Reply) string {
	text := strings.TrimSpace(strings.Join(rep.Lines, " "))
	if rep.Enhanced != "" {
		text = rep.Enhanced + " " + text
	}
	return fmt.Sprintf("%d %s\r\n", rep.Code, text)
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
