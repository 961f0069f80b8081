package mime

import "strings"

// ParseMessageIDs returns the message identifiers in a References or
// In-Reply-To value (RFC 5322 §3.6.4), in order and without angle
// brackets (the form JMAP uses). It is lenient, as RFC 5256 §2.2 threading
// needs: text between identifiers (phrases, as old In-Reply-To fields
// carry) and comments are skipped, whitespace inside brackets is removed,
// and a "<" inside brackets restarts the identifier.
func ParseMessageIDs(s string) []string {
	var ids []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '(':
			l := lexer{s: s, i: i}
			l.skipCFWS()
			i = max(l.i, i+1)
		case '"':
			l := lexer{s: s, i: i}
			l.quoted()
			i = l.i
		case '<':
			j := i + 1
			for j < len(s) && s[j] != '>' && s[j] != '<' {
				j++
			}
			if j < len(s) && s[j] == '<' {
				i = j
				continue
			}
			if id := stripSpace(s[i+1 : j]); id != "" {
				ids = append(ids, id)
			}
			i = j + 1
		default:
			i++
		}
	}
	return ids
}

// ParseMessageID returns the identifier in a Message-ID value, without
// angle brackets. A value without brackets but with an "@" and no spaces
// is taken as it is.
func ParseMessageID(s string) (string, bool) {
	if ids := ParseMessageIDs(s); len(ids) > 0 {
		return ids[0], true
	}
	s = strings.TrimSpace(s)
	if s != "" && strings.Contains(s, "@") && !strings.ContainsAny(s, " \t\r\n<>()") {
		return s, true
	}
	return "", false
}

func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !isWSPorEOL(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
