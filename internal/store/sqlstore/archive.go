package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/roost-mail/roost/internal/store"
)

// Archive stores (store.Archives). An archive store is a row of stores
// with kind 'archive' and the user as owner_id; the partial unique index
// stores_one_archive keeps one attached archive per user, so two
// concurrent attaches cannot both succeed. The table archived maps an
// item of a private store to its copy in the archive and is written in
// the transaction that makes the copy.

// archiveOf returns the attached archive store of user id (nil if none).
func (t *tx) archiveOf(userID int64) (*storeRow, error) {
	s, err := scanStore(t.row(`SELECT `+storeCols+storeFrom+`WHERE s.kind = 'archive' AND s.owner_id = ? AND s.orphan = 0 AND s.deleted = 0`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive of user %d: %w", userID, err)
	}
	return s, nil
}

// AttachArchive implements store.Archives.
func (d *DB) AttachArchive(ctx context.Context, login, node string) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := validName("node", node); node != "" && err != nil {
		return nil, err
	}
	var id int64
	err = d.write(ctx, func(t *tx) error {
		u, err := t.administeredUser(p, login)
		if err != nil {
			return err
		}
		if a, err := t.archiveOf(u.ID); err != nil {
			return err
		} else if a != nil {
			return fmt.Errorf("user %q already has an archive store (%d): %w", u.Login, a.ID, store.ErrConflict)
		}
		id, err = t.createStore(u.TenantID, u.ID, store.StoreArchive, d.getDefaults().Locale)
		if isUniqueViolation(err) {
			return fmt.Errorf("user %q already has an archive store: %w", u.Login, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		_, err = t.exec(`UPDATE stores SET node = ? WHERE id = ?`, node, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d.GetStore(ctx, id)
}

// DetachArchive implements store.Archives.
func (d *DB) DetachArchive(ctx context.Context, login string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		u, err := t.administeredUser(p, login)
		if err != nil {
			return err
		}
		a, err := t.archiveOf(u.ID)
		if err != nil {
			return err
		}
		if a == nil {
			return fmt.Errorf("user %q has no archive store: %w", u.Login, store.ErrNotFound)
		}
		if err := t.lockStore(a.ID); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE stores SET orphan = 1, owner_id = 0, former_owner = ? WHERE id = ?`, u.Login, a.ID)
		return err
	})
}

// ListArchives implements store.Archives.
func (d *DB) ListArchives(ctx context.Context, tenant string) ([]*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Store
	err = d.read(ctx, func(t *tx) error {
		var tid int64
		if tenant != "" {
			tn, err := t.resolveTenant(p, tenant)
			if err != nil {
				return err
			}
			if !p.AdministersTenant(tn.ID) {
				return fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
			}
			tid = tn.ID
		} else if p.Admin < store.AdminTenant && !p.System {
			return fmt.Errorf("listing archives: %w", store.ErrPermission)
		}
		rows, err := t.query(`SELECT `+storeCols+storeFrom+`WHERE s.kind = 'archive' AND s.orphan = 0 AND s.deleted = 0 AND (? = 0 OR s.tenant_id = ?) ORDER BY s.id`, tid, tid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanStore(rows)
			if err != nil {
				return err
			}
			if p.AdministersTenant(s.TenantID) {
				out = append(out, &s.Store)
			}
		}
		return rows.Err()
	})
	return out, err
}

// UserArchive implements store.Archives.
func (d *DB) UserArchive(ctx context.Context, login string) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Store
	err = d.read(ctx, func(t *tx) error {
		u, err := t.visibleUser(p, login)
		if err != nil {
			return err
		}
		if u.ID != p.UserID && !p.AdministersTenant(u.TenantID) {
			return fmt.Errorf("archive of user %q: %w", login, store.ErrNotFound)
		}
		a, err := t.archiveOf(u.ID)
		if err != nil {
			return err
		}
		if a == nil {
			return fmt.Errorf("user %q has no archive store: %w", u.Login, store.ErrNotFound)
		}
		out = &a.Store
		return nil
	})
	return out, err
}

// ArchiveItems implements store.Archives.
func (d *DB) ArchiveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error) {
	if err := requireSystem(ctx, "archive items"); err != nil {
		return nil, err
	}
	if err := checkUIDs(uids); err != nil {
		return nil, err
	}
	p := store.PrincipalFrom(ctx)
	var out []store.UIDMap
	err := d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID, destID); err != nil {
			return err
		}
		src, err := t.folderAccess(p, folderID, "r", false)
		if err != nil {
			return err
		}
		dst, err := t.folderAccess(p, destID, "i", false)
		if err != nil {
			return err
		}
		if src.st.Kind != store.StorePrivate || dst.st.Kind != store.StoreArchive || src.st.OwnerID == 0 || dst.st.OwnerID != src.st.OwnerID {
			return fmt.Errorf("folder %d is not archived into folder %d (stores %d %s, %d %s): %w",
				folderID, destID, src.st.ID, src.st.Kind, dst.st.ID, dst.st.Kind, store.ErrInvalid)
		}
		items, err := t.liveItems(folderID, uids)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, it := range items {
			// The record is inserted first: of two archivers at once the
			// second finds it and skips the item (the transaction of the
			// first holds the row until it commits).
			res, err := t.exec(`INSERT INTO archived (item_id, store_id, archive_item_id, archived) VALUES (?, ?, 0, ?) ON CONFLICT DO NOTHING`,
				it.ID, src.st.ID, t.now())
			if err != nil {
				return fmt.Errorf("record archived item %d: %w", it.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // archived already
			}
			// A copy already in the archive that no record claims (the
			// archive restored from a backup, which keeps no records) is
			// taken as this item's instead of copying the item again.
			var have int64
			err = t.row(`SELECT c.id FROM items c WHERE c.store_id = ? AND c.deleted = 0 AND c.internal_date = ? AND c.blob = ?
				AND NOT EXISTS (SELECT 1 FROM archived a WHERE a.archive_item_id = c.id) ORDER BY c.id LIMIT 1`,
				dst.st.ID, it.InternalDate.UnixMicro(), string(it.Blob)).Scan(&have)
			if err == nil {
				if _, err := t.exec(`UPDATE archived SET archive_item_id = ? WHERE item_id = ?`, have, it.ID); err != nil {
					return err
				}
				continue
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("look for an unrecorded copy of item %d: %w", it.ID, err)
			}
			if err := t.refExisting(it.Blob); err != nil {
				return err
			}
			nit, err := t.addThreadedItem(dst.st, destID, it.Blob, it.Size, it.Flags, it.InternalDate.UnixMicro(), objIndex{}, 0, nil)
			if err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE archived SET archive_item_id = ? WHERE item_id = ?`, nit.ID, it.ID); err != nil {
				return err
			}
			out = append(out, store.UIDMap{From: it.UID, To: nit.UID})
		}
		return nil
	})
	return out, err
}

// ArchivedItems implements store.Archives.
func (d *DB) ArchivedItems(ctx context.Context, folderID int64) (map[int64]store.ArchivedItem, error) {
	if err := requireSystem(ctx, "archived items"); err != nil {
		return nil, err
	}
	out := map[int64]store.ArchivedItem{}
	err := d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT a.item_id, a.archive_item_id, a.archived, a.stubbed FROM archived a JOIN items i ON i.id = a.item_id
			WHERE i.folder_id = ? AND i.deleted = 0`, folderID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a store.ArchivedItem
			var at int64
			var stubbed int
			if err := rows.Scan(&a.ItemID, &a.ArchiveItemID, &at, &stubbed); err != nil {
				return err
			}
			a.Archived, a.Stubbed = fromMicro(at), stubbed != 0
			out[a.ItemID] = a
		}
		return rows.Err()
	})
	return out, err
}

// StubItem implements store.Archives.
func (d *DB) StubItem(ctx context.Context, itemID int64, content io.Reader) (*store.Item, error) {
	if err := requireSystem(ctx, "stub item"); err != nil {
		return nil, err
	}
	p := store.PrincipalFrom(ctx)
	var folderID int64
	if err := d.read(ctx, func(t *tx) error {
		old, err := t.liveItemByID(itemID)
		if err != nil {
			return err
		}
		folderID = old.FolderID
		return nil
	}); err != nil {
		return nil, err
	}
	c, err := d.storeContent(ctx, content)
	if err != nil {
		return nil, err
	}
	var out *store.Item
	err = d.write(ctx, func(t *tx) error {
		a, old, err := t.replaceableItem(p, folderID, itemID)
		if err != nil {
			return err
		}
		var archiveItem int64
		var stubbed int
		err = t.row(`SELECT archive_item_id, stubbed FROM archived WHERE item_id = ?`, itemID).Scan(&archiveItem, &stubbed)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && stubbed != 0) {
			return fmt.Errorf("item %d is not archived or is a stub already: %w", itemID, store.ErrInvalid)
		}
		if err != nil {
			return err
		}
		if err := t.retireItem(a, old, c); err != nil {
			return err
		}
		out, err = t.addThreadedItem(a.st, folderID, c.id, c.size, old.Flags, old.InternalDate.UnixMicro(), objIndex{}, old.ThreadID, nil)
		if err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO archived (item_id, store_id, archive_item_id, archived, stubbed) VALUES (?, ?, ?, ?, 1)`,
			out.ID, a.st.ID, archiveItem, t.now())
		return err
	})
	return out, err
}

