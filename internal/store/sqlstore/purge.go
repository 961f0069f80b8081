package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// purgeBatch bounds the rows one purge transaction removes, so a large
// purge never holds the writer for long.
const purgeBatch = 500

// PurgeDeleted implements store.Mail.
func (d *DB) PurgeDeleted(ctx context.Context, olderThan time.Duration) (store.PurgeStats, error) {
	var st store.PurgeStats
	if _, err := requireSystemAdmin(ctx); err != nil {
		return st, err
	}
	if olderThan < 0 {
		return st, fmt.Errorf("purge age must not be negative: %w", store.ErrInvalid)
	}
	cutoff := time.Now().Add(-olderThan).UnixMicro()
	// Items.
	for {
		var n int64
		err := d.write(ctx, func(t *tx) error {
			rows, err := t.query(`SELECT id, blob FROM items WHERE deleted = 1 AND deleted_at <= ? LIMIT ?`, cutoff, purgeBatch)
			if err != nil {
				return err
			}
			type victim struct {
				id   int64
				blob string
			}
			var vs []victim
			for rows.Next() {
				var v victim
				if err := rows.Scan(&v.id, &v.blob); err != nil {
					rows.Close()
					return err
				}
				vs = append(vs, v)
			}
			rows.Close()
			for _, v := range vs {
				if _, err := t.exec(`DELETE FROM items WHERE id = ?`, v.id); err != nil {
					return err
				}
				if err := t.dropIndexDoc(v.id); err != nil { // search.go
					return err
				}
				if _, err := t.exec(`DELETE FROM archived WHERE item_id = ?`, v.id); err != nil { // archive.go
					return err
				}
				if err := t.unrefBlob(v.blob, 1); err != nil {
					return err
				}
			}
			n = int64(len(vs))
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("purge items: %w", err)
		}
		st.Items += n
		if n < purgeBatch {
			break
		}
	}
	// Folders (with whatever items they still hold), then stores.
	for _, what := range []string{"folders", "stores"} {
		for {
			var ids []int64
			err := d.read(ctx, func(t *tx) error {
				rows, err := t.query(`SELECT id FROM `+what+` WHERE deleted = 1 AND deleted_at <= ? LIMIT 50`, cutoff)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var id int64
					if err := rows.Scan(&id); err != nil {
						return err
					}
					ids = append(ids, id)
				}
				return rows.Err()
			})
			if err != nil {
				return st, err
			}
			for _, id := range ids {
				var fids []int64
				if what == "stores" {
					err = d.read(ctx, func(t *tx) error {
						rows, err := t.query(`SELECT id FROM folders WHERE store_id = ?`, id)
						if err != nil {
							return err
						}
						defer rows.Close()
						for rows.Next() {
							var f int64
							if err := rows.Scan(&f); err != nil {
								return err
							}
							fids = append(fids, f)
						}
						return rows.Err()
					})
					if err != nil {
						return st, err
					}
				} else {
					fids = []int64{id}
				}
				for _, f := range fids {
					n, err := d.purgeFolder(ctx, f)
					st.Items += n
					if err != nil {
						return st, err
					}
					st.Folders++
				}
				if what == "stores" {
					err := d.write(ctx, func(t *tx) error {
						for _, q := range []string{`DELETE FROM changes WHERE store_id = ?`, `DELETE FROM thread_keys WHERE store_id = ?`,
							`DELETE FROM share_notifications WHERE store_id = ?`, `DELETE FROM stores WHERE id = ?`, `UPDATE tenants SET public_store_id = 0 WHERE public_store_id = ?`} {
							if _, err := t.exec(q, id); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						return st, err
					}
					st.Stores++
				}
			}
			if len(ids) < 50 {
				break
			}
		}
	}
	n, err := d.sweepBlobs(ctx)
	st.Blobs = n
	if err != nil {
		return st, err
	}
	// After the row sweep, so that a file found without a row now gets a
	// whole grace period before a later purge frees it (blobsweep.go).
	if last, due := d.filesDue(); due {
		n, err = d.sweepFiles(ctx)
		st.Blobs += n
		if err != nil {
			d.filesSwept.Store(last) // due again at the next purge
			return st, err
		}
	}
	// Destroyed share notifications, kept for JMAP /changes until now.
	if err := d.write(ctx, func(t *tx) error {
		_, err := t.exec(`DELETE FROM share_notifications WHERE deleted_seq <> 0 AND deleted_at <= ?`, cutoff)
		return err
	}); err != nil {
		return st, fmt.Errorf("purge share notifications: %w", err)
	}
	return st, d.forgetRecords(ctx)
}

// recordKeep is how long RecordOnce records are kept: senders an
// autoresponder answered once accumulate without end otherwise.
const recordKeep = 90 * 24 * time.Hour

// forgetRecords deletes RecordOnce records older than recordKeep.
func (d *DB) forgetRecords(ctx context.Context) error {
	cutoff := time.Now().Add(-recordKeep).UnixMicro()
	if d.recordCutoff != nil {
		cutoff = d.recordCutoff().UnixMicro()
	}
	return d.write(ctx, func(t *tx) error {
		_, err := t.exec(`DELETE FROM record_once WHERE at < ?`, cutoff)
		return err
	})
}

// purgeFolder removes a folder and all its items for good.
func (d *DB) purgeFolder(ctx context.Context, folderID int64) (int64, error) {
	var total int64
	for {
		var n int64
		err := d.write(ctx, func(t *tx) error {
			rows, err := t.query(`SELECT id, blob, deleted FROM items WHERE folder_id = ? LIMIT ?`, folderID, purgeBatch)
			if err != nil {
				return err
			}
			type victim struct {
				id   int64
				blob string
				del  int
			}
			var vs []victim
			for rows.Next() {
				var v victim
				if err := rows.Scan(&v.id, &v.blob, &v.del); err != nil {
					rows.Close()
					return err
				}
				vs = append(vs, v)
			}
			rows.Close()
			for _, v := range vs {
				if _, err := t.exec(`DELETE FROM items WHERE id = ?`, v.id); err != nil {
					return err
				}
				if err := t.dropIndexDoc(v.id); err != nil { // search.go
					return err
				}
				if _, err := t.exec(`DELETE FROM archived WHERE item_id = ?`, v.id); err != nil { // archive.go
					return err
				}
				if err := t.unrefBlob(v.blob, 1); err != nil {
					return err
				}
			}
			n = int64(len(vs))
			if n < purgeBatch {
				for _, q := range []string{`DELETE FROM acl WHERE folder_id = ?`, `DELETE FROM subscriptions WHERE folder_id = ?`, `DELETE FROM folders WHERE id = ?`} {
					if _, err := t.exec(q, folderID); err != nil {
						return err
					}
				}
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("purge folder %d: %w", folderID, err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// sweepBlobs deletes blobs no item references any more. The file goes in
// the same transaction that deletes the row, so a concurrent writer either
// sees the row (and the file) or neither, and refBlob's check catches it.
func (d *DB) sweepBlobs(ctx context.Context) (int64, error) {
	var total int64
	// The grace period lets a write that stored the same content a moment
	// ago find it; refBlob checks in any case.
	cutoff := time.Now().Add(-d.grace).UnixMicro()
	for {
		var n int64
		err := d.write(ctx, func(t *tx) error {
			rows, err := t.query(`SELECT id, (data IS NULL), parts FROM blobs WHERE refs <= 0 AND zero_since <= ? LIMIT ?`, cutoff, purgeBatch)
			if err != nil {
				return err
			}
			type victim struct {
				id    string
				file  bool
				parts sql.NullString
			}
			var vs []victim
			for rows.Next() {
				var v victim
				if err := rows.Scan(&v.id, &v.file, &v.parts); err != nil {
					rows.Close()
					return err
				}
				vs = append(vs, v)
			}
			rows.Close()
			for _, v := range vs {
				res, err := t.exec(`DELETE FROM blobs WHERE id = ? AND refs <= 0`, v.id)
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k == 1 {
					if v.parts.Valid {
						// A split message releases its parts (freed by a
						// later sweep once nothing else holds them).
						ids, err := manifestParts(v.parts.String)
						if err != nil {
							return fmt.Errorf("blob %s: bad manifest: %w", v.id, err)
						}
						for _, p := range ids {
							if err := t.unrefBlob(string(p), 1); err != nil {
								return err
							}
						}
					}
					if v.file {
						if err := d.blobs.Delete(ctx, blob.ID(v.id)); err != nil {
							return err
						}
					}
					n++
				}
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("sweep blobs: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// ensure DB implements the interface.
var _ store.Backend = (*DB)(nil)
