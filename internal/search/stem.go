package search

import "strings"

// Stemming serves fuzzy search only (IMAP SEARCH FUZZY, RFC 6203, and
// the Go API's Fuzzy queries): exact searches match words as written.
// Mail of one mailbox mixes languages and a message's language is not
// known, so every token goes through both stemmers: a light English
// suffix stripper (plurals, -ing, -ed, -ly, -ness, -ment) and then CISTEM
// for German (Weissweiler and Fraser, 2017). Documents and queries are
// stemmed alike, so "meetings" finds "meeting" and "Häuser" finds "Haus";
// over-stemming costs precision, which a fuzzy search may spend.

// Stem returns the stem of a token from the analyser. Tokens with
// anything but Latin letters (digits, CJK) are returned unchanged.
func Stem(t string) string {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < 'a' || c > 'z' {
			return t
		}
	}
	return stemDE(stemEN(t))
}

func stemEN(w string) string {
	if len(w) <= 3 {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"), strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	for _, s := range []struct {
		suf string
		min int
		rep string
	}{{"ational", 8, "ate"}, {"ation", 7, "ate"}, {"ness", 6, ""}, {"ment", 7, ""}, {"ingly", 7, ""}, {"edly", 6, ""}, {"ing", 5, ""}, {"ed", 4, ""}, {"ly", 5, ""}} {
		if len(w) >= s.min && strings.HasSuffix(w, s.suf) {
			w = w[:len(w)-len(s.suf)] + s.rep
			if s.rep == "" && (s.suf == "ing" || s.suf == "ed") {
				w = undouble(w)
			}
			break
		}
	}
	return w
}

// undouble turns "stopp" (from "stopped") into "stop".
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("lsz", rune(w[n-1])) && !strings.ContainsRune("aeiou", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

// cistemDigraphs marks CISTEM's digraphs with one byte each. A Replacer
// is immutable and safe for concurrent use; building it per word took a
// fifth of an indexing node's CPU (docs/benchmarks.md, proxy overhead).
var cistemDigraphs = strings.NewReplacer("sch", "$", "ei", "%", "ie", "&")

// stemDE is CISTEM on a lower-case, accent-folded word.
func stemDE(w string) string {
	if len(w) <= 3 {
		return w
	}
	w = cistemDigraphs.Replace(w)
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if i > 0 && w[i] == w[i-1] && w[i] != '*' {
			b.WriteByte('*')
			continue
		}
		b.WriteByte(w[i])
	}
	w = b.String()
	for len(w) > 3 {
		if len(w) > 5 && (strings.HasSuffix(w, "em") || strings.HasSuffix(w, "er") || strings.HasSuffix(w, "nd")) {
			w = w[:len(w)-2]
			continue
		}
		if strings.HasSuffix(w, "t") || strings.HasSuffix(w, "e") || strings.HasSuffix(w, "s") || strings.HasSuffix(w, "n") {
			w = w[:len(w)-1]
			continue
		}
		break
	}
	var out strings.Builder
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '$':
			out.WriteString("sch")
		case '%':
			out.WriteString("ei")
		case '&':
			out.WriteString("ie")
		case '*':
			if out.Len() > 0 {
				out.WriteByte(out.String()[out.Len()-1])
			}
		default:
			out.WriteByte(w[i])
		}
	}
	return out.String()
}
