// Package wbxml reads and writes WAP Binary XML 1.3 (WAP-192-WBXML) as
// ActiveSync uses it ([MS-ASWBXML]): tags from code pages, inline and
// table strings, opaque data; no attributes, entities, processing
// instructions or extensions. It is a pure wire format: the code pages
// come from the caller (package eas holds ActiveSync's).
//
// The decoder is for untrusted input: it is iterative (no recursion),
// and every size a client controls is bounded by Limits — nesting depth,
// the number of elements, the length of one string or opaque value, the
// string table, the whole document and the text it decodes to. A violation is an error wrapping
// ErrMalformed or ErrLimit; the decoder never panics.
package wbxml

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Global tokens (WAP-192-WBXML §7.1).
const (
	tokSwitchPage = 0x00
	tokEnd        = 0x01
	tokEntity     = 0x02
	tokStrI       = 0x03
	tokLiteral    = 0x04
	tokExtI0      = 0x40
	tokPI         = 0x43
	tokStrT       = 0x83
	tokOpaque     = 0xC3
	flagContent   = 0x40
	flagAttrs     = 0x80
)

// CharsetUTF8 is the IANA MIBenum of UTF-8, the only charset accepted.
const CharsetUTF8 = 106

// Errors the decoder wraps.
var (
	ErrMalformed = errors.New("malformed WBXML")
	ErrLimit     = errors.New("WBXML over a limit")
)

// CodePage is one page of tag names: Tags[token] for tokens 0x05–0x3F.
type CodePage struct {
	Name string // the XML namespace prefix, e.g. "AirSync"
	Tags map[byte]string
}

// Table is a set of code pages, indexed by page number. Names are looked
// up per page; a name may appear on several pages.
type Table struct {
	Pages map[byte]*CodePage
	index map[byte]map[string]byte
}

// NewTable builds a table from its pages. A name repeated within a page
// encodes as its first (lowest) token.
func NewTable(pages map[byte]*CodePage) *Table {
	t := &Table{Pages: pages, index: map[byte]map[string]byte{}}
	for n, p := range pages {
		m := map[string]byte{}
		for tok, name := range p.Tags {
			if old, ok := m[name]; !ok || tok < old {
				m[name] = tok
			}
		}
		t.index[n] = m
	}
	return t
}

// Token returns the token of name on page.
func (t *Table) Token(page byte, name string) (byte, bool) {
	tok, ok := t.index[page][name]
	return tok, ok
}

// Node is an element: its code page and name, and either children or
// content (text or opaque data). ActiveSync never mixes text and elements
// in one element; the decoder keeps the text of such an element anyway.
type Node struct {
	Page     byte
	Name     string
	Children []*Node
	Text     string
	Opaque   []byte
	IsOpaque bool // the content was (or is to be written as) OPAQUE
}

// Child returns the first child named name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ChildText returns the text of the first child named name ("" if none).
func (n *Node) ChildText(name string) string {
	if c := n.Child(name); c != nil {
		return c.Content()
	}
	return ""
}

// Content is the element's content as a string, opaque or text.
func (n *Node) Content() string {
	if n == nil {
		return ""
	}
	if n.IsOpaque {
		return string(n.Opaque)
	}
	return n.Text
}

// All returns the children named name.
func (n *Node) All(name string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// Add appends children and returns n.
func (n *Node) Add(kids ...*Node) *Node {
	for _, k := range kids {
		if k != nil {
			n.Children = append(n.Children, k)
		}
	}
	return n
}

// El makes an element with children.
func El(page byte, name string, kids ...*Node) *Node {
	return (&Node{Page: page, Name: name}).Add(kids...)
}

// Str makes an element with text content.
func Str(page byte, name, text string) *Node {
	return &Node{Page: page, Name: name, Text: text}
}

// Opq makes an element with opaque content.
func Opq(page byte, name string, data []byte) *Node {
	return &Node{Page: page, Name: name, Opaque: data, IsOpaque: true}
}

// Limits bound what Decode accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes    int // the whole document; default 16 MiB
	MaxDepth    int // element nesting; default 64
	MaxElements int // elements in the document; default 200,000
	MaxString   int // one inline string; default 1 MiB
	MaxOpaque   int // one opaque value; default MaxBytes
	MaxStrTable int // the string table; default 64 KiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 16 << 20
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 200000
	}
	if l.MaxString <= 0 {
		l.MaxString = 1 << 20
	}
	if l.MaxOpaque <= 0 {
		l.MaxOpaque = l.MaxBytes
	}
	if l.MaxStrTable <= 0 {
		l.MaxStrTable = 64 << 10
	}
	return l
}

