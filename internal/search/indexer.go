package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/search/extract"
	"github.com/roost-mail/roost/internal/store"
)

// Backend is what the indexer and the searcher need of the store.
type Backend interface {
	store.Index
	Changes(ctx context.Context, storeID int64, since uint64, limit int) ([]store.Change, error)
	GetItem(ctx context.Context, itemID int64) (*store.Item, error)
	OpenItem(ctx context.Context, itemID int64) (io.ReadCloser, error)
	GetFolder(ctx context.Context, folderID int64) (*store.Folder, error)
}

// IndexerOptions configure an Indexer. Zero fields take defaults.
type IndexerOptions struct {
	Backend   Backend
	Extractor *extract.Extractor
	Logger    *slog.Logger
	// Workers is how many stores are indexed at once (default 1): each
	// worker extracts one message at a time, so this bounds the CPU the
	// indexer takes from delivery and clients.
	Workers int
	// Batch is how many journal entries one index write covers (default
	// 100); a write also ends after BatchBytes of text (default 2 MB).
	// Small writes keep SQLite's single writer free for deliveries.
	Batch      int
	BatchBytes int64
	// Poll is how often the indexer looks for stores behind their
	// journal without being notified (default 5 s): changes made by
	// other nodes of a cluster arrive this way.
	Poll time.Duration
	// Settle is how long the indexer waits after a notification before
	// it starts, so that a burst of deliveries is indexed in one go
	// (default 200 ms).
	Settle time.Duration
	// BusyShare is the share of its time a worker spends indexing while
	// changes keep arriving (a notification in the last second): after
	// each batch it pauses so that deliveries and clients keep the CPU
	// and SQLite's writer. Default 0.1; 1 never pauses. Once the changes
	// stop it indexes at full speed.
	BusyShare float64
	// Claim, when set, is asked before each batch of a store whether this
	// indexer may work on it now (a lease per store in a cluster, so that
	// one node extracts each message, not every node with the jobs
	// role); a store it may not is left to its holder. A failed claim
	// is logged and skips the store this round.
	Claim func(ctx context.Context, storeID int64) (bool, error)
}

// Indexer keeps every store's index up to date with its change journal.
// Its position per store is the store's cursor (store.Index), so after a
// restart, even after kill -9, it resumes where the last committed write
// left it: a write of documents and the cursor move are one transaction.
type Indexer struct {
	o    IndexerOptions
	log  *slog.Logger
	wake chan struct{}

	lastChange atomic.Int64 // when Notify was last told of a change (Unix ns)

	mu      sync.Mutex
	busy    map[int64]bool      // stores a worker is on
	backoff map[int64]time.Time // stores whose last batch failed: not before
	fails   map[int64]int
}

