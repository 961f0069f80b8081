package imapserver

import (
	"bytes"
	"errors"
	"io"

	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// content is a message's bytes and, once asked for, its MIME structure,
// loaded for FETCH and SEARCH. Large messages are read in place from the
// blob store (an io.ReaderAt); small ones are in memory.
type content struct {
	ra    io.ReaderAt
	size  int64
	data  []byte // the bytes, when they are in memory
	root  *mime.Part
	close func() error
}

// openContent opens the bytes of a message of the selected mailbox.
func (s *session) openContent(m *msg) (*content, error) {
	rc, err := s.o.Store.OpenItem(s.ctx, m.id)
	if err != nil {
		return nil, wrap(opMessage, err)
	}
	if ra, ok := rc.(io.ReaderAt); ok {
		return &content{ra: ra, size: m.size, close: rc.Close}, nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, m.size+1))
	if err != nil {
		return nil, wrap(opMessage, err)
	}
	return &content{ra: bytes.NewReader(data), size: int64(len(data)), data: data, close: func() error { return nil }}, nil
}

// parse returns the MIME structure, parsing on first use. A message over
// the parser's limits still yields a usable tree (mime.Parse never
// rejects a message).
func (c *content) parse() *mime.Part {
	if c.root == nil {
		var root *mime.Part
		var err error
		if c.data != nil {
			// The same tree, without ParseReaderAt's read buffer.
			root, err = mime.Parse(c.data, mime.Limits{})
		} else {
			root, err = mime.ParseReaderAt(c.ra, c.size, mime.Limits{})
		}
		var le *mime.LimitError
		if root == nil || err != nil && !errors.As(err, &le) {
			// Unreadable: treat as an empty text message.
			root, _ = mime.Parse(nil, mime.Limits{})
		}
		c.root = root
	}
	return c.root
}

// item loads the full item record (for INTERNALDATE).
func (s *session) item(m *msg) (*store.Item, error) {
	it, err := s.o.Store.GetItem(s.ctx, m.id)
	if err != nil {
		return nil, wrap(opMessage, err)
	}
	return it, nil
}
