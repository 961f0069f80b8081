package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// Conversations (JMAP Thread, RFC 8621 §3). When mail is appended, the
// store looks its keys up in thread_keys: a key is a message id the
// message has (its own Message-ID, those in References and In-Reply-To)
// together with its base subject (RFC 5256), so that two messages are in
// one thread when one refers to the other and their subjects agree, as
// RFC 8621 suggests. The first thread found is the message's; none: it
// starts its own (its id). Its keys then point to that thread. A message
// that bridges two existing threads joins the older one; they are not
// merged.
//
// Race-freedom: the lookup and the recording of keys run while the
// transaction holds its store's row lock (lockFolders on PostgreSQL, the
// single writer on SQLite), which every path that inserts mail takes
// before it reads thread_keys; a second message of the conversation waits
// for it and its lookup, a later statement, sees the keys the first
// committed. Without that lock two replies arriving together start two
// threads: storetest's Concurrency/Threads fails on PostgreSQL when
// AppendItem's lockFolders is removed.

// maxThreadRefs bounds the message ids of one message that are looked up
// and recorded (the last ones of References, the closest ancestors).
const maxThreadRefs = 32

// threadKeysOf returns the thread keys of mail content about to be
// stored, nil when its header is not at hand (it then starts a thread).
func threadKeysOf(c content) []string {
	var hdr []byte
	switch {
	case c.meta != nil:
		s, err := mime.UnmarshalSummary(c.meta)
		if err != nil || s.Header == nil {
			return nil
		}
		hdr = s.Header
	case c.inline != nil:
		hdr = c.inline
	default:
		return nil
	}
	h, _ := mime.ParseHeader(hdr, 0)
	return threadKeys(&h)
}

