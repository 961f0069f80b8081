// Package extract turns messages and attachments into text for the
// full-text index, within limits on size, time, memory and nesting.
//
// The table of extractors (Extractor.Types) maps a media type to a
// function; an attachment of type application/octet-stream (or one the
// table does not know) is looked up by its file name's extension. Text
// and HTML parts are the message's body (mime.Part.Text); office
// documents (OOXML and OpenDocument) are read in process as zip + XML;
// PDF goes to poppler's pdftotext in a separate process, sandboxed with
// bubblewrap when it is installed, under CPU time, memory and output
// limits. Nothing an extractor is given is trusted: every count, size,
// depth and duration is bounded, and a failure is an error for that one
// document, never a panic or a hang of the caller.
package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/mime"
)

// Limits bound extraction. Zero fields take DefaultLimits' values.
type Limits struct {
	MaxAttachment int64         // bytes of one decoded attachment; larger ones are skipped
	MaxText       int64         // bytes of text per message, body and attachments together
	Timeout       time.Duration // time for one document
	MaxEntries    int           // entries of a zip container
	MaxRatio      int64         // how many times its compressed size an entry may expand to
	MaxDepth      int           // XML element nesting
	MaxMemory     int64         // address space of an external extractor, bytes
}

// DefaultLimits are the limits of a zero Limits field.
func DefaultLimits() Limits {
	return Limits{MaxAttachment: 20 << 20, MaxText: 1 << 20, Timeout: 10 * time.Second,
		MaxEntries: 2000, MaxRatio: 100, MaxDepth: 256, MaxMemory: 512 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxAttachment <= 0 {
		l.MaxAttachment = d.MaxAttachment
	}
	if l.MaxText <= 0 {
		l.MaxText = d.MaxText
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = d.MaxMemory
	}
	return l
}

// Func extracts the text of one document, at most max bytes of it.
type Func func(ctx context.Context, data []byte, max int64) (string, error)

// ErrLimit is wrapped by errors of documents that went over a limit.
var ErrLimit = errors.New("extraction limit reached")

// Extractor holds the table and the limits.
type Extractor struct {
	lim   Limits
	log   *slog.Logger
	Types map[string]Func // by media type "type/subtype"
	Exts  map[string]string
	pdf   *pdfRunner
}

// New returns an extractor with the built-in table: OOXML and
// OpenDocument text, spreadsheets and presentations, RTF, and PDF when
// pdftotext is installed.
func New(lim Limits, log *slog.Logger) *Extractor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Extractor{lim: lim.withDefaults(), log: log, Types: map[string]Func{}, Exts: map[string]string{}}
	for _, f := range zipFormats {
		z := f
		e.Types[z.mediaType] = func(ctx context.Context, data []byte, max int64) (string, error) {
			return e.zipText(ctx, data, z, max)
		}
		e.Exts[z.ext] = z.mediaType
	}
	e.Types["application/rtf"] = rtfText
	e.Types["text/rtf"] = rtfText
	e.Exts[".rtf"] = "application/rtf"
	if p := newPDFRunner(e.lim, log); p != nil {
		e.pdf = p
		e.Types["application/pdf"] = p.text
		e.Exts[".pdf"] = "application/pdf"
	}
	return e
}

// Limits returns the limits in effect.
func (e *Extractor) Limits() Limits { return e.lim }

// lookup finds the extractor of a part by media type, then by extension.
func (e *Extractor) lookup(mediaType, filename string) (string, Func) {
	if f := e.Types[mediaType]; f != nil {
		return mediaType, f
	}
	if t, ok := e.Exts[strings.ToLower(path.Ext(filename))]; ok {
		return t, e.Types[t]
	}
	return mediaType, nil
}

