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