func threadKeys(h *mime.Header) []string {
	var ids []string
	if id, ok := mime.ParseMessageID(h.Get("Message-ID")); ok {
		ids = append(ids, id)
	}
	refs := append(mime.ParseMessageIDs(h.Get("References")), mime.ParseMessageIDs(h.Get("In-Reply-To"))...)
	if len(refs) > maxThreadRefs {
		refs = refs[len(refs)-maxThreadRefs:]
	}
	ids = append(ids, refs...)
	if len(ids) == 0 {
		return nil
	}
	base := strings.ToLower(mime.BaseSubject(h.Get("Subject")))
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		sum := sha256.Sum256(bytes.Join([][]byte{[]byte(base), []byte(id)}, []byte{0}))
		keys = append(keys, hex.EncodeToString(sum[:16]))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// findThread returns the thread the keys lead to in a store, 0 for none.
func (t *tx) findThread(storeID int64, keys []string) (int64, error) {
	args := []any{storeID}
	for _, k := range keys {
		args = append(args, k)
	}
	var tid int64
	err := t.row(`SELECT COALESCE(MIN(thread_id), 0) FROM thread_keys WHERE store_id = ? AND key IN (?`+strings.Repeat(",?", len(keys)-1)+`)`, args...).Scan(&tid)
	if err != nil {
		return 0, fmt.Errorf("find thread: %w", err)
	}
	return tid, nil
}

// recordThread points the keys that do not lead anywhere yet to a thread.
func (t *tx) recordThread(storeID int64, keys []string, threadID int64) error {
	for _, k := range keys {
		if _, err := t.exec(`INSERT INTO thread_keys (store_id, key, thread_id) VALUES (?, ?, ?) ON CONFLICT (store_id, key) DO NOTHING`,
			storeID, k, threadID); err != nil {
			return fmt.Errorf("record thread key: %w", err)
		}
	}
	return nil
}

// QueryItems implements store.Mail.
func (d *DB) QueryItems(ctx context.Context, q store.ItemQuery) (store.ItemPage, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return store.ItemPage{}, err
	}
	if q.Limit <= 0 || q.Limit > store.MaxQueryItems || q.Position < 0 || len(q.FolderIDs) > store.MaxQueryItems {
		return store.ItemPage{}, fmt.Errorf("query limit %d, position %d: %w", q.Limit, q.Position, store.ErrInvalid)
	}
	out := store.ItemPage{Total: -1}
	err = d.read(ctx, func(t *tx) error {
		folders := slices.Clone(q.FolderIDs)
		if len(folders) == 0 {
			fs, err := d.readableMailFolders(t, p, q.StoreID)
			if err != nil {
				return err
			}
			folders = fs
		} else {
			for _, id := range folders {
				a, err := t.folderAccess(p, id, "r", false)
				if err != nil {
					return err
				}
				if a.st.ID != q.StoreID {
					return fmt.Errorf("folder %d: %w", id, store.ErrNotFound)
				}
			}
		}
		if len(folders) == 0 {
			if q.Total {
				out.Total = 0
			}
			return nil
		}
		slices.Sort(folders)
		folders = slices.Compact(folders)
		in := "(?" + strings.Repeat(",?", len(folders)-1) + ")"
		fargs := make([]any, len(folders))
		for i, f := range folders {
			fargs[i] = f
		}
		dir, cmp := "DESC", ">"
		if q.Ascending {
			dir, cmp = "ASC", "<"
		}
		where := `i.store_id = ? AND i.deleted = 0 AND i.folder_id IN ` + in
		args := append([]any{q.StoreID}, fargs...)
		if q.CollapseThreads {
			// The first of each thread in the sort order: no other item
			// of the thread, in the same folders, comes before it.
			where += ` AND NOT EXISTS (SELECT 1 FROM items j WHERE j.thread_id = i.thread_id AND j.deleted = 0 AND j.store_id = i.store_id AND j.folder_id IN ` + in +
				` AND (j.internal_date ` + cmp + ` i.internal_date OR (j.internal_date = i.internal_date AND j.id ` + cmp + ` i.id)))`
			args = append(args, fargs...)
		}
		if q.Total {
			// Collapsed, the total is the number of threads the folders'
			// items are in: the same number as the rows the NOT EXISTS
			// keeps (one per thread_id), counted without evaluating it
			// per item (at 100,000 items 5× faster on SQLite).
			count, cargs := `SELECT COUNT(*) FROM items i WHERE `+where, args
			if q.CollapseThreads {
				count, cargs = `SELECT COUNT(DISTINCT i.thread_id) FROM items i WHERE i.store_id = ? AND i.deleted = 0 AND i.folder_id IN `+in,
					append([]any{q.StoreID}, fargs...)
			}
			if err := t.row(count, cargs...).Scan(&out.Total); err != nil {
				return fmt.Errorf("count items: %w", err)
			}
		}
		rows, err := t.query(`SELECT i.id, i.folder_id, i.thread_id, i.internal_date FROM items i WHERE `+where+
			` ORDER BY i.internal_date `+dir+`, i.id `+dir+` LIMIT ? OFFSET ?`, append(args, q.Limit, q.Position)...)
		if err != nil {
			return fmt.Errorf("query items: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r store.ItemRef
			var idate int64
			if err := rows.Scan(&r.ID, &r.FolderID, &r.ThreadID, &idate); err != nil {
				return err
			}
			if r.ThreadID == 0 {
				r.ThreadID = r.ID
			}
			r.InternalDate = fromMicro(idate)
			out.Items = append(out.Items, r)
		}
		return rows.Err()
	})
	return out, err
}

// readableMailFolders lists the live mail folders of a store that the
// principal may read.
func (d *DB) readableMailFolders(t *tx, p *store.Principal, storeID int64) ([]int64, error) {
	rows, err := t.query(`SELECT id FROM folders WHERE store_id = ? AND deleted = 0 AND type = ?`, storeID, string(store.FolderMail))
	if err != nil {
		return nil, fmt.Errorf("folders of store %d: %w", storeID, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []int64
	for _, id := range ids {
		if _, err := t.folderAccess(p, id, "r", false); err == nil {
			out = append(out, id)
		} else if !isRefusal(err) {
			return nil, err
		}
	}
	if out == nil {
		// No folder of the store is readable: the store does not exist
		// for the principal.
		_, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return nil, err
		}
		if !full {
			return nil, fmt.Errorf("store %d: %w", storeID, store.ErrNotFound)
		}
	}
	return out, nil
}

// ThreadItems implements store.Mail.
func (d *DB) ThreadItems(ctx context.Context, storeID, threadID int64) ([]store.ItemRef, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.ItemRef
	err = d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT id, folder_id, internal_date FROM items WHERE thread_id = ? AND store_id = ? AND deleted = 0
			ORDER BY internal_date, id LIMIT ?`, threadID, storeID, store.MaxThreadItems)
		if err != nil {
			return fmt.Errorf("thread %d: %w", threadID, err)
		}
		var all []store.ItemRef
		for rows.Next() {
			r := store.ItemRef{ThreadID: threadID}
			var idate int64
			if err := rows.Scan(&r.ID, &r.FolderID, &idate); err != nil {
				rows.Close()
				return err
			}
			r.InternalDate = fromMicro(idate)
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		readable := map[int64]bool{}
		for _, r := range all {
			ok, seen := readable[r.FolderID]
			if !seen {
				_, err := t.folderAccess(p, r.FolderID, "r", false)
				if err != nil && !isRefusal(err) {
					return err
				}
				ok = err == nil
				readable[r.FolderID] = ok
			}
			if ok {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// ItemThreads implements store.Mail.
func (d *DB) ItemThreads(ctx context.Context, storeID int64, itemIDs []int64) (map[int64]int64, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if len(itemIDs) > store.MaxItemThreads {
		return nil, fmt.Errorf("at most %d items per call: %w", store.MaxItemThreads, store.ErrInvalid)
	}
	out := map[int64]int64{}
	err = d.read(ctx, func(t *tx) error {
		_, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		// Without full access only items of folders the principal may
		// read are answered (a shared mailbox's messages).
		readable := map[int64]bool{}
		canRead := func(folderID int64) (bool, error) {
			if full {
				return true, nil
			}
			ok, seen := readable[folderID]
			if !seen {
				_, err := t.folderAccess(p, folderID, "r", false)
				if err != nil && !isRefusal(err) {
					return false, err
				}
				ok = err == nil
				readable[folderID] = ok
			}
			return ok, nil
		}
		ids := slices.Clone(itemIDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := []any{storeID}
			for _, id := range chunk {
				args = append(args, id)
			}
			rows, err := t.query(`SELECT id, thread_id, folder_id FROM items WHERE store_id = ? AND id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
			if err != nil {
				return fmt.Errorf("threads of items: %w", err)
			}
			type row struct{ id, tid, folder int64 }
			var got []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.tid, &r.folder); err != nil {
					rows.Close()
					return err
				}
				got = append(got, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, r := range got {
				ok, err := canRead(r.folder)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if r.tid == 0 {
					r.tid = r.id
				}
				out[r.id] = r.tid
			}
		}
		return nil
	})
	return out, err
}
