// Package contentline is the content-line format that iCalendar (RFC 5545
// §3.1) and vCard (RFC 5545 §3.1, RFC 6350 §3.2) share: folding, parameters, escaping.
// ical and vcard build their component and card trees on it.
package contentline

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Param is one property parameter (RFC 5545 §3.2, RFC 6350 §5). Values are unquoted,
// with the caret escapes of RFC 6868 decoded.
type Param struct {
	Name   string // upper case
	Values []string
}

// Property is one content line (RFC 5545 §3.1, RFC 6350 §3.2).
type Property struct {
	// Group is the group prefix ("item1" of "item1.EMAIL"), as written;
	// "" for none (RFC 6350 §3.3).
	Group  string
	Name   string // upper case
	Params []Param
	// Value is the value as written, escapes included (RFC 6350
	// §3.4); see Text and SetText.
	Value string
}

// Param returns the first value of the named parameter, or "".
func (p *Property) Param(name string) string {
	for _, pa := range p.Params {
		if strings.EqualFold(pa.Name, name) && len(pa.Values) > 0 {
			return pa.Values[0]
		}
	}
	return ""
}

// ParamValues returns all values of the named parameters.
func (p *Property) ParamValues(name string) []string {
	var vs []string
	for _, pa := range p.Params {
		if strings.EqualFold(pa.Name, name) {
			vs = append(vs, pa.Values...)
		}
	}
	return vs
}

// SetParam replaces the named parameter by one with the given values; no
// values removes it.
func (p *Property) SetParam(name string, values ...string) {
	name = strings.ToUpper(name)
	out := p.Params[:0]
	for _, pa := range p.Params {
		if pa.Name != name {
			out = append(out, pa)
		}
	}
	p.Params = out
	if len(values) > 0 {
		p.Params = append(p.Params, Param{Name: name, Values: values})
	}
}

// ErrSyntax is wrapped by every syntax error.
var ErrSyntax = errors.New("syntax error")

// Limits bound what one input may make the parser hold.
type Limits struct {
	MaxBytes, MaxLines, MaxLineBytes, MaxParams int
}

// Names of the limits this package enforces, as found in LimitError.Limit.
const (
	LimitBytes     = "bytes"
	LimitLines     = "lines"
	LimitLineBytes = "line bytes"
	LimitParams    = "parameters"
)

// LimitError reports an exceeded limit; ical and vcard use the same type
// for their own limits (components, cards, instances, …).
type LimitError struct {
	Limit string
	Max   int
}

func (e *LimitError) Error() string { return fmt.Sprintf("%s limit %d exceeded", e.Limit, e.Max) }

// Unfold splits b into content lines, joining folded lines (RFC 6350
// §3.2). Bare LF is accepted as a line break, blank lines are skipped.
func Unfold(b []byte, lim Limits, fn func(line string) error) error {
	if len(b) > lim.MaxBytes {
		return &LimitError{Limit: LimitBytes, Max: lim.MaxBytes}
	}
	// A UTF-8 byte order mark before the first line (Windows exports,
	// CalDAVTester's nonascii.xml) is not part of the data (RFC 3629 §6).
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var cur []byte
	have := false
	lines := 0
	emit := func() error {
		lines++
		if lines > lim.MaxLines {
			return &LimitError{Limit: LimitLines, Max: lim.MaxLines}
		}
		return fn(string(cur))
	}
	for len(b) > 0 {
		var phys []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			phys, b = b[:i], b[i+1:]
		} else {
			phys, b = b, nil
		}
		phys = bytes.TrimSuffix(phys, []byte("\r"))
		if len(phys) > 0 && (phys[0] == ' ' || phys[0] == '\t') {
			if !have {
				return fmt.Errorf("%w: continuation line without a content line", ErrSyntax)
			}
			cur = append(cur, phys[1:]...)
			if len(cur) > lim.MaxLineBytes {
				return &LimitError{Limit: LimitLineBytes, Max: lim.MaxLineBytes}
			}
			continue
		}
		if have {
			if err := emit(); err != nil {
				return err
			}
		}
		have = len(phys) > 0
		cur = append(cur[:0], phys...)
		if len(cur) > lim.MaxLineBytes {
			return &LimitError{Limit: LimitLineBytes, Max: lim.MaxLineBytes}
		}
	}
	if have {
		return emit()
	}
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

