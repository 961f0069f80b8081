package mime

import "io"

// Parse parses a stored message. The returned tree always covers the whole
// message, whatever its shape; err is nil or a *LimitError (see the
// package documentation). The tree's headers alias msg.
func Parse(msg []byte, lim Limits) (*Part, error) {
	return parse(&bytesSource{b: msg}, lim)
}

// readerBufSize is the read buffer of ParseReaderAt; lines longer than it
// are handled in pieces.
const readerBufSize = 64 << 10

// ParseReaderAt is Parse for a message of size bytes read from r, for
// example a blob file, without holding the body in memory: only header
// blocks are read into the tree. Besides a *LimitError it returns read
// errors, with the tree parsed up to the failure.
func ParseReaderAt(r io.ReaderAt, size int64, lim Limits) (*Part, error) {
	return parse(newReaderSource(r, size, readerBufSize), lim)
}

// frame is an open part while parsing.
type frame struct {
	p        *Part
	depth    int
	inDigest bool // a child of multipart/digest: default message/rfc822
	header   bool // still reading its header block
	hdrBytes int64
	boundary string // active boundary of a multipart, "" if none
	startLn  int64  // line breaks before BodyStart
}

type parser struct {
	src    source
	lim    Limits
	err    *LimitError
	ioErr  error
	nparts int

	stack []*frame
	trie  boundaryTrie

	pos       int64 // offset after the last piece
	lineStart int64 // offset of the current line
	ln        int64 // line breaks before pos
	lineLen   int64 // bytes of the current line seen so far (pieces)
	lastByte  byte

	// about the last complete line, for the line break that belongs to
	// a following boundary (RFC 2046 §5.1.1)
	prevEOL      int64
	prevNonEmpty bool

	skipping bool  // in the rest of a long boundary line
	pending  *Part // part whose header starts after that line
}

func parse(src source, lim Limits) (*Part, error) {
	ps := &parser{src: src, lim: lim.withDefaults()}
	root := &Part{}
	ps.nparts = 1
	ps.stack = append(ps.stack, &frame{p: root, header: true})
	for {
		b, cont, err := src.next()
		if err != nil {
			if err != io.EOF {
				ps.ioErr = err
			}
			break
		}
		if len(b) > 0 {
			ps.piece(b, cont)
		}
	}
	ps.finish()
	switch {
	case ps.ioErr != nil:
		return root, ps.ioErr
	case ps.err != nil:
		return root, ps.err
	}
	return root, nil
}

func (ps *parser) limit(name string, max int, off int64) {
	if ps.err == nil {
		ps.err = &LimitError{Limit: name, Max: max, Offset: off}
	}
}

func (ps *parser) top() *frame { return ps.stack[len(ps.stack)-1] }

func (ps *parser) piece(b []byte, cont bool) {
	off := ps.pos
	ps.pos += int64(len(b))
	lnBefore := ps.ln
	complete := b[len(b)-1] == '\n'
	if complete {
		ps.ln++
	}
	switch {
	case cont && ps.skipping:
		if complete {
			ps.skipping = false
			ps.pending.HeaderStart = ps.pos
			ps.pending = nil
		}
	case cont:
		ps.headerLine(b, lnBefore)
	default:
		ps.lineStart = off
		ps.lineLen = 0
		if ps.trie.n > 0 && len(b) > 2 && b[0] == '-' && b[1] == '-' {
			if f, n := ps.trie.match(b[2:]); f != nil {
				closing := len(b) >= 2+n+2 && b[2+n] == '-' && b[3+n] == '-'
				ps.delimiter(f, closing, off, lnBefore, complete)
				break
			}
		}
		if f := ps.top(); f.header && isBlankLine(b) {
			ps.endHeader(f, ps.pos, ps.ln)
			break
		}
		ps.headerLine(b, lnBefore)
	}
	// bookkeeping about the line
	if complete {
		eol := int64(1)
		if len(b) >= 2 && b[len(b)-2] == '\r' || len(b) == 1 && cont && ps.lastByte == '\r' {
			eol = 2
		}
		ps.prevEOL = eol
		ps.prevNonEmpty = ps.lineLen+int64(len(b)) > eol
		ps.lineLen = 0
	} else {
		ps.lineLen += int64(len(b))
	}
	ps.lastByte = b[len(b)-1]
}

// headerLine counts a piece of a header line (not a blank line) against
// MaxHeaderBytes. Over the limit, the header is cut before the line, which
// then belongs to the body, or to the header of the message a cut
// message/rfc822 header opens there (the loop).
func (ps *parser) headerLine(b []byte, lnBefore int64) {
	for {
		f := ps.top()
		if !f.header {
			return
		}
		if f.p.HeaderStart == ps.lineStart {
			f.hdrBytes = ps.lineLen // opened at this line, maybe after some pieces
		}
		f.hdrBytes += int64(len(b))
		if f.hdrBytes <= int64(ps.lim.MaxHeaderBytes) {
			return
		}
		ps.limit(LimitHeaderBytes, ps.lim.MaxHeaderBytes, ps.lineStart)
		f.p.Truncated = true
		ps.endHeader(f, ps.lineStart, lnBefore) // the line's break is not counted yet
	}
}

