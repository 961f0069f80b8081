package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeEncoded replaces ${hex:..} and ${unicode:..} sequences
// (RFC 5228 §2.4.2.4). A malformed sequence is left as written.
func decodeEncoded(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		body := rest[:end]
		colon := strings.IndexByte(body, ':')
		if dec, ok := decodeSeq(body, colon); ok {
			b.WriteString(dec)
			s = rest[end+1:]
			continue
		}
		b.WriteString("${")
		s = rest
	}
}

func decodeSeq(body string, colon int) (string, bool) {
	if colon < 0 {
		return "", false
	}
	kind := strings.ToLower(body[:colon])
	fields := strings.FieldsFunc(body[colon+1:], func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
	var out []byte
	switch kind {
	case "hex":
		for _, f := range fields {
			if len(f) > 2 {
				return "", false
			}
			n, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return "", false
			}
			out = append(out, byte(n))
		}
	case "unicode":
		for _, f := range fields {
			if len(f) > 8 {
				return "", false
			}
			n, err := strconv.ParseUint(f, 16, 32)
			if err != nil || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
				return "", false
			}
			out = utf8.AppendRune(out, rune(n))
		}
	default:
		return "", false
	}
	return string(out), true
}
