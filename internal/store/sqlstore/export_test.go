package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// BulkFill inserts n small items straight into a folder, for benchmarks
// that need a large folder quickly. They all share one blob.
func (d *DB) BulkFill(ctx context.Context, storeID, folderID int64, n int) error {
	c, err := d.storeContent(ctx, strings.NewReader("Subject: bulk\r\n\r\nbody\r\n"))
	if err != nil {
		return err
	}
	b, size := c.id, c.size
	const chunk = 5000
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		err := d.write(ctx, func(t *tx) error {
			if err := t.refNew(c); err != nil {
				return err
			}
			seq, err := t.nextModSeq(storeID, k)
			if err != nil {
				return err
			}
			var uid int64
			if err := t.row(`UPDATE folders SET uidnext = uidnext + ? WHERE id = ? RETURNING uidnext - ?`, k, folderID, k).Scan(&uid); err != nil {
				return err
			}
			for i := 0; i < k; i++ {
				flags := ""
				if i%3 == 0 {
					flags = `\Seen`
				}
				if _, err := t.exec(`INSERT INTO items (store_id, folder_id, uid, modseq, flags, size, blob, internal_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					storeID, folderID, uid+int64(i), int64(seq)+int64(i), flags, size, string(b), t.now()); err != nil {
					return fmt.Errorf("bulk insert: %w", err)
				}
			}
			// Conversations of three: ((id-1)/3)+1 is the same for three
			// consecutive items and differs between groups.
			if _, err := t.exec(`UPDATE items SET thread_id = ((id - 1) / 3) + 1 WHERE folder_id = ? AND thread_id = 0`, folderID); err != nil {
				return err
			}
			_, err = t.exec(`UPDATE folders SET messages = messages + ?, size = size + ?, highestmodseq = ? WHERE id = ?`, k, int64(k)*size, int64(seq)+int64(k)-1, folderID)
			return err
		})
		if err != nil {
			return err
		}
	}
	// Statistics, as autovacuum gathers them after a bulk load: without
	// them PostgreSQL plans for an empty table.
	if d.dialect == postgres {
		if _, err := d.wdb.ExecContext(ctx, `ANALYZE items`); err != nil {
			return err
		}
	}
	return nil
}

// ForgetRecordsBefore makes the purge forget RecordOnce records older than
// the time cut returns.
func (d *DB) ForgetRecordsBefore(cut func() time.Time) { d.recordCutoff = cut }

// SetOrphanGrace sets how long the purge keeps a blob file found without a
// database row (< 0: no time at all).
func (d *DB) SetOrphanGrace(g time.Duration) { d.orphanGrace = g }

// ForgetSummaries clears every stored message summary, as for content
// stored before summaries existed, and reports how many there were.
func (d *DB) ForgetSummaries(ctx context.Context) (int64, error) {
	var n int64
	err := d.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE blobs SET meta = NULL WHERE meta IS NOT NULL`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// WithExtraMigration runs fn with sql appended to the migrations, as if
// this build knew one more schema version. Not for parallel tests.
func WithExtraMigration(sql string, fn func()) {
	old := migrations
	migrations = append(migrations[:len(migrations):len(migrations)], sql)
	defer func() { migrations = old }()
	fn()
}

// SearchIndexListed runs only SearchIndex's path for a large folder
// (searchListed): listed is false when it could not answer (no current
// cached listing) and SearchIndex would have joined.
func (d *DB) SearchIndexListed(ctx context.Context, folderID int64, q store.IndexQuery) (hits []store.IndexHit, listed bool, err error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, false, err
	}
	expr, err := d.indexExpr(q)
	if err != nil {
		return nil, false, err
	}
	err = d.read(ctx, func(t *tx) error {
		a, err := t.folderAccess(p, folderID, "r", false)
		if err != nil {
			return err
		}
		hits, listed, err = t.searchListed(a.st.ID, folderID, expr, store.MaxIndexHits)
		return err
	})
	return hits, listed, err
}

// ForgetListings empties the cache of large folders' listings.
func (d *DB) ForgetListings() {
	c := d.lists
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.m)
	c.n = 0
}

// Analyze gathers PostgreSQL's statistics of the tables, as autovacuum
// does after a bulk load (nothing on SQLite).
func (d *DB) Analyze(ctx context.Context) error {
	if d.dialect != postgres {
		return nil
	}
	_, err := d.wdb.ExecContext(ctx, `ANALYZE`)
	return err
}

// FillGroupContacts makes n contacts of tenant members of group straight
// in the database (tests of the bound on a group's contacts).
func (d *DB) FillGroupContacts(ctx context.Context, tenant, group string, n int) error {
	return d.write(ctx, func(t *tx) error {
		tn, err := t.tenantByName(tenant)
		if err != nil {
			return err
		}
		g, err := t.groupByName(tn.ID, group)
		if err != nil {
			return err
		}
		for i := range n {
			email := fmt.Sprintf("fill%d@contacts.example", i)
			var id int64
			if err := t.row(`INSERT INTO contacts (tenant_id, email, email_lc, created) VALUES (?, ?, ?, ?) RETURNING id`, tn.ID, email, email, t.now()).Scan(&id); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO group_contacts (group_id, contact_id) VALUES (?, ?)`, g.ID, id); err != nil {
				return err
			}
		}
		return nil
	})
}
