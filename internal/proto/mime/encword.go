package mime

import "strings"

// DecodeHeaderValue decodes the RFC 2047 encoded words in an unfolded
// header value to UTF-8, for SEARCH, SORT, threading and display.
//
// It is lenient, like the mail clients that produced the words: words are
// decoded even inside other text, whitespace between two encoded words is
// dropped (RFC 2047 §6.2), adjacent words in the same charset are joined
// before conversion so a character split between them survives, and
// base64 padding errors are ignored. Words in charsets DecodeCharset does
// not know, and malformed words, are left as they are, as is text outside
// encoded words (including raw UTF-8, RFC 6532).
func DecodeHeaderValue(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var out strings.Builder
	var pend []byte
	pendCS := ""
	flush := func() {
		if pendCS != "" {
			t, _ := decodeCharset(pendCS, pend)
			out.WriteString(t)
			pend, pendCS = pend[:0], ""
		}
	}
	copied := 0        // s[:copied] is in out (or dropped)
	afterWord := false // the text at copied follows a decoded word
	for scan := 0; ; {
		j := strings.Index(s[scan:], "=?")
		if j < 0 {
			break
		}
		j += scan
		cs, text, enc, end, ok := parseEncodedWord(s, j)
		if !ok || !KnownCharset(cs) {
			scan = j + 1
			if ok {
				scan = end
			}
			continue
		}
		gap := s[copied:j]
		if !afterWord || strings.Trim(gap, " \t\r\n") != "" {
			flush()
			out.WriteString(gap)
		}
		norm := lookupCharset(cs)
		if pendCS != "" && lookupCharset(pendCS) != norm {
			flush()
		}
		pendCS = cs
		if enc == 'b' {
			pend = decodeBase64Lenient(pend, text)
		} else {
			pend = decodeQ(pend, text)
		}
		copied, scan, afterWord = end, end, true
	}
	flush()
	out.WriteString(s[copied:])
	return out.String()
}

// parseEncodedWord parses "=?charset?encoding?text?=" at s[i:]. The
// charset is returned as written; enc is 'b' or 'q'.
func parseEncodedWord(s string, i int) (charset, text string, enc byte, end int, ok bool) {
	p := i + 2
	q := strings.IndexByte(s[p:], '?')
	if q <= 0 || q > 75 {
		return
	}
	charset = s[p : p+q]
	if strings.ContainsAny(charset, " \t\r\n=") {
		return
	}
	p += q + 1
	if p+2 > len(s) || s[p+1] != '?' {
		return
	}
	switch s[p] {
	case 'b', 'B':
		enc = 'b'
	case 'q', 'Q':
		enc = 'q'
	default:
		return
	}
	p += 2
	k := p
	for k < len(s) && s[k] != '?' {
		if c := s[k]; c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			return
		}
		k++
	}
	if k+1 >= len(s) || s[k+1] != '=' {
		return
	}
	return charset, s[p:k], enc, k + 2, true
}

// decodeQ appends the RFC 2047 §4.2 "Q" decoding of s.
func decodeQ(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			dst = append(dst, ' ')
		case c == '=' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				dst = append(dst, hi<<4|lo)
				i += 2
			} else {
				dst = append(dst, c)
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
