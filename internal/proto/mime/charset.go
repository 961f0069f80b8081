package mime

import (
	"strings"
	"unicode/utf8"
)

// Charsets are converted to UTF-8 with small built-in tables, so the
// package needs nothing outside the standard library. Following the WHATWG
// Encoding Standard, the labels us-ascii and iso-8859-1 decode as
// windows-1252: mail labelled Latin-1 routinely carries Windows quotes and
// dashes in 0x80-0x9F, where true Latin-1 has only control characters.

type charsetKind uint8

const (
	csUnknown charsetKind = iota
	csUTF8
	cs1252
	cs885915
)

var charsetNames = map[string]charsetKind{
	"utf-8": csUTF8, "utf8": csUTF8, "unicode-1-1-utf-8": csUTF8, "x-unicode20utf8": csUTF8,

	"us-ascii": cs1252, "ascii": cs1252, "ansi_x3.4-1968": cs1252, "iso646-us": cs1252,
	"iso-ir-6": cs1252, "us": cs1252, "csascii": cs1252, "cp367": cs1252, "ibm367": cs1252,

	"iso-8859-1": cs1252, "iso8859-1": cs1252, "iso_8859-1": cs1252, "iso88591": cs1252,
	"latin1": cs1252, "latin-1": cs1252, "l1": cs1252, "cp819": cs1252, "ibm819": cs1252,
	"iso-ir-100": cs1252, "csisolatin1": cs1252, "iso_8859-1:1987": cs1252,

	"windows-1252": cs1252, "cp1252": cs1252, "x-cp1252": cs1252, "win-1252": cs1252,

	"iso-8859-15": cs885915, "iso8859-15": cs885915, "iso_8859-15": cs885915, "iso885915": cs885915,
	"latin-9": cs885915, "latin9": cs885915, "l9": cs885915, "csisolatin9": cs885915,
}

// lookupCharset normalises a charset label: case, surrounding space and
// quotes, and an RFC 2231 §5 "*language" suffix do not matter.
func lookupCharset(name string) charsetKind {
	name = strings.Trim(name, " \t\"")
	if i := strings.IndexByte(name, '*'); i >= 0 {
		name = name[:i]
	}
	if k, ok := charsetNames[name]; ok {
		return k
	}
	return charsetNames[strings.ToLower(name)]
}

// KnownCharset reports whether DecodeCharset can convert the charset.
func KnownCharset(name string) bool { return lookupCharset(name) != csUnknown }

// DecodeCharset converts b from charset to UTF-8. It supports UTF-8,
// US-ASCII, ISO-8859-1, ISO-8859-15 and windows-1252 with their common
// aliases; invalid UTF-8 becomes U+FFFD. ok is false, and b is returned
// unchanged, for any other charset.
func DecodeCharset(charset string, b []byte) (s string, ok bool) {
	s, ok = decodeCharset(charset, b)
	if !ok {
		return string(b), false
	}
	return s, true
}

func decodeCharset(charset string, b []byte) (string, bool) {
	switch lookupCharset(charset) {
	case csUTF8:
		if utf8.Valid(b) {
			return string(b), true
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), true
	case cs1252:
		return decodeTable(b, &win1252), true
	case cs885915:
		return decodeTable(b, &iso885915), true
	}
	return "", false
}

// decodeTable converts a single-byte charset whose 0x00-0x7F is ASCII.
func decodeTable(b []byte, high *[128]rune) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(high[c-0x80])
		}
	}
	return sb.String()
}

var win1252, iso885915 [128]rune

func init() {
	// windows-1252 (WHATWG index): 0x80-0x9F below, the rest as Latin-1;
	// unassigned bytes map to the C1 control of the same value.
	c1 := [32]rune{
		0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
		0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
		0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
		0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
	}
	for i := range 128 {
		win1252[i] = rune(0x80 + i)
		iso885915[i] = rune(0x80 + i)
	}
	copy(win1252[:32], c1[:])
	// ISO-8859-15 replaces eight Latin-1 characters.
	for b, r := range map[int]rune{
		0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D,
		0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178,
	} {
		iso885915[b-0x80] = r
	}
}
