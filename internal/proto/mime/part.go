package mime

import "strings"

// Part is one MIME entity: the message itself, a body part of a multipart,
// or the message encapsulated in a message/rfc822 (or message/global) part.
//
// Offsets are into the message as passed to Parse. The header block is
// [HeaderStart, HeaderEnd) and includes the blank line that ends it; the
// body is [BodyStart, BodyEnd).
type Part struct {
	Header Header

	HeaderStart, HeaderEnd int64
	BodyStart, BodyEnd     int64

	// MediaType and SubType are lowercased (RFC 2045 §5.1). Without a
	// usable Content-Type they are text/plain, or message/rfc822 for a
	// part of a multipart/digest (RFC 2046 §5.1.5).
	MediaType, SubType string
	// Params are the Content-Type parameters in header order, RFC 2231
	// continuations merged and values decoded.
	Params Params

	ID          string // Content-ID, raw
	Description string // Content-Description, raw (RFC 2047 words not decoded)
	// Encoding is the Content-Transfer-Encoding token, lowercased;
	// "7bit" when absent or unparsable (RFC 2045 §6.1).
	Encoding    string
	Disposition string // Content-Disposition type, lowercased; "" when absent
	DispParams  Params
	Language    []string // Content-Language tags (RFC 3282)
	Location    string   // Content-Location, raw (RFC 2557)
	MD5         string   // Content-MD5, raw (RFC 1864)

	// Lines counts the lines of the body: line breaks, plus one for a
	// final line without one. IMAP reports it for text/* and
	// message/rfc822 parts; it is computed for every part.
	Lines int64

	// Children are the body parts of a multipart, in order.
	Children []*Part
	// Message is the encapsulated message of a message/rfc822 or
	// message/global part whose body is not transfer-encoded; its header
	// starts at BodyStart and its body ends at BodyEnd.
	Message *Part

	// Truncated reports that a limit cut parsing short here: the header
	// block was cut, some fields were not indexed, or children or the
	// encapsulated message were not parsed.
	Truncated bool
}

// IsMultipart reports whether p is a multipart. A multipart may have no
// children when its boundary never occurs or a limit stopped parsing.
func (p *Part) IsMultipart() bool { return p.MediaType == "multipart" }

// IsMessage reports whether p's type is message/rfc822 or message/global
// (RFC 6532 §3.7), the types IMAP describes with an envelope. Message may
// still be nil when the body is transfer-encoded or a limit was reached.
func (p *Part) IsMessage() bool {
	return p.MediaType == "message" && (p.SubType == "rfc822" || p.SubType == "global")
}

// Size returns the size of the body in bytes, as stored.
func (p *Part) Size() int64 { return p.BodyEnd - p.BodyStart }

// Charset returns the lowercased charset parameter, or "us-ascii" for a
// text part without one (RFC 2046 §4.1.2), or "" otherwise.
func (p *Part) Charset() string {
	if cs := p.Params.Get("charset"); cs != "" {
		return strings.ToLower(cs)
	}
	if p.MediaType == "text" {
		return "us-ascii"
	}
	return ""
}

// Filename returns the part's file name: the Content-Disposition filename
// parameter, else the Content-Type name parameter (RFC 2183 §2.3), with
// RFC 2231 and (non-standard but common) RFC 2047 encodings decoded.
func (p *Part) Filename() string {
	name := p.DispParams.Get("filename")
	if name == "" {
		name = p.Params.Get("name")
	}
	return DecodeHeaderValue(name)
}

// Walk calls fn for p and every part below it in document order:
// children of a multipart, then the encapsulated message of a
// message/rfc822 part. It stops early when fn returns false. Walk does
// not recurse, so any tree depth is safe.
func (p *Part) Walk(fn func(q *Part) bool) {
	stack := []*Part{p}
	for len(stack) > 0 {
		q := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !fn(q) {
			return
		}
		if q.Message != nil {
			stack = append(stack, q.Message)
		}
		for i := len(q.Children) - 1; i >= 0; i-- {
			stack = append(stack, q.Children[i])
		}
	}
}
