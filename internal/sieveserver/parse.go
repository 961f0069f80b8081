package sieveserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits bound what one command may cost. Zero fields take defaults.
type Limits struct {
	MaxLine    int // one line without literals; default 8 KiB
	MaxLiteral int // one literal; default 1 MiB
	MaxArgs    int // arguments of one command; default 8
}

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = 8 << 10
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = 1 << 20
	}
	if l.MaxArgs <= 0 {
		l.MaxArgs = 8
	}
	return l
}

// ArgKind tells an atom from a string (quoted or literal).
type ArgKind uint8

const (
	Atom ArgKind = iota
	String
)

// Arg is one argument of a command line.
type Arg struct {
	Kind  ArgKind
	Value string
}

// Command is a parsed command: Name (upper-cased atom) and its arguments.
type Command struct {
	Name string
	Args []Arg
}

// Parse errors. A *SyntaxError consumed the whole line and the session
// goes on; ErrLineTooLong and *LiteralTooBigError leave the stream in a
// state the caller must repair (drain or close).
var ErrLineTooLong = errors.New("line too long")

// SyntaxError is a malformed command line.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

// LiteralTooBigError is a literal over MaxLiteral. Sync is false for a
// non-synchronizing literal {n+}, whose N bytes the client sends anyway.
type LiteralTooBigError struct {
	N    int64
	Sync bool
}

func (e *LiteralTooBigError) Error() string {
	return fmt.Sprintf("literal of %d bytes is too big", e.N)
}

// readLine reads one CRLF- (or LF-) terminated line without its ending.
func readLine(r *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(b)+len(chunk) > max+2 {
			// Skip the rest of the line so the session can go on.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return "", err
			}
			return "", ErrLineTooLong
		}
		b = append(b, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(b) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// ReadArgs reads one logical line (a physical line plus the literals it
// announces and the lines that follow them) as a list of arguments.
func ReadArgs(r *bufio.Reader, lim Limits) ([]Arg, error) {
	lim = lim.withDefaults()
	var args []Arg
	var synErr error
	for {
		line, err := readLine(r, lim.MaxLine)
		if err != nil {
			return nil, err
		}
		i := 0
		for i < len(line) {
			c := line[i]
			switch {
			case c == ' ':
				i++
				continue
			case c == '"':
				s, n, ok := quoted(line[i:])
				if !ok {
					synErr = &SyntaxError{"unterminated or invalid quoted string"}
					i = len(line)
					continue
				}
				args = append(args, Arg{Kind: String, Value: s})
				i += n
			case c == '{':
				n, sync, ok := literalHeader(line[i:])
				if !ok {
					synErr = &SyntaxError{"invalid literal"}
					i = len(line)
					continue
				}
				if n > int64(lim.MaxLiteral) {
					return nil, &LiteralTooBigError{N: n, Sync: sync}
				}
				buf := make([]byte, n)
				if _, err := io.ReadFull(r, buf); err != nil {
					return nil, err
				}
				args = append(args, Arg{Kind: String, Value: string(buf)})
				i = len(line) + 1 // continue with the next physical line
			default:
				j := i
				for j < len(line) && line[j] != ' ' && line[j] != '"' && line[j] != '{' {
					if line[j] < 0x21 || line[j] > 0x7e {
						synErr = &SyntaxError{"invalid character in atom"}
					}
					j++
				}
				args = append(args, Arg{Kind: Atom, Value: line[i:j]})
				i = j
			}
			if len(args) > lim.MaxArgs {
				synErr = &SyntaxError{"too many arguments"}
			}
		}
		if synErr != nil && i == len(line) {
			// The line is bad, but a literal it announces still follows:
			// skip it so that its bytes are not taken for commands.
			if k := strings.LastIndexByte(line, '{'); k >= 0 {
				if n, sync, ok := literalHeader(line[k:]); ok {
					if n > int64(lim.MaxLiteral) {
						return nil, &LiteralTooBigError{N: n, Sync: sync}
					}
					if _, err := io.CopyN(io.Discard, r, n); err != nil {
						return nil, err
					}
					continue
				}
			}
		}
		if i == len(line)+1 {
			if len(args) > lim.MaxArgs {
				// Bound the work a client can make us do with literals.
				return nil, &SyntaxError{"too many arguments"}
			}
			continue // a literal ended this physical line
		}
		break
	}
	if synErr != nil {
		return nil, synErr
	}
	return args, nil
}

// quoted parses a quoted string at the start of s (RFC 5804 §4: "\" and
// "\\" are the only escapes, no CR or LF); it returns the value and the
// bytes consumed.
func quoted(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, true
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", 0, false
			}
			i++
			b.WriteByte(s[i])
		case 0, '\r', '\n':
			return "", 0, false
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// literalHeader parses "{n}" or "{n+}" that must end the line.
func literalHeader(s string) (n int64, sync, ok bool) {
	if len(s) < 3 || s[len(s)-1] != '}' {
		return 0, false, false
	}
	body := s[1 : len(s)-1]
	sync = true
	if strings.HasSuffix(body, "+") {
		body, sync = body[:len(body)-1], false
	}
	if body == "" || len(body) > 10 {
		return 0, false, false
	}
	for _, c := range body {
		if c < '0' || c > '9' {
			return 0, false, false
		}
	}
	v, err := strconv.ParseInt(body, 10, 64)
	if err != nil {
		return 0, false, false
	}
	return v, sync, true
}

// ReadCommand reads a command.
func ReadCommand(r *bufio.Reader, lim Limits) (*Command, error) {
	args, err := ReadArgs(r, lim)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, &SyntaxError{"empty command"}
	}
	if args[0].Kind != Atom {
		return nil, &SyntaxError{"a command starts with its name"}
	}
	return &Command{Name: strings.ToUpper(args[0].Value), Args: args[1:]}, nil
}

// appendString writes s as a quoted string when it can be one, else as a
// literal (RFC 5804 §4).
func appendString(b []byte, s string) []byte {
	if len(s) <= 1024 && !strings.ContainsAny(s, "\r\n\x00") {
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
		}
		return append(b, '"')
	}
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// Format writes a command line back (for the parse → format → parse
// check of the fuzz target).
func (c *Command) Format() []byte {
	b := []byte(c.Name)
	for _, a := range c.Args {
		b = append(b, ' ')
		if a.Kind == Atom {
			b = append(b, a.Value...)
			continue
		}
		if strings.ContainsAny(a.Value, "\r\n\x00") || len(a.Value) > 1024 {
			b = append(b, '{')
			b = strconv.AppendInt(b, int64(len(a.Value)), 10)
			b = append(b, "+}\r\n"...)
			b = append(b, a.Value...)
			continue
		}
		b = appendString(b, a.Value)
	}
	return append(b, "\r\n"...)
}
