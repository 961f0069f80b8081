package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/roost-mail/roost/internal/store"
)

// The analyser turns text into index tokens, the same way for documents
// and for queries, so both engines (store.Index) see only its output:
//
//   - Unicode NFKC normalisation (full-width forms, ligatures, compatibility
//     characters become their plain forms);
//   - case folding (lower case; "ß" is "ss") and accent folding: combining
//     marks are removed after canonical decomposition, so "Café" and
//     "cafe" are one token;
//   - a token is a run of letters, digits and marks; everything else
//     separates tokens ("alice@example.com" is alice, example, com);
//   - Han, Hiragana, Katakana and Hangul text has no spaces between words:
//     it is indexed as overlapping bigrams ("東京都" is 東京, 京都) plus
//     the last character of each run alone, so that any one character or
//     any longer string can be found;
//   - tokens are cut at store.MaxIndexToken bytes.

// cjk reports whether r is written without spaces between words.
func cjk(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func tokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// Tokens returns the index tokens of s (documents).
func Tokens(s string) []string {
	var out []string
	analyze(s, false, func(t string, _ bool) { out = append(out, t) })
	return out
}

// queryTokens returns the tokens of a query string and whether the last
// one must match as a prefix for the query to find what the document
// side indexed (a lone CJK character is the start of a bigram).
func queryTokens(s string) (toks []string, cjkTail bool) {
	analyze(s, true, func(t string, lone bool) {
		toks = append(toks, t)
		cjkTail = lone
	})
	return toks, cjkTail
}

// analyze calls emit for each token of s. In query mode a CJK run of two
// or more characters yields only its bigrams (a phrase), and a run of one
// character is reported as lone.
func analyze(s string, query bool, emit func(tok string, lone bool)) {
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	var word []rune
	var run []rune
	flushWord := func() {
		if len(word) > 0 {
			if t := fold(string(word)); t != "" {
				emit(t, false)
			}
			word = word[:0]
		}
	}
	flushRun := func() {
		switch {
		case len(run) == 1:
			emit(string(run), query)
		case len(run) > 1:
			for i := 0; i+1 < len(run); i++ {
				emit(string(run[i:i+2]), false)
			}
			if !query {
				emit(string(run[len(run)-1:]), false)
			}
		}
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case cjk(r):
			flushWord()
			run = append(run, unicode.ToLower(r))
		case tokenRune(r):
			flushRun()
			word = append(word, r)
		default:
			flushWord()
			flushRun()
		}
	}
	flushWord()
	flushRun()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fold lower-cases a word, removes accents and cuts it to the token
// limit. A word of marks only folds to "".
func fold(w string) string {
	if isASCII(w) {
		return cut(strings.ToLower(w))
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(w) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// an accent: dropped
		case r == 'ß' || r == 'ẞ':
			b.WriteString("ss")
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return cut(norm.NFC.String(b.String()))
}

// cut shortens a token to store.MaxIndexToken bytes on a rune boundary.
func cut(t string) string {
	if len(t) <= store.MaxIndexToken {
		return t
	}
	n := store.MaxIndexToken
	for n > 0 && !utf8.RuneStart(t[n]) {
		n--
	}
	return t[:n]
}
