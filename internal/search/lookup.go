package search

import (
	"context"
	"errors"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Protocol search keys answered from the index, with the rule that
// keeps them complete: the index's answer for one key over one folder
// comes with the store's cursor (the journal position the index has
// reached, read in the same snapshot). A message whose MODSEQ is at or
// below the cursor was created before it, so the index has its text and
// the key is answered from the lookup. A newer message (the unindexed
// tail: just delivered, or changed since) is tested the protocol's old
// way, by reading it, so a search never misses a message that just
// arrived. IMAP SEARCH and JMAP Email/query both use this.

// KeyFields maps a protocol's text key (IMAP TEXT, BODY, SUBJECT, FROM,
// TO, CC, BCC; JMAP's text, body, subject, from, to, cc, bcc; case
// ignored) to the index fields it searches; nil for any other key.
func KeyFields(key string) []store.IndexField {
	switch strings.ToLower(key) {
	case "text":
		return TextFields
	case "body":
		return BodyFields
	case "subject":
		return []store.IndexField{store.FieldSubject}
	case "from":
		return []store.IndexField{store.FieldFrom}
	case "to":
		return []store.IndexField{store.FieldTo}
	case "cc":
		return []store.IndexField{store.FieldCc}
	case "bcc":
		return []store.IndexField{store.FieldBcc}
	}
	return nil
}

// MaxKeyLookups bounds the index lookups one protocol command or method
// makes per folder; further keys are tested by reading the messages.
const MaxKeyLookups = 32

// IndexSearcher is the part of the store a Lookup needs.
type IndexSearcher interface {
	SearchIndex(ctx context.Context, folderID int64, q store.IndexQuery) ([]store.IndexHit, uint64, error)
}

// Lookup is the index's answer to one key over one folder.
type Lookup struct {
	// Hits are the matching item ids with their scores, for a fuzzy
	// lookup (the scores give RELEVANCY); nil otherwise, and Match
	// answers from a compact set of the ids.
	Hits   map[int64]float64
	Cursor uint64
	ids    idSet
}

// NewLookup is the answer made of an index search's hits and cursor;
// with scores the hits' scores are kept in Hits.
func NewLookup(hits []store.IndexHit, cursor uint64, scores bool) *Lookup {
	l := &Lookup{Cursor: cursor}
	if scores {
		l.Hits = make(map[int64]float64, len(hits))
		for _, h := range hits {
			l.Hits[h.ItemID] = h.Score
		}
		return l
	}
	l.ids = newIDSet(hits)
	return l
}

// LookupKey looks the key's string s up over fields in folderID (Term
// turns it into a phrase with a prefix last word). It returns nil and no
// error when the index cannot answer the string (no word, more words
// than a phrase may have): the caller reads every message for it.
func LookupKey(ctx context.Context, b IndexSearcher, folderID int64, fields []store.IndexField, s string, fuzzy bool) (*Lookup, error) {
	term, ok := Term(fields, s, fuzzy)
	if !ok {
		return nil, nil
	}
	hits, cursor, err := b.SearchIndex(ctx, folderID, store.IndexQuery{Terms: []store.IndexTerm{term}, Unranked: !fuzzy})
	if errors.Is(err, store.ErrInvalid) {
		return nil, nil // beyond the index's limits: read the messages
	}
	if err != nil {
		return nil, err
	}
	return NewLookup(hits, cursor, fuzzy), nil
}

// Match answers the key for an item of the folder looked up, given its
// MODSEQ; ok is false when the item is newer than the index (or l is
// nil), and the caller must test it by reading it.
func (l *Lookup) Match(itemID int64, modseq uint64) (match, ok bool) {
	if l == nil || modseq > l.Cursor {
		return false, false
	}
	if l.Hits != nil {
		_, match = l.Hits[itemID]
		return match, true
	}
	return l.ids.has(itemID), true
}

// idSet is a set of item ids, asked once per message of a mailbox (IMAP
// SEARCH tests every message against it): a bitmap over the ids' span
// when that is not much larger than the set (a word common in a
// 100,000-message mailbox: 25,000 ids over 100,000), a map otherwise.
type idSet struct {
	lo   int64
	bits []uint64
	m    map[int64]struct{}
}

// Bitmaps span at most this many ids per member (or 1<<16 in all).
const idSetSpread = 64

func newIDSet(hits []store.IndexHit) idSet {
	if len(hits) == 0 {
		return idSet{}
	}
	lo, hi := hits[0].ItemID, hits[0].ItemID
	for _, h := range hits {
		lo, hi = min(lo, h.ItemID), max(hi, h.ItemID)
	}
	if span := uint64(hi - lo); span < max(1<<16, idSetSpread*uint64(len(hits))) {
		s := idSet{lo: lo, bits: make([]uint64, span/64+1)}
		for _, h := range hits {
			d := uint64(h.ItemID - lo)
			s.bits[d/64] |= 1 << (d % 64)
		}
		return s
	}
	s := idSet{m: make(map[int64]struct{}, len(hits))}
	for _, h := range hits {
		s.m[h.ItemID] = struct{}{}
	}
	return s
}

func (s *idSet) has(id int64) bool {
	if s.m != nil {
		_, ok := s.m[id]
		return ok
	}
	if id < s.lo {
		return false
	}
	d := uint64(id - s.lo)
	return d/64 < uint64(len(s.bits)) && s.bits[d/64]&(1<<(d%64)) != 0
}
