package mime

import (
	"strconv"
	"unicode/utf8"
)

// IMAP value trees. BodyStructure and Env.List describe IMAP data as
// trees of these Go values, which AppendValue (or the IMAP server's own
// encoder) writes out:
//
//	nil        NIL
//	string     a string: quoted when possible, else a literal
//	int64      a number
//	[]any      a parenthesised list, elements separated by one space
//	Adjacent   its elements written back to back, with no space and no
//	           parentheses: the "1*body" of a multipart and the
//	           "1*address" of an address list
//
// No other types occur.

// Adjacent is a run of lists written without separators.
type Adjacent []any

// AppendValue appends the IMAP form of v to dst. Strings that can be
// quoted are quoted; others (CR, LF, 8-bit bytes unless utf8 is set and
// the string is valid UTF-8, or very long ones) become literals, which
// IMAP allows anywhere a string is. NUL bytes, which no IMAP string may
// hold, are dropped. With utf8 set (IMAP4rev2 or UTF8=ACCEPT), UTF-8 is
// quoted as is. Any other Go type is a programming error and panics;
// BodyStructure and Env.List never produce one.
func AppendValue(dst []byte, v any, utf8 bool) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "NIL"...)
	case string:
		return appendString(dst, v, utf8)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case int:
		return strconv.AppendInt(dst, int64(v), 10)
	case []any:
		dst = append(dst, '(')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = AppendValue(dst, e, utf8)
		}
		return append(dst, ')')
	case Adjacent:
		for _, e := range v {
			dst = AppendValue(dst, e, utf8)
		}
		return dst
	}
	panic("mime: AppendValue: unexpected type")
}

const maxQuoted = 1024

func appendString(dst []byte, s string, allowUTF8 bool) []byte {
	quotable := len(s) <= maxQuoted
	hasNUL := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			hasNUL = true
			quotable = false
		case c == '\r' || c == '\n':
			quotable = false
		case c >= 0x80 && !allowUTF8:
			quotable = false
		}
	}
	if quotable && allowUTF8 && !utf8.ValidString(s) {
		quotable = false
	}
	if quotable {
		dst = append(dst, '"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, s[i])
		}
		return append(dst, '"')
	}
	n := len(s)
	if hasNUL {
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				n--
			}
		}
	}
	dst = append(dst, '{')
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, "}\r\n"...)
	for i := 0; i < len(s); i++ {
		if s[i] != 0 {
			dst = append(dst, s[i])
		}
	}
	return dst
}
