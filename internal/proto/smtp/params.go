package smtp

import (
	"fmt"
	"strconv"
	"strings"
)

// DecodeXtext decodes an RFC 3461 §4 xtext ("+" followed by two upper-case
// hex digits stands for one octet; other characters are "!".."~" except
// "+" and "=").
func DecodeXtext(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) {
				return "", fmt.Errorf("truncated xtext escape: %w", ErrSyntax)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil || strings.ToUpper(s[i+1:i+3]) != s[i+1:i+3] {
				return "", fmt.Errorf("bad xtext escape %q: %w", s[i:i+3], ErrSyntax)
			}
			b.WriteByte(byte(v))
			i += 2
		case c < '!' || c > '~' || c == '=':
			return "", fmt.Errorf("bad xtext character %q: %w", c, ErrSyntax)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// EncodeXtext encodes s as RFC 3461 §4 xtext.
func EncodeXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			fmt.Fprintf(&b, "+%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ParseNotify checks a DSN NOTIFY value (RFC 3461 §4.1): "NEVER" alone, or
// a comma list of SUCCESS, FAILURE and DELAY. It returns the value in
// upper case.
func ParseNotify(v string) (string, error) {
	v = strings.ToUpper(v)
	if v == "NEVER" {
		return v, nil
	}
	seen := map[string]bool{}
	for _, k := range strings.Split(v, ",") {
		switch k {
		case "SUCCESS", "FAILURE", "DELAY":
			if seen[k] {
				return "", fmt.Errorf("NOTIFY repeats %s: %w", k, ErrSyntax)
			}
			seen[k] = true
		default:
			return "", fmt.Errorf("bad NOTIFY value %q: %w", k, ErrSyntax)
		}
	}
	return v, nil
}

// ParseORcpt checks a DSN ORCPT value (RFC 3461 §4.2: addr-type ";" xtext)
// and returns it as "addr-type;decoded-address".
func ParseORcpt(v string) (string, error) {
	typ, addr, ok := strings.Cut(v, ";")
	if !ok || typ == "" || addr == "" {
		return "", fmt.Errorf("bad ORCPT %q: %w", v, ErrSyntax)
	}
	dec, err := DecodeXtext(addr)
	if err != nil {
		return "", err
	}
	if len(dec) > MaxPathLen {
		return "", fmt.Errorf("ORCPT too long: %w", ErrSyntax)
	}
	return typ + ";" + dec, nil
}

// MaxEnvID bounds a DSN ENVID (RFC 3461 §4.4 says 100 characters).
const MaxEnvID = 100

// ParseBDAT parses the argument of BDAT (RFC 3030 §2): a chunk size and an
// optional LAST.
func ParseBDAT(arg string) (size int64, last bool, err error) {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 {
		return 0, false, fmt.Errorf("BDAT needs a size: %w", ErrSyntax)
	}
	for _, c := range f[0] {
		if c < '0' || c > '9' {
			return 0, false, fmt.Errorf("bad BDAT size: %w", ErrSyntax)
		}
	}
	size, err = strconv.ParseInt(f[0], 10, 64)
	if err != nil || size < 0 {
		return 0, false, fmt.Errorf("bad BDAT size: %w", ErrSyntax)
	}
	if len(f) == 2 {
		if !strings.EqualFold(f[1], "LAST") {
			return 0, false, fmt.Errorf("bad BDAT argument %q: %w", f[1], ErrSyntax)
		}
		last = true
	}
	return size, last, nil
}

// LineEndings checks that data written to it uses CRLF line endings only
// (no bare CR or LF), across writes. BDAT data is counted, not
// dot-terminated, but a bare line ending in it is refused as in DATA so
// that no message with ambiguous line ends is ever relayed.
type LineEndings struct {
	cr  bool // the previous byte was CR
	Bad bool // a bare CR or LF was seen
}

func (l *LineEndings) Write(p []byte) (int, error) {
	for _, c := range p {
		switch {
		case l.cr && c != '\n':
			l.Bad = true
		case !l.cr && c == '\n':
			l.Bad = true
		}
		l.cr = c == '\r'
	}
	return len(p), nil
}

// Done reports a bad ending at the end of data (a final bare CR).
func (l *LineEndings) Done() bool { return !l.Bad && !l.cr }