// ArchivePlacements implements store.Archives. The records of one copy
// are those of the original and of its stubs (StubItem records the stub
// anew); the live one among them says where the original is.
func (d *DB) ArchivePlacements(ctx context.Context, storeID int64) ([]store.ArchivePlacement, error) {
	if err := requireSystem(ctx, "archive placements"); err != nil {
		return nil, err
	}
	var out []store.ArchivePlacement
	err := d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT a.archive_item_id, c.folder_id, c.uid,
				MAX(CASE WHEN i.deleted = 0 THEN i.folder_id ELSE 0 END), MAX(a.removed)
			FROM archived a JOIN items c ON c.id = a.archive_item_id AND c.deleted = 0
			LEFT JOIN items i ON i.id = a.item_id
			WHERE a.store_id = ?
			GROUP BY a.archive_item_id, c.folder_id, c.uid
			ORDER BY a.archive_item_id`, storeID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p store.ArchivePlacement
			var uid int64
			var folder sql.NullInt64
			var removed int
			if err := rows.Scan(&p.ArchiveItemID, &p.ArchiveFolderID, &uid, &folder, &removed); err != nil {
				return err
			}
			p.ArchiveUID, p.FolderID, p.Removed = uint32(uid), folder.Int64, removed != 0
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// RemoveArchived implements store.Archives.
func (d *DB) RemoveArchived(ctx context.Context, folderID int64, uids []uint32) ([]uint32, error) {
	if err := requireSystem(ctx, "remove archived items"); err != nil {
		return nil, err
	}
	if err := checkUIDs(uids); err != nil {
		return nil, err
	}
	p := store.PrincipalFrom(ctx)
	var out []uint32
	err := d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "e", false)
		if err != nil {
			return err
		}
		if a.st.Kind != store.StorePrivate {
			return fmt.Errorf("folder %d is not in a private store: %w", folderID, store.ErrInvalid)
		}
		items, err := t.liveItems(folderID, uids)
		if err != nil {
			return err
		}
		var archived []*store.Item
		for _, it := range items {
			res, err := t.exec(`UPDATE archived SET removed = 1 WHERE item_id = ?`, it.ID)
			if err != nil {
				return fmt.Errorf("record removal of item %d: %w", it.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				archived = append(archived, it)
			}
		}
		if len(archived) == 0 {
			out = nil
			return nil
		}
		out, err = t.softDelete(a, folderID, archived)
		return err
	})
	return out, err
}
