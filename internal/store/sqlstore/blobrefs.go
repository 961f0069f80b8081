package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// inlineMax is the largest content kept in the database row of its blob
// instead of a file: a small message then costs no file system metadata
// operation and no fsync of its own, only its share of a group commit.
const inlineMax = 64 << 10

// content is an item's content, read far enough to know where it lives.
type content struct {
	id     blob.ID
	size   int64
	inline []byte // the whole content when size <= inlineMax
	// manifest and parts are set when the content was split into MIME
	// part blobs (parts.go).
	manifest []byte
	parts    []partRef
	// meta is the marshalled message summary to keep with the blob
	// (itemmeta.go), nil for none.
	meta []byte
}

// storeContent reads r: small content stays in memory for the database
// row; larger content is streamed to the blob store (durable on return).
func (d *DB) storeContent(ctx context.Context, r io.Reader) (content, error) {
	head := make([]byte, inlineMax+1)
	n, err := io.ReadFull(r, head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		sum := sha256.Sum256(head[:n])
		return content{id: blob.ID(hex.EncodeToString(sum[:])), size: int64(n), inline: head[:n:n]}, nil
	case err != nil:
		return content{}, fmt.Errorf("read content: %w", err)
	}
	return d.storeLarge(ctx, io.MultiReader(bytes.NewReader(head), r)) // content.go
}

// refNew adds a reference to content just read by storeContent. For a blob
// in the blob store it fails if a garbage sweep removed the file in the
// meantime (the caller's write then fails and nothing is acknowledged).
func (t *tx) refNew(c content) error {
	if c.manifest != nil {
		if err := t.refManifest(c); err != nil {
			return err
		}
		return t.setSummary(c.id, c.meta)
	}
	var data, meta any
	if c.inline != nil {
		data = c.inline
	}
	if c.meta != nil {
		meta = c.meta
	}
	var split bool
	if err := t.row(`INSERT INTO blobs (id, size, refs, data, meta) VALUES (?, ?, 1, ?, ?) ON CONFLICT (id) DO UPDATE SET refs = blobs.refs + 1, zero_since = 0, meta = COALESCE(excluded.meta, blobs.meta) RETURNING (parts IS NOT NULL)`,
		string(c.id), c.size, data, meta).Scan(&split); err != nil {
		return fmt.Errorf("reference blob: %w", err)
	}
	if c.inline != nil {
		return nil
	}
	if split {
		// Stored before as MIME parts (parts.go): the file just written
		// again is not needed.
		t.after(func() { t.d.blobs.Delete(context.Background(), c.id) })
		return nil
	}
	if _, err := t.d.blobs.Stat(t.ctx, c.id); err != nil {
		return fmt.Errorf("blob %s vanished during the write, try again: %w", c.id, store.ErrConflict)
	}
	return nil
}

// refExisting adds a reference to a blob an item already uses (copies).
func (t *tx) refExisting(id blob.ID) error {
	var fileBacked bool
	err := t.row(`UPDATE blobs SET refs = refs + 1, zero_since = 0 WHERE id = ? RETURNING (data IS NULL)`, string(id)).Scan(&fileBacked)
	if err != nil {
		return fmt.Errorf("reference blob %s: %w", id, err)
	}
	return nil
}

func (t *tx) unrefBlob(id string, n int64) error {
	_, err := t.exec(`UPDATE blobs SET refs = refs - ?, zero_since = CASE WHEN refs - ? <= 0 THEN CAST(? AS BIGINT) ELSE 0 END WHERE id = ?`, n, n, t.now(), id)
	return err
}

// emptyContent is the id of zero-length content. Its row holds an empty
// data column, which drivers may read back as NULL: openBlob and
// OpenItems treat it as inline all the same.
const emptyContent blob.ID = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
