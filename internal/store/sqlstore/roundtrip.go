package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// Round trips. On PostgreSQL every statement is a network round trip and a
// wake-up of a server process, which on a busy machine costs far more than
// running the statement; SQLite calls a function. The helpers here read or
// write in one statement what the access checks and write paths used to do
// in several (docs/benchmarks.md, issue 19).

// folderSubCols are folderCols of folders f, with whether user ?
// subscribed the folder (user 0: nobody did).
const folderSubCols = `f.id, f.store_id, f.parent_id, f.name, f.type, f.special, f.uidvalidity, f.uidnext, f.highestmodseq, f.messages, f.size,
	CASE WHEN EXISTS (SELECT 1 FROM subscriptions WHERE user_id = ? AND folder_id = f.id) THEN 1 ELSE 0 END,
	f.deleted, f.deleted_at, f.created`

// folderStoreCols are folderSubCols then storeCols, for folderAndStore.
const folderStoreCols = folderSubCols + `, ` + storeCols

// folderAndStore reads a folder, whether the user subscribed it (userID 0:
// nobody did), and its store in one statement.
func (t *tx) folderAndStore(userID, folderID int64) (*store.Folder, *storeRow, error) {
	var f store.Folder
	var s storeRow
	fd, ffin := folderDest(&f)
	sd, sfin := storeDest(&s)
	err := t.row(`SELECT `+folderStoreCols+storeFrom+`JOIN folders f ON f.store_id = s.id WHERE f.id = ?`, userID, folderID).Scan(append(fd, sd...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("folder %d: %w", folderID, store.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("folder %d: %w", folderID, err)
	}
	ffin()
	sfin()
	return &f, &s, nil
}

// insertItemPG is insertItem on PostgreSQL in one statement: the store's
// MODSEQ and counters, the folder's UID and counters, the item row and its
// journal entry, in the order and with the values insertItem uses. The
// caller holds the store's lock (lockFolders), as for addItem.
func (t *tx) insertItemPG(st *storeRow, folderID int64, b blob.ID, size int64, flags []string, idate int64, ix objIndex, threadID int64, keys []string) (int64, uint32, uint64, int64, error) {
	var uid, seq int64
	var id, tid sql.NullInt64
	// The thread (threads.go) is found and its keys recorded in the same
	// statement: the item's id is taken from its sequence first, so that
	// a message starting a thread names it after itself.
	err := t.row(`WITH s AS (
	UPDATE stores SET modseq = modseq + 1, messages = messages + 1, size = size + ?::bigint WHERE id = ?::bigint RETURNING modseq
), f AS (
	UPDATE folders SET uidnext = uidnext + 1, messages = messages + 1, size = size + ?::bigint, highestmodseq = (SELECT modseq FROM s)
	WHERE id = ?::bigint RETURNING uidnext - 1 AS uid, highestmodseq AS modseq
), n AS (
	SELECT nextval(pg_get_serial_sequence('items', 'id')) AS id
), th AS (
	SELECT MIN(thread_id) AS tid FROM thread_keys WHERE store_id = ?::bigint AND key = ANY(string_to_array(?::text, ','))
), i AS (
	INSERT INTO items (id, store_id, folder_id, uid, modseq, flags, size, blob, internal_date, name, object_uid, t_start, t_end, thread_id)
	SELECT n.id, ?::bigint, ?::bigint, f.uid, f.modseq, ?::text, ?::bigint, ?::text, ?::bigint, ?::text, ?::text, ?::bigint, ?::bigint,
		COALESCE(NULLIF(?::bigint, 0), th.tid, n.id) FROM f, n, th WHERE f.uid <= 4294967295
	RETURNING id, uid, modseq, thread_id
), c AS (
	INSERT INTO changes (store_id, seq, kind, folder_id, item_id, uid, time, actor)
	SELECT ?::bigint, i.modseq, ?::text, ?::bigint, i.id, i.uid, ?::bigint, ?::text FROM i
), k AS (
	INSERT INTO thread_keys (store_id, key, thread_id)
	SELECT ?::bigint, key, i.thread_id FROM i, unnest(string_to_array(?::text, ',')) AS key
	ON CONFLICT (store_id, key) DO NOTHING
)
SELECT f.uid, f.modseq, i.id, i.thread_id FROM f LEFT JOIN i ON true`,
		size, st.ID,
		size, folderID,
		st.ID, strings.Join(keys, ","),
		st.ID, folderID, strings.Join(flags, " "), size, string(b), idate, ix.name, ix.uid, ix.start, ix.end,
		threadID,
		st.ID, string(store.ChangeItemCreated), folderID, t.now(), t.actor(),
		st.ID, strings.Join(keys, ",")).Scan(&uid, &seq, &id, &tid)
	if isUniqueViolation(err) {
		return 0, 0, 0, 0, fmt.Errorf("an item named %q exists in the folder: %w", ix.name, store.ErrConflict)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, 0, 0, fmt.Errorf("assign UID: folder %d: %w", folderID, store.ErrNotFound)
	}
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("insert item: %w", err)
	}
	if uid > 0xffffffff || !id.Valid {
		return 0, 0, 0, 0, fmt.Errorf("folder %d has used every UID: %w", folderID, store.ErrOverQuota)
	}
	t.notify(st.ID, uint64(seq))
	return id.Int64, uint32(uid), uint64(seq), tid.Int64, nil
}

// notify queues the change notification of a journal entry: for this
// process after the commit, for other nodes with the commit (notify.go).
func (t *tx) notify(storeID int64, seq uint64) {
	if t.d.onChange != nil {
		fn := t.d.onChange
		t.after(func() { fn(storeID, seq) })
	}
	if t.d.dialect == postgres { // other nodes hear of it (notify.go)
		if t.heads == nil {
			t.heads = map[int64]uint64{}
		}
		t.heads[storeID] = max(t.heads[storeID], seq)
	}
}

// flagChange is one item's new flags, for setFlagsPG.
type flagChange struct {
	id    int64
	uid   uint32
	flags []string
}

// setFlagsPG is setFlags on PostgreSQL in one statement.
func (t *tx) setFlagsPG(storeID, folderID int64, changes []flagChange) (uint64, error) {
	n := len(changes)
	ids, uids, flags := make([]int64, n), make([]int64, n), make([]string, n)
	for i, c := range changes {
		ids[i], uids[i], flags[i] = c.id, int64(c.uid), strings.Join(c.flags, " ")
	}
	var last int64
	err := t.row(`WITH s AS (
	UPDATE stores SET modseq = modseq + ?::bigint WHERE id = ?::bigint RETURNING modseq
), v AS (
	SELECT x.id, x.uid, x.flags, (SELECT modseq FROM s) - ?::bigint + x.ord AS modseq
	FROM unnest(?::bigint[], ?::bigint[], ?::text[]) WITH ORDINALITY AS x(id, uid, flags, ord)
), u AS (
	UPDATE items SET flags = v.flags, modseq = v.modseq FROM v WHERE items.id = v.id
), c AS (
	INSERT INTO changes (store_id, seq, kind, folder_id, item_id, uid, time, actor)
	SELECT ?::bigint, v.modseq, ?::text, ?::bigint, v.id, v.uid, ?::bigint, ?::text FROM v
)
UPDATE folders SET highestmodseq = (SELECT modseq FROM s) WHERE id = ?::bigint RETURNING highestmodseq`,
		n, storeID, n, ids, uids, flags,
		storeID, string(store.ChangeItemUpdated), folderID, t.now(), t.actor(), folderID).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("set flags: %w", err)
	}
	first := uint64(last) - uint64(n) + 1
	for i := range changes {
		t.notify(storeID, first+uint64(i))
	}
	return first, nil
}

