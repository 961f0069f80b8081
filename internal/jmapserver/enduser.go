package jmapserver

import (
	"sync"

	"github.com/roost-mail/roost/internal/store"
)

// The long-lived streams of each user (EventSource and WebSocket), so
// that EndUser can end them: the sharded mode's store move ends a moved
// user's streams on the old node (docs/cluster.md, "Moving a store"),
// and the client reconnects through the frontend to the new one.

// streamEnds holds the streams' end functions by login.
type streamEnds struct {
	mu    sync.Mutex
	users map[string]map[*streamEnd]struct{}
}

type streamEnd struct{ end func(text string) }

// holdStream registers a stream of p (its own store storeID) until
// release, telling Options.Watch of it.
func (s *Server) holdStream(p *store.Principal, storeID int64, end func(text string)) (release func()) {
	e := &streamEnd{end: end}
	h := &s.ends
	h.mu.Lock()
	if h.users == nil {
		h.users = map[string]map[*streamEnd]struct{}{}
	}
	if h.users[p.Login] == nil {
		h.users[p.Login] = map[*streamEnd]struct{}{}
	}
	h.users[p.Login][e] = struct{}{}
	h.mu.Unlock()
	unwatch := func() {}
	if s.o.Watch != nil {
		unwatch = s.o.Watch(p, storeID)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			if delete(h.users[p.Login], e); len(h.users[p.Login]) == 0 {
				delete(h.users, p.Login)
			}
			h.mu.Unlock()
			unwatch()
		})
	}
}

// EndUser ends every EventSource and WebSocket stream of login on this
// server: an EventSource's body ends (the client reconnects, as it does
// after any end), a WebSocket is closed with 1012 (Service Restart) and
// text. It returns how many streams it ends.
func (s *Server) EndUser(login, text string) int {
	s.ends.mu.Lock()
	var ends []*streamEnd
	for e := range s.ends.users[login] {
		ends = append(ends, e)
	}
	s.ends.mu.Unlock()
	for _, e := range ends { // outside the lock: an end releases its stream
		e.end(text)
	}
	return len(ends)
}
