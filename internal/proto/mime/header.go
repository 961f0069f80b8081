package mime

import (
	"bytes"
	"strings"
)

// Field is one header field.
type Field struct {
	// Name is the field name as written, without the whitespace RFC 5322
	// §4.5 (obs-header) allows before the colon. It is "" for a line that
	// is not a field at all (no colon); such lines are kept so that the
	// raw header round-trips.
	Name string
	// Value is the unfolded value (RFC 5322 §2.2.3: line breaks before
	// whitespace removed, the whitespace kept) without leading or
	// trailing whitespace. Bytes are kept as stored: encoded words stay
	// encoded and 8-bit text (RFC 6532) is passed through.
	Value string
	// Raw is the field exactly as stored: name, colon, value, folds and
	// its final line break.
	Raw []byte
}

// Header is a parsed header block. It keeps the stored bytes and the
// fields in their original order.
type Header struct {
	raw    []byte
	fields []Field
	eoh    int // length of the terminating blank line at the end of raw, 0 if none
}

// Raw returns the whole header block as stored, including the blank line
// that ends it if there is one. The caller must not modify it.
func (h *Header) Raw() []byte { return h.raw }

// Fields returns the fields in order. The caller must not modify them.
func (h *Header) Fields() []Field { return h.fields }

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Get returns the value of the first field called name (case-insensitive),
// or "".
func (h *Header) Get(name string) string {
	for i := range h.fields {
		if h.fields[i].Name != "" && strings.EqualFold(h.fields[i].Name, name) {
			return h.fields[i].Value
		}
	}
	return ""
}

// Has reports whether a field called name is present.
func (h *Header) Has(name string) bool {
	for i := range h.fields {
		if h.fields[i].Name != "" && strings.EqualFold(h.fields[i].Name, name) {
			return true
		}
	}
	return false
}

// Values returns the values of every field called name, in order.
func (h *Header) Values(name string) []string {
	var vs []string
	for i := range h.fields {
		if h.fields[i].Name != "" && strings.EqualFold(h.fields[i].Name, name) {
			vs = append(vs, h.fields[i].Value)
		}
	}
	return vs
}

// Filter returns the raw fields whose names are (not == false) or are not
// (not == true) in names, compared case-insensitively, followed by the
// header's blank line: the text of IMAP BODY[HEADER.FIELDS (...)] and
// BODY[HEADER.FIELDS.NOT (...)] (RFC 9051 §6.4.5). The blank line is left
// out only when the header had none. Lines that are not fields never match
// a name.
func (h *Header) Filter(names []string, not bool) []byte {
	var out []byte
	for i := range h.fields {
		f := &h.fields[i]
		match := false
		if f.Name != "" {
			for _, n := range names {
				if strings.EqualFold(f.Name, n) {
					match = true
					break
				}
			}
		}
		if match != not {
			out = append(out, f.Raw...)
		}
	}
	if h.eoh > 0 {
		out = append(out, h.raw[len(h.raw)-h.eoh:]...)
	} else if out == nil {
		out = []byte{}
	}
	return out
}

// ParseHeader parses a header block on its own (for example one received
// over SMTP before the body); it stops after the blank line that ends the
// header, and Raw excludes anything after it. It is tolerant: bare LF line endings,
// 8-bit bytes and lines without a colon are accepted. At most maxFields
// fields are indexed (0 means the default); truncated reports whether some
// were left out.
func ParseHeader(raw []byte, maxFields int) (h Header, truncated bool) {
	if maxFields <= 0 {
		maxFields = DefaultLimits().MaxHeaderFields
	}
	return parseHeader(raw, maxFields)
}

func parseHeader(raw []byte, maxFields int) (Header, bool) {
	h := Header{raw: raw}
	truncated := false
	end, eoh := scanFields(raw, func(f []byte) {
		if len(h.fields) >= maxFields {
			truncated = true
		} else {
			h.fields = append(h.fields, newField(f))
		}
	})
	h.raw, h.eoh = raw[:end:end], eoh
	return h, truncated
}

// scanFields calls fn with the raw bytes of each field of a header block
// (a line without a colon counts as one), in order. It stops after the
// blank line that ends the header: end is the length of the block with
// that line, eoh the length of the line (0 when there is none).
func scanFields(raw []byte, fn func(field []byte)) (end, eoh int) {
	start := -1 // start of the field being collected
	flush := func(end int) {
		if start >= 0 {
			fn(raw[start:end:end])
			start = -1
		}
	}
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		var line []byte
		if j < 0 {
			line = raw[i:]
		} else {
			line = raw[i : i+j+1]
		}
		if isBlankLine(line) {
			flush(i)
			return i + len(line), len(line) // what follows is body
		}
		if line[0] != ' ' && line[0] != '\t' || start < 0 {
			flush(i)
			start = i
		}
		i += len(line)
	}
	flush(len(raw))
	return len(raw), 0
}

// FilterHeader returns what Filter returns for ParseHeader(raw, 0),
// without building the header's fields and values: for IMAP
// BODY[HEADER.FIELDS (...)] cut from a stored header.
func FilterHeader(raw []byte, names []string, not bool) []byte {
	var out []byte
	n, maxFields := 0, DefaultLimits().MaxHeaderFields
	end, eoh := scanFields(raw, func(f []byte) {
		if n >= maxFields {
			return // not indexed, as ParseHeader leaves it out
		}
		n++
		match := false
		if name, colon := fieldName(f); colon >= 0 && len(name) > 0 {
			for _, nm := range names {
				if bytes.EqualFold(name, []byte(nm)) {
					match = true
					break
				}
			}
		}
		if match != not {
			out = append(out, f...)
		}
	})
	if eoh > 0 {
		out = append(out, raw[end-eoh:end]...)
	} else if out == nil {
		out = []byte{}
	}
	return out
}

// fieldName is the name of a raw field and the index of its colon; colon
// is -1 for a line without one (in its first line).
func fieldName(raw []byte) (name []byte, colon int) {
	for i, c := range raw {
		if c == ':' {
			return bytes.TrimRight(raw[:i], " \t"), i
		}
		if c == '\n' {
			break
		}
	}
	return nil, -1
}

func newField(raw []byte) Field {
	name, colon := fieldName(raw)
	if colon < 0 {
		return Field{Value: unfold(raw), Raw: raw}
	}
	return Field{Name: string(name), Value: unfold(raw[colon+1:]), Raw: raw}
}

// unfold removes line breaks (CRLF or bare LF), keeping the whitespace that
// follows them, and trims surrounding whitespace.
func unfold(b []byte) string {
	b = trimWSP(b)
	if bytes.IndexByte(b, '\n') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\n':
		case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
		default:
			out = append(out, b[i])
		}
	}
	return string(trimWSP(out))
}

func isWSPorEOL(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimWSP(b []byte) []byte {
	for len(b) > 0 && isWSPorEOL(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWSPorEOL(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isBlankLine reports whether line is an empty line: "\n" or "\r\n".
func isBlankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}
