package mime

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text returns the text of the message for SEARCH BODY/TEXT and indexing:
// every text/* part below p in document order (encapsulated messages
// included), transfer-decoded, converted to UTF-8 (unknown charsets are
// taken as UTF-8, invalid bytes replaced), HTML reduced to its text, parts
// separated by a newline, cut at maxBytes bytes (<= 0: no limit) on a
// character boundary. Headers are not included. r is the message p was
// parsed from.
func (p *Part) Text(r io.ReaderAt, maxBytes int64) string {
	var b strings.Builder
	p.Walk(func(q *Part) bool {
		left := maxBytes - int64(b.Len())
		if maxBytes > 0 && left <= 0 {
			return false
		}
		if q.MediaType != "text" || q.Size() == 0 {
			return true
		}
		var src io.Reader = q.DecodedBody(r)
		if maxBytes > 0 {
			// Markup and multi-byte output need more input than output.
			src = io.LimitReader(src, 4*left+4096)
		}
		data, err := io.ReadAll(src)
		if err != nil && len(data) == 0 {
			return true
		}
		s, ok := decodeCharset(q.Charset(), data)
		if !ok {
			s = strings.ToValidUTF8(string(data), "\uFFFD")
		}
		if q.SubType == "html" {
			s = htmlText(s)
		}
		if b.Len() > 0 {
			if maxBytes > 0 && left <= 1 {
				return false
			}
			b.WriteByte('\n')
			left--
		}
		if maxBytes > 0 && int64(len(s)) >= left {
			b.WriteString(cutUTF8(s, int(left)))
			return false // full
		}
		b.WriteString(s)
		return true
	})
	return b.String()
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// htmlText reduces HTML to text for searching: tags, comments, scripts
// and styles are removed, block elements become line breaks and common
// character references are decoded. It is no HTML parser; it only has to
// be good enough to find words.
func htmlText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '<':
			if strings.HasPrefix(s[i:], "<!--") {
				if j := strings.Index(s[i+4:], "-->"); j >= 0 {
					i += 4 + j + 3
				} else {
					i = len(s)
				}
				continue
			}
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				i = len(s)
				continue
			}
			name := tagName(s[i+1 : i+j])
			i += j + 1
			switch name {
			case "script", "style":
				end := indexCloseTag(s[i:], name)
				if end < 0 {
					i = len(s)
					continue
				}
				i += end
			case "br", "p", "/p", "div", "/div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "/table":
				b.WriteByte('\n')
			default:
				b.WriteByte(' ')
			}
		case '&':
			r, n := htmlEntity(s[i:])
			if n == 0 {
				b.WriteByte('&')
				i++
				continue
			}
			b.WriteRune(r)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func tagName(t string) string {
	end := 0
	for end < len(t) && (t[end] == '/' || t[end] >= 'a' && t[end] <= 'z' || t[end] >= 'A' && t[end] <= 'Z' || t[end] >= '0' && t[end] <= '9') {
		end++
	}
	return strings.ToLower(t[:end])
}

var htmlEntities = map[string]rune{
	"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\'', "nbsp": ' ',
	"copy": '©', "reg": '®', "euro": '€', "hellip": '…', "mdash": '—', "ndash": '–',
	"laquo": '«', "raquo": '»', "lsquo": '‘', "rsquo": '’', "ldquo": '“', "rdquo": '”',
	"auml": 'ä', "ouml": 'ö', "uuml": 'ü', "Auml": 'Ä', "Ouml": 'Ö', "Uuml": 'Ü', "szlig": 'ß',
	"eacute": 'é', "egrave": 'è', "aacute": 'á', "agrave": 'à', "ccedil": 'ç',
}

// htmlEntity decodes a character reference at the start of s and returns
// its length, or 0 if there is none.
func htmlEntity(s string) (rune, int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return 0, 0
	}
	name := s[1:end]
	if name[0] == '#' {
		var n uint64
		var err error
		if len(name) > 1 && (name[1] == 'x' || name[1] == 'X') {
			n, err = strconv.ParseUint(name[2:], 16, 32)
		} else {
			n, err = strconv.ParseUint(name[1:], 10, 32)
		}
		if err != nil || n == 0 || n > utf8.MaxRune {
			return 0, 0
		}
		return rune(n), end + 1
	}
	if r, ok := htmlEntities[name]; ok {
		return r, end + 1
	}
	return 0, 0
}

// indexCloseTag finds "</name" in s, ignoring case.
func indexCloseTag(s, name string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return -1
		}
		i += j
		if len(s)-i-2 >= len(name) && strings.EqualFold(s[i+2:i+2+len(name)], name) {
			return i
		}
		i += 2
	}
}
