package sqlstore

// The sweep of the blob store itself (hardening 9.18). sweepBlobs frees
// content through its database rows; a file that no row describes — its
// write failed or crashed after the content reached the blob store, or it
// was not removed after a commit — was never freed. sweepFiles lists the
// blob store (at most once a day: filesEvery) and:
//
//   - gives a file without a row a row without references, dated so that
//     the ordinary sweep removes row and file together no sooner than
//     orphanGrace (an hour, or BlobGrace if longer) later, and only if
//     nothing referenced it meanwhile. A write in flight that put the file
//     but has not committed yet is therefore safe: its commit adds a
//     reference to the row (refNew's upsert), or, if it comes more than an
//     hour later, finds the file gone (refNew's Stat) and fails without
//     acknowledging anything.
//   - removes at once a file whose content the row keeps elsewhere (in the
//     row itself, or as MIME parts): nothing reads such a file, and the
//     row is locked while it is removed, so it cannot become a file's row
//     meanwhile.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/blob"
)

// filesEvery is how often the purge lists the blob store. Listing it
// costs a walk of every fan-out directory and a database read per
// purgeBatch blobs, while files without a row come only from failed or
// crashed writes: once a day is plenty.
const filesEvery = 24 * time.Hour

// filesDue reports whether the purge should list the blob store now, and
// if so marks it listed, returning when it was listed before. Without an
// orphan grace period (tests) it is always due.
func (d *DB) filesDue() (last int64, due bool) {
	now := time.Now().UnixNano()
	last = d.filesSwept.Load()
	if d.orphanGrace >= 0 && last != 0 && now-last < int64(filesEvery) {
		return last, false
	}
	return last, d.filesSwept.CompareAndSwap(last, now)
}

// orphanAge is how long a file found without a row is kept at least.
func (d *DB) orphanAge() time.Duration {
	switch {
	case d.orphanGrace < 0:
		return 0
	case d.orphanGrace == 0:
		return time.Hour
	}
	return d.orphanGrace
}

// sweepFiles runs the sweep described above. It returns the number of
// files removed now.
func (d *DB) sweepFiles(ctx context.Context) (int64, error) {
	var removed int64
	batch := make([]blob.ID, 0, purgeBatch)
	flush := func() error {
		n, err := d.sweepFileBatch(ctx, batch)
		removed += n
		batch = batch[:0]
		return err
	}
	err := d.blobs.Walk(ctx, func(id blob.ID) error {
		batch = append(batch, id)
		if len(batch) == purgeBatch {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return removed, fmt.Errorf("sweep blob files: %w", err)
	}
	return removed, nil
}

// sweepFileBatch handles the files of one batch of IDs.
func (d *DB) sweepFileBatch(ctx context.Context, ids []blob.ID) (int64, error) {
	// Which IDs have a row, and whether the row's content is the file.
	kind := make(map[blob.ID]bool, len(ids)) // id → the row is a file's
	err := d.read(ctx, func(t *tx) error {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = string(id)
		}
		q := `SELECT id, (data IS NULL AND parts IS NULL) FROM blobs WHERE id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		rows, err := t.query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var file bool
			if err := rows.Scan(&id, &file); err != nil {
				return err
			}
			kind[blob.ID(id)] = file
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	var orphans, unused []blob.ID
	for _, id := range ids {
		file, ok := kind[id]
		switch {
		case !ok:
			orphans = append(orphans, id)
		case !file:
			unused = append(unused, id)
		}
	}
	if len(orphans) == 0 && len(unused) == 0 {
		return 0, nil
	}
	sizes := make(map[blob.ID]int64, len(orphans))
	for _, id := range orphans {
		n, err := d.blobs.Stat(ctx, id)
		if errors.Is(err, blob.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return 0, err
		}
		sizes[id] = n
	}
	var removed int64
	err = d.write(ctx, func(t *tx) error {
		removed = 0
		// zero_since in the future: the row sweep frees rows whose
		// zero_since is a grace period old, so this row becomes due
		// orphanGrace from now (and never sooner than a grace period).
		at := time.Now().Add(max(d.orphanAge()-d.grace, 0)).UnixMicro()
		for id, n := range sizes {
			if _, err := t.exec(`INSERT INTO blobs (id, size, refs, data, zero_since) VALUES (?, ?, 0, NULL, ?) ON CONFLICT (id) DO NOTHING`,
				string(id), n, at); err != nil {
				return fmt.Errorf("adopt blob %s: %w", id, err)
			}
		}
		for _, id := range unused {
			// Lock the row (PostgreSQL) and check it again.
			var got string
			err := t.row(`UPDATE blobs SET refs = refs WHERE id = ? AND NOT (data IS NULL AND parts IS NULL) RETURNING id`, string(id)).Scan(&got)
			if isNoRows(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("blob %s: %w", id, err)
			}
			if err := d.blobs.Delete(ctx, id); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err == nil && len(sizes) > 0 {
		d.log.Info("blob files without a database row: freed after the grace period unless referenced", "files", len(sizes))
	}
	return removed, err
}
