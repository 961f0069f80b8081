package jmapserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"
	"unicode"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
)

// maxSnippetTerms bounds the strings a snippet highlights.
const maxSnippetTerms = 16

// snippetTerms are the filter's text conditions that a snippet
// highlights: text, subject and body, outside NOT (RFC 8621 §5); index
// gets them as index terms (search.Term: words, the last a prefix).
func snippetTerms(f *emailFilter, not bool, out *[]string, index *[]store.IndexTerm) {
	if f.Operator == "NOT" {
		not = !not
	}
	if !not {
		for _, c := range []struct {
			name string
			v    *string
		}{{"text", f.Text}, {"subject", f.Subject}, {"body", f.Body}} {
			if c.v != nil && strings.TrimSpace(*c.v) != "" && len(*out) < maxSnippetTerms {
				*out = append(*out, *c.v)
				if t, ok := search.Term(search.KeyFields(c.name), *c.v, false); ok {
					*index = append(*index, t)
				}
			}
		}
	}
	for i := range f.Conditions {
		snippetTerms(&f.Conditions[i], not, out, index)
	}
}

// matches returns the rune ranges of s where a term occurs, ignoring
// case, in order and not overlapping.
func matches(s []rune, terms [][]rune) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); {
		hit := 0
		for _, t := range terms {
			if len(t) > 0 && i+len(t) <= len(s) && runesEqualFold(s[i:i+len(t)], t) && len(t) > hit {
				hit = len(t)
			}
		}
		if hit > 0 {
			out = append(out, [2]int{i, i + hit})
			i += hit
			continue
		}
		i++
	}
	return out
}

func runesEqualFold(a, b []rune) bool {
	for i := range a {
		if unicode.ToLower(a[i]) != unicode.ToLower(b[i]) {
			return false
		}
	}
	return true
}

// highlight escapes s as HTML and marks the matches with <mark>.
func highlight(s []rune, ms [][2]int) string {
	var b strings.Builder
	pos := 0
	for _, m := range ms {
		b.WriteString(html.EscapeString(string(s[pos:m[0]])))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(string(s[m[0]:m[1]])))
		b.WriteString("</mark>")
		pos = m[1]
	}
	b.WriteString(html.EscapeString(string(s[pos:])))
	return b.String()
}

// snippetWindow is how many characters of body text a preview snippet
// shows around the first match.
const snippetWindow = 200

// searchSnippetGet is SearchSnippet/get (RFC 8621 §5): the subject and a
// part of the body of each email with the filter's text terms marked.
// With the full-text index (Options.SearchIndex), a message the index
// has (its MODSEQ at or below the index's cursor for its folder) gets
// search.Searcher's snippet: the words of the terms marked in the text
// the indexer extracts (HTML as text, attachments too), as Email/query
// matched it from the index. Other messages, and every message without
// the index, get the filter's strings marked as Email/query matches
// them by reading (case-insensitive substrings).
func searchSnippetGet(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string          `json:"accountId"`
		Filter    json.RawMessage `json:"filter"`
		EmailIDs  []string        `json:"emailIds"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if len(a.EmailIDs) > c.s.o.MaxObjectsInGet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d emailIds, at most %d (maxObjectsInGet)", len(a.EmailIDs), c.s.o.MaxObjectsInGet)
	}
	var filter emailFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		if err := parseArgs(a.Filter, &filter); err != nil {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
		terms := 0
		if err := checkFilter(&filter, 0, &terms); err != nil {
			return nil, err
		}
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	var terms []string
	var iterms []store.IndexTerm
	snippetTerms(&filter, false, &terms, &iterms)
	cursors := map[int64]uint64{} // folder: the index's cursor
	rterms := make([][]rune, len(terms))
	for i, t := range terms {
		rterms[i] = []rune(t)
	}
	list, notFound := []any{}, []string{}
	for _, id := range a.EmailIDs {
		it, err := c.itemByID(st, 'E', id)
		if err != nil {
			return nil, err
		}
		if it == nil {
			notFound = append(notFound, id)
			continue
		}
		snip := map[string]any{"emailId": id, "subject": nil, "preview": nil}
		if sn, err := c.indexSnippet(it, iterms, cursors); err != nil {
			return nil, err
		} else if sn != nil {
			if sn.Subject != "" {
				snip["subject"] = sn.Subject
			}
			if sn.Preview != "" {
				snip["preview"] = sn.Preview
			}
		} else if len(rterms) > 0 {
			m, err := c.s.loadMessage(c.ctx, it)
			if err != nil {
				return nil, err
			}
			subj := []rune(headerText(m, "Subject"))
			subj = []rune(strings.TrimSpace(string(subj)))
			if ms := matches(subj, rterms); len(ms) > 0 {
				snip["subject"] = highlight(subj, ms)
			}
			body := []rune(strings.Join(strings.Fields(m.root.Text(m.raw, 1<<20)), " "))
			if ms := matches(body, rterms); len(ms) > 0 {
				start := max(ms[0][0]-snippetWindow/4, 0)
				end := min(start+snippetWindow, len(body))
				var in [][2]int
				for _, x := range ms {
					if x[0] >= start && x[1] <= end {
						in = append(in, [2]int{x[0] - start, x[1] - start})
					}
				}
				snip["preview"] = highlight(body[start:end], in)
			}
		}
		list = append(list, snip)
	}
	return map[string]any{"accountId": a.AccountID, "list": list, "notFound": notFound}, nil
}

// indexSnippet is the snippet of an item the index has; nil when there is
// no index, no term it can mark, or the item is newer than the index.
// cursors caches the index's cursor per folder.
func (c *call) indexSnippet(it *store.Item, terms []store.IndexTerm, cursors map[int64]uint64) (*search.Snippet, error) {
	if c.s.searcher == nil || len(terms) == 0 {
		return nil, nil
	}
	cursor, ok := cursors[it.FolderID]
	if !ok {
		_, cur, err := c.s.o.Store.SearchIndex(c.ctx, it.FolderID, store.IndexQuery{Terms: terms[:1], Limit: 1, Unranked: true})
		if errors.Is(err, store.ErrInvalid) {
			return nil, nil // beyond the index's limits: the substring highlighter
		}
		if err != nil {
			return nil, fmt.Errorf("search folder %d: %w", it.FolderID, err)
		}
		cursor, cursors[it.FolderID] = cur, cur
	}
	if it.ModSeq > cursor {
		return nil, nil
	}
	sn, err := c.s.searcher.SnippetTerms(c.ctx, it.ID, terms, false)
	if errors.Is(err, store.ErrInvalid) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("snippet of item %d: %w", it.ID, err)
	}
	return sn, nil
}
