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

// opener opens messages of the selected mailbox for one command: the
// store checks access once, when the first message is opened, instead of
// for every message (issue 10 item 2). It lives as long as the command.
type opener struct {
	s    *session
	open store.ItemOpener
}

func (s *session) newOpener() *opener { return &opener{s: s} }

// content opens the bytes of a message of the selected mailbox.
func (o *opener) content(m *msg) (*content, error) {
	s := o.s
	if o.open == nil {
		open, err := s.o.Store.OpenItems(s.ctx, s.sel.folderID)
		if err != nil {
			return nil, wrap(opMessage, err)
		}
		o.open = open
	}
	rc, err := o.open(s.ctx, m.id)
	return readContent(m, rc, err)
}

// openContent opens one message by item id, wherever it is (CATENATE's
// URLs name other mailboxes): the store checks access for this item
// alone.
func (s *session) openContent(m *msg) (*content, error) {
	rc, err := s.o.Store.OpenItem(s.ctx, m.id)
	return readContent(m, rc, err)
}

// readContent wraps an opened message (both openers): read in place when
// the store gives an io.ReaderAt, else into memory, at most the recorded
// size and a byte.
func readContent(m *msg, rc io.ReadCloser, err error) (*content, error) {
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