func isCtl(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// ParseLine parses one unfolded content line (RFC 5545 §3.1, RFC 6350 §3.2):
// name *(";" param) ":" value. With bareParams, a parameter without "="
// is read as a TYPE value (vCard 2.1 style, still common in vCard 3.0).
// With groups, a "group." prefix is allowed (vCard; iCalendar has none).
func ParseLine(s string, lim Limits, bareParams, groups bool) (*Property, error) {
	i := 0
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == 0 {
		return nil, fmt.Errorf("%w: missing property name", ErrSyntax)
	}
	p := &Property{Name: strings.ToUpper(s[:i])}
	if groups && i < len(s) && s[i] == '.' {
		p.Group = s[:i]
		i++
		j := i
		for i < len(s) && isNameByte(s[i]) {
			i++
		}
		if i == j {
			return nil, fmt.Errorf("%w: missing property name after group %s", ErrSyntax, p.Group)
		}
		p.Name = strings.ToUpper(s[j:i])
	}
	for i < len(s) && s[i] == ';' {
		i++
		j := i
		for i < len(s) && isNameByte(s[i]) {
			i++
		}
		if i == j {
			return nil, fmt.Errorf("%w: missing parameter name in %s", ErrSyntax, p.Name)
		}
		pa := Param{Name: strings.ToUpper(s[j:i])}
		if len(p.Params) >= lim.MaxParams {
			return nil, &LimitError{Limit: LimitParams, Max: lim.MaxParams}
		}
		if i >= len(s) || s[i] != '=' {
			if !bareParams {
				return nil, fmt.Errorf("%w: parameter %s without value", ErrSyntax, pa.Name)
			}
			pa.Values = []string{pa.Name}
			pa.Name = "TYPE"
			p.Params = append(p.Params, pa)
			continue
		}
		i++
		for {
			var v string
			if i < len(s) && s[i] == '"' {
				k := strings.IndexByte(s[i+1:], '"')
				if k < 0 {
					return nil, fmt.Errorf("%w: unterminated quoted parameter value", ErrSyntax)
				}
				v = s[i+1 : i+1+k]
				i += k + 2
			} else {
				j := i
				for i < len(s) && !strings.ContainsRune(";:,\"", rune(s[i])) {
					i++
				}
				v = s[j:i]
			}
			for k := 0; k < len(v); k++ {
				if isCtl(v[k]) {
					return nil, fmt.Errorf("%w: control character in parameter %s", ErrSyntax, pa.Name)
				}
			}
			pa.Values = append(pa.Values, decodeCaret(v))
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			break
		}
		p.Params = append(p.Params, pa)
	}
	if i >= len(s) || s[i] != ':' {
		return nil, fmt.Errorf("%w: missing ':' after %s", ErrSyntax, p.Name)
	}
	v := s[i+1:]
	for k := 0; k < len(v); k++ {
		if isCtl(v[k]) {
			return nil, fmt.Errorf("%w: control character in %s value", ErrSyntax, p.Name)
		}
	}
	p.Value = v
	return p, nil
}

// decodeCaret undoes RFC 6868 parameter value encoding.
func decodeCaret(v string) string {
	if !strings.Contains(v, "^") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '^' && i+1 < len(v) {
			switch v[i+1] {
			case 'n', 'N':
				b.WriteByte('\n')
				i++
				continue
			case '^':
				b.WriteByte('^')
				i++
				continue
			case '\'':
				b.WriteByte('"')
				i++
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// appendParamValue writes a parameter value, quoted when it holds a
// delimiter and caret-encoded (RFC 6868) where needed.
func appendParamValue(b []byte, v string) []byte {
	quote := strings.ContainsAny(v, ";:,")
	if quote {
		b = append(b, '"')
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '^':
			b = append(b, '^', '^')
		case '\n':
			b = append(b, '^', 'n')
		case '"':
			b = append(b, '^', '\'')
		default:
			b = append(b, c)
		}
	}
	if quote {
		b = append(b, '"')
	}
	return b
}

// AppendLine formats a property as one unfolded content line.
func AppendLine(b []byte, p *Property) ([]byte, error) {
	if !ValidName(p.Name) {
		return b, fmt.Errorf("invalid property name %q", p.Name)
	}
	if p.Group != "" {
		if !ValidName(p.Group) {
			return b, fmt.Errorf("invalid group %q", p.Group)
		}
		b = append(b, p.Group...)
		b = append(b, '.')
	}
	b = append(b, strings.ToUpper(p.Name)...)
	for _, pa := range p.Params {
		if !ValidName(pa.Name) {
			return b, fmt.Errorf("invalid parameter name %q", pa.Name)
		}
		b = append(b, ';')
		b = append(b, strings.ToUpper(pa.Name)...)
		b = append(b, '=')
		for k, v := range pa.Values {
			if k > 0 {
				b = append(b, ',')
			}
			for i := 0; i < len(v); i++ {
				if v[i] != '\n' && isCtl(v[i]) {
					return b, fmt.Errorf("control character in parameter %s", pa.Name)
				}
			}
			b = appendParamValue(b, v)
		}
	}
	b = append(b, ':')
	for i := 0; i < len(p.Value); i++ {
		if isCtl(p.Value[i]) {
			return b, fmt.Errorf("control character in %s value", p.Name)
		}
	}
	return append(b, p.Value...), nil
}

// AppendFolded appends line folded at 75 octets (RFC 5545 §3.1, RFC 6350 §3.2), never
// inside a UTF-8 sequence, and a CRLF.
func AppendFolded(b []byte, line []byte) []byte {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 1 && line[cut]&0xC0 == 0x80 {
			cut--
		}
		b = append(b, line[:cut]...)
		b = append(b, "\r\n "...)
		line = line[cut:]
		limit = 74
	}
	b = append(b, line...)
	return append(b, "\r\n"...)
}

// Text returns the value of a TEXT property with escapes undone (RFC 6350
// §3.4).
func (p *Property) Text() string { return unescapeText(p.Value) }

// SetText sets the value of a TEXT property, escaping as needed.
func (p *Property) SetText(s string) { p.Value = escapeText(s) }

// TextList splits a multi-valued TEXT property (CATEGORIES, RESOURCES)
// at unescaped commas and unescapes each value.
func (p *Property) TextList() []string {
	var out []string
	v := p.Value
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case ',':
			out = append(out, unescapeText(v[start:i]))
			start = i + 1
		}
	}
	return append(out, unescapeText(v[start:]))
}

func unescapeText(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			case '\\', ';', ',', ':':
				b.WriteByte(v[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(v[i])
			}
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func escapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ';', ',':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteString(`\n`)
		default:
			if isCtl(c) {
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}
