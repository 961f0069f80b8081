package app

import (
	"context"
	"strconv"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/search/extract"
)

// onChange is the store's commit hook: change notifications (IDLE, JMAP
// push) and a nudge to the indexer, which never blocks the writer.
func (s *server) onChange(storeID int64, seq uint64) {
	s.events.Publish(storeID, seq)
	if ix := s.indexer.Load(); ix != nil {
		ix.Notify(storeID, seq)
	}
}

// extractLimits are the search_* limits of text extraction.
func extractLimits(c *config.Config) extract.Limits {
	return extract.Limits{
		MaxAttachment: int64(c.SearchMaxAttachmentSize) * config.MB,
		MaxText:       int64(c.SearchMaxText) << 10,
		Timeout:       time.Duration(c.SearchDocumentTimeout) * time.Second,
	}
}

// indexLeasePrefix starts the lease of the indexing of one store; the
// lease lives indexLease from the start of each batch.
const (
	indexLeasePrefix = "index:"
	indexLease       = 2 * time.Minute
)

// startIndexer runs the full-text indexer (search_index) until ctx ends:
// on the node with the jobs role, search_workers stores at a time. It
// resumes every store from its cursor, so a restart (or a crash) only
// costs the batch that was not committed.
func (s *server) startIndexer(ctx context.Context, cfg *config.Config) {
	log := s.log.With("proto", "search")
	// One node indexes a store at a time: the lease "index:STORE",
	// renewed before each batch, so a store stays with the node that
	// indexes it while it works and passes to another when it dies.
	claim := func(ctx context.Context, storeID int64) (bool, error) {
		return s.db.AcquireLease(ctx, indexLeasePrefix+strconv.FormatInt(storeID, 10), s.node.name, indexLease)
	}
	ix := search.NewIndexer(search.IndexerOptions{Backend: s.db, Extractor: extract.New(extractLimits(cfg), log),
		Logger: log, Workers: cfg.SearchWorkers, Claim: claim})
	s.indexer.Store(ix)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ix.Run(ctx)
	}()
}
