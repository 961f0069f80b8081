package events

import (
	"sync"
	"testing"
)

func TestHub(t *testing.T) {
	h := NewHub()
	a := h.Subscribe(1)
	b := h.Subscribe(1)
	other := h.Subscribe(2)
	h.Publish(1, 5)
	for _, s := range []*Subscription{a, b} {
		if c := <-s.C; c.Seq != 5 || c.StoreID != 1 {
			t.Fatalf("%+v", c)
		}
	}
	select {
	case c := <-other.C:
		t.Fatalf("store 2 got %+v", c)
	default:
	}
	// A slow subscriber keeps the newest sequence and the publisher never blocks.
	for i := uint64(6); i < 100; i++ {
		h.Publish(1, i)
	}
	if c := <-a.C; c.Seq != 99 {
		t.Fatalf("coalesced to %d, want 99", c.Seq)
	}
	a.Close()
	a.Close()
	if n := h.Subscribers(1); n != 1 {
		t.Fatalf("%d subscribers", n)
	}
	b.Close()
	other.Close()
	if len(h.subs) != 0 {
		t.Fatal("subscriptions leak")
	}
}

func TestHubConcurrent(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s := h.Subscribe(1)
			for j := 0; j < 100; j++ {
				select {
				case <-s.C:
				default:
				}
			}
			s.Close()
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				h.Publish(1, uint64(j))
			}
		}()
	}
	wg.Wait()
}

func TestSubscribeFunc(t *testing.T) {
	h := NewHub()
	var mu sync.Mutex
	var got []uint64
	s := h.SubscribeFunc(7, func(c Change) {
		mu.Lock()
		got = append(got, c.Seq)
		mu.Unlock()
	})
	h.Publish(7, 1)
	h.Publish(8, 2)
	h.Publish(7, 3)
	s.Close()
	h.Publish(7, 4)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("callbacks %v, want [1 3]", got)
	}
	if h.Subscribers(7) != 0 {
		t.Fatal("closed subscription still counted")
	}
}

func TestStoreGen(t *testing.T) {
	h := NewHub()
	g0 := h.Gen()
	if h.StoreGen(1) > g0 {
		t.Fatal("a store changed before anything was published")
	}
	h.Publish(2, 10)
	if h.StoreGen(1) > g0 || h.StoreGen(2) <= g0 {
		t.Fatalf("after a publish for store 2: store 1 gen %d, store 2 gen %d, taken %d", h.StoreGen(1), h.StoreGen(2), g0)
	}
	g1 := h.Gen()
	h.Publish(1, 3)
	if h.StoreGen(1) <= g1 || h.StoreGen(2) > g1 {
		t.Fatalf("after a publish for store 1: store 1 gen %d, store 2 gen %d, taken %d", h.StoreGen(1), h.StoreGen(2), g1)
	}
}

// TestSynced: while the hub is unsynced every store reads as changed;
// once synced again, generations taken during the outage are stale too.
func TestSynced(t *testing.T) {
	h := NewHub()
	h.Publish(1, 5)
	g := h.Gen()
	if h.StoreGen(1) > g || h.StoreGen(2) > g {
		t.Fatal("stores changed without a publish")
	}
	h.SetSynced(false)
	if h.StoreGen(2) <= g {
		t.Error("unsynced hub: store 2 reads as unchanged")
	}
	during := h.Gen()
	if h.StoreGen(2) <= during {
		t.Error("unsynced hub: a generation taken during the outage reads as current")
	}
	h.SetSynced(true)
	if h.StoreGen(2) <= during || h.StoreGen(1) <= during {
		t.Error("after resync: caches filled during the outage are trusted")
	}
	after := h.Gen()
	if h.StoreGen(2) > after {
		t.Error("after resync: store 2 keeps reading as changed")
	}
	s := h.SubscribeFunc(7, func(Change) {})
	defer s.Close()
	if got := h.Stores(); len(got) != 1 || got[0] != 7 {
		t.Errorf("Stores = %v, want [7]", got)
	}
}
