package jmapserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// EventSource streams over HTTP/1.x are taken off net/http once their
// headers are written (the connection is hijacked): a held stream then
// costs its socket and a small record, not a handler goroutine, net/http's
// background reader goroutine and their buffers (about 37 KB a stream at
// 1,000 streams before; docs/benchmarks.md). Changes reach a stream
// through a hub callback; writes run in short-lived goroutines, one at a
// time per stream, with a deadline; pings are sent by one ticker for all
// streams. A stream is never read: a client that went away is noticed
// when a write fails, when its user would exceed the stream limit, and by
// a sweep every esSweepEvery that peeks at every stream with a read of a
// few milliseconds (a client of an event stream sends nothing, so any
// data or EOF ends it).

const (
	esWriteTimeout = 10 * time.Second
	esSweepEvery   = 30 * time.Second
	esProbeWait    = 2 * time.Millisecond
	esProbers      = 8
)

// esStream is one hijacked EventSource stream.
type esStream struct {
	s          *Server
	conn       net.Conn
	login      string
	types      []string
	closeAfter bool
	ping       time.Duration
	subs       []*events.Subscription

	mu       sync.Mutex
	accts    map[int64]*esAcct // the user's own store and the shared ones followed
	pingDue  time.Time
	busy     bool // a write or a probe is running
	closed   bool
	probeReq bool
	unhold   func() // holdStream's release (EndUser); nil until registered
}

// esAcct is one account a stream reports.
type esAcct struct {
	id      string
	own     bool
	last    uint64 // the latest state sent (or the state at the start)
	pending uint64 // a newer state to send; 0: none
}

// esLoop holds the hijacked streams of a Server.
type esLoop struct {
	mu      sync.Mutex
	streams map[*esStream]struct{}
	started bool
	shut    bool // Server.Close ran: no more streams
	stop    chan struct{}
	done    chan struct{}
}

// hijackStream serves an EventSource request as a hijacked stream when
// the connection allows it (HTTP/1.x); false leaves the request to the
// net/http loop (HTTP/2). The caller has taken the stream slot; the
// stream releases it when it ends.
func (s *Server) hijackStream(w http.ResponseWriter, r *http.Request, p *store.Principal, st *store.Store,
	shared []*sharedAccount, types []string, closeAfter string, ping int) bool {
	if r.ProtoMajor != 1 || s.o.Hub == nil {
		return false
	}
	es := &esStream{s: s, login: p.Login, types: types, closeAfter: closeAfter == "state",
		ping: time.Duration(ping) * time.Second, accts: map[int64]*esAcct{}}
	es.accts[st.ID] = &esAcct{id: jmap.FormatID('A', st.ID), own: true, last: st.ModSeq}
	// Shared accounts as they are when the stream opens (eventsource.go).
	for _, a := range shared[:min(len(shared), maxPushedShared)] {
		if _, dup := es.accts[a.st.ID]; !dup {
			es.accts[a.st.ID] = &esAcct{id: jmap.FormatID('A', a.st.ID), last: a.st.ModSeq}
		}
	}
	// Subscribe before the headers go out: a change after the client has
	// them is pushed (what the net/http path guarantees too).
	for id := range es.accts {
		es.subs = append(es.subs, s.o.Hub.SubscribeFunc(id, es.notify))
	}
	unsubscribe := func() {
		for _, sub := range es.subs {
			sub.Close()
		}
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		unsubscribe()
		return false
	}
	es.conn = conn
	// In the loop before the headers go out, so Server.Close, which may
	// run as soon as the client has them, ends it; busy holds off writes
	// and probes until the headers are written.
	es.busy = true
	if !s.es.add(s, es) { // the server is closing
		unsubscribe()
		conn.Close()
		s.release(s.streams, p.Login)
		return true
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h := w.Header().Clone()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	// The body ends when the connection closes (RFC 9112 §6.3).
	h.Set("Connection", "close")
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Write(&b)
	b.WriteString("\r\n")
	conn.SetWriteDeadline(time.Now().Add(esWriteTimeout))
	if _, err := conn.Write(b.Bytes()); err != nil {
		es.close()
		return true
	}
	es.mu.Lock()
	es.busy = false
	probe := es.probeReq // a sweep came during the headers
	es.probeReq = false
	if es.ping > 0 {
		es.pingDue = time.Now().Add(es.ping)
	}
	es.mu.Unlock()
	if probe {
		es.probe()
	}
	// EndUser closes the stream (the body ends with the connection).
	unhold := s.holdStream(p, st.ID, func(string) { es.close() })
	es.mu.Lock()
	closed := es.closed
	if !closed {
		es.unhold = unhold
	}
	es.mu.Unlock()
	if closed {
		unhold()
		return true
	}
	// A change between the subscription and now is pending already.
	es.kick()
	return true
}

// add holds a stream in the loop; false once the loop is shut down.
func (l *esLoop) add(s *Server, es *esStream) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shut {
		return false
	}
	if l.streams == nil {
		l.streams = map[*esStream]struct{}{}
	}
	l.streams[es] = struct{}{}
	if !l.started {
		l.started = true
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.run(s)
	}
	return true
}

func (l *esLoop) remove(es *esStream) {
	l.mu.Lock()
	delete(l.streams, es)
	l.mu.Unlock()
}

func (l *esLoop) list() []*esStream {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*esStream, 0, len(l.streams))
	for es := range l.streams {
		out = append(out, es)
	}
	return out
}

