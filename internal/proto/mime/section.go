package mime

import (
	"strconv"
	"strings"
)

// Spec is the part of an IMAP section-spec after the part numbers
// (RFC 9051 §6.4.5).
type Spec uint8

const (
	// SpecBody is BODY[1.2]: the body of the addressed part; with no
	// part numbers, BODY[]: the whole message.
	SpecBody Spec = iota
	// SpecHeader is HEADER: the header of the message, or of the
	// message encapsulated in the addressed message/rfc822 part.
	// HEADER.FIELDS and HEADER.FIELDS.NOT select from the same block:
	// see SectionHeader.
	SpecHeader
	// SpecText is TEXT: the body of that message.
	SpecText
	// SpecMIME is MIME: the addressed part's own MIME header. It needs
	// part numbers.
	SpecMIME
)

// Section returns the part addressed by IMAP part numbers
// (RFC 9051 §6.4.5), starting at the message root. An empty path returns
// the root. As IMAP defines it, part 1 of a message that is not multipart
// is its body (the root itself), and the numbers after a message/rfc822
// part address parts of the encapsulated message.
func (p *Part) Section(path []int) (*Part, bool) {
	cur, inMsg := p, true // inMsg: cur is a message whose parts we index
	for _, n := range path {
		if n < 1 {
			return nil, false
		}
		if !inMsg && cur.Message != nil {
			cur, inMsg = cur.Message, true
		}
		switch {
		case cur.IsMultipart():
			if n > len(cur.Children) {
				return nil, false
			}
			cur = cur.Children[n-1]
		case inMsg && n == 1:
			// the body of a single-part message
		default:
			return nil, false
		}
		inMsg = false
	}
	return cur, true
}

// SectionRange returns the byte range [start, end) of the message that an
// IMAP BODY[<path>.<spec>] fetch returns. ok is false when the section
// does not exist: bad part numbers, MIME without part numbers, or
// HEADER/TEXT of a part that is not an encapsulated message.
func (p *Part) SectionRange(path []int, spec Spec) (start, end int64, ok bool) {
	if len(path) == 0 {
		switch spec {
		case SpecBody:
			return p.HeaderStart, p.BodyEnd, true
		case SpecHeader:
			return p.HeaderStart, p.HeaderEnd, true
		case SpecText:
			return p.BodyStart, p.BodyEnd, true
		}
		return 0, 0, false
	}
	q, ok := p.Section(path)
	if !ok {
		return 0, 0, false
	}
	switch spec {
	case SpecBody:
		return q.BodyStart, q.BodyEnd, true
	case SpecMIME:
		return q.HeaderStart, q.HeaderEnd, true
	case SpecHeader, SpecText:
		m := q.Message
		if m == nil {
			return 0, 0, false
		}
		if spec == SpecHeader {
			return m.HeaderStart, m.HeaderEnd, true
		}
		return m.BodyStart, m.BodyEnd, true
	}
	return 0, 0, false
}

// SectionHeader returns the header that BODY[<path>.HEADER] and
// BODY[<path>.HEADER.FIELDS ...] select from: the root's with an empty
// path, else that of the message encapsulated in the addressed
// message/rfc822 part. Use Header.Filter for the field lists.
func (p *Part) SectionHeader(path []int) (*Header, bool) {
	if len(path) == 0 {
		return &p.Header, true
	}
	q, ok := p.Section(path)
	if !ok || q.Message == nil {
		return nil, false
	}
	return &q.Message.Header, true
}

// ParseSection parses a section as IMAP URLs carry it (RFC 5092 §6,
// RFC 9051 §6.4.5): part numbers, then HEADER, TEXT or MIME (MIME only
// after a part number), in any case; "" is the whole message. It is what
// SectionRange takes.
func ParseSection(sec string) ([]int, Spec, bool) {
	if sec == "" {
		return nil, SpecBody, true
	}
	var path []int
	toks := strings.Split(sec, ".")
	i := 0
	for ; i < len(toks); i++ {
		if t := toks[i]; t == "" || t[0] < '0' || t[0] > '9' {
			break // not a part number ("+1" neither)
		}
		n, err := strconv.Atoi(toks[i])
		if err != nil {
			return nil, 0, false
		}
		if n <= 0 {
			return nil, 0, false
		}
		path = append(path, n)
	}
	switch rest := strings.ToUpper(strings.Join(toks[i:], ".")); {
	case rest == "":
		return path, SpecBody, len(path) > 0
	case rest == "HEADER":
		return path, SpecHeader, true
	case rest == "TEXT":
		return path, SpecText, true
	case rest == "MIME" && len(path) > 0:
		return path, SpecMIME, true
	}
	return nil, 0, false
}