// delimiter handles a boundary delimiter line of multipart f.
func (ps *parser) delimiter(f *frame, closing bool, off, lnBefore int64, complete bool) {
	ps.closeAbove(f, off, lnBefore)
	if closing {
		// RFC 2046 §5.1.1: what follows is epilogue; the boundary is
		// no longer looked for.
		ps.deactivate(f)
		return
	}
	if ps.nparts >= ps.lim.MaxParts {
		ps.limit(LimitParts, ps.lim.MaxParts, off)
		f.p.Truncated = true
		return
	}
	child := &Part{HeaderStart: ps.pos}
	ps.nparts++
	f.p.Children = append(f.p.Children, child)
	ps.stack = append(ps.stack, &frame{
		p:        child,
		depth:    f.depth + 1,
		inDigest: f.p.SubType == "digest",
		header:   true,
	})
	if !complete {
		ps.skipping, ps.pending = true, child
	}
}

// closeAbove ends every part opened inside multipart f because a
// delimiter of f starts at off.
func (ps *parser) closeAbove(f *frame, off, lnBefore int64) {
	// The line break before the delimiter belongs to it (RFC 2046
	// §5.1.1), unless it is the blank line ending a header: then the
	// part and its ancestors end after it, so that no part reaches
	// beyond its parent. Either way every end is end or off.
	end := off - ps.prevEOL
	floor := end
	for ps.top() != f {
		t := ps.top()
		if t.header {
			ps.endHeader(t, max(t.p.HeaderStart, end), lnBefore)
			continue // endHeader may have opened an encapsulated message
		}
		ps.pop()
		p := t.p
		p.BodyEnd = max(floor, p.BodyStart)
		floor = p.BodyEnd
		switch {
		case p.BodyEnd == p.BodyStart:
			p.Lines = 0
		case p.BodyEnd == off:
			p.Lines = lnBefore - t.startLn
		default:
			p.Lines = lnBefore - 1 - t.startLn
			if ps.prevNonEmpty {
				p.Lines++
			}
		}
	}
}

func (ps *parser) pop() {
	t := ps.top()
	ps.deactivate(t)
	ps.stack[len(ps.stack)-1] = nil
	ps.stack = ps.stack[:len(ps.stack)-1]
}

func (ps *parser) deactivate(f *frame) {
	if f.boundary != "" {
		ps.trie.remove(f.boundary, f)
		f.boundary = ""
	}
}

// endHeader ends f's header block at end, where its body starts; startLn
// is the number of line breaks before end.
func (ps *parser) endHeader(f *frame, end, startLn int64) {
	p := f.p
	f.header = false
	p.HeaderEnd, p.BodyStart, p.BodyEnd = end, end, end
	f.startLn = startLn
	raw, err := ps.src.slice(p.HeaderStart, end)
	if err != nil && ps.ioErr == nil {
		ps.ioErr = err
	}
	var truncated bool
	p.Header, truncated = parseHeader(raw, ps.lim.MaxHeaderFields)
	if truncated {
		ps.limit(LimitHeaderFields, ps.lim.MaxHeaderFields, p.HeaderStart)
		p.Truncated = true
	}
	p.applyContent(f.inDigest)

	switch {
	case p.IsMultipart():
		if f.depth >= ps.lim.MaxDepth {
			ps.limit(LimitDepth, ps.lim.MaxDepth, end)
			p.Truncated = true
			return
		}
		f.boundary = p.Params.Get("boundary")
		ps.trie.add(f.boundary, f)
	case p.IsMessage() && identityEncoding(p.Encoding):
		if f.depth >= ps.lim.MaxDepth {
			ps.limit(LimitDepth, ps.lim.MaxDepth, end)
			p.Truncated = true
			return
		}
		if ps.nparts >= ps.lim.MaxParts {
			ps.limit(LimitParts, ps.lim.MaxParts, end)
			p.Truncated = true
			return
		}
		m := &Part{HeaderStart: end}
		ps.nparts++
		p.Message = m
		ps.stack = append(ps.stack, &frame{p: m, depth: f.depth + 1, header: true})
	}
}

// finish closes every open part at the end of the message.
func (ps *parser) finish() {
	if ps.pending != nil {
		ps.pending.HeaderStart = ps.pos
		ps.pending = nil
	}
	for len(ps.stack) > 0 {
		t := ps.top()
		if t.header {
			ps.endHeader(t, ps.pos, ps.ln)
			continue
		}
		ps.pop()
		p := t.p
		p.BodyEnd = ps.pos
		p.Lines = ps.ln - t.startLn
		if p.BodyEnd > p.BodyStart && ps.lastByte != '\n' {
			p.Lines++
		}
	}
}
