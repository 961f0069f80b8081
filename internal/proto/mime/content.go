package mime

import (
	"slices"
	"strconv"
	"strings"
)

// Param is one Content-Type or Content-Disposition parameter.
type Param struct {
	// Name is the lowercased attribute, without RFC 2231 section numbers
	// and "*" markers.
	Name string
	// Value is the value: unquoted, RFC 2231 continuations joined and
	// extended values percent-decoded and converted to UTF-8 when the
	// charset is known (otherwise the raw bytes).
	Value string
	// Ext is, for a parameter that used RFC 2231 extended notation, the
	// merged value in that notation ("charset'language'percent-encoded"),
	// which stays 7-bit. IMAP BODYSTRUCTURE sends it as Name+"*" (as
	// Dovecot does); it is "" for plain parameters.
	Ext string
}

// Params is a parameter list in header order.
type Params []Param

// Get returns the value of the named parameter (case-insensitive),
// preferring an RFC 2231 value over a plain one of the same name
// (RFC 2231 §4.1 lets senders give both). It returns "" when absent.
func (ps Params) Get(name string) string {
	v, found := "", false
	for _, p := range ps {
		if !strings.EqualFold(p.Name, name) {
			continue
		}
		if p.Ext != "" {
			return p.Value
		}
		if !found {
			v, found = p.Value, true
		}
	}
	return v
}

// maxBoundaryLen bounds a usable multipart boundary. RFC 2046 §5.1.1 allows
// 70 characters; longer ones exist in the wild, absurd ones are treated as
// missing.
const maxBoundaryLen = 256

// applyContent fills p's MIME fields from its header.
func (p *Part) applyContent(inDigest bool) {
	h := &p.Header
	p.MediaType, p.SubType, p.Params = "text", "plain", nil
	if inDigest {
		p.MediaType, p.SubType = "message", "rfc822"
	}
	if h.Has("Content-Type") {
		typ, sub, params, ok := ParseContentType(h.Get("Content-Type"))
		if ok {
			p.MediaType, p.SubType, p.Params = typ, sub, params
		} else {
			// RFC 2045 §5.2: syntax errors default to text/plain.
			p.MediaType, p.SubType = "text", "plain"
		}
	}
	if p.MediaType == "multipart" {
		b := p.Params.Get("boundary")
		if b == "" || len(b) > maxBoundaryLen || strings.ContainsAny(b, "\r\n") {
			// Without a boundary the parts cannot be found: show the
			// body as text rather than as an empty multipart.
			p.MediaType, p.SubType, p.Params = "text", "plain", nil
		}
	}
	p.Encoding = "7bit"
	if v := h.Get("Content-Transfer-Encoding"); v != "" {
		l := lexer{s: v}
		l.skipCFWS()
		if tok := l.token(); tok != "" {
			p.Encoding = strings.ToLower(tok)
		}
	}
	p.ID = h.Get("Content-ID")
	p.Description = h.Get("Content-Description")
	p.Location = h.Get("Content-Location")
	p.MD5 = h.Get("Content-MD5")
	if v := h.Get("Content-Disposition"); v != "" {
		p.Disposition, p.DispParams = ParseDisposition(v)
	}
	if v := h.Get("Content-Language"); v != "" {
		p.Language = parseLanguage(v)
	}
}

// identityEncoding reports whether the body is stored as is (RFC 2045
// §6.2), so that an encapsulated message can be parsed in place.
func identityEncoding(enc string) bool {
	return enc == "7bit" || enc == "8bit" || enc == "binary"
}

// ParseContentType parses a Content-Type value (RFC 2045 §5.1) leniently:
// comments are skipped, parameters need not be separated correctly and
// unquoted values may contain tspecials other than ";" (as in the common
// boundary=----=_Part_1). Type and subtype are lowercased. ok is false
// when there is no type/subtype.
func ParseContentType(v string) (typ, sub string, params Params, ok bool) {
	l := lexer{s: v}
	l.skipCFWS()
	typ = l.token()
	l.skipCFWS()
	if typ == "" || !l.consume('/') {
		return "", "", nil, false
	}
	l.skipCFWS()
	sub = l.token()
	if sub == "" {
		return "", "", nil, false
	}
	return strings.ToLower(typ), strings.ToLower(sub), l.params(), true
}

// ParseDisposition parses a Content-Disposition value (RFC 2183): the
// lowercased disposition type and its parameters.
func ParseDisposition(v string) (disp string, params Params) {
	l := lexer{s: v}
	l.skipCFWS()
	disp = strings.ToLower(l.token())
	return disp, l.params()
}

func parseLanguage(v string) []string {
	var tags []string
	l := lexer{s: v}
	for !l.eof() {
		l.skipCFWS()
		if tok := l.token(); tok != "" {
			tags = append(tags, tok)
		}
		l.skipCFWS()
		if !l.consume(',') && !l.eof() {
			l.i++ // junk: skip it
		}
	}
	return tags
}

// lexer scans structured MIME header values (RFC 2045 §5.1, RFC 5322
// §3.2 lexical tokens). It never fails: junk is skipped.
type lexer struct {
	s string
	i int
}

func (l *lexer) eof() bool { return l.i >= len(l.s) }

func (l *lexer) consume(c byte) bool {
	if l.i < len(l.s) && l.s[l.i] == c {
		l.i++
		return true
	}
	return false
}

// skipCFWS skips whitespace and comments; comments nest (RFC 5322 §3.2.2).
func (l *lexer) skipCFWS() {
	depth := 0
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0 && l.i+1 < len(l.s):
			l.i++ // quoted-pair
		case depth == 0 && !isWSPorEOL(c):
			return
		}
		l.i++
	}
}

func isTSpecial(c byte) bool {
	return strings.IndexByte("()<>@,;:\\\"/[]?=", c) >= 0
}

