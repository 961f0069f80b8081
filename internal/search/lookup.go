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
	Hits   map[int64]float64 // item id: score (0 unless fuzzy)
	Cursor uint64
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
	l := &Lookup{Hits: make(map[int64]float64, len(hits)), Cursor: cursor}
	for _, h := range hits {
		l.Hits[h.ItemID] = h.Score
	}
	return l, nil
}

// Match answers the key for an item of the folder looked up, given its
// MODSEQ; ok is false when the item is newer than the index (or l is
// nil), and the caller must test it by reading it.
func (l *Lookup) Match(itemID int64, modseq uint64) (match, ok bool) {
	if l == nil || modseq > l.Cursor {
		return false, false
	}
	_, match = l.Hits[itemID]
	return match, true
}