// run sends the pings that are due and sweeps closed streams.
func (l *esLoop) run(s *Server) {
	defer close(l.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-l.stop:
			return
		case now := <-tick.C:
			all := l.list()
			for _, es := range all {
				es.mu.Lock()
				due := es.ping > 0 && !es.pingDue.IsZero() && !now.Before(es.pingDue)
				es.mu.Unlock()
				if due {
					es.kick()
				}
			}
			if now.Sub(lastSweep) >= esSweepEvery {
				lastSweep = now
				probeAll(all)
			}
		}
	}
}

// closeAll ends every stream (Server.Close).
func (l *esLoop) closeAll() {
	l.mu.Lock()
	l.shut = true
	started := l.started
	if started {
		close(l.stop)
		l.started = false
	}
	done := l.done
	l.mu.Unlock()
	if started {
		<-done
	}
	for _, es := range l.list() {
		es.close()
	}
}

// probeUser checks the streams of one user for clients that went away
// (before refusing a new stream for the limit).
func (l *esLoop) probeUser(login string) {
	var mine []*esStream
	for _, es := range l.list() {
		if es.login == login {
			mine = append(mine, es)
		}
	}
	probeAll(mine)
}

func probeAll(streams []*esStream) {
	sem := make(chan struct{}, esProbers)
	var wg sync.WaitGroup
	for _, es := range streams {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			es.probe()
		}()
	}
	wg.Wait()
}

// notify is the hub callback (under the hub's lock: it only records).
func (es *esStream) notify(ch events.Change) {
	es.mu.Lock()
	if a := es.accts[ch.StoreID]; a != nil && ch.Seq > a.last && ch.Seq > a.pending {
		a.pending = ch.Seq
	}
	es.mu.Unlock()
	es.kick()
}

// statePending reports whether a StateChange is due (es.mu held).
func (es *esStream) statePending() bool {
	if len(es.types) == 0 {
		return false
	}
	for _, a := range es.accts {
		if a.pending > a.last {
			return true
		}
	}
	return false
}

// kick starts a write if one is needed and none runs.
func (es *esStream) kick() {
	es.mu.Lock()
	need := es.statePending() || es.ping > 0 && !es.pingDue.IsZero() && !time.Now().Before(es.pingDue)
	if es.closed || es.busy || !need {
		es.mu.Unlock()
		return
	}
	es.busy = true
	es.mu.Unlock()
	go es.flush()
}

// flush writes what is due until nothing is.
func (es *esStream) flush() {
	for {
		es.mu.Lock()
		var buf []byte
		stateSent := false
		if es.statePending() {
			out := map[string]any{}
			for _, a := range es.accts {
				if a.pending <= a.last {
					continue
				}
				seq := a.pending
				a.last, a.pending = seq, 0
				if changed := typeStates(es.types, a.own, seq); changed != nil {
					out[a.id] = changed
				}
			}
			if len(out) > 0 {
				b := rawJSON(map[string]any{"@type": "StateChange", "changed": out})
				buf = fmt.Appendf(buf, "event: state\ndata: %s\n\n", b)
				stateSent = true
			}
		}
		if es.ping > 0 && !es.pingDue.IsZero() && !time.Now().Before(es.pingDue) {
			buf = fmt.Appendf(buf, "event: ping\ndata: {\"interval\":%d}\n\n", int(es.ping/time.Second))
			es.pingDue = time.Now().Add(es.ping)
		}
		if len(buf) == 0 || es.closed {
			es.busy = false
			probe := es.probeReq
			es.probeReq = false
			es.mu.Unlock()
			if probe {
				es.probe()
			}
			return
		}
		es.mu.Unlock()
		es.conn.SetWriteDeadline(time.Now().Add(esWriteTimeout))
		if _, err := es.conn.Write(buf); err != nil || stateSent && es.closeAfter {
			es.mu.Lock()
			es.busy = false
			es.mu.Unlock()
			es.close()
			return
		}
	}
}

// probe peeks at the connection: a client of an event stream sends
// nothing, so data, EOF or an error other than the timeout end it.
func (es *esStream) probe() {
	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		return
	}
	if es.busy {
		es.probeReq = true // the running write probes after it
		es.mu.Unlock()
		return
	}
	es.busy = true
	es.mu.Unlock()
	var one [1]byte
	es.conn.SetReadDeadline(time.Now().Add(esProbeWait))
	_, err := es.conn.Read(one[:])
	es.conn.SetReadDeadline(time.Time{})
	alive := err != nil && errors.Is(err, os.ErrDeadlineExceeded)
	es.mu.Lock()
	es.busy = false
	es.mu.Unlock()
	if !alive {
		es.close()
		return
	}
	es.kick() // what arrived during the probe
}

// close ends the stream once: unsubscribed, closed, its slot released.
func (es *esStream) close() {
	es.mu.Lock()
	if es.closed {
		es.mu.Unlock()
		return
	}
	es.closed = true
	unhold := es.unhold
	es.mu.Unlock()
	if unhold != nil {
		unhold()
	}
	for _, sub := range es.subs {
		sub.Close()
	}
	es.conn.Close()
	es.s.es.remove(es)
	es.s.release(es.s.streams, es.login)
}

// esCount reports the open hijacked streams (tests).
func (s *Server) esCount() int {
	s.es.mu.Lock()
	defer s.es.mu.Unlock()
	return len(s.es.streams)
}