// Document extracts the text of one document of a media type (or file
// name), at most max bytes of it, within the time limit. A type without
// an extractor yields "" and no error.
func (e *Extractor) Document(ctx context.Context, mediaType, filename string, data []byte, max int64) (string, error) {
	_, fn := e.lookup(strings.ToLower(mediaType), filename)
	if fn == nil || max <= 0 {
		return "", nil
	}
	if int64(len(data)) > e.lim.MaxAttachment {
		return "", fmt.Errorf("%w: %d bytes, more than %d", ErrLimit, len(data), e.lim.MaxAttachment)
	}
	ctx, cancel := context.WithTimeout(ctx, e.lim.Timeout)
	defer cancel()
	type result struct {
		s   string
		err error
	}
	// In-process extractors check ctx between tokens; this bounds one
	// that does not as well: the caller goes on, and the goroutine ends
	// with its (bounded) input.
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- result{"", fmt.Errorf("extractor panicked: %v", p)}
			}
		}()
		s, err := fn(ctx, data, max)
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if int64(len(r.s)) > max {
			r.s = cutUTF8(r.s, int(max))
		}
		return r.s, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %v", ErrLimit, ctx.Err())
	}
}

// Message is the indexable text of a message.
type Message struct {
	From, To, Cc, Bcc, Subject, IDs string
	Body                            string // text/* parts, HTML as text
	Attach                          string // text of the other parts
	Bytes                           int64  // all of the above
	// Failures lists the attachments that could not be read: the
	// indexer logs them once and indexes the rest.
	Failures []Failure
}

// Failure is an attachment whose text could not be extracted.
type Failure struct {
	Part      string // file name or media type
	MediaType string
	Err       error
}

// Message extracts a message's header fields, body text and attachment
// text, at most Limits.MaxText bytes in all. An iCalendar or vCard
// object (a calendar, task or contact item) is read by its properties
// instead (object.go).
func (e *Extractor) Message(ctx context.Context, r io.ReaderAt, size int64) (*Message, error) {
	head := make([]byte, min(size, 64))
	if n, _ := r.ReadAt(head, 0); isObject(head[:n]) {
		return object(r, size, e.lim.MaxText) // object.go: events, tasks, contacts
	}
	root, err := mime.ParseReaderAt(r, size, mime.Limits{})
	m := &Message{}
	var le *mime.LimitError
	if errors.As(err, &le) {
		// The tree is still usable, cut where the limit was reached.
		m.Failures = append(m.Failures, Failure{"message", "message/rfc822", err})
	} else if err != nil {
		return nil, fmt.Errorf("parse message: %w", err)
	}
	h := &root.Header
	get := func(names ...string) string {
		var b strings.Builder
		for _, n := range names {
			for _, v := range h.Values(n) {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(mime.DecodeHeaderValue(v))
			}
		}
		return cutUTF8(b.String(), 64<<10)
	}
	m.From, m.To, m.Cc, m.Bcc = get("From"), get("To"), get("Cc"), get("Bcc")
	m.Subject, m.IDs = get("Subject"), get("Message-ID", "List-ID")
	left := e.lim.MaxText
	// The body is what IMAP BODY searches without the index (mime.Part.Text).
	m.Body = root.Text(r, left)
	left -= int64(len(m.Body))
	var attach strings.Builder
	root.Walk(func(p *mime.Part) bool {
		if left <= 0 || ctx.Err() != nil {
			return false
		}
		if p.MediaType == "text" || p.IsMultipart() || p.IsMessage() {
			return true
		}
		name := p.Filename()
		typ, fn := e.lookup(p.MediaType+"/"+p.SubType, name)
		if fn == nil {
			return true
		}
		label := name
		if label == "" {
			label = typ
		}
		if p.Size() > 4*e.lim.MaxAttachment/3+4096 {
			m.Failures = append(m.Failures, Failure{label, typ, fmt.Errorf("%w: larger than %d bytes", ErrLimit, e.lim.MaxAttachment)})
			return true
		}
		data, err := io.ReadAll(io.LimitReader(p.DecodedBody(r), e.lim.MaxAttachment+1))
		if err != nil {
			m.Failures = append(m.Failures, Failure{label, typ, err})
			return true
		}
		s, err := e.Document(ctx, typ, name, data, left)
		if err != nil {
			m.Failures = append(m.Failures, Failure{label, typ, err})
		}
		if s != "" {
			if attach.Len() > 0 {
				attach.WriteByte('\n')
				left--
			}
			attach.WriteString(s)
			left -= int64(len(s))
		}
		return true
	})
	m.Attach = attach.String()
	m.Bytes = int64(len(m.From) + len(m.To) + len(m.Cc) + len(m.Bcc) + len(m.Subject) + len(m.IDs) + len(m.Body) + len(m.Attach))
	return m, ctx.Err()
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