// deleteItemsPG soft-deletes live items of one folder on PostgreSQL in one
// statement, as DeleteItems does with removeItems: n MODSEQ values of the
// store (the i-th item gets the i-th), the items, their journal entries,
// and the folder's and the store's counters. The caller holds the store's
// lock.
func (t *tx) deleteItemsPG(storeID, folderID int64, items []*store.Item, at int64) error {
	n := len(items)
	ids, uids := make([]int64, n), make([]int64, n)
	var size int64
	for i, it := range items {
		ids[i], uids[i] = it.ID, int64(it.UID)
		size += it.Size
	}
	var last int64
	err := t.row(`WITH s AS (
	UPDATE stores SET modseq = modseq + ?::bigint, messages = messages - ?::bigint, size = size - ?::bigint WHERE id = ?::bigint RETURNING modseq
), v AS (
	SELECT x.id, x.uid, (SELECT modseq FROM s) - ?::bigint + x.ord AS modseq
	FROM unnest(?::bigint[], ?::bigint[]) WITH ORDINALITY AS x(id, uid, ord)
), u AS (
	UPDATE items SET deleted = 1, deleted_at = ?::bigint, modseq = v.modseq FROM v WHERE items.id = v.id
), c AS (
	INSERT INTO changes (store_id, seq, kind, folder_id, item_id, uid, time, actor)
	SELECT ?::bigint, v.modseq, ?::text, ?::bigint, v.id, v.uid, ?::bigint, ?::text FROM v
)
UPDATE folders SET messages = messages - ?::bigint, size = size - ?::bigint, highestmodseq = (SELECT modseq FROM s)
WHERE id = ?::bigint RETURNING highestmodseq`,
		n, n, size, storeID,
		n, ids, uids,
		at,
		storeID, string(store.ChangeItemDeleted), folderID, t.now(), t.actor(),
		n, size, folderID).Scan(&last)
	if err != nil {
		return fmt.Errorf("delete items: %w", err)
	}
	first := uint64(last) - uint64(n) + 1
	for i := range items {
		t.notify(storeID, first+uint64(i))
	}
	return nil
}
