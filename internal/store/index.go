package store

import "context"

// The full-text index (internal/search builds and queries it; the store
// keeps it next to the data it describes, in the same database).
//
// Invariants:
//   - The index follows the change journal: each store has one cursor,
//     the Seq up to which its item-created entries have been indexed. No
//     second log exists; the indexer reads Changes after the cursor.
//   - A document belongs to an item, not to a folder or UID: moves, flag
//     changes, expunges and restores need no index update, because a
//     search joins the documents with the items that are live in the
//     folder searched. Purging an item removes its document in the same
//     transaction.
//   - The store receives analysed tokens (search.Analyze) and never
//     query syntax from a client: every token is quoted by the backend
//     when it builds the engine's query, so no client text reaches the
//     FTS5 MATCH or tsquery parser unquoted.

// IndexField names a part of a message in the index.
type IndexField string

const (
	FieldFrom    IndexField = "from"
	FieldTo      IndexField = "to"
	FieldCc      IndexField = "cc"
	FieldBcc     IndexField = "bcc"
	FieldSubject IndexField = "subject"
	FieldIDs     IndexField = "ids"    // Message-ID, List-ID
	FieldBody    IndexField = "body"   // decoded text/* parts, HTML as text
	FieldAttach  IndexField = "attach" // text extracted from attachments
	FieldStem    IndexField = "stem"   // stems of subject, body and attachments (fuzzy search)
)

// IndexFields lists every field, in the order backends store them.
var IndexFields = []IndexField{FieldFrom, FieldTo, FieldCc, FieldBcc, FieldSubject, FieldIDs, FieldBody, FieldAttach, FieldStem}

// Index limits, enforced by the backends.
const (
	MaxIndexToken = 64 // bytes of one token; longer ones are cut by the analyser
	MaxIndexTerms = 64 // terms of one IndexQuery
	MaxPhraseLen  = 32 // tokens of one term
	MaxIndexHits  = 1 << 20
	MaxIndexBatch = 500 // documents of one WriteIndex
	MaxDocTokens  = 1 << 20
)

// IndexDoc is the analysed text of one item: tokens per field in text
// order. Bytes is the size of the text the tokens came from (reported by
// IndexStatus).
type IndexDoc struct {
	ItemID int64
	Fields map[IndexField][]string
	Bytes  int64
}

// IndexTerm matches documents holding Tokens, in order and adjacent
// when there are several (a phrase), in any of Fields. With Prefix the
// last token matches any token it begins. Not inverts the term.
type IndexTerm struct {
	Fields []IndexField
	Tokens []string
	Prefix bool
	Not    bool
}

// IndexQuery is a conjunction of terms; at least one must not be
// negated. Limit bounds the hits (0: MaxIndexHits); with a limit, the
// best-scored hits are kept. Unranked skips scoring (every Score is 0,
// hits in no particular order), for callers that only need the set.
type IndexQuery struct {
	Terms    []IndexTerm
	Limit    int
	Unranked bool
}

// IndexHit is a live item of the searched folder that matched, with the
// engine's relevance score (higher is better; only comparable within one
// result).
type IndexHit struct {
	ItemID int64
	UID    uint32
	Score  float64
}

// IndexStatus is where a store's index stands.
type IndexStatus struct {
	StoreID   int64
	Owner     string // login of the owner; "" for public stores and orphans
	IndexedTo uint64 // the cursor: changes up to this Seq are indexed
	ModSeq    uint64 // the store's latest change
	Backlog   int64  // journal entries after the cursor
	Docs      int64  // documents of the store's items
	Bytes     int64  // text bytes those documents were made from
}

// Index is the storage of the full-text index.
type Index interface {
	// IndexStatuses reports stores' index positions: one store (storeID
	// != 0) or every live store; pending limits the answer to stores
	// whose cursor is behind their journal, and then Backlog, Docs and
	// Bytes are left 0 (the indexer polls with it). The owner, tenant admins and
	// system admins may read a store's status; all stores: system admins.
	IndexStatuses(ctx context.Context, storeID int64, pending bool) ([]IndexStatus, error)
	// WriteIndex stores documents (replacing ones of the same items;
	// documents of items that are gone are ignored) and moves the
	// store's cursor from `from` to `to`, in one transaction.
	// ErrConflict when the cursor is no longer at from (another indexer
	// or a reset moved it): the caller rereads the status. System
	// principal only.
	WriteIndex(ctx context.Context, storeID int64, from, to uint64, docs []IndexDoc) error
	// ResetIndex removes a store's documents and sets its cursor to 0, so
	// that the indexer rebuilds it. System admins and the store's tenant
	// admins.
	ResetIndex(ctx context.Context, storeID int64) error
	// SearchIndex returns the live items of a folder whose documents
	// match q, best first, and the store's cursor read in the same
	// snapshot: items created after it may be missing. Needs the read
	// right. ErrInvalid for a query beyond the limits above.
	SearchIndex(ctx context.Context, folderID int64, q IndexQuery) ([]IndexHit, uint64, error)
	// IndexSize is the size on disk of the whole index in bytes, as far
	// as the engine reports it. System admins.
	IndexSize(ctx context.Context) (int64, error)
}