// NewIndexer returns an indexer; Run starts it.
func NewIndexer(o IndexerOptions) *Indexer {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	o.Batch = min(o.Batch, store.MaxIndexBatch)
	if o.BatchBytes <= 0 {
		o.BatchBytes = 2 << 20
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 200 * time.Millisecond
	}
	if o.BusyShare <= 0 || o.BusyShare > 1 {
		o.BusyShare = 0.1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Extractor == nil {
		o.Extractor = extract.New(extract.Limits{}, o.Logger)
	}
	return &Indexer{o: o, log: o.Logger, wake: make(chan struct{}, 1),
		busy: map[int64]bool{}, backoff: map[int64]time.Time{}, fails: map[int64]int{}}
}

// Notify tells the indexer that a store changed (the store's OnChange
// hook); it never blocks.
func (ix *Indexer) Notify(storeID int64, seq uint64) {
	if storeID != 0 {
		ix.lastChange.Store(time.Now().UnixNano())
	}
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// Run indexes until ctx ends.
func (ix *Indexer) Run(ctx context.Context) {
	sys := store.SystemContext(ctx)
	work := make(chan int64)
	var wg sync.WaitGroup
	for range ix.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				ix.catchUp(sys, id)
				ix.mu.Lock()
				delete(ix.busy, id)
				ix.mu.Unlock()
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	tick := time.NewTicker(ix.o.Poll)
	defer tick.Stop()
	for {
		st, err := ix.o.Backend.IndexStatuses(sys, 0, true)
		if err != nil && ctx.Err() == nil {
			ix.log.Error("search index: reading the stores' positions failed", "err", err)
		}
		for _, s := range st {
			ix.mu.Lock()
			skip := ix.busy[s.StoreID] || time.Now().Before(ix.backoff[s.StoreID])
			if !skip {
				ix.busy[s.StoreID] = true
			}
			ix.mu.Unlock()
			if !skip && !ix.claim(sys, s.StoreID) {
				ix.mu.Lock()
				delete(ix.busy, s.StoreID)
				ix.mu.Unlock()
				skip = true
			}
			if skip {
				continue
			}
			select {
			case work <- s.StoreID:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-ix.wake:
			select {
			case <-time.After(ix.o.Settle):
			case <-ctx.Done():
				return
			}
		}
	}
}

// catchUp indexes a store until its cursor reaches its journal's end,
// backing off after a failure.
func (ix *Indexer) catchUp(ctx context.Context, storeID int64) {
	for ctx.Err() == nil {
		t0 := time.Now()
		more, err := ix.Step(ctx, storeID)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			ix.mu.Lock()
			ix.fails[storeID]++
			wait := min(time.Duration(1<<min(ix.fails[storeID], 10))*time.Second, 10*time.Minute)
			ix.backoff[storeID] = time.Now().Add(wait)
			ix.mu.Unlock()
			ix.log.Error("search index: indexing a store failed; retrying later", "store", storeID, "retry_in", wait, "err", err)
			return
		}
		ix.mu.Lock()
		delete(ix.fails, storeID)
		delete(ix.backoff, storeID)
		ix.mu.Unlock()
		if !more {
			return
		}
		ix.yield(ctx, time.Since(t0))
		if !ix.claim(ctx, storeID) {
			return // another node took the store over
		}
	}
}

// claim reports whether this indexer may index a store now (Claim).
func (ix *Indexer) claim(ctx context.Context, storeID int64) bool {
	if ix.o.Claim == nil {
		return true
	}
	ok, err := ix.o.Claim(ctx, storeID)
	if err != nil {
		if ctx.Err() == nil {
			ix.log.Warn("search index: claiming a store failed", "store", storeID, "err", err)
		}
		return false
	}
	return ok
}

// yield pauses after a batch that took d while changes are arriving, so
// that the indexer works BusyShare of the time.
func (ix *Indexer) yield(ctx context.Context, d time.Duration) {
	if ix.o.BusyShare >= 1 || time.Since(time.Unix(0, ix.lastChange.Load())) > time.Second {
		return
	}
	pause := min(time.Duration(float64(d)*(1/ix.o.BusyShare-1)), 5*time.Second)
	select {
	case <-time.After(pause):
	case <-ctx.Done():
	}
}

// Step indexes the next batch of a store's journal and reports whether
// entries remain. ctx must carry the system principal.
func (ix *Indexer) Step(ctx context.Context, storeID int64) (more bool, err error) {
	b := ix.o.Backend
	sts, err := b.IndexStatuses(ctx, storeID, true)
	if err != nil {
		return false, err
	}
	if len(sts) == 0 {
		return false, nil // current, or the store is gone
	}
	from, end := sts[0].IndexedTo, sts[0].ModSeq
	changes, err := b.Changes(ctx, storeID, from, ix.o.Batch)
	if err != nil {
		return false, err
	}
	if len(changes) == 0 {
		// Nothing left in the journal after the cursor (the store's
		// MODSEQ moved without an entry): catch the cursor up.
		return false, ignoreConflict(b.WriteIndex(ctx, storeID, from, end, nil))
	}
	to := from
	var docs []store.IndexDoc
	var bytes int64
	seen := map[int64]bool{}
	for _, c := range changes {
		to = c.Seq
		if c.Kind != store.ChangeItemCreated || seen[c.ItemID] {
			continue
		}
		seen[c.ItemID] = true
		doc, err := ix.document(ctx, c.ItemID)
		if err != nil {
			return false, err
		}
		if doc == nil {
			continue
		}
		docs = append(docs, *doc)
		bytes += doc.Bytes
		if bytes >= ix.o.BatchBytes || len(docs) >= store.MaxIndexBatch {
			break
		}
	}
	if err := b.WriteIndex(ctx, storeID, from, to, docs); err != nil {
		return false, ignoreConflict(err)
	}
	return to < end, nil
}

// ignoreConflict treats a moved cursor (another indexer, a reset) as
// done: the next round reads the new position.
func ignoreConflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// document reads and analyses an item; nil for an item that is gone.
// A message whose text cannot be extracted is logged here, once: its
// cursor moves past it and it is not tried again (reindex does).
func (ix *Indexer) document(ctx context.Context, itemID int64) (*store.IndexDoc, error) {
	b := ix.o.Backend
	it, err := b.GetItem(ctx, itemID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if it.Deleted {
		return nil, nil // a restore writes a new item-created entry
	}
	rc, err := b.OpenItem(ctx, itemID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ra, size, err := readerAt(rc, it.Size)
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", itemID, err)
	}
	m, err := ix.o.Extractor.Message(ctx, ra, size)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ix.log.Warn("search index: message not indexed", "item", itemID, "store", it.StoreID, "err", err)
		return &store.IndexDoc{ItemID: itemID, Fields: map[store.IndexField][]string{}}, nil
	}
	for _, f := range m.Failures {
		ix.log.Warn("search index: attachment text not extracted", "item", itemID, "store", it.StoreID,
			"part", f.Part, "type", f.MediaType, "err", f.Err)
	}
	return Document(itemID, m), nil
}

// readerAt gives random access to an item's content: a file blob is
// already an io.ReaderAt, anything else is read into memory (messages
// are bounded by max_message_size).
func readerAt(rc io.ReadCloser, size int64) (io.ReaderAt, int64, error) {
	if ra, ok := rc.(io.ReaderAt); ok && size > 0 {
		return ra, size, nil
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, 0, err
	}
	return bytesReaderAt(data), int64(len(data)), nil
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Document analyses an extracted message into an index document.
func Document(itemID int64, m *extract.Message) *store.IndexDoc {
	d := &store.IndexDoc{ItemID: itemID, Bytes: m.Bytes, Fields: map[store.IndexField][]string{}}
	set := func(f store.IndexField, s string) {
		if toks := Tokens(s); len(toks) > 0 {
			d.Fields[f] = toks
		}
	}
	set(store.FieldFrom, m.From)
	set(store.FieldTo, m.To)
	set(store.FieldCc, m.Cc)
	set(store.FieldBcc, m.Bcc)
	set(store.FieldSubject, m.Subject)
	set(store.FieldIDs, m.IDs)
	set(store.FieldBody, m.Body)
	set(store.FieldAttach, m.Attach)
	var stems []string
	for _, f := range []store.IndexField{store.FieldFrom, store.FieldTo, store.FieldCc, store.FieldBcc, store.FieldSubject, store.FieldBody, store.FieldAttach} {
		for _, t := range d.Fields[f] {
			stems = append(stems, Stem(t))
		}
	}
	if len(stems) > 0 {
		d.Fields[store.FieldStem] = stems
	}
	return d
}
