package sqlstore

import (
	"context"
	"fmt"

	"github.com/roost-mail/roost/internal/store"
)

// MoveItems implements store.Mail (RFC 6851: "te" on the source, "i" on
// the destination). Items keep their identity and get new UIDs.
func (d *DB) MoveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error) {
	return d.transfer(ctx, folderID, uids, destID, true)
}

// CopyItems implements store.Mail ("r" on the source, "i" on the
// destination). Copies share the content blob.
func (d *DB) CopyItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error) {
	return d.transfer(ctx, folderID, uids, destID, false)
}

func (d *DB) transfer(ctx context.Context, folderID int64, uids []uint32, destID int64, move bool) ([]store.UIDMap, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUIDs(uids); err != nil {
		return nil, err
	}
	need := "r"
	if move {
		need = "rte"
	}
	var out []store.UIDMap
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID, destID); err != nil {
			return err
		}
		src, err := t.folderAccess(p, folderID, need, false)
		if err != nil {
			return err
		}
		dst, err := t.folderAccess(p, destID, "i", false)
		if err != nil {
			return err
		}
		if move && folderID == destID {
			return fmt.Errorf("source and destination are the same folder: %w", store.ErrInvalid)
		}
		items, err := t.liveItems(folderID, uids)
		if err != nil || len(items) == 0 {
			return err
		}
		var size int64
		for _, it := range items {
			size += it.Size
		}
		if !move || src.st.ID != dst.st.ID {
			if err := t.checkHardQuota(dst.st, size); err != nil {
				return err
			}
			if err := t.checkMessageLimit(dst.st, len(items)); err != nil {
				return err
			}
		}
		out = out[:0]
		if !move {
			for _, it := range items {
				if err := t.refExisting(it.Blob); err != nil {
					return err
				}
				// A copy within the store stays in its thread; in another
				// store it starts its own.
				tid := int64(0)
				if src.st.ID == dst.st.ID {
					tid = it.ThreadID
				}
				nit, err := t.addThreadedItem(dst.st, destID, it.Blob, it.Size, it.Flags, it.InternalDate.UnixMicro(), indexOf(it), tid, nil)
				if err != nil {
					return err
				}
				out = append(out, store.UIDMap{From: it.UID, To: nit.UID})
			}
			return nil
		}
		seq, err := t.nextModSeq(src.st.ID, len(items))
		if err != nil {
			return err
		}
		if err := t.removeItems(src.st, folderID, items, seq); err != nil {
			return err
		}
		for _, it := range items {
			ms, err := t.nextModSeq(dst.st.ID, 1)
			if err != nil {
				return err
			}
			var uid int64
			if err := t.row(`UPDATE folders SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, destID).Scan(&uid); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE items SET folder_id = ?, store_id = ?, uid = ?, modseq = ? WHERE id = ?`, destID, dst.st.ID, uid, int64(ms), it.ID); err != nil {
				if isUniqueViolation(err) {
					return fmt.Errorf("an item named %q exists in the destination: %w", it.Name, store.ErrConflict)
				}
				return err
			}
			if _, err := t.exec(`UPDATE folders SET messages = messages + 1, size = size + ?, highestmodseq = ? WHERE id = ?`, it.Size, int64(ms), destID); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE stores SET messages = messages + 1, size = size + ? WHERE id = ?`, it.Size, dst.st.ID); err != nil {
				return err
			}
			if err := t.journal(dst.st.ID, ms, store.ChangeItemCreated, destID, it.ID, uint32(uid)); err != nil {
				return err
			}
			out = append(out, store.UIDMap{From: it.UID, To: uint32(uid)})
		}
		return nil
	})
	return out, err
}
