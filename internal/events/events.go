// Package events carries change notifications between the store and the
// sessions that wait for them (IMAP IDLE, JMAP push, ActiveSync ping, DAV
// push). The Hub serves one node. When several nodes share a PostgreSQL
// database, the app feeds the hub from the store's LISTEN/NOTIFY listener
// too (sqlstore.ListenChanges), so a commit on node B reaches subscribers
// on node A; while that listener is not connected the hub is unsynced
// (SetSynced) and reports every store as changed, so no cache keyed by
// the hub's generations trusts a silence that may hide a remote change.
//
// A notification says only "store S changed up to journal sequence N": the
// subscriber reads what changed from the store's change journal, so a lost
// or coalesced notification never loses a change, it only delays it until
// the next one.
package events

import (
	"sync"
	"sync/atomic"
)

// Change tells that a store's journal reached Seq.
type Change struct {
	StoreID int64
	Seq     uint64
}

// Hub fans change notifications out to subscribers.
type Hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{}
	// gen grows with every Publish; storeGen holds, per store, the gen of
	// its latest Publish. Together they answer "did store S change since
	// I looked?" without a database read (see StoreGen).
	gen      atomic.Uint64
	storeGen map[int64]uint64
	// floor is a generation every store's StoreGen is at least (raised
	// when the hub was resynced); unsynced makes StoreGen report "changed"
	// for every store.
	floor    uint64
	unsynced bool
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{subs: map[int64]map[*Subscription]struct{}{}, storeGen: map[int64]uint64{}}
}

// Gen returns the hub's generation, which grows with every Publish. Take
// it before reading a store's state; if StoreGen of that store is not
// above it later, nothing was published for the store in between.
func (h *Hub) Gen() uint64 { return h.gen.Load() }

// StoreGen returns the generation of the latest Publish for storeID, or 0
// if there was none since the hub was made. It relies on the invariant
// that every committed journal entry is published to this hub.
func (h *Hub) StoreGen(storeID int64) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.unsynced {
		return h.gen.Load() + 1 // above any Gen taken so far
	}
	return max(h.storeGen[storeID], h.floor)
}

// SetSynced tells the hub whether it hears of every commit. A node that
// shares its database with others hears of their commits through a
// listener; while it is disconnected (synced false) StoreGen reports every
// store as changed. Setting it back to true raises every store's
// generation once, so what was cached during the outage is read again.
func (h *Hub) SetSynced(synced bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if synced && h.unsynced {
		h.floor = h.gen.Add(1)
	}
	h.unsynced = !synced
}

// Stores returns the stores that have subscribers (the ones a listener
// that reconnects must look at again).
func (h *Hub) Stores() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]int64, 0, len(h.subs))
	for id := range h.subs {
		ids = append(ids, id)
	}
	return ids
}

// Subscription receives notifications for one store. C has room for one
// pending notification: a slow subscriber sees the latest sequence, never
// blocks the publisher, and never misses that something changed.
type Subscription struct {
	C     chan Change
	fn    func(Change)
	hub   *Hub
	store int64
	once  sync.Once
}

// SubscribeFunc starts notifications for storeID delivered by calling fn
// from the publisher's goroutine (C is nil). fn must return at once: it
// may only flag work or start a goroutine. It costs no goroutine while
// nothing happens, which matters for ten thousand idling IMAP sessions.
// Call Close when done; fn may still run once concurrently with Close.
func (h *Hub) SubscribeFunc(storeID int64, fn func(Change)) *Subscription {
	s := &Subscription{fn: fn, hub: h, store: storeID}
	h.add(s)
	return s
}

func (h *Hub) add(s *Subscription) {
	h.mu.Lock()
	m := h.subs[s.store]
	if m == nil {
		m = map[*Subscription]struct{}{}
		h.subs[s.store] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
}

// Subscribe starts notifications for storeID. Call Close when done.
func (h *Hub) Subscribe(storeID int64) *Subscription {
	s := &Subscription{C: make(chan Change, 1), hub: h, store: storeID}
	h.add(s)
	return s
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		if m := h.subs[s.store]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.subs, s.store)
			}
		}
		h.mu.Unlock()
	})
}

// Publish notifies every subscriber of storeID. It never blocks: a pending
// notification that was not read yet is replaced by the newer one.
func (h *Hub) Publish(storeID int64, seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.storeGen[storeID] = h.gen.Add(1)
	for s := range h.subs[storeID] {
		c := Change{StoreID: storeID, Seq: seq}
		if s.fn != nil {
			s.fn(c)
			continue
		}
		select {
		case s.C <- c:
		default:
			select {
			case old := <-s.C:
				if old.Seq > c.Seq {
					c = old
				}
			default:
			}
			select {
			case s.C <- c:
			default:
			}
		}
	}
}

// Subscribers returns how many subscriptions a store has (for metrics).
func (h *Hub) Subscribers(storeID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[storeID])
}
