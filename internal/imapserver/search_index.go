package imapserver

import (
	"errors"
	"math"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
)

// SEARCH from the full-text index (Options.SearchIndex, docs/search.md).
//
// Before a search runs, each TEXT, BODY, SUBJECT, FROM, TO, CC and BCC
// key is looked up in the index once, for the whole mailbox; the answer
// comes with the index's position in the store's journal. A message
// whose MODSEQ is at or below that position was created before it, so
// the index has its text: the key is answered from the lookup. A newer
// message (the unindexed tail) is tested by reading it, as without the
// index, so a search never misses a message that just arrived.
//
// The index matches words: the key's words must occur in order, the
// last one as the start of a word (so "repo" finds "report"), ignoring
// case and accents. A key the index cannot answer (no word in it, or
// more than store.MaxPhraseLen) is tested by reading every message.
//
// Under FUZZY (RFC 6203) words are stemmed, and the scores of the
// lookups are the RELEVANCY of the matches.

// maxIndexLookups bounds the index queries of one command; further keys
// are tested by reading the messages.
const maxIndexLookups = 32

// indexAnswer is the index's answer to one key.
type indexAnswer struct {
	hits   map[int64]float64 // item id: score
	cursor uint64
}

// prepareIndex looks the keys up in the index. Keys must not move in
// memory afterwards (the answers are kept by key address).
func (ev *evaluator) prepareIndex(keys []imap.SearchKey) error {
	if !ev.s.o.SearchIndex {
		return nil
	}
	lookups := 0
	var walk func(k *imap.SearchKey, fuzzy bool) error
	walk = func(k *imap.SearchKey, fuzzy bool) error {
		var fields []store.IndexField
		switch k.Op {
		case "FUZZY":
			fuzzy = true
		case "TEXT":
			fields = search.TextFields
		case "BODY":
			fields = search.BodyFields
		case "SUBJECT":
			fields = []store.IndexField{store.FieldSubject}
		case "FROM":
			fields = []store.IndexField{store.FieldFrom}
		case "TO":
			fields = []store.IndexField{store.FieldTo}
		case "CC":
			fields = []store.IndexField{store.FieldCc}
		case "BCC":
			fields = []store.IndexField{store.FieldBcc}
		}
		if fields == nil {
			for i := range k.Keys {
				if err := walk(&k.Keys[i], fuzzy); err != nil {
					return err
				}
			}
			return nil
		}
		if lookups >= maxIndexLookups {
			return nil
		}
		term, ok := search.Term(fields, k.Str, fuzzy)
		if !ok {
			return nil
		}
		lookups++
		hits, cursor, err := ev.s.o.Store.SearchIndex(ev.s.ctx, ev.sel.folderID, store.IndexQuery{Terms: []store.IndexTerm{term}, Unranked: !fuzzy})
		if errors.Is(err, store.ErrInvalid) {
			return nil // beyond the index's limits: read the messages
		}
		if err != nil {
			return wrap(opMailbox, err)
		}
		a := &indexAnswer{hits: make(map[int64]float64, len(hits)), cursor: cursor}
		for _, h := range hits {
			a.hits[h.ItemID] = h.Score
			if fuzzy {
				if ev.scores == nil {
					ev.scores = map[int64]float64{}
				}
				ev.scores[h.ItemID] += h.Score
			}
		}
		if ev.index == nil {
			ev.index = map[*imap.SearchKey]*indexAnswer{}
		}
		ev.index[k] = a
		return nil
	}
	for i := range keys {
		if err := walk(&keys[i], false); err != nil {
			return err
		}
	}
	return nil
}

// indexed answers a key from the index for the current message; ok is
// false when the index has no answer for it (not looked up, or the
// message is newer than the index).
func (ev *evaluator) indexed(k *imap.SearchKey) (match, ok bool) {
	a := ev.index[k]
	if a == nil {
		return false, false
	}
	m := ev.msg()
	if m.modseq > a.cursor {
		return false, false
	}
	_, match = a.hits[m.id]
	return match, true
}

// indexCost ranks keys by what they load: nothing (flags, numbers,
// dates and keys the index answered are in the view), the header, the
// whole text.
func (ev *evaluator) indexCost(k *imap.SearchKey) int {
	if ev.index[k] != nil {
		return 0
	}
	cost := 0
	switch k.Op {
	case "BCC", "CC", "FROM", "SUBJECT", "TO", "HEADER", "SENTBEFORE", "SENTON", "SENTSINCE":
		cost = 2
	case "BODY", "TEXT":
		cost = 3
	}
	for i := range k.Keys {
		cost = max(cost, ev.indexCost(&k.Keys[i]))
	}
	return cost
}

// relevancy turns the fuzzy scores of the matches into RFC 6203 §4
// RELEVANCY values, 1 to 100, the best match 100. A match without a
// score (found by reading it: newer than the index, or by a key that is
// not FUZZY) gets 50.
func (ev *evaluator) relevancy(ids []int64) []uint8 {
	best := 0.0
	for _, id := range ids {
		best = max(best, ev.scores[id])
	}
	out := make([]uint8, len(ids))
	for i, id := range ids {
		sc, ok := ev.scores[id]
		switch {
		case !ok || best <= 0:
			out[i] = 50
		default:
			out[i] = uint8(max(1, min(100, math.Round(100*sc/best))))
		}
	}
	return out
}
