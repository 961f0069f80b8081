package mail

import (
	"io"
	"strings"
	"sync"

	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/sieve"
)

// Bounds on what the pipeline reads of a message for tests and replies.
const (
	maxBodyText  = 1 << 20 // per part, for the Sieve body test
	maxBodyTotal = 4 << 20 // all parts together
)

// message is a message being delivered: bytes behind a ReaderAt (the LMTP
// spool file, or memory) and its parsed MIME tree.
type message struct {
	ra    io.ReaderAt
	size  int64
	root  *mime.Part
	close func()

	// mu guards the values read on demand: the recipients of one delivery
	// are handled concurrently.
	mu    sync.Mutex
	raw   []byte // whole message, read on demand (bytes)
	parts []sieve.BodyPart
}

func newMessage(ra io.ReaderAt, size int64, closeFn func() error) (*message, error) {
	root, _ := mime.ParseReaderAt(ra, size, mime.Limits{})
	// A LimitError still gives a usable tree covering the whole message.
	m := &message{ra: ra, size: size, root: root, close: func() {}}
	if closeFn != nil {
		m.close = func() { closeFn() }
	}
	return m, nil
}

func (m *message) reader() io.Reader { return io.NewSectionReader(m.ra, 0, m.size) }

func (m *message) bytes() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.raw == nil {
		b := make([]byte, m.size)
		if _, err := m.ra.ReadAt(b, 0); err != nil && err != io.EOF {
			return nil, err
		}
		m.raw = b
	}
	return m.raw, nil
}

// header returns the raw (undecoded) values of a top-level header field.
func (m *message) header(name string) []string { return m.root.Header.Values(name) }

func (m *message) first(name string) string { return m.root.Header.Get(name) }

func (m *message) hasCalendar() bool {
	found := false
	m.root.Walk(func(p *mime.Part) bool {
		if p.MediaType == "text" && p.SubType == "calendar" {
			found = true
		}
		return !found
	})
	return found
}

func (m *message) bodyParts() []sieve.BodyPart {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.parts != nil {
		return m.parts
	}
	total := 0
	m.parts = []sieve.BodyPart{}
	m.root.Walk(func(p *mime.Part) bool {
		if total >= maxBodyTotal {
			return false
		}
		ct := p.MediaType + "/" + p.SubType
		if p.IsMultipart() || p.IsMessage() {
			m.parts = append(m.parts, sieve.BodyPart{ContentType: ct})
			return true
		}
		text := ""
		if p.MediaType == "text" {
			text = p.Text(m.ra, maxBodyText)
		}
		total += len(text)
		m.parts = append(m.parts, sieve.BodyPart{ContentType: ct, Text: text})
		return true
	})
	return m.parts
}

func (m *message) rawBody() string {
	n := m.size - m.root.BodyStart
	if n <= 0 {
		return ""
	}
	if n > maxBodyText {
		n = maxBodyText
	}
	b := make([]byte, n)
	k, _ := m.ra.ReadAt(b, m.root.BodyStart)
	return string(b[:k])
}

// sieveMessage is the view of a message a Sieve script gets for one
// recipient.
type sieveMessage struct {
	m     *message
	env   Envelope
	boxes func(string) bool
}

func (s *sieveMessage) Header(name string) []string {
	vs := s.m.header(name)
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = mime.DecodeHeaderValue(v)
	}
	return out
}
func (s *sieveMessage) EnvelopeFrom() string        { return s.env.From }
func (s *sieveMessage) EnvelopeTo() string          { return s.env.To }
func (s *sieveMessage) Size() int64                 { return s.m.size }
func (s *sieveMessage) RawBody() string             { return s.m.rawBody() }
func (s *sieveMessage) BodyParts() []sieve.BodyPart { return s.m.bodyParts() }
func (s *sieveMessage) MailboxExists(name string) bool {
	return s.boxes != nil && s.boxes(name)
}

// addresses returns the bare addresses of the given header fields,
// lower-cased.
func (m *message) addresses(fields ...string) []string {
	var out []string
	for _, f := range fields {
		for _, v := range m.header(f) {
			for _, a := range mime.ParseAddressList(v) {
				if a.Kind != mime.AddrMailbox || a.Mailbox == mime.MissingMailbox || a.Host == mime.MissingDomain {
					continue
				}
				out = append(out, strings.ToLower(a.Mailbox+"@"+a.Host))
			}
		}
	}
	return out
}
