package imap

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value encoders shared by Command.String and Writer. They append to a
// byte slice; literals ("{n}\r\n" + data) are emitted inline.

// maxQuoted is the longest string sent quoted; longer ones go as literals
// so that lines stay short.
const maxQuoted = 1000

// needsLiteral reports whether s cannot be sent as a quoted string: CR,
// LF or NUL anywhere, 8-bit data unless utf8 is on and s is valid UTF-8
// (RFC 9051 §4.3, RFC 6855 §3), or longer than maxQuoted.
func needsLiteral(s string, utf8Mode bool) bool {
	if len(s) > maxQuoted {
		return true
	}
	eight := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n':
			return true
		case c >= 0x80:
			eight = true
		}
	}
	return eight && (!utf8Mode || !utf8.ValidString(s))
}

// isAtom reports whether s can be sent as an atom.
func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return false
		}
	}
	return true
}

// isAStringAtom reports whether s can be sent as 1*ASTRING-CHAR.
func isAStringAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAStringChar(s[i]) {
			return false
		}
	}
	return true
}

// AppendString appends s as a quoted string, or as a literal when it has
// to be (see needsLiteral). utf8 says whether the peer accepts UTF-8 in
// quoted strings (UTF8=ACCEPT or IMAP4rev2).
func AppendString(b []byte, s string, utf8 bool) []byte {
	if needsLiteral(s, utf8) {
		return appendLiteral(b, s)
	}
	return appendQuoted(b, s)
}

// AppendAString appends s as an astring: bare if it is made of
// ASTRING-CHARs, else as AppendString does.
func AppendAString(b []byte, s string, utf8 bool) []byte {
	if isAStringAtom(s) {
		return append(b, s...)
	}
	return AppendString(b, s, utf8)
}

// AppendNString appends s as an nstring, NIL when isNil.
func AppendNString(b []byte, s string, isNil, utf8 bool) []byte {
	if isNil {
		return append(b, "NIL"...)
	}
	return AppendString(b, s, utf8)
}

// AppendMailbox appends a Unicode mailbox name in wire form: modified
// UTF-7 unless utf8 is set (RFC 9051 §5.1), as an astring.
func AppendMailbox(b []byte, name string, utf8 bool) []byte {
	return AppendAString(b, EncodeMailbox(name, utf8), utf8)
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func appendLiteral(b []byte, s string) []byte {
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// appendMailboxPattern appends a LIST pattern: bare list-chars if
// possible (wildcards are not allowed in an astring).
func appendMailboxPattern(b []byte, name string, utf8 bool) []byte {
	w := EncodeMailbox(name, utf8)
	if w != "" && strings.IndexFunc(w, func(c rune) bool { return c > 0x7f || !isListChar(byte(c)) }) < 0 {
		return append(b, w...)
	}
	return AppendString(b, w, utf8)
}

// appendList appends "(" items joined by SP ")" with each item appended
// by f.
func appendList[T any](b []byte, items []T, f func([]byte, T) []byte) []byte {
	b = append(b, '(')
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		b = f(b, it)
	}
	return append(b, ')')
}

func appendRaw(b []byte, s string) []byte { return append(b, s...) }

func appendUint[T uint32 | uint64 | int64 | int](b []byte, n T) []byte {
	return strconv.AppendUint(b, uint64(n), 10)
}

// appendDate appends a SEARCH date, d-Mon-yyyy.
func appendDate(b []byte, t time.Time) []byte {
	b = strconv.AppendInt(b, int64(t.Day()), 10)
	b = append(b, '-')
	b = append(b, months[t.Month()-1]...)
	b = append(b, '-')
	return appendYear(b, t.Year())
}

func appendYear(b []byte, y int) []byte {
	if y < 0 {
		y = 0
	}
	for d := 1000; d >= 1; d /= 10 {
		b = append(b, byte('0'+y/d%10))
	}
	return b
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10%10), byte('0'+n%10)) }

// appendDateTime appends a quoted date-time, "dd-Mon-yyyy hh:mm:ss +zzzz"
// (RFC 9051 §9), as used for INTERNALDATE and APPEND.
func appendDateTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = append2(b, t.Day())
	b = append(b, '-')
	b = append(b, months[t.Month()-1]...)
	b = append(b, '-')
	b = appendYear(b, t.Year())
	b = append(b, ' ')
	b = append2(b, t.Hour())
	b = append(b, ':')
	b = append2(b, t.Minute())
	b = append(b, ':')
	b = append2(b, t.Second())
	b = append(b, ' ')
	_, off := t.Zone()
	if off < 0 {
		b = append(b, '-')
		off = -off
	} else {
		b = append(b, '+')
	}
	off /= 60
	b = append2(b, off/60%100)
	b = append2(b, off%60)
	return append(b, '"')
}

func appendBase64(b []byte, data []byte) []byte {
	return base64.StdEncoding.AppendEncode(b, data)
}
