package search

import (
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// MaxQuery bounds a query string in bytes.
const MaxQuery = 8192

// Field groups a query term can name.
var (
	// TextFields are what IMAP TEXT and an unqualified query word search.
	TextFields = []store.IndexField{store.FieldFrom, store.FieldTo, store.FieldCc, store.FieldBcc,
		store.FieldSubject, store.FieldIDs, store.FieldBody, store.FieldAttach}
	// BodyFields are what IMAP BODY searches.
	BodyFields = []store.IndexField{store.FieldBody, store.FieldAttach}
	stemFields = []store.IndexField{store.FieldStem}
)

// ErrQuery is wrapped by the errors of queries the index cannot answer
// (too long, nothing but negations, no words); it wraps store.ErrInvalid.
var ErrQuery = fmt.Errorf("search query: %w", store.ErrInvalid)

// Term turns one search string into an index term over fields: its words
// as a phrase, the last one matching as a prefix (so that "repo" finds
// "report", as a substring search would). With fuzzy, the words are
// stemmed and searched in the stem field instead (which covers subject,
// body, attachments and addresses). ok is false when the index cannot
// answer the string: it has no word, or more than store.MaxPhraseLen.
func Term(fields []store.IndexField, s string, fuzzy bool) (t store.IndexTerm, ok bool) {
	toks, _ := queryTokens(s)
	if len(toks) == 0 || len(toks) > store.MaxPhraseLen {
		return t, false
	}
	if fuzzy {
		for i, tok := range toks {
			toks[i] = Stem(tok)
		}
		if sameFields(fields, TextFields) || sameFields(fields, BodyFields) {
			fields = stemFields
		}
	}
	return store.IndexTerm{Fields: fields, Tokens: toks, Prefix: true}, true
}

func sameFields(a, b []store.IndexField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var fieldNames = map[string][]store.IndexField{
	"from": {store.FieldFrom}, "to": {store.FieldTo}, "cc": {store.FieldCc}, "bcc": {store.FieldBcc},
	"subject": {store.FieldSubject}, "body": BodyFields, "attachment": {store.FieldAttach},
}

// Parse reads the query language of search boxes (docs/search.md):
// words, "quoted phrases", a trailing * for a prefix, a leading - to
// exclude, and field:word or field:"phrase" with field one of from, to,
// cc, bcc, subject, body, attachment. Every part must match. Characters
// other engines give meaning to (AND, OR, NEAR, parentheses, ^, :) are
// ordinary text here. With fuzzy, unqualified words are stemmed.
func Parse(q string, fuzzy bool) (store.IndexQuery, error) {
	if len(q) > MaxQuery {
		return store.IndexQuery{}, fmt.Errorf("%w: longer than %d bytes", ErrQuery, MaxQuery)
	}
	var out store.IndexQuery
	for i := 0; i < len(q); {
		for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
			i++
		}
		if i >= len(q) {
			break
		}
		not := false
		if q[i] == '-' {
			not = true
			i++
		}
		fields := TextFields
		// field:
		if j := strings.IndexAny(q[i:], ": \t\""); j > 0 && q[i+j] == ':' {
			if f, ok := fieldNames[strings.ToLower(q[i:i+j])]; ok {
				fields = f
				i += j + 1
			}
		}
		var text string
		prefix := false
		if i < len(q) && q[i] == '"' {
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				text, i = q[i+1:], len(q)
			} else {
				text, i = q[i+1:i+1+end], i+1+end+1
			}
		} else {
			end := strings.IndexAny(q[i:], " \t\r\n")
			if end < 0 {
				end = len(q) - i
			}
			text, i = q[i:i+end], i+end
			if strings.HasSuffix(text, "*") {
				prefix = true
			}
		}
		toks, lone := queryTokens(text)
		if len(toks) == 0 {
			continue
		}
		if len(toks) > store.MaxPhraseLen {
			return store.IndexQuery{}, fmt.Errorf("%w: a phrase of more than %d words", ErrQuery, store.MaxPhraseLen)
		}
		t := store.IndexTerm{Fields: fields, Tokens: toks, Prefix: prefix || lone, Not: not}
		if fuzzy && sameFields(fields, TextFields) && !prefix {
			for k, tok := range t.Tokens {
				t.Tokens[k] = Stem(tok)
			}
			t.Fields = stemFields
		}
		out.Terms = append(out.Terms, t)
		if len(out.Terms) > store.MaxIndexTerms {
			return store.IndexQuery{}, fmt.Errorf("%w: more than %d terms", ErrQuery, store.MaxIndexTerms)
		}
	}
	pos := 0
	for _, t := range out.Terms {
		if !t.Not {
			pos++
		}
	}
	if pos == 0 {
		return store.IndexQuery{}, fmt.Errorf("%w: no word to look for", ErrQuery)
	}
	return out, nil
}
