package sieve

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Pos is a position in a script: 1-based line and column (in characters).
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a parse, validation or run error at a position in the script.
// Err, when set, is a sentinel such as ErrBudget for errors.Is.
type Error struct {
	Pos Pos
	Msg string
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("line %d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg) }

func (e *Error) Unwrap() error { return e.Err }

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tTag
	tNumber
	tString
	tPunct // one of [ ] ( ) , ; { }
)

type token struct {
	kind tokKind
	pos  Pos
	text string // identifier/tag name (lower case), string value, punct
	num  uint64
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of script"
	case tIdent:
		return fmt.Sprintf("identifier %q", t.text)
	case tTag:
		return fmt.Sprintf("tag :%s", t.text)
	case tNumber:
		return fmt.Sprintf("number %d", t.num)
	case tString:
		return "string"
	}
	return fmt.Sprintf("%q", t.text)
}

// lexer turns a script into tokens (RFC 5228 §8.1).
type lexer struct {
	src       []byte
	off       int
	line, col int
	maxStr    int
}

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

func (l *lexer) errf(p Pos, format string, a ...any) error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, a...)}
}

// advance moves over n bytes, keeping line and column.
func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); i++ {
		b := l.src[l.off]
		l.off++
		if b == '\n' {
			l.line++
			l.col = 1
		} else if b&0xC0 != 0x80 {
			l.col++
		}
	}
}

func isIdentStart(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

func isIdentChar(b byte) bool { return isIdentStart(b) || (b >= '0' && b <= '9') }

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() error {
	for l.off < len(l.src) {
		b := l.src[l.off]
		switch {
		case b == ' ' || b == '\t' || b == '\r' || b == '\n':
			l.advance(1)
		case b == '#':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance(1)
			}
		case b == '/' && l.off+1 < len(l.src) && l.src[l.off+1] == '*':
			p := l.pos()
			end := strings.Index(string(l.src[l.off+2:]), "*/")
			if end < 0 {
				return l.errf(p, "comment opened with /* is never closed with */")
			}
			l.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) next() (token, error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tEOF, pos: p}, nil
	}
	b := l.src[l.off]
	switch {
	case strings.IndexByte("[](),;{}", b) >= 0:
		l.advance(1)
		return token{kind: tPunct, pos: p, text: string(b)}, nil
	case b == ':':
		l.advance(1)
		if l.off >= len(l.src) || !isIdentStart(l.src[l.off]) {
			return token{}, l.errf(p, "a tag is a colon followed by a name, like :is")
		}
		name := l.ident()
		return token{kind: tTag, pos: p, text: name}, nil
	case isIdentStart(b):
		name := l.ident()
		if name == "text" && l.off < len(l.src) && l.src[l.off] == ':' {
			l.advance(1)
			s, err := l.multiline(p)
			return token{kind: tString, pos: p, text: s}, err
		}
		return token{kind: tIdent, pos: p, text: name}, nil
	case b >= '0' && b <= '9':
		return l.number(p)
	case b == '"':
		s, err := l.quoted(p)
		return token{kind: tString, pos: p, text: s}, err
	}
	r, _ := utf8.DecodeRune(l.src[l.off:])
	return token{}, l.errf(p, "unexpected character %q", r)
}

func (l *lexer) ident() string {
	start := l.off
	for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
		l.advance(1)
	}
	return strings.ToLower(string(l.src[start:l.off]))
}

// number reads a number with an optional K, M or G quantifier
// (RFC 5228 §2.4.1).
func (l *lexer) number(p Pos) (token, error) {
	var n uint64
	const max = 1<<63 - 1
	for l.off < len(l.src) && l.src[l.off] >= '0' && l.src[l.off] <= '9' {
		d := uint64(l.src[l.off] - '0')
		if n > (max-d)/10 {
			return token{}, l.errf(p, "number is too large")
		}
		n = n*10 + d
		l.advance(1)
	}
	if l.off < len(l.src) {
		shift := 0
		switch l.src[l.off] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		}
		if shift > 0 {
			if n > max>>shift {
				return token{}, l.errf(p, "number is too large")
			}
			n <<= shift
			l.advance(1)
		}
	}
	if l.off < len(l.src) && isIdentChar(l.src[l.off]) {
		return token{}, l.errf(l.pos(), "a number may only end in K, M or G")
	}
	return token{kind: tNumber, pos: p, num: n}, nil
}

func (l *lexer) quoted(p Pos) (string, error) {
	l.advance(1)
	var sb strings.Builder
	for {
		if l.off >= len(l.src) {
			return "", l.errf(p, "string is never closed with a double quote")
		}
		b := l.src[l.off]
		if b == '"' {
			l.advance(1)
			return sb.String(), nil
		}
		if b == '\\' {
			l.advance(1)
			if l.off >= len(l.src) {
				continue
			}
			b = l.src[l.off]
		}
		sb.WriteByte(b)
		l.advance(1)
		if sb.Len() > l.maxStr {
			return "", l.errf(p, "string is longer than the limit of %d bytes", l.maxStr)
		}
	}
}

// multiline reads a text: string up to a line holding a single dot
// (RFC 5228 §2.4.2), undoing dot-stuffing. Line ends are kept as written.
func (l *lexer) multiline(p Pos) (string, error) {
	// The rest of the "text:" line may hold white space and a comment.
	for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t') {
		l.advance(1)
	}
	if l.off < len(l.src) && l.src[l.off] == '#' {
		for l.off < len(l.src) && l.src[l.off] != '\n' {
			l.advance(1)
		}
	}
	if l.off < len(l.src) && l.src[l.off] == '\r' {
		l.advance(1)
	}
	if l.off >= len(l.src) || l.src[l.off] != '\n' {
		return "", l.errf(p, "text: must be followed by a line break")
	}
	l.advance(1)
	var sb strings.Builder
	for {
		if l.off >= len(l.src) {
			return "", l.errf(p, "text: string is never ended by a line holding only \".\"")
		}
		end := l.off
		for end < len(l.src) && l.src[end] != '\n' {
			end++
		}
		if end < len(l.src) {
			end++
		}
		line := string(l.src[l.off:end])
		l.advance(end - l.off)
		body := strings.TrimRight(line, "\r\n")
		if body == "." {
			return sb.String(), nil
		}
		if strings.HasPrefix(line, "..") {
			line = line[1:]
		}
		sb.WriteString(line)
		if sb.Len() > l.maxStr {
			return "", l.errf(p, "string is longer than the limit of %d bytes", l.maxStr)
		}
	}
}