// token reads an RFC 2045 token; 8-bit bytes are accepted.
func (l *lexer) token() string {
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c <= ' ' || c == 0x7f || isTSpecial(c) {
			break
		}
		l.i++
	}
	return l.s[start:l.i]
}

// quoted reads a quoted-string starting at '"' and returns its content
// with quoted-pairs resolved. An unterminated string runs to the end.
func (l *lexer) quoted() string {
	l.i++ // opening quote
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if l.i < len(l.s) {
				b.WriteByte(l.s[l.i])
				l.i++
			}
		case '\r', '\n':
			// folding already removed; a stray break is dropped
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// value reads an unquoted parameter value: up to whitespace, ';', '(' or
// '"'. Other tspecials are tolerated.
func (l *lexer) value() string {
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c == ';' || c == '(' || c == '"' || isWSPorEOL(c) {
			break
		}
		l.i++
	}
	return l.s[start:l.i]
}

func (l *lexer) skipPast(c byte) {
	for l.i < len(l.s) {
		d := l.s[l.i]
		l.i++
		if d == c {
			return
		}
		if d == '"' {
			l.i--
			l.quoted()
		}
	}
}

type rawParam struct{ attr, value string }

// params reads "*(; attribute=value)" and merges RFC 2231 sections.
func (l *lexer) params() Params {
	var raw []rawParam
	for {
		l.skipCFWS()
		if l.eof() {
			break
		}
		if l.consume(';') {
			continue
		}
		attr := l.token()
		l.skipCFWS()
		if attr == "" || !l.consume('=') {
			l.skipPast(';')
			continue
		}
		l.skipCFWS()
		var v string
		if l.i < len(l.s) && l.s[l.i] == '"' {
			v = l.quoted()
		} else {
			v = l.value()
		}
		raw = append(raw, rawParam{attr, v})
	}
	return mergeParams(raw)
}

// mergeParams joins RFC 2231 §3 continuations (name*0, name*1*, ...) and
// decodes §4 extended values. A merged parameter takes the place of its
// first section. Missing or duplicate sections are tolerated: what is
// there is joined in order.
func mergeParams(raw []rawParam) Params {
	if len(raw) == 0 {
		return nil
	}
	type seg struct {
		idx int
		ext bool
		v   string
	}
	type group struct {
		pos  int
		segs []seg
	}
	var out Params
	var groups map[string]*group
	var order []string
	for _, rp := range raw {
		name := strings.ToLower(rp.attr)
		star := strings.IndexByte(name, '*')
		if star <= 0 {
			out = append(out, Param{Name: name, Value: rp.value})
			continue
		}
		base, rest := name[:star], name[star+1:]
		s := seg{v: rp.value}
		if rest == "" {
			s.ext = true
		} else {
			if strings.HasSuffix(rest, "*") {
				s.ext = true
				rest = rest[:len(rest)-1]
			}
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 || len(rest) > 6 || rest[0] == '+' {
				out = append(out, Param{Name: name, Value: rp.value})
				continue
			}
			s.idx = n
		}
		if groups == nil {
			groups = map[string]*group{}
		}
		g := groups[base]
		if g == nil {
			g = &group{pos: len(out)}
			groups[base] = g
			order = append(order, base)
			out = append(out, Param{Name: base})
		}
		g.segs = append(g.segs, s)
	}
	for _, base := range order {
		g := groups[base]
		slices.SortStableFunc(g.segs, func(a, b seg) int { return a.idx - b.idx })
		// drop duplicate sections, keeping the first
		segs := g.segs[:0]
		for i, s := range g.segs {
			if i > 0 && s.idx == g.segs[i-1].idx {
				continue
			}
			segs = append(segs, s)
		}
		anyExt := false
		for _, s := range segs {
			anyExt = anyExt || s.ext
		}
		p := &out[g.pos]
		if !anyExt {
			var b strings.Builder
			for _, s := range segs {
				b.WriteString(s.v)
			}
			p.Value = b.String()
			continue
		}
		var charset, lang string
		var buf []byte
		for i, s := range segs {
			v := s.v
			if s.ext && i == 0 {
				if a := strings.IndexByte(v, '\''); a >= 0 {
					if b := strings.IndexByte(v[a+1:], '\''); b >= 0 {
						charset, lang, v = v[:a], v[a+1:a+1+b], v[a+2+b:]
					}
				}
			}
			if s.ext {
				buf = pctDecode(buf, v)
			} else {
				buf = append(buf, v...)
			}
		}
		if s, ok := decodeCharset(charset, buf); ok {
			p.Value = s
		} else {
			p.Value = string(buf)
		}
		p.Ext = attrChars(charset) + "'" + attrChars(lang) + "'" + pctEncode(buf)
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// pctDecode appends the RFC 2231 §4 percent-decoding of s; a '%' not
// followed by two hex digits is kept.
func pctDecode(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				dst = append(dst, hi<<4|lo)
				i += 2
				continue
			}
		}
		dst = append(dst, s[i])
	}
	return dst
}

// attrChars returns s if it is all RFC 2231 attribute-chars, else "":
// a charset or language name that is not cannot be sent.
func attrChars(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || isTSpecial(c) || c == '*' || c == '\'' || c == '%' {
			return ""
		}
	}
	return s
}

// pctEncode encodes b with RFC 2231 §7 attribute-char left alone.
func pctEncode(b []byte) string {
	const hexdig = "0123456789ABCDEF"
	var sb strings.Builder
	for _, c := range b {
		if c > ' ' && c < 0x7f && !isTSpecial(c) && c != '*' && c != '\'' && c != '%' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexdig[c>>4])
		sb.WriteByte(hexdig[c&15])
	}
	return sb.String()
}
