package mime

import (
	"fmt"
	"strings"
	"testing"
)

// crlf turns LF line endings into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// shape renders a tree compactly: type/subtype, then the children in
// [], the encapsulated message in <>, or the body of a leaf quoted.
func shape(p *Part, msg []byte) string {
	var b strings.Builder
	var rec func(p *Part)
	rec = func(p *Part) {
		b.WriteString(p.MediaType + "/" + p.SubType)
		switch {
		case len(p.Children) > 0:
			b.WriteByte('[')
			for i, c := range p.Children {
				if i > 0 {
					b.WriteByte(' ')
				}
				rec(c)
			}
			b.WriteByte(']')
		case p.Message != nil:
			b.WriteByte('<')
			rec(p.Message)
			b.WriteByte('>')
		default:
			fmt.Fprintf(&b, "%q", msg[p.BodyStart:p.BodyEnd])
		}
	}
	rec(p)
	return b.String()
}

// checkTree verifies the offset invariants of the package documentation
// and returns the number of parts. It does not recurse.
func checkTree(t testing.TB, root *Part, size int64) int {
	t.Helper()
	type item struct {
		p          *Part
		start, end int64 // bounds from the parent
	}
	n := 0
	stack := []item{{root, 0, size}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := it.p
		n++
		if !(it.start <= p.HeaderStart && p.HeaderStart <= p.HeaderEnd && p.HeaderEnd <= p.BodyStart &&
			p.BodyStart <= p.BodyEnd && p.BodyEnd <= it.end) {
			t.Fatalf("part %s/%s offsets %d %d %d %d outside [%d,%d]", p.MediaType, p.SubType,
				p.HeaderStart, p.HeaderEnd, p.BodyStart, p.BodyEnd, it.start, it.end)
		}
		if int64(len(p.Header.Raw())) != p.HeaderEnd-p.HeaderStart {
			t.Fatalf("header raw %d bytes, range %d", len(p.Header.Raw()), p.HeaderEnd-p.HeaderStart)
		}
		if p.Lines < 0 || p.Lines > p.Size() {
			t.Fatalf("lines %d for %d bytes", p.Lines, p.Size())
		}
		if p.MediaType == "" || p.SubType == "" || p.Encoding == "" {
			t.Fatalf("empty type or encoding: %q/%q %q", p.MediaType, p.SubType, p.Encoding)
		}
		if p.Message != nil {
			if len(p.Children) > 0 {
				t.Fatal("part has both children and a message")
			}
			m := p.Message
			if m.HeaderStart != p.BodyStart || m.BodyEnd != p.BodyEnd {
				t.Fatalf("message [%d,%d) does not span its part's body [%d,%d)", m.HeaderStart, m.BodyEnd, p.BodyStart, p.BodyEnd)
			}
			stack = append(stack, item{m, p.BodyStart, p.BodyEnd})
		}
		prev := p.BodyStart
		for _, c := range p.Children {
			if c.HeaderStart < prev {
				t.Fatalf("child at %d overlaps its sibling ending at %d", c.HeaderStart, prev)
			}
			prev = c.BodyEnd
			stack = append(stack, item{c, p.BodyStart, p.BodyEnd})
		}
	}
	return n
}

func mustParse(t testing.TB, msg string) *Part {
	t.Helper()
	p, err := Parse([]byte(msg), Limits{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkTree(t, p, int64(len(msg)))
	return p
}

// dumpTree renders every field of every part, for comparing two parses.
func dumpTree(root *Part) string {
	var b strings.Builder
	root.Walk(func(p *Part) bool {
		q := *p
		q.Header, q.Children, q.Message = Header{}, nil, nil
		fmt.Fprintf(&b, "%+v children=%d message=%v header=%q fields=%d\n", q, len(p.Children), p.Message != nil, p.Header.Raw(), p.Header.Len())
		return true
	})
	return b.String()
}

// canonical splices Adjacent runs into their list and drops NULs from
// strings, giving the tree that parseValue reads back.
func canonical(v any) any {
	switch v := v.(type) {
	case string:
		return strings.ReplaceAll(v, "\x00", "")
	case int:
		return int64(v)
	case []any:
		out := []any{}
		for _, e := range v {
			if adj, ok := e.(Adjacent); ok {
				for _, a := range adj {
					out = append(out, canonical(a))
				}
				continue
			}
			out = append(out, canonical(e))
		}
		return out
	}
	return v
}

// parseValue reads one IMAP value as AppendValue writes it.
func parseValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("unexpected end")
	}
	switch c := b[0]; {
	case strings.HasPrefix(string(b), "NIL"):
		return nil, b[3:], nil
	case c == '"':
		var s []byte
		for i := 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
				if i == len(b) {
					return nil, nil, fmt.Errorf("bad escape")
				}
				s = append(s, b[i])
			case '"':
				return string(s), b[i+1:], nil
			case '\r', '\n', 0:
				return nil, nil, fmt.Errorf("CR, LF or NUL in quoted string")
			default:
				s = append(s, b[i])
			}
		}
		return nil, nil, fmt.Errorf("unterminated string")
	case c == '{':
		end := strings.Index(string(b), "}\r\n")
		if end < 0 {
			return nil, nil, fmt.Errorf("bad literal")
		}
		var n int
		if _, err := fmt.Sscanf(string(b[1:end]), "%d", &n); err != nil || end+3+n > len(b) {
			return nil, nil, fmt.Errorf("bad literal length")
		}
		return string(b[end+3 : end+3+n]), b[end+3+n:], nil
	case c == '-' || c >= '0' && c <= '9':
		var n int64
		i := 0
		neg := c == '-'
		if neg {
			i++
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			n = n*10 + int64(b[i]-'0')
		}
		if neg {
			n = -n
		}
		return n, b[i:], nil
	case c == '(':
		out := []any{}
		b = b[1:]
		for {
			if len(b) > 0 && b[0] == ')' {
				return out, b[1:], nil
			}
			if len(out) > 0 {
				if len(b) > 0 && b[0] == ' ' {
					b = b[1:]
				} else if len(b) == 0 || b[0] != '(' {
					return nil, nil, fmt.Errorf("missing separator")
				}
			}
			v, rest, err := parseValue(b)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, v)
			b = rest
		}
	}
	return nil, nil, fmt.Errorf("unexpected %q", b[0])
}

// roundTrip writes v and reads it back.
func roundTrip(t testing.TB, v any, utf8 bool) {
	t.Helper()
	w := AppendValue(nil, v, utf8)
	got, rest, err := parseValue(w)
	if err != nil || len(rest) != 0 {
		t.Fatalf("cannot read back %q: %v (rest %q)", w, err, rest)
	}
	if want := canonical(v); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("round trip\n got %v\nwant %v", got, want)
	}
}
