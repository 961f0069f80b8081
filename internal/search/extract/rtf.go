package extract

import (
	"context"
	"strings"
)

// rtfText is a best-effort reader of RTF (Microsoft's RTF 1.9.1): the
// text outside control words, with destinations that hold no text
// ({\*\…}, fonts, colours, styles, pictures, info) skipped, \par and
// \line as line breaks and \'hh as Windows-1252 characters. Group
// nesting is bounded by the input, which is bounded by MaxAttachment.
func rtfText(ctx context.Context, data []byte, max int64) (string, error) {
	var b strings.Builder
	skipDepth := -1 // depth of the group being skipped, -1 for none
	depth := 0
	s := data
	for i := 0; i < len(s) && int64(b.Len()) < max; i++ {
		if i%65536 == 0 && ctx.Err() != nil {
			return b.String(), ctx.Err()
		}
		c := s[i]
		switch c {
		case '{':
			depth++
			if skipDepth < 0 && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == '*' {
				skipDepth = depth
			}
		case '}':
			if depth == skipDepth {
				skipDepth = -1
			}
			depth--
		case '\\':
			j := i + 1
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			word := string(s[i+1 : j])
			for j < len(s) && (s[j] == '-' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j < len(s) && s[j] == ' ' && word != "" {
				j++
			}
			switch {
			case word == "" && i+1 < len(s) && s[i+1] == '\'' && i+3 < len(s):
				if skipDepth < 0 {
					if v, ok := hexByte(s[i+2], s[i+3]); ok {
						b.WriteRune(cp1252(v))
					}
				}
				j = i + 4
			case word == "" && i+1 < len(s):
				if skipDepth < 0 && (s[i+1] == '\\' || s[i+1] == '{' || s[i+1] == '}') {
					b.WriteByte(s[i+1])
				}
				j = i + 2
			case word == "par" || word == "line" || word == "row" || word == "cell" || word == "tab":
				if skipDepth < 0 {
					b.WriteByte('\n')
				}
			case word == "fonttbl" || word == "colortbl" || word == "stylesheet" || word == "info" || word == "pict" || word == "object":
				if skipDepth < 0 {
					skipDepth = depth
				}
			}
			i = j - 1
		case '\r', '\n':
		default:
			if skipDepth < 0 {
				b.WriteByte(c)
			}
		}
	}
	return cutUTF8(strings.ToValidUTF8(b.String(), "\uFFFD"), int(max)), nil
}

func hexByte(a, b byte) (byte, bool) {
	h := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	x, ok1 := h(a)
	y, ok2 := h(b)
	return x<<4 | y, ok1 && ok2
}

// cp1252 maps a Windows-1252 byte to its character (Latin-1 except
// 0x80–0x9F, of which only the common ones are mapped).
func cp1252(v byte) rune {
	switch v {
	case 0x80:
		return '€'
	case 0x91, 0x92:
		return '\''
	case 0x93, 0x94:
		return '"'
	case 0x96, 0x97:
		return '-'
	}
	if v >= 0x80 && v < 0xA0 {
		return ' '
	}
	return rune(v)
}