type reader struct {
	b   []byte
	pos int
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, fmt.Errorf("%w: unexpected end at byte %d", ErrMalformed, r.pos)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// mbuint reads a multi-byte unsigned integer (WAP-192-WBXML §5.1): at
// most 5 bytes, and no value past 32 bits.
func (r *reader) mbuint() (uint32, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			if v > 0xffffffff {
				break
			}
			return uint32(v), nil
		}
	}
	return 0, fmt.Errorf("%w: integer too long at byte %d", ErrMalformed, r.pos)
}

// cstring reads a NUL-terminated string of at most max bytes.
func (r *reader) cstring(max int) (string, error) {
	i := bytes.IndexByte(r.b[r.pos:], 0)
	if i < 0 {
		if len(r.b)-r.pos > max {
			return "", fmt.Errorf("%w: string longer than %d bytes", ErrLimit, max)
		}
		return "", fmt.Errorf("%w: unterminated string at byte %d", ErrMalformed, r.pos)
	}
	if i > max {
		return "", fmt.Errorf("%w: string longer than %d bytes", ErrLimit, max)
	}
	s := string(r.b[r.pos : r.pos+i])
	r.pos += i + 1
	return s, nil
}

// Decode parses a WBXML document into its root element.
func Decode(data []byte, t *Table, lim Limits) (*Node, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrLimit, lim.MaxBytes)
	}
	r := &reader{b: data}
	ver, err := r.byte()
	if err != nil {
		return nil, err
	}
	if ver > 0x03 {
		return nil, fmt.Errorf("%w: version %#x", ErrMalformed, ver)
	}
	pub, err := r.mbuint()
	if err != nil {
		return nil, err
	}
	if pub == 0 {
		if _, err := r.mbuint(); err != nil { // index of the public id in the string table
			return nil, err
		}
	}
	cs, err := r.mbuint()
	if err != nil {
		return nil, err
	}
	if cs != CharsetUTF8 && cs != 0 {
		return nil, fmt.Errorf("%w: charset %d (only UTF-8 is accepted)", ErrMalformed, cs)
	}
	stLen, err := r.mbuint()
	if err != nil {
		return nil, err
	}
	if int64(stLen) > int64(lim.MaxStrTable) {
		return nil, fmt.Errorf("%w: string table of %d bytes", ErrLimit, stLen)
	}
	if int64(stLen) > int64(len(data)-r.pos) {
		return nil, fmt.Errorf("%w: string table past the end", ErrMalformed)
	}
	strTable := data[r.pos : r.pos+int(stLen)]
	r.pos += int(stLen)

	var (
		page     byte
		root     *Node
		stack    []*Node
		elements int
		text     strings.Builder
		textOf   *Node
		// content counts the text decoded in the whole document: a
		// STR_T reference of two bytes expands to a whole string-table
		// entry, so without a document-wide bound a small document
		// could decode to gigabytes of text.
		content int
	)
	flushText := func() {
		if textOf != nil {
			textOf.Text = text.String()
			text.Reset()
			textOf = nil
		}
	}
	addText := func(n *Node, s string) error {
		if content += len(s); content > lim.MaxBytes {
			return fmt.Errorf("%w: decoded text over %d bytes", ErrLimit, lim.MaxBytes)
		}
		if textOf != n {
			flushText()
			textOf = n
			text.WriteString(n.Text)
		}
		if text.Len()+len(s) > lim.MaxString {
			return fmt.Errorf("%w: text longer than %d bytes", ErrLimit, lim.MaxString)
		}
		text.WriteString(s)
		return nil
	}
	for {
		if root != nil && len(stack) == 0 {
			break // the root element is closed
		}
		tok, err := r.byte()
		if err != nil {
			return nil, err
		}
		switch tok {
		case tokSwitchPage:
			p, err := r.byte()
			if err != nil {
				return nil, err
			}
			if t.Pages[p] == nil {
				return nil, fmt.Errorf("%w: unknown code page %d", ErrMalformed, p)
			}
			page = p
			continue
		case tokEnd:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: END outside an element", ErrMalformed)
			}
			flushText()
			stack = stack[:len(stack)-1]
			continue
		case tokStrI, tokStrT, tokOpaque:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: content outside an element", ErrMalformed)
			}
			cur := stack[len(stack)-1]
			switch tok {
			case tokStrI:
				s, err := r.cstring(lim.MaxString)
				if err != nil {
					return nil, err
				}
				if err := addText(cur, s); err != nil {
					return nil, err
				}
			case tokStrT:
				off, err := r.mbuint()
				if err != nil {
					return nil, err
				}
				if int64(off) >= int64(len(strTable)) {
					return nil, fmt.Errorf("%w: string table offset %d past its end", ErrMalformed, off)
				}
				rest := strTable[off:]
				i := bytes.IndexByte(rest, 0)
				if i < 0 {
					return nil, fmt.Errorf("%w: unterminated string table entry", ErrMalformed)
				}
				if err := addText(cur, string(rest[:i])); err != nil {
					return nil, err
				}
			case tokOpaque:
				n, err := r.mbuint()
				if err != nil {
					return nil, err
				}
				if int64(n) > int64(len(data)-r.pos) {
					return nil, fmt.Errorf("%w: opaque length %d past the end", ErrMalformed, n)
				}
				if int64(n) > int64(lim.MaxOpaque) {
					return nil, fmt.Errorf("%w: opaque value of %d bytes", ErrLimit, n)
				}
				if cur.IsOpaque || len(cur.Opaque) > 0 {
					if len(cur.Opaque)+int(n) > lim.MaxOpaque {
						return nil, fmt.Errorf("%w: opaque value over %d bytes", ErrLimit, lim.MaxOpaque)
					}
				}
				cur.Opaque = append(cur.Opaque, data[r.pos:r.pos+int(n)]...)
				cur.IsOpaque = true
				r.pos += int(n)
			}
			continue
		case tokEntity, tokLiteral, tokPI, tokExtI0, tokExtI0 + 1, tokExtI0 + 2, 0x80, 0x81, 0x82, 0xC0, 0xC1, 0xC2, tokLiteral | 0x40, tokLiteral | 0x80, tokLiteral | 0xC0:
			return nil, fmt.Errorf("%w: token %#x is not used by ActiveSync", ErrMalformed, tok)
		}
		if tok&flagAttrs != 0 {
			return nil, fmt.Errorf("%w: attributes are not used by ActiveSync", ErrMalformed)
		}
		name, ok := t.Pages[page].Tags[tok&0x3f]
		if !ok {
			return nil, fmt.Errorf("%w: unknown tag %#x on code page %d", ErrMalformed, tok&0x3f, page)
		}
		if elements++; elements > lim.MaxElements {
			return nil, fmt.Errorf("%w: more than %d elements", ErrLimit, lim.MaxElements)
		}
		n := &Node{Page: page, Name: name}
		if len(stack) == 0 {
			if root != nil {
				return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
			}
			root = n
		} else {
			flushText()
			p := stack[len(stack)-1]
			p.Children = append(p.Children, n)
		}
		if tok&flagContent != 0 {
			if len(stack) >= lim.MaxDepth {
				return nil, fmt.Errorf("%w: nested deeper than %d", ErrLimit, lim.MaxDepth)
			}
			stack = append(stack, n)
		} else if root == n {
			break
		}
	}
	if r.pos != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the root element", ErrMalformed, len(data)-r.pos)
	}
	return root, nil
}

