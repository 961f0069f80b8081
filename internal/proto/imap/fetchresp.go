package imap

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// FetchWriter writes one FETCH response, "* seq FETCH (item value ...)"
// (RFC 9051 §7.5.2), item by item, straight into the Writer's buffer so
// that message bodies are streamed. Once started, a response must be
// finished with Close, or the connection closed: no other response may be
// written in between. After a write
// error, or a body shorter than announced, the Writer's error is set and
// the connection must be closed: the client cannot find the end of the
// response.
type FetchWriter struct {
	w *Writer
	n int
}

// Fetch starts a FETCH response for message seq.
func (w *Writer) Fetch(seq uint32) *FetchWriter {
	b := appendUint(append(w.line(), "* "...), seq)
	w.write(append(b, " FETCH ("...))
	return &FetchWriter{w: w}
}

// item starts an item: separator and name.
func (f *FetchWriter) item(name string) []byte {
	b := f.w.line()
	if f.n > 0 {
		b = append(b, ' ')
	}
	f.n++
	b = append(b, name...)
	return append(b, ' ')
}

func (f *FetchWriter) put(b []byte) *FetchWriter {
	f.w.write(b)
	f.w.buf = b[:0]
	return f
}

// UID writes "UID n".
func (f *FetchWriter) UID(uid uint32) *FetchWriter {
	return f.put(appendUint(f.item("UID"), uid))
}

// Flags writes "FLAGS (...)".
func (f *FetchWriter) Flags(flags ...string) *FetchWriter {
	return f.put(appendList(f.item("FLAGS"), flags, appendRaw))
}

// InternalDate writes `INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz"`.
func (f *FetchWriter) InternalDate(t time.Time) *FetchWriter {
	return f.put(appendDateTime(f.item("INTERNALDATE"), t))
}

// RFC822Size writes "RFC822.SIZE n".
func (f *FetchWriter) RFC822Size(n int64) *FetchWriter {
	return f.put(appendUint(f.item("RFC822.SIZE"), n))
}

// ModSeq writes "MODSEQ (n)" (RFC 7162 §3.1.4.1).
func (f *FetchWriter) ModSeq(n uint64) *FetchWriter {
	b := appendUint(append(f.item("MODSEQ"), '('), n)
	return f.put(append(b, ')'))
}

// ObjectID writes "EMAILID (id)" or "THREADID (id)", or "THREADID NIL"
// for an empty id (RFC 8474 §7).
func (f *FetchWriter) ObjectID(name, id string) *FetchWriter {
	b := f.item(name)
	if id == "" {
		return f.put(append(b, "NIL"...))
	}
	b = append(append(b, '('), id...)
	return f.put(append(b, ')'))
}

// SaveDate writes `SAVEDATE "dd-Mon-yyyy hh:mm:ss +zzzz"`, or NIL for the
// zero time (RFC 8514 §4).
func (f *FetchWriter) SaveDate(t time.Time) *FetchWriter {
	if t.IsZero() {
		return f.put(append(f.item("SAVEDATE"), "NIL"...))
	}
	return f.put(appendDateTime(f.item("SAVEDATE"), t))
}

// Preview writes "PREVIEW" and the text as a string (RFC 8970 §3), NIL
// when isNil.
func (f *FetchWriter) Preview(text string, isNil bool) *FetchWriter {
	return f.put(AppendNString(f.item("PREVIEW"), text, isNil, f.w.UTF8))
}

// BinarySize writes "BINARY.SIZE[part] n" (RFC 3516); name comes from
// FetchItem.ResponseName.
func (f *FetchWriter) BinarySize(name string, n int64) *FetchWriter {
	return f.put(appendUint(f.item(name), n))
}

// Envelope writes "ENVELOPE (...)".
func (f *FetchWriter) Envelope(e *Envelope) *FetchWriter {
	return f.put(appendEnvelope(f.item("ENVELOPE"), e, f.w.UTF8))
}

// BodyStructure writes "BODYSTRUCTURE (...)" with extension data.
func (f *FetchWriter) BodyStructure(bs *BodyStructure) *FetchWriter {
	return f.put(appendBody(f.item("BODYSTRUCTURE"), bs, true, f.w.UTF8))
}

