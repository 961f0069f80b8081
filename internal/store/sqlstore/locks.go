package sqlstore

import (
	"fmt"
	"slices"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// nextUIDValidity returns a UIDVALIDITY never handed out before in this
// database: at least the current time, and above every earlier one.
func (t *tx) nextUIDValidity() (uint32, error) {
	// One upsert reads and advances the counter, so that two folders
	// created at once on PostgreSQL cannot get the same value.
	nv := time.Now().Unix() & 0x7fffffff
	var v int64
	if err := t.row(`INSERT INTO meta (key, value) VALUES ('uidvalidity', ?)
		ON CONFLICT (key) DO UPDATE SET value = CASE WHEN meta.value + 1 > excluded.value THEN meta.value + 1 ELSE excluded.value END
		RETURNING value`, nv).Scan(&v); err != nil {
		return 0, err
	}
	if v > 0xffffffff {
		v = 1
		if _, err := t.exec(`UPDATE meta SET value = 1 WHERE key = 'uidvalidity'`); err != nil {
			return 0, err
		}
	}
	return uint32(v), nil
}

// lockStore serialises writers of one store on PostgreSQL before they read
// what they will change (SQLite has a single writer already). Taking the
// store row first everywhere also keeps one lock order: store, then folders.
func (t *tx) lockStore(ids ...int64) error {
	if t.d.dialect != postgres {
		return nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range ids {
		if _, err := t.exec(`SELECT id FROM stores WHERE id = ? FOR UPDATE`, id); err != nil {
			return fmt.Errorf("lock store %d: %w", id, err)
		}
	}
	return nil
}

// lockFolders locks the stores of the given folders (lockStore) before
// the caller reads them. A folder that does not exist is skipped: the
// access check that follows reports it.
func (t *tx) lockFolders(folderIDs ...int64) error {
	if t.d.dialect != postgres {
		return nil
	}
	if len(folderIDs) == 1 {
		// One round trip for the common case.
		if _, err := t.exec(`SELECT id FROM stores WHERE id = (SELECT store_id FROM folders WHERE id = ?) FOR UPDATE`, folderIDs[0]); err != nil {
			return fmt.Errorf("lock store of folder %d: %w", folderIDs[0], err)
		}
		return nil
	}
	var ids []int64
	for _, f := range folderIDs {
		var id int64
		err := t.row(`SELECT store_id FROM folders WHERE id = ?`, f).Scan(&id)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("lock store of folder %d: %w", f, err)
		}
		ids = append(ids, id)
	}
	return t.lockStore(ids...)
}

// lockItem locks the store of an item's folder. The caller reads the item
// again afterwards and checks that it is still where it was.
func (t *tx) lockItem(itemID int64) error {
	if t.d.dialect != postgres {
		return nil
	}
	if _, err := t.exec(`SELECT id FROM stores WHERE id = (SELECT store_id FROM items WHERE id = ?) FOR UPDATE`, itemID); err != nil {
		return fmt.Errorf("lock store of item %d: %w", itemID, err)
	}
	return nil
}

// nextModSeq reserves n consecutive MODSEQ values of a store and returns
// the first.
func (t *tx) nextModSeq(storeID int64, n int) (uint64, error) {
	var last int64
	if err := t.row(`UPDATE stores SET modseq = modseq + ? WHERE id = ? RETURNING modseq`, n, storeID).Scan(&last); err != nil {
		return 0, fmt.Errorf("modseq of store %d: %w", storeID, err)
	}
	return uint64(last) - uint64(n) + 1, nil
}

func (t *tx) journal(storeID int64, seq uint64, kind store.ChangeKind, folderID, itemID int64, uid uint32) error {
	_, err := t.exec(`INSERT INTO changes (store_id, seq, kind, folder_id, item_id, uid, time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		storeID, int64(seq), string(kind), folderID, itemID, int64(uid), t.now())
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	t.notify(storeID, seq)
	return nil
}
