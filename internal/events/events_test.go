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