// Body writes "BODY (...)", the body structure without extension data.
func (f *FetchWriter) Body(bs *BodyStructure) *FetchWriter {
	return f.put(appendBody(f.item("BODY"), bs, false, f.w.UTF8))
}

// Section writes a body section held in memory: name (from
// FetchItem.ResponseName) and data as a literal, NIL for nil data, and
// literal8 for BINARY data holding NUL (RFC 3516).
func (f *FetchWriter) Section(name string, data []byte) *FetchWriter {
	b := f.item(name)
	switch {
	case data == nil:
		b = append(b, "NIL"...)
	case strings.HasPrefix(name, "BINARY") && indexNUL(data) >= 0:
		b = appendUint(append(b, "~{"...), len(data))
		b = append(b, "}\r\n"...)
	default:
		b = appendUint(append(b, '{'), len(data))
		b = append(b, "}\r\n"...)
	}
	f.put(b)
	if data != nil {
		f.w.write(data)
	}
	return f
}

// Literal streams a body section of size octets from body as "name {size}"
// followed by the data, without buffering it (RFC 9051 §4.3). binary
// selects literal8 "~{size}" for BINARY data that may hold NUL (RFC 3516
// §4.3). If body ends early the response is broken and an error returned;
// close the connection.
func (f *FetchWriter) Literal(name string, size int64, body io.Reader, binary bool) error {
	b := f.item(name)
	if binary {
		b = append(b, '~')
	}
	b = appendUint(append(b, '{'), size)
	f.put(append(b, "}\r\n"...))
	if f.w.err != nil {
		return f.w.err
	}
	n, err := io.CopyN(f.w.bw, body, size)
	if err != nil {
		if n < size {
			err = fmt.Errorf("imap: FETCH %s: body ended after %d of %d octets: %w", name, n, size, err)
		}
		f.w.err = err
	}
	return f.w.err
}

// Raw writes an item whose value the caller encoded, e.g. an extension
// like "EMAILID (M123)" (RFC 8474).
func (f *FetchWriter) Raw(name, value string) *FetchWriter {
	return f.put(append(f.item(name), value...))
}

// RawBytes is Raw for a value held as bytes.
func (f *FetchWriter) RawBytes(name string, value []byte) *FetchWriter {
	return f.put(append(f.item(name), value...))
}

// Close ends the response.
func (f *FetchWriter) Close() error {
	return f.w.send(append(f.w.line(), ')'))
}

// Envelope is the ENVELOPE of a message (RFC 9051 §7.5.2): header values
// as they appear in the message (unfolded; RFC 2047 encoded words are left
// to the client). Empty strings and nil lists are sent as NIL.
type Envelope struct {
	Date, Subject                      string
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo, MessageID               string
}

// Address is an address in an Envelope. Group syntax (RFC 9051 §7.5.2):
// the start of a group is {Mailbox: group name} with Host empty, its end
// the zero Address.
type Address struct {
	Name, Mailbox, Host string
}

func appendNStr(b []byte, s string, utf8 bool) []byte {
	return AppendNString(b, s, s == "", utf8)
}

func appendEnvelope(b []byte, e *Envelope, utf8 bool) []byte {
	if e == nil {
		e = &Envelope{}
	}
	b = append(b, '(')
	b = appendNStr(b, e.Date, utf8)
	b = appendNStr(append(b, ' '), e.Subject, utf8)
	for _, l := range [][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		b = append(b, ' ')
		if len(l) == 0 {
			b = append(b, "NIL"...)
			continue
		}
		// "(" 1*address ")": addresses are not separated (RFC 9051 §9).
		b = append(b, '(')
		for _, a := range l {
			b = append(b, '(')
			b = appendNStr(b, a.Name, utf8)
			b = append(b, " NIL "...) // adl, obsolete source route
			b = appendNStr(b, a.Mailbox, utf8)
			b = appendNStr(append(b, ' '), a.Host, utf8)
			b = append(b, ')')
		}
		b = append(b, ')')
	}
	b = appendNStr(append(b, ' '), e.InReplyTo, utf8)
	b = appendNStr(append(b, ' '), e.MessageID, utf8)
	return append(b, ')')
}

