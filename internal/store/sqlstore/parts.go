package sqlstore

// Single instance storage of MIME parts (SPEC §3, Zarafa §6.5).
//
// A message larger than inlineMax is parsed after it reached the blob
// store; every leaf part whose body is at least partMin bytes becomes a
// blob of its own (content-addressed by the body's bytes exactly as they
// appear in the message, encoding included), and the message's blob row
// holds a manifest instead of a file: the message's bytes are the literal
// segments and part blobs of the manifest, in order, so the message is
// rebuilt byte for byte. The same attachment in another message, another
// user's or another tenant's, is then stored once. The message's own file
// is removed once the manifest is committed.
//
// Reference counts: an item references its message blob (as before); a
// message blob with a manifest references each of its part blobs once.
// When the sweep deletes a manifest row it releases its parts, which a
// later sweep frees in turn.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

const (
	// partMin is the smallest part body stored on its own.
	partMin = 4 << 10
	// splitMax bounds the messages that are split (larger ones stay whole).
	splitMax = 1 << 30
)

// segment is one piece of a manifest: literal bytes, or a part blob.
type segment struct {
	Data []byte  `json:"d,omitempty"` // literal bytes (base64 in JSON)
	Blob blob.ID `json:"b,omitempty"`
	Size int64   `json:"n,omitempty"`
}

// partRef is a part blob a new manifest references.
type partRef struct {
	id     blob.ID
	size   int64
	inline []byte // the body when size <= inlineMax (kept in its row)
}

// split turns the message just stored as blob c.id into a manifest and
// part blobs, if it has parts worth sharing. It leaves c unchanged when
// not (small parts only, unparsable). The caller splits only content
// without a row: content seen before keeps the form it was stored in.
// With summary set, it also sets c.meta from the message it parsed, so
// that the content is not read and parsed a second time for it.
func (d *DB) split(ctx context.Context, c *content, summary bool) error {
	if c.inline != nil || c.size > splitMax {
		return nil
	}
	rc, err := d.blobs.Open(ctx, c.id)
	if err != nil {
		return fmt.Errorf("split %s: %w", c.id, err)
	}
	defer rc.Close()
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		return nil // a backend without random access: keep the message whole
	}
	root, err := mime.ParseReaderAt(ra, c.size, mime.Limits{})
	if summary {
		c.meta = summaryOfRoot(root, err)
	}
	if err != nil {
		return nil // not MIME enough to split; stored whole
	}
	type span struct{ start, end int64 }
	var spans []span
	root.Walk(func(p *mime.Part) bool {
		if len(p.Children) == 0 && p.Message == nil && p.Size() >= partMin {
			spans = append(spans, span{p.BodyStart, p.BodyEnd})
		}
		return true
	})
	if len(spans) == 0 {
		return nil
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var segs []segment
	var parts []partRef
	pos := int64(0)
	for _, s := range spans {
		if s.start < pos || s.end > c.size {
			continue // overlapping or out of range: leave it in the literal
		}
		if s.start > pos {
			lit := make([]byte, s.start-pos)
			if _, err := ra.ReadAt(lit, pos); err != nil {
				return fmt.Errorf("split %s: %w", c.id, err)
			}
			segs = append(segs, segment{Data: lit})
		}
		pr, err := d.storePart(ctx, io.NewSectionReader(ra, s.start, s.end-s.start), s.end-s.start)
		if err != nil {
			return err
		}
		parts = append(parts, pr)
		segs = append(segs, segment{Blob: pr.id, Size: pr.size})
		pos = s.end
	}
	if pos < c.size {
		lit := make([]byte, c.size-pos)
		if _, err := ra.ReadAt(lit, pos); err != nil {
			return fmt.Errorf("split %s: %w", c.id, err)
		}
		segs = append(segs, segment{Data: lit})
	}
	m, err := json.Marshal(segs)
	if err != nil {
		return err
	}
	c.manifest, c.parts = m, parts
	return nil
}

// storePart stores one part body: small ones stay in memory for their
// row, larger ones go to the blob store unless a row already has them.
func (d *DB) storePart(ctx context.Context, r *io.SectionReader, size int64) (partRef, error) {
	if size <= inlineMax {
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return partRef{}, fmt.Errorf("read part: %w", err)
		}
		sum := sha256.Sum256(b)
		return partRef{id: blob.ID(hex.EncodeToString(sum[:])), size: size, inline: b}, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return partRef{}, fmt.Errorf("read part: %w", err)
	}
	id := blob.ID(hex.EncodeToString(h.Sum(nil)))
	var known bool
	if err := d.read(ctx, func(t *tx) error {
		var file bool
		err := t.row(`SELECT (data IS NULL) FROM blobs WHERE id = ? AND parts IS NULL`, string(id)).Scan(&file)
		known = err == nil && file
		if err != nil && !isNoRows(err) {
			return err
		}
		return nil
	}); err != nil {
		return partRef{}, err
	}
	if !known {
		r.Seek(0, io.SeekStart)
		got, n, err := d.blobs.Put(ctx, r)
		if err != nil {
			return partRef{}, fmt.Errorf("store part: %w", err)
		}
		if got != id || n != size {
			return partRef{}, fmt.Errorf("store part: content changed while stored (%s, %d bytes)", got, n)
		}
	}
	return partRef{id: id, size: size}, nil
}

