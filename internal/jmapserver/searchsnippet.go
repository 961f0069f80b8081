package jmapserver

import (
	"encoding/json"
	"html"
	"strings"
	"unicode"

	"github.com/roost-mail/roost/internal/proto/jmap"
)

// snippetTerms are the filter's text conditions that a snippet
// highlights: text, subject and body, outside NOT (RFC 8621 §5).
func snippetTerms(f *emailFilter, not bool, out *[]string) {
	if f.Operator == "NOT" {
		not = !not
	}
	if !not {
		for _, v := range []*string{f.Text, f.Subject, f.Body} {
			if v != nil && strings.TrimSpace(*v) != "" && len(*out) < 16 {
				*out = append(*out, *v)
			}
		}
	}
	for i := range f.Conditions {
		snippetTerms(&f.Conditions[i], not, out)
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
// Terms are the filter's strings as Email/query matches them (substrings,
// case-insensitive); a full-text index may refine them later.
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
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	var terms []string
	snippetTerms(&filter, false, &terms)
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
		if len(rterms) > 0 {
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
