// Package search is Roost's full-text search: the analyser that turns
// text into index tokens (analyze.go, stem.go), the indexer that follows
// each store's change journal (indexer.go), text extraction
// (search/extract), and the API protocols call: Searcher.Search and
// Searcher.Snippet. The index itself is storage (store.Index), kept by
// the store backend next to the mail it describes (docs/search.md).
//
// Invariants:
//   - The store never sees query syntax from a client: Parse and Term
//     produce tokens, and the backend quotes each one.
//   - Every limit a client controls is bounded here: MaxQuery bytes,
//     store.MaxIndexTerms terms, store.MaxPhraseLen words in a phrase.
//   - A result says whether the index covered every message of the
//     folders searched (Result.Complete); callers that must not miss a
//     new message (IMAP SEARCH) search the rest themselves.
package search

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/search/extract"
	"github.com/roost-mail/roost/internal/store"
)

// MaxFolders bounds the folders of one Search.
const MaxFolders = 1000

// Searcher answers queries from the index.
type Searcher struct {
	b  Backend
	ex *extract.Extractor
}

// NewSearcher returns a searcher; ex extracts text for snippets (nil:
// the default limits).
func NewSearcher(b Backend, ex *extract.Extractor) *Searcher {
	if ex == nil {
		ex = extract.New(extract.Limits{}, nil)
	}
	return &Searcher{b: b, ex: ex}
}

// Query is a search: Text in the query language of Parse.
type Query struct {
	Text  string
	Fuzzy bool // stem words (RFC 6203 FUZZY)
	Limit int  // best hits kept; 0 = all
}

// Hit is a matching message.
type Hit struct {
	FolderID int64
	ItemID   int64
	UID      uint32
	Score    float64 // higher is better; comparable within one Result
}

// Result is the answer to a Search.
type Result struct {
	Hits []Hit // best first
	// Complete is false when a folder searched has changes the index has
	// not caught up with: messages added since may be missing.
	Complete bool
}

// Search finds messages of the folders (all of one store or several;
// the principal in ctx needs the read right on each) matching q.
func (s *Searcher) Search(ctx context.Context, folderIDs []int64, q Query) (*Result, error) {
	if len(folderIDs) == 0 || len(folderIDs) > MaxFolders {
		return nil, fmt.Errorf("%w: %d folders", ErrQuery, len(folderIDs))
	}
	iq, err := Parse(q.Text, q.Fuzzy)
	if err != nil {
		return nil, err
	}
	iq.Limit = q.Limit
	res := &Result{Complete: true}
	for _, fid := range folderIDs {
		f, err := s.b.GetFolder(ctx, fid)
		if err != nil {
			return nil, fmt.Errorf("search folder %d: %w", fid, err)
		}
		hits, cursor, err := s.b.SearchIndex(ctx, fid, iq)
		if err != nil {
			return nil, err
		}
		if f.HighestModSeq > cursor {
			res.Complete = false
		}
		for _, h := range hits {
			res.Hits = append(res.Hits, Hit{FolderID: fid, ItemID: h.ItemID, UID: h.UID, Score: h.Score})
		}
	}
	slices.SortStableFunc(res.Hits, func(a, b Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if q.Limit > 0 && len(res.Hits) > q.Limit {
		res.Hits = res.Hits[:q.Limit]
	}
	return res, nil
}

// Snippet is a message's subject and a short extract of its text around
// the first match, as HTML: the text escaped, matched words in <mark>
// (the form of JMAP SearchSnippet, RFC 8621 §5).
type Snippet struct {
	Subject string // "" when the subject has no match
	Preview string // "" when the text has no match
}

// SnippetLen is the length of a preview in characters, about.
const SnippetLen = 200

// Snippet extracts an item's text again and marks q's words in it.
func (s *Searcher) Snippet(ctx context.Context, itemID int64, q Query) (*Snippet, error) {
	iq, err := Parse(q.Text, q.Fuzzy)
	if err != nil {
		return nil, err
	}
	return s.SnippetTerms(ctx, itemID, iq.Terms, q.Fuzzy)
}

// SnippetTerms is Snippet for terms a protocol built (Term): the words
// of the terms that are not negated are marked, the last word of a
// prefix term as a prefix; with fuzzy, words are compared stemmed.
func (s *Searcher) SnippetTerms(ctx context.Context, itemID int64, terms []store.IndexTerm, fuzzy bool) (*Snippet, error) {
	if len(terms) > store.MaxIndexTerms {
		return nil, fmt.Errorf("%w: more than %d terms", ErrQuery, store.MaxIndexTerms)
	}
	it, err := s.b.GetItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	rc, err := s.b.OpenItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ra, size, err := readerAt(rc, it.Size)
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", itemID, err)
	}
	m, err := s.ex.Message(ctx, ra, size)
	if err != nil {
		return nil, fmt.Errorf("extract item %d: %w", itemID, err)
	}
	var words []matcher
	for _, t := range terms {
		if t.Not {
			continue
		}
		for i, tok := range t.Tokens {
			words = append(words, matcher{tok, t.Prefix && i == len(t.Tokens)-1, fuzzy})
		}
	}
	sn := &Snippet{}
	if sub, ok := mark(m.Subject, words, 0); ok {
		sn.Subject = sub
	}
	for _, text := range []string{m.Body, m.Attach} {
		if p, ok := mark(text, words, SnippetLen); ok {
			sn.Preview = p
			break
		}
	}
	return sn, nil
}

type matcher struct {
	tok    string
	prefix bool
	stem   bool
}

func (m matcher) match(word string) bool {
	if m.stem {
		word = Stem(word)
	}
	if m.prefix {
		return strings.HasPrefix(word, m.tok)
	}
	return word == m.tok
}

// mark escapes text and wraps the words that match in <mark>. With
// window > 0 only about window characters around the first match are
// kept. ok is false when nothing matched.
func mark(text string, words []matcher, window int) (string, bool) {
	type span struct{ start, end int }
	var spans []span
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !tokenRune(r) || cjk(r) {
			i += n
			continue
		}
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if !tokenRune(r) || cjk(r) {
				break
			}
			j += n
		}
		w := fold(text[i:j])
		for _, m := range words {
			if m.match(w) {
				spans = append(spans, span{i, j})
				break
			}
		}
		i = j
	}
	if len(spans) == 0 {
		return "", false
	}
	lo, hi := 0, len(text)
	if window > 0 {
		lo = max(0, spans[0].start-window/4)
		for lo > 0 && !utf8.RuneStart(text[lo]) {
			lo--
		}
		hi = min(len(text), lo+window)
		for hi < len(text) && !utf8.RuneStart(text[hi]) {
			hi++
		}
	}
	var b strings.Builder
	if lo > 0 {
		b.WriteString("… ")
	}
	at := lo
	for _, sp := range spans {
		if sp.start < lo || sp.end > hi {
			continue
		}
		b.WriteString(html.EscapeString(collapse(text[at:sp.start])))
		b.WriteString("<mark>" + html.EscapeString(text[sp.start:sp.end]) + "</mark>")
		at = sp.end
	}
	b.WriteString(html.EscapeString(collapse(text[at:hi])))
	if hi < len(text) {
		b.WriteString(" …")
	}
	return b.String(), true
}

// collapse turns runs of white space into one space.
func collapse(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// IsQueryError reports whether err is a query the index refuses (a
// client error, not a failure).
func IsQueryError(err error) bool { return errors.Is(err, store.ErrInvalid) }
