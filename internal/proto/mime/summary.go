package mime

import (
	"encoding/binary"
	"errors"
)

// Summary is what an IMAP server answers the FETCH items mail clients ask
// for most (ENVELOPE, BODY, BODYSTRUCTURE and the top-level header, from
// which BODY[HEADER] and BODY[HEADER.FIELDS (...)] are cut) without
// reading or parsing the message again: Dovecot keeps the same in its
// index cache. It depends only on the message's bytes, so it is computed
// once and stored with the content.
type Summary struct {
	// Envelope, Body and BodyStructure are the IMAP texts, as
	// AppendValue writes them: [0] without utf8, [1] with it (the two
	// differ only when a string holds 8-bit text).
	Envelope      [2][]byte
	Body          [2][]byte
	BodyStructure [2][]byte
	// Header is the top-level header block as stored, the blank line
	// that ends it included; nil when it is larger than MaxSummaryHeader
	// (the message must then be read for header sections).
	Header []byte
}

// MaxSummaryHeader bounds the header a Summary keeps: headers are a few
// KiB; a larger one is read from the message when asked for.
const MaxSummaryHeader = 64 << 10

// Summarize computes the Summary of a parsed message.
func Summarize(root *Part) *Summary {
	s := &Summary{}
	env := Envelope(root).List()
	body := BodyStructure(root, false)
	bs := BodyStructure(root, true)
	for i, v := range []any{env, body, bs} {
		t := [...]*[2][]byte{&s.Envelope, &s.Body, &s.BodyStructure}[i]
		t[0] = AppendValue(nil, v, false)
		t[1] = t[0]
		if has8bit(v) {
			// Only 8-bit strings are written differently with utf8.
			t[1] = AppendValue(nil, v, true)
		}
	}
	if raw := root.Header.Raw(); root.HeaderStart == 0 && int64(len(raw)) == root.HeaderEnd && len(raw) <= MaxSummaryHeader {
		s.Header = append(make([]byte, 0, len(raw)), raw...)
	}
	return s
}

// has8bit reports whether a value tree holds a string with a byte of
// 0x80 or above.
func has8bit(v any) bool {
	switch v := v.(type) {
	case string:
		for i := 0; i < len(v); i++ {
			if v[i] >= 0x80 {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if has8bit(e) {
				return true
			}
		}
	case Adjacent:
		for _, e := range v {
			if has8bit(e) {
				return true
			}
		}
	}
	return false
}

// summaryVersion is the first byte of a marshalled Summary. A stored
// summary of another version is computed again.
const summaryVersion = 1

// ErrSummaryVersion is returned by UnmarshalSummary for a summary written
// in another format.
var ErrSummaryVersion = errors.New("mime: summary of another version")

// Marshal encodes the summary for storage: a version byte, then each
// text as a uvarint length and its bytes. A utf8 form equal to the other
// is stored empty (no IMAP text is empty); the header's length is one
// more than its size, 0 for none.
func (s *Summary) Marshal() []byte {
	n := 1 + 2*binary.MaxVarintLen64 + len(s.Header)
	for i := range 2 {
		n += len(s.Envelope[i]) + len(s.Body[i]) + len(s.BodyStructure[i]) + 3*binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, summaryVersion)
	for _, v := range [][2][]byte{s.Envelope, s.Body, s.BodyStructure} {
		b = binary.AppendUvarint(b, uint64(len(v[0])))
		b = append(b, v[0]...)
		if string(v[1]) == string(v[0]) {
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(v[1])))
		b = append(b, v[1]...)
	}
	if s.Header == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Header))+1)
	return append(b, s.Header...)
}

// UnmarshalSummary decodes what Marshal wrote. The summary's slices alias
// b.
func UnmarshalSummary(b []byte) (*Summary, error) {
	if len(b) == 0 || b[0] != summaryVersion {
		return nil, ErrSummaryVersion
	}
	b = b[1:]
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		v := b[k : k+int(n) : k+int(n)]
		b = b[k+int(n):]
		return v, true
	}
	s := &Summary{}
	for _, v := range []*[2][]byte{&s.Envelope, &s.Body, &s.BodyStructure} {
		a, ok1 := next()
		u, ok2 := next()
		if !ok1 || !ok2 || len(a) == 0 {
			return nil, errors.New("mime: corrupt summary")
		}
		if len(u) == 0 {
			u = a
		}
		v[0], v[1] = a, u
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k)+1 {
		return nil, errors.New("mime: corrupt summary")
	}
	if n > 0 {
		s.Header = b[k : k+int(n-1) : k+int(n-1)]
		b = b[k+int(n-1):]
	} else {
		b = b[k:]
	}
	if len(b) != 0 {
		return nil, errors.New("mime: corrupt summary")
	}
	return s, nil
}

// pick returns the form of a text for a session with utf8 on or off.
func pick(v [2][]byte, utf8 bool) []byte {
	if utf8 {
		return v[1]
	}
	return v[0]
}

// EnvelopeText, BodyText and BodyStructureText return the IMAP text of
// ENVELOPE, BODY and BODYSTRUCTURE; utf8 is as for AppendValue.
func (s *Summary) EnvelopeText(utf8 bool) []byte      { return pick(s.Envelope, utf8) }
func (s *Summary) BodyText(utf8 bool) []byte          { return pick(s.Body, utf8) }
func (s *Summary) BodyStructureText(utf8 bool) []byte { return pick(s.BodyStructure, utf8) }