// Encode writes n as a WBXML 1.3 document (public id 1 "unknown",
// UTF-8, no string table), the header every ActiveSync peer sends.
// Text must not contain NUL (write it as opaque); every name must be on
// its page of t.
func Encode(n *Node, t *Table) ([]byte, error) {
	var b bytes.Buffer
	b.Write([]byte{0x03, 0x01, CharsetUTF8, 0x00})
	page := byte(0)
	type frame struct {
		n    *Node
		next int
	}
	var stack []frame
	open := func(n *Node) error {
		tok, ok := t.Token(n.Page, n.Name)
		if !ok {
			return fmt.Errorf("wbxml: no tag %q on code page %d", n.Name, n.Page)
		}
		if n.Page != page {
			b.WriteByte(tokSwitchPage)
			b.WriteByte(n.Page)
			page = n.Page
		}
		hasContent := len(n.Children) > 0 || n.Text != "" || n.IsOpaque
		if !hasContent {
			b.WriteByte(tok)
			return nil
		}
		b.WriteByte(tok | flagContent)
		if n.IsOpaque {
			b.WriteByte(tokOpaque)
			writeMB(&b, uint32(len(n.Opaque)))
			b.Write(n.Opaque)
		} else if n.Text != "" {
			if strings.IndexByte(n.Text, 0) >= 0 {
				return fmt.Errorf("wbxml: NUL in the text of %s", n.Name)
			}
			b.WriteByte(tokStrI)
			b.WriteString(n.Text)
			b.WriteByte(0)
		}
		stack = append(stack, frame{n: n})
		return nil
	}
	if err := open(n); err != nil {
		return nil, err
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next < len(f.n.Children) {
			c := f.n.Children[f.next]
			f.next++
			if err := open(c); err != nil {
				return nil, err
			}
			continue
		}
		b.WriteByte(tokEnd)
		stack = stack[:len(stack)-1]
	}
	return b.Bytes(), nil
}

