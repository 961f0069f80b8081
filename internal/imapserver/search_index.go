package imapserver

import (
	"math"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/search"
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

// prepareIndex looks the keys up in the index (search.LookupKey, at
// most search.MaxKeyLookups). Keys must not move in memory afterwards
// (the answers are kept by key address).
func (ev *evaluator) prepareIndex(keys []imap.SearchKey) error {
	if !ev.s.o.SearchIndex {
		return nil
	}
	lookups := 0
	var walk func(k *imap.SearchKey, fuzzy bool) error
	walk = func(k *imap.SearchKey, fuzzy bool) error {
		if k.Op == "FUZZY" {
			fuzzy = true
		}
		fields := search.KeyFields(k.Op)
		if fields == nil {
			for i := range k.Keys {
				if err := walk(&k.Keys[i], fuzzy); err != nil {
					return err
				}
			}
			return nil
		}
		if lookups >= search.MaxKeyLookups {
			return nil
		}
		a, err := search.LookupKey(ev.s.ctx, ev.s.o.Store, ev.sel.folderID, fields, k.Str, fuzzy)
		if err != nil {
			return wrap(opMailbox, err)
		}
		if a == nil {
			return nil
		}
		lookups++
		if fuzzy {
			if ev.scores == nil {
				ev.scores = map[int64]float64{}
			}
			for id, sc := range a.Hits {
				ev.scores[id] += sc
			}
		}
		if ev.index == nil {
			ev.index = map[*imap.SearchKey]*search.Lookup{}
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
	return a.Match(m.id, m.modseq)
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