// Param is a MIME parameter (body-fld-param).
type Param struct {
	Name, Value string
}

// BodyStructure describes a MIME part for BODY and BODYSTRUCTURE (RFC 9051
// §7.5.2). A multipart has Parts; message/rfc822 and message/global carry
// Envelope, Body and Lines; text/* carries Lines. The depth is whatever the
// MIME parser allowed; this package only encodes.
type BodyStructure struct {
	Type, Subtype string  // e.g. "TEXT", "PLAIN"; "MULTIPART", "MIXED"
	Params        []Param // Content-Type parameters; nil is NIL
	ID            string  // Content-ID
	Description   string  // Content-Description
	Encoding      string  // Content-Transfer-Encoding; "" is "7BIT"
	Size          uint32  // octets of the encoded body
	Envelope      *Envelope
	Body          *BodyStructure
	Lines         uint32
	Parts         []*BodyStructure

	// Extension data, BODYSTRUCTURE only.
	MD5               string
	Disposition       string // e.g. "attachment"; "" is NIL
	DispositionParams []Param
	Language          []string
	Location          string
}

func appendParams(b []byte, ps []Param, utf8 bool) []byte {
	if len(ps) == 0 {
		return append(b, "NIL"...)
	}
	return appendList(b, ps, func(b []byte, p Param) []byte {
		b = AppendString(b, p.Name, utf8)
		return AppendString(append(b, ' '), p.Value, utf8)
	})
}

func appendBody(b []byte, bs *BodyStructure, ext, utf8 bool) []byte {
	if bs == nil {
		bs = &BodyStructure{Type: "TEXT", Subtype: "PLAIN"}
	}
	b = append(b, '(')
	if len(bs.Parts) > 0 {
		for _, p := range bs.Parts {
			b = appendBody(b, p, ext, utf8)
		}
		b = AppendString(append(b, ' '), bs.Subtype, utf8)
		if ext {
			b = appendParams(append(b, ' '), bs.Params, utf8)
			b = appendBodyExt(b, bs, utf8)
		}
		return append(b, ')')
	}
	b = AppendString(b, bs.Type, utf8)
	b = AppendString(append(b, ' '), bs.Subtype, utf8)
	b = appendParams(append(b, ' '), bs.Params, utf8)
	b = appendNStr(append(b, ' '), bs.ID, utf8)
	b = appendNStr(append(b, ' '), bs.Description, utf8)
	enc := bs.Encoding
	if enc == "" {
		enc = "7BIT"
	}
	b = AppendString(append(b, ' '), enc, utf8)
	b = appendUint(append(b, ' '), bs.Size)
	switch {
	case strings.EqualFold(bs.Type, "MESSAGE") && (strings.EqualFold(bs.Subtype, "RFC822") || strings.EqualFold(bs.Subtype, "GLOBAL")):
		b = appendEnvelope(append(b, ' '), bs.Envelope, utf8)
		b = appendBody(append(b, ' '), bs.Body, ext, utf8)
		b = appendUint(append(b, ' '), bs.Lines)
	case strings.EqualFold(bs.Type, "TEXT"):
		b = appendUint(append(b, ' '), bs.Lines)
	}
	if ext {
		b = appendNStr(append(b, ' '), bs.MD5, utf8)
		b = appendBodyExt(b, bs, utf8)
	}
	return append(b, ')')
}

// appendBodyExt appends SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
func appendBodyExt(b []byte, bs *BodyStructure, utf8 bool) []byte {
	b = append(b, ' ')
	if bs.Disposition == "" {
		b = append(b, "NIL"...)
	} else {
		b = AppendString(append(b, '('), bs.Disposition, utf8)
		b = appendParams(append(b, ' '), bs.DispositionParams, utf8)
		b = append(b, ')')
	}
	b = append(b, ' ')
	switch len(bs.Language) {
	case 0:
		b = append(b, "NIL"...)
	case 1:
		b = AppendString(b, bs.Language[0], utf8)
	default:
		b = appendList(b, bs.Language, func(b []byte, s string) []byte { return AppendString(b, s, utf8) })
	}
	return appendNStr(append(b, ' '), bs.Location, utf8)
}
