package search_test

import (
	"slices"
	"testing"

	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
)

// TestLookupMatch: the tail rule — an item newer than the cursor is not
// answered from the index, one at or below it is, hit or not.
func TestLookupMatch(t *testing.T) {
	l := &search.Lookup{Hits: map[int64]float64{7: 0}, Cursor: 100}
	for _, c := range []struct {
		id            int64
		modseq        uint64
		match, answer bool
	}{{7, 100, true, true}, {8, 99, false, true}, {7, 101, false, false}, {8, 500, false, false}} {
		m, ok := l.Match(c.id, c.modseq)
		if m != c.match || ok != c.answer {
			t.Errorf("Match(%d, %d) = %v, %v; want %v, %v", c.id, c.modseq, m, ok, c.match, c.answer)
		}
	}
	var none *search.Lookup
	if _, ok := none.Match(7, 1); ok {
		t.Error("a nil Lookup answered")
	}
	if !slices.Equal(search.KeyFields("TEXT"), search.TextFields) || !slices.Equal(search.KeyFields("body"), search.BodyFields) ||
		!slices.Equal(search.KeyFields("Cc"), []store.IndexField{store.FieldCc}) || search.KeyFields("header") != nil {
		t.Error("KeyFields")
	}
}

// TestLookupSet: a lookup without scores answers from a bitmap (ids
// close together) or a map (ids far apart) and agrees with the hits
// either way, at the edges of the span too.
func TestLookupSet(t *testing.T) {
	for _, c := range []struct {
		name      string
		lo, step  int64
		n         int
		wantScore bool
	}{
		{"dense", 1000, 3, 5000, false},
		{"sparse", 7, 1_000_003, 50, false},
		{"one", 42, 1, 1, false},
		{"scored", 1000, 3, 500, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hits []store.IndexHit
			want := map[int64]bool{}
			for i := range c.n {
				id := c.lo + int64(i)*c.step
				hits = append(hits, store.IndexHit{ItemID: id, Score: 1})
				want[id] = true
			}
			slices.Reverse(hits) // any order
			l := search.NewLookup(hits, 10, c.wantScore)
			if (l.Hits != nil) != c.wantScore {
				t.Fatalf("Hits kept: %v, want %v", l.Hits != nil, c.wantScore)
			}
			last := c.lo + int64(c.n-1)*c.step
			for _, id := range []int64{0, 1, c.lo - 1, c.lo, c.lo + 1, c.lo + c.step, last - 1, last, last + 1, last + 64, last + 1<<20} {
				if m, ok := l.Match(id, 10); !ok || m != want[id] {
					t.Errorf("Match(%d) = %v, %v; want %v", id, m, ok, want[id])
				}
			}
			for id := range want {
				if m, _ := l.Match(id, 1); !m {
					t.Fatalf("hit %d not matched", id)
				}
			}
			if _, ok := l.Match(c.lo, 11); ok {
				t.Error("an item newer than the cursor was answered")
			}
		})
	}
	empty := search.NewLookup(nil, 5, false)
	if m, ok := empty.Match(1, 5); m || !ok {
		t.Errorf("empty lookup: Match = %v, %v", m, ok)
	}
}