// Size is an upper bound of the bytes Encode writes for n without the
// document header: per element a possible page switch, its tag and END,
// and its text or opaque content with their framing. Servers bound a
// response by it before encoding (ActiveSync Sync's byte budget).
func (n *Node) Size() int {
	if n == nil {
		return 0
	}
	size := 2 + 2 // SWITCH_PAGE and page, tag, END
	switch {
	case n.IsOpaque:
		size += 1 + 5 + len(n.Opaque) // OPAQUE, mb_u_int32 length, data
	case n.Text != "":
		size += 1 + len(n.Text) + 1 // STR_I, text, terminator
	}
	for _, c := range n.Children {
		size += c.Size()
	}
	return size
}

func writeMB(b *bytes.Buffer, v uint32) {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	b.Write(tmp[i:])
}

// XML renders n as indented XML with namespace prefixes from t (for
// logs and tests; not a wire format). Opaque content is shown as its
// length.
func XML(n *Node, t *Table) string {
	var b strings.Builder
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		pfx := ""
		if p := t.Pages[n.Page]; p != nil {
			pfx = p.Name + ":"
		}
		ind := strings.Repeat(" ", depth)
		switch {
		case len(n.Children) > 0:
			fmt.Fprintf(&b, "%s<%s%s>\n", ind, pfx, n.Name)
			for _, c := range n.Children {
				if depth < 100 {
					walk(c, depth+1)
				}
			}
			fmt.Fprintf(&b, "%s</%s%s>\n", ind, pfx, n.Name)
		case n.IsOpaque:
			fmt.Fprintf(&b, "%s<%s%s>[%d bytes]</%s%s>\n", ind, pfx, n.Name, len(n.Opaque), pfx, n.Name)
		case n.Text != "":
			var esc bytes.Buffer
			xmlEscape(&esc, n.Text)
			fmt.Fprintf(&b, "%s<%s%s>%s</%s%s>\n", ind, pfx, n.Name, esc.String(), pfx, n.Name)
		default:
			fmt.Fprintf(&b, "%s<%s%s/>\n", ind, pfx, n.Name)
		}
	}
	walk(n, 0)
	return b.String()
}

func xmlEscape(b *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	b.WriteString(r.Replace(s))
}
