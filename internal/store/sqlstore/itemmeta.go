package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// Message summaries (mime.Summary: IMAP ENVELOPE, BODYSTRUCTURE and the
// header) are kept in blobs.meta: they depend only on the content, so
// copies, moves and every recipient of the same message share one, and
// the row goes with the blob. Only the store computes them, from the
// content, so no caller can attach a summary to someone else's content.

// summarize parses content held in memory.
func summarize(data []byte) *mime.Summary {
	root, _ := mime.Parse(data, mime.Limits{})
	return mime.Summarize(root)
}

// summaryOf is the marshalled summary of large content about to be
// stored, read back from the blob store, where storeContent left the
// whole message (a split message's file goes only after its manifest
// commits), unless its blob has a summary already. nil when there is
// nothing to do or the content cannot be read back: it is then computed
// on first use (MessageMetas). storeShared computes the summary of new
// content while it splits it (summaryOfRoot); this is for the rest.
func (d *DB) summaryOf(ctx context.Context, c content) []byte {
	if c.inline != nil {
		return summarize(c.inline).Marshal()
	}
	var have bool
	if err := d.read(ctx, func(t *tx) error {
		return t.row(`SELECT meta IS NOT NULL FROM blobs WHERE id = ?`, string(c.id)).Scan(&have)
	}); err == nil && have {
		return nil
	}
	return d.summaryOfBlob(ctx, c)
}

// summaryOfBlob is summaryOf without looking for a stored summary.
func (d *DB) summaryOfBlob(ctx context.Context, c content) []byte {
	rc, err := d.blobs.Open(ctx, c.id)
	if err != nil {
		d.log.Debug("summary at delivery: content not readable, summarized on first use", "blob", c.id, "err", err)
		return nil
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		return nil
	}
	root, err := mime.ParseReaderAt(ra, c.size, mime.Limits{})
	meta := summaryOfRoot(root, err)
	if meta == nil {
		d.log.Debug("summary at delivery: content not readable, summarized on first use", "blob", c.id, "err", err)
	}
	return meta
}

// summaryOfRoot is the marshalled summary of a message parsed with
// mime.ParseReaderAt (root, err), nil when it could not be parsed. A
// message parsed only up to a limit is summarized as far as parsed.
func summaryOfRoot(root *mime.Part, err error) []byte {
	var le *mime.LimitError
	if root == nil || err != nil && !errors.As(err, &le) {
		return nil
	}
	return mime.Summarize(root).Marshal()
}

// setSummary stores a marshalled summary of a blob.
func (t *tx) setSummary(id blob.ID, meta []byte) error {
	if meta == nil {
		return nil
	}
	if _, err := t.exec(`UPDATE blobs SET meta = ? WHERE id = ?`, meta, string(id)); err != nil {
		return fmt.Errorf("store summary of blob %s: %w", id, err)
	}
	return nil
}

// MessageMetas implements store.Mail.
func (d *DB) MessageMetas(ctx context.Context, folderID int64, uids []uint32) ([]store.MessageMeta, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if len(uids) > store.MaxMessageMetas {
		return nil, fmt.Errorf("at most %d UIDs per call: %w", store.MaxMessageMetas, store.ErrInvalid)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	u := slices.Clone(uids)
	slices.Sort(u)
	u = slices.Compact(u)
	type missing struct {
		i    int
		blob blob.ID
		size int64
	}
	var out []store.MessageMeta
	var todo []missing
	err = d.read(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "r", false); err != nil {
			return err
		}
		lo, hi := u[0], u[len(u)-1]
		var rows *sql.Rows
		var err error
		const cols = `SELECT i.id, i.uid, i.blob, i.size, b.meta FROM items i LEFT JOIN blobs b ON b.id = i.blob WHERE i.folder_id = ? AND i.deleted = 0 AND `
		if uint64(hi-lo) < 2*uint64(len(u)) {
			// Dense (a FETCH range): one range, extra rows dropped.
			rows, err = t.query(cols+`i.uid BETWEEN ? AND ? ORDER BY i.uid`, folderID, int64(lo), int64(hi))
		} else {
			// Sparse: a list padded to a power of two, so that few
			// statements are prepared.
			n := 8
			for n < len(u) {
				n *= 2
			}
			args := []any{folderID}
			for k := range n {
				args = append(args, int64(u[min(k, len(u)-1)]))
			}
			rows, err = t.query(cols+`i.uid IN (?`+strings.Repeat(",?", n-1)+`) ORDER BY i.uid`, args...)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		out = make([]store.MessageMeta, 0, len(u))
		k := 0
		for rows.Next() {
			var id, uid, size int64
			// Raw: the blob id is needed only to compute a summary, and
			// the summary is copied once below.
			var b, meta sql.RawBytes
			if err := rows.Scan(&id, &uid, &b, &size, &meta); err != nil {
				return err
			}
			for k < len(u) && u[k] < uint32(uid) {
				k++
			}
			if k == len(u) || u[k] != uint32(uid) {
				continue
			}
			m := store.MessageMeta{ID: id, UID: uint32(uid)}
			if meta != nil {
				// The summary aliases its bytes: a copy of the raw row.
				if s, err := mime.UnmarshalSummary(bytes.Clone(meta)); err == nil {
					m.Summary = s
				} else if !errors.Is(err, mime.ErrSummaryVersion) {
					d.log.Warn("corrupt message summary, computing it again", "item", id, "err", err)
				}
			}
			if m.Summary == nil {
				todo = append(todo, missing{len(out), blob.ID(string(b)), size})
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil || len(todo) == 0 {
		return out, err
	}
	// Summaries not stored yet: computed from the content, then stored
	// in one write.
	type fill struct {
		blob blob.ID
		meta []byte
	}
	var fills []fill
	for _, m := range todo {
		s, err := d.summarizeBlob(ctx, m.blob, m.size)
		if err != nil {
			return nil, fmt.Errorf("summary of item %d: %w", out[m.i].ID, err)
		}
		out[m.i].Summary = s
		fills = append(fills, fill{m.blob, s.Marshal()})
	}
	if err := d.write(ctx, func(t *tx) error {
		for _, f := range fills {
			if err := t.setSummary(f.blob, f.meta); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		// The summaries are right; only keeping them failed. The next
		// call computes them again.
		if ctx.Err() != nil {
			return nil, err
		}
		d.log.Warn("store message summaries", "folder", folderID, "err", err)
	}
	return out, nil
}

// summarizeBlob reads and parses content to summarize it. Large content
// is parsed in place when the blob store allows it.
func (d *DB) summarizeBlob(ctx context.Context, id blob.ID, size int64) (*mime.Summary, error) {
	rc, err := d.openBlob(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if ra, ok := rc.(io.ReaderAt); ok {
		root, err := mime.ParseReaderAt(ra, size, mime.Limits{})
		var le *mime.LimitError
		if root == nil || err != nil && !errors.As(err, &le) {
			return nil, fmt.Errorf("parse content: %w", err)
		}
		return mime.Summarize(root), nil
	}
	data, err := io.ReadAll(io.LimitReader(rc, size+1))
	if err != nil {
		return nil, fmt.Errorf("read content: %w", err)
	}
	return summarize(data), nil
}