// refManifest references content that split turned into a manifest: a new
// row releases nothing and takes one reference on each part; a row that
// exists already (the same message stored concurrently) gets one more
// reference. The message's own file is removed after the commit when the
// row is a manifest.
func (t *tx) refManifest(c content) error {
	var got string
	err := t.row(`INSERT INTO blobs (id, size, refs, data, parts) VALUES (?, ?, 1, NULL, ?) ON CONFLICT (id) DO NOTHING RETURNING id`,
		string(c.id), c.size, string(c.manifest)).Scan(&got)
	switch {
	case err == nil:
		for _, p := range c.parts {
			if err := t.refNew(content{id: p.id, size: p.size, inline: p.inline}); err != nil {
				return err
			}
		}
		t.after(func() { t.d.blobs.Delete(context.Background(), c.id) })
		return nil
	case !isNoRows(err):
		return fmt.Errorf("reference blob: %w", err)
	}
	// The row exists: reference it as it is.
	var file, manifest bool
	if err := t.row(`UPDATE blobs SET refs = refs + 1, zero_since = 0 WHERE id = ? RETURNING (data IS NULL AND parts IS NULL), (parts IS NOT NULL)`,
		string(c.id)).Scan(&file, &manifest); err != nil {
		return fmt.Errorf("reference blob %s: %w", c.id, err)
	}
	if manifest {
		t.after(func() { t.d.blobs.Delete(context.Background(), c.id) })
	}
	if file {
		if _, err := t.d.blobs.Stat(t.ctx, c.id); err != nil {
			return fmt.Errorf("blob %s vanished during the write, try again: %w", c.id, store.ErrConflict)
		}
	}
	return nil
}

// openManifest returns a reader over a manifest's segments. It is also an
// io.ReaderAt (IMAP reads sections of large messages in place), opening
// each part blob when it is reached and keeping at most maxOpenParts of
// them open (a message may have thousands of parts).
func (d *DB) openManifest(ctx context.Context, id blob.ID, manifest string) (io.ReadCloser, error) {
	var segs []segment
	if err := json.Unmarshal([]byte(manifest), &segs); err != nil {
		return nil, fmt.Errorf("blob %s: bad manifest: %w", id, err)
	}
	m := &manifestReader{ctx: ctx, d: d, segs: segs, starts: make([]int64, len(segs)), open: map[int]*openPart{}}
	for i, sg := range segs {
		m.starts[i] = m.size
		if sg.Blob == "" {
			m.size += int64(len(sg.Data))
		} else {
			m.size += sg.Size
		}
	}
	return m, nil
}

// maxOpenParts bounds the part files one reader holds open at a time.
const maxOpenParts = 8

type openPart struct {
	ra    io.ReaderAt
	close func() error
	used  uint64 // when last used, for eviction
}

type manifestReader struct {
	ctx    context.Context
	d      *DB
	segs   []segment
	starts []int64 // offset of each segment in the message
	size   int64
	off    int64 // for Read
	open   map[int]*openPart
	clock  uint64
}

func (m *manifestReader) Read(p []byte) (int, error) {
	n, err := m.ReadAt(p, m.off)
	m.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt implements io.ReaderAt.
func (m *manifestReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for len(p) > 0 {
		if off >= m.size {
			return n, io.EOF
		}
		i := sort.Search(len(m.starts), func(i int) bool { return m.starts[i] > off }) - 1
		sg := m.segs[i]
		in := off - m.starts[i]
		var k int
		if sg.Blob == "" {
			k = copy(p, sg.Data[in:])
		} else {
			part, err := m.part(i)
			if err != nil {
				return n, err
			}
			want := p
			if rest := sg.Size - in; int64(len(want)) > rest {
				want = want[:rest]
			}
			got, err := part.ra.ReadAt(want, in)
			if got < len(want) && err == nil {
				err = io.ErrUnexpectedEOF
			}
			if err != nil && !(err == io.EOF && got == len(want)) {
				return n + got, fmt.Errorf("part %s: %w", sg.Blob, err)
			}
			k = got
		}
		n += k
		off += int64(k)
		p = p[k:]
	}
	return n, nil
}

// part opens segment i's blob: inline content from its row, larger
// content from the blob store.
func (m *manifestReader) part(i int) (*openPart, error) {
	m.clock++
	if op, ok := m.open[i]; ok {
		op.used = m.clock
		return op, nil
	}
	if len(m.open) >= maxOpenParts {
		// Close the least recently used part.
		lru := -1
		for k, op := range m.open {
			if lru < 0 || op.used < m.open[lru].used {
				lru = k
			}
		}
		m.open[lru].close()
		delete(m.open, lru)
	}
	id := m.segs[i].Blob
	var data []byte
	if err := m.d.read(m.ctx, func(t *tx) error {
		return t.row(`SELECT data FROM blobs WHERE id = ?`, string(id)).Scan(&data)
	}); err != nil {
		return nil, fmt.Errorf("part %s: %w", id, err)
	}
	op := &openPart{close: func() error { return nil }, used: m.clock}
	if data != nil {
		op.ra = bytes.NewReader(data)
	} else {
		rc, err := m.d.blobs.Open(m.ctx, id)
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", id, err)
		}
		ra, ok := rc.(io.ReaderAt)
		if !ok {
			// A backend without random access: read the part once.
			b, err := io.ReadAll(io.LimitReader(rc, m.segs[i].Size+1))
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("part %s: %w", id, err)
			}
			ra = bytes.NewReader(b)
		} else {
			op.close = rc.Close
		}
		op.ra = ra
	}
	m.open[i] = op
	return op, nil
}

func (m *manifestReader) Close() error {
	var first error
	for i, op := range m.open {
		if err := op.close(); err != nil && first == nil {
			first = err
		}
		delete(m.open, i)
	}
	return first
}

// manifestParts lists the part blobs of a manifest (for the sweep).
func manifestParts(manifest string) ([]blob.ID, error) {
	var segs []segment
	if err := json.Unmarshal([]byte(manifest), &segs); err != nil {
		return nil, err
	}
	var out []blob.ID
	for _, s := range segs {
		if s.Blob != "" {
			out = append(out, s.Blob)
		}
	}
	return out, nil
}
