package sqlstore

// Content is looked up before it is made durable (hardening 9.17). A
// message larger than inlineMax is staged in the blob store (written to a
// temp file and hashed, no fsync); when the database already references
// that content — as a file, or split into MIME part blobs — the temp file
// is dropped and the new item references the existing row: the same large
// message delivered to many users is written and fsynced once, not once
// per recipient.
//
// Deliveries of one message to several recipients run concurrently (so
// the group commit batches their transactions). Until the first of them
// has committed, the database does not know the content yet; inflight
// makes the others wait for the first one's blob (and split) and reuse it
// instead of writing it again. An inflight entry lives from the first
// staging of a content until the last of its writers has finished its
// transaction.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/roost-mail/roost/internal/blob"
)

// inflight is large content being stored by one writer and awaited by
// others.
type inflight struct {
	done    chan struct{} // closed when c and err are set
	c       content
	err     error
	summary bool // c.meta was computed, if the content needs one
	n       int  // writers holding the entry; guarded by inflights.mu
}

// inflights maps content IDs to the writes storing them.
type inflights struct {
	mu sync.Mutex
	m  map[blob.ID]*inflight
}

// storeLarge stores content larger than inlineMax: staged, looked up, and
// made durable only when the database does not reference it already.
func (d *DB) storeLarge(ctx context.Context, r io.Reader) (content, error) {
	st, err := d.blobs.Stage(ctx, r)
	if err != nil {
		return content{}, fmt.Errorf("store content: %w", err)
	}
	defer st.Discard()
	return d.storeStaged(ctx, st, false)
}

// storeStaged makes staged content durable unless it is known, and splits
// new content into part blobs. With summary set, c.meta is the content's
// message summary unless its row has one already (itemmeta.go).
func (d *DB) storeStaged(ctx context.Context, st blob.Staged, summary bool) (content, error) {
	c := content{id: st.ID(), size: st.Size()}
	row, known, hasMeta, err := d.knownContent(ctx, c.id)
	if err != nil {
		return content{}, fmt.Errorf("store content: %w", err)
	}
	if known {
		if summary && !hasMeta {
			c.meta = d.summaryOfBlob(ctx, c)
		}
		return c, nil
	}
	if err := st.Commit(ctx); err != nil {
		return content{}, fmt.Errorf("store content: %w", err)
	}
	// Content seen before (a row without references) keeps the form it
	// was stored in.
	if !row {
		if err := d.split(ctx, &c, summary); err != nil {
			if ctx.Err() != nil {
				return content{}, err
			}
			// The whole message is durable already: keep it whole.
			c.manifest, c.parts = nil, nil
		}
	}
	if summary && c.meta == nil {
		// Not parsed by split (too large, or a row exists already).
		c.meta = d.summaryOfBlob(ctx, c)
	}
	return c, nil
}

// knownContent reports whether content id has a blob row, whether the row
// holds it in a form a new reference can use as it is — a file or a
// manifest that something still references — and whether the row has a
// message summary. A row without
// references may be swept any moment after its grace period; such content
// is committed again (which keeps an existing file without an fsync), and
// refNew's check catches a file swept meanwhile.
func (d *DB) knownContent(ctx context.Context, id blob.ID) (row, known, hasMeta bool, err error) {
	err = d.read(ctx, func(t *tx) error {
		err := t.row(`SELECT refs > 0 AND data IS NULL, meta IS NOT NULL FROM blobs WHERE id = ?`, string(id)).Scan(&known, &hasMeta)
		row = err == nil
		if err != nil && !isNoRows(err) {
			return err
		}
		return nil
	})
	return row, known, hasMeta, err
}

// storeShared is storeContent for writers that may store the same content
// concurrently (the recipients of one delivery): the first stores it, the
// others wait and reuse it. The caller calls release once its transaction
// referencing the content has finished, committed or not. With summary
// set (mail), c.meta is the content's message summary unless its row has
// one already: the first writer computes it once for all of them.
//
// Content is staged even when it turns out to be known: hashing it in
// place first (when the reader can seek) would cost a second pass over
// new content, which measured slower than writing a temp file that is
// dropped without an fsync.
func (d *DB) storeShared(ctx context.Context, r io.Reader, summary bool) (c content, release func(), err error) {
	nop := func() {}
	head := make([]byte, inlineMax+1)
	n, err := io.ReadFull(r, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		// Small: kept in the row, as storeContent does.
		sum := sha256.Sum256(head[:n])
		c := content{id: blob.ID(hex.EncodeToString(sum[:])), size: int64(n), inline: head[:n:n]}
		if summary {
			c.meta = summarize(c.inline).Marshal()
		}
		return c, nop, nil
	}
	if err != nil {
		return content{}, nop, fmt.Errorf("read content: %w", err)
	}
	st, err := d.blobs.Stage(ctx, io.MultiReader(bytes.NewReader(head), r))
	if err != nil {
		return content{}, nop, fmt.Errorf("store content: %w", err)
	}
	defer st.Discard()
	id := st.ID()

	d.inflight.mu.Lock()
	if f := d.inflight.m[id]; f != nil {
		f.n++
		d.inflight.mu.Unlock()
		release = func() { d.dropInflight(id, f) }
		select {
		case <-f.done:
		case <-ctx.Done():
			release()
			return content{}, nop, fmt.Errorf("store content: %w", ctx.Err())
		}
		if f.err == nil {
			c := f.c
			if summary && !f.summary {
				c.meta = d.summaryOf(ctx, c)
			}
			return c, release, nil
		}
		// The first writer failed (perhaps only its own context): store
		// the content ourselves.
		c, err := d.storeStaged(ctx, st, summary)
		if err != nil {
			release()
			return content{}, nop, err
		}
		return c, release, nil
	}
	if d.inflight.m == nil {
		d.inflight.m = map[blob.ID]*inflight{}
	}
	f := &inflight{done: make(chan struct{}), summary: summary, n: 1}
	d.inflight.m[id] = f
	d.inflight.mu.Unlock()
	release = func() { d.dropInflight(id, f) }

	f.c, f.err = d.storeStaged(ctx, st, summary)
	close(f.done)
	if f.err != nil {
		release()
		return content{}, nop, f.err
	}
	return f.c, release, nil
}

func (d *DB) dropInflight(id blob.ID, f *inflight) {
	d.inflight.mu.Lock()
	defer d.inflight.mu.Unlock()
	f.n--
	if f.n == 0 && d.inflight.m[id] == f {
		delete(d.inflight.m, id)
	}
}
