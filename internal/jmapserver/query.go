package jmapserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
)

// emailSorts are the sort properties Email/query supports.
var emailSorts = []string{"receivedAt", "size", "subject", "from", "to", "sentAt", "hasKeyword"}

// emailFilter is FilterCondition and FilterOperator of RFC 8621 §4.4.1.
type emailFilter struct {
	Operator   string        `json:"operator"`
	Conditions []emailFilter `json:"conditions"`

	InMailbox               *string    `json:"inMailbox"`
	InMailboxOtherThan      []string   `json:"inMailboxOtherThan"`
	Before                  *time.Time `json:"before"`
	After                   *time.Time `json:"after"`
	MinSize                 *int64     `json:"minSize"`
	MaxSize                 *int64     `json:"maxSize"`
	AllInThreadHaveKeyword  *string    `json:"allInThreadHaveKeyword"`
	SomeInThreadHaveKeyword *string    `json:"someInThreadHaveKeyword"`
	NoneInThreadHaveKeyword *string    `json:"noneInThreadHaveKeyword"`
	HasKeyword              *string    `json:"hasKeyword"`
	NotKeyword              *string    `json:"notKeyword"`
	HasAttachment           *bool      `json:"hasAttachment"`
	Text                    *string    `json:"text"`
	From                    *string    `json:"from"`
	To                      *string    `json:"to"`
	Cc                      *string    `json:"cc"`
	Bcc                     *string    `json:"bcc"`
	Subject                 *string    `json:"subject"`
	Body                    *string    `json:"body"`
	Header                  []string   `json:"header"`
}

// candidate is one message considered by a query; its parsed form is
// loaded only when a filter or sort needs it.
type candidate struct {
	sum    store.ItemSummary
	folder int64
	msg    *message
	keys   []string // per sort comparator: the text key of a header sort
}

type queryRun struct {
	c   *call
	st  *store.Store
	err error
	// threads maps candidates' item ids to their threads, filled when a
	// thread filter or collapseThreads needs them (threads.go).
	threads         map[int64]int64
	threadFlags     map[int64][][]string
	threadItemsRead int
	// index holds the full-text index's answers to the filter's text
	// conditions for the folder being read (prepareIndex).
	index map[indexKey]*search.Lookup
}

func (q *queryRun) load(cd *candidate) *message {
	if cd.msg != nil || q.err != nil {
		return cd.msg
	}
	it, err := q.c.s.o.Store.GetItem(q.c.ctx, cd.sum.ID)
	if err != nil {
		q.err = fmt.Errorf("item %d: %w", cd.sum.ID, err)
		return nil
	}
	m, err := q.c.s.loadMessage(q.c.ctx, it)
	if err != nil {
		q.err = err
		return nil
	}
	cd.msg = m
	return m
}

func hasFlag(flags []string, kw string) bool {
	f := flagOf(kw)
	return slices.ContainsFunc(flags, func(s string) bool { return strings.EqualFold(s, f) })
}

func containsFold(hay, needle string) bool {
	return strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
}

// headerText is the decoded text of every instance of a header field.
func headerText(m *message, name string) string {
	var b strings.Builder
	for _, f := range m.root.Header.Fields() {
		if strings.EqualFold(f.Name, name) {
			b.WriteString(asText(f.Value))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func (q *queryRun) match(f *emailFilter, cd *candidate) bool {
	switch f.Operator {
	case "AND":
		for i := range f.Conditions {
			if !q.match(&f.Conditions[i], cd) {
				return false
			}
		}
		return true
	case "OR":
		for i := range f.Conditions {
			if q.match(&f.Conditions[i], cd) {
				return true
			}
		}
		return false
	case "NOT":
		for i := range f.Conditions {
			if q.match(&f.Conditions[i], cd) {
				return false
			}
		}
		return true
	}
	s := cd.sum
	if f.InMailbox != nil && jmap.FormatID('M', cd.folder) != *f.InMailbox {
		return false
	}
	if slices.Contains(f.InMailboxOtherThan, jmap.FormatID('M', cd.folder)) {
		return false
	}
	if f.Before != nil && !s.InternalDate.Before(*f.Before) {
		return false
	}
	if f.After != nil && s.InternalDate.Before(*f.After) {
		return false
	}
	if f.MinSize != nil && s.Size < *f.MinSize {
		return false
	}
	if f.MaxSize != nil && s.Size >= *f.MaxSize {
		return false
	}
	if f.HasKeyword != nil && !hasFlag(s.Flags, *f.HasKeyword) {
		return false
	}
	if f.NotKeyword != nil && hasFlag(s.Flags, *f.NotKeyword) {
		return false
	}
	if !q.matchThread(f, cd) {
		return false
	}
	if f.HasAttachment != nil || f.Header != nil {
		m := q.load(cd)
		if m == nil {
			return false
		}
		if f.HasAttachment != nil && m.hasAttachment() != *f.HasAttachment {
			return false
		}
		if f.Header != nil {
			v := headerText(m, f.Header[0])
			if !m.root.Header.Has(f.Header[0]) {
				return false
			}
			if len(f.Header) == 2 && !containsFold(v, f.Header[1]) {
				return false
			}
		}
	}
	for _, tc := range textConds(f) {
		if !q.matchText(f, tc, cd) {
			return false
		}
	}
	return true
}

// textCond is one text condition of a FilterCondition: its name (as
// search.KeyFields knows it) and value.
type textCond struct {
	name string
	v    string
}

// textConds lists f's text conditions, the cheap header ones first.
func textConds(f *emailFilter) []textCond {
	var out []textCond
	for _, c := range []struct {
		name string
		v    *string
	}{{"subject", f.Subject}, {"from", f.From}, {"to", f.To}, {"cc", f.Cc}, {"bcc", f.Bcc}, {"body", f.Body}, {"text", f.Text}} {
		if c.v != nil {
			out = append(out, textCond{c.name, *c.v})
		}
	}
	return out
}

// indexKey names a text condition of one filter node.
type indexKey struct {
	f    *emailFilter
	name string
}

// prepareIndex looks the text conditions of filter up in the index for
// one folder (search.LookupKey, at most search.MaxKeyLookups), replacing
// the previous folder's answers. Conditions left out are tested by
// reading the messages.
func (q *queryRun) prepareIndex(filter *emailFilter, folderID int64) error {
	q.index = nil
	if !q.c.s.o.SearchIndex {
		return nil
	}
	var walk func(f *emailFilter) error
	walk = func(f *emailFilter) error {
		for _, tc := range textConds(f) {
			if len(q.index) >= search.MaxKeyLookups {
				return nil
			}
			l, err := search.LookupKey(q.c.ctx, q.c.s.o.Store, folderID, search.KeyFields(tc.name), tc.v, false)
			if err != nil {
				return fmt.Errorf("search folder %d: %w", folderID, err)
			}
			if l != nil {
				if q.index == nil {
					q.index = map[indexKey]*search.Lookup{}
				}
				q.index[indexKey{f, tc.name}] = l
			}
		}
		for i := range f.Conditions {
			if err := walk(&f.Conditions[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(filter)
}

// matchText tests one text condition: from the index when it has the
// message (search.Lookup.Match), else by reading the message: a
// case-insensitive substring of the decoded header fields or body text.
func (q *queryRun) matchText(f *emailFilter, tc textCond, cd *candidate) bool {
	if match, ok := q.index[indexKey{f, tc.name}].Match(cd.sum.ID, cd.sum.ModSeq); ok {
		return match
	}
	m := q.load(cd)
	if m == nil {
		return false
	}
	body := func() string { return m.root.Text(m.raw, 10<<20) }
	switch tc.name {
	case "body":
		return containsFold(body(), tc.v)
	case "text":
		for _, name := range []string{"From", "To", "Cc", "Bcc", "Subject"} {
			if containsFold(headerText(m, name), tc.v) {
				return true
			}
		}
		return containsFold(body(), tc.v)
	}
	return containsFold(headerText(m, textHeader[tc.name]), tc.v)
}

var textHeader = map[string]string{"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc", "subject": "Subject"}

// maxFilterTerms bounds the conditions and inMailboxOtherThan ids of
// one Email/query filter: each is tested against every message read.
const maxFilterTerms = 1000

// checkFilter validates f; terms counts its conditions and ids so far.
func checkFilter(f *emailFilter, depth int, terms *int) error {
	if depth > 16 {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "filter nested too deeply")
	}
	if *terms += 1 + len(f.InMailboxOtherThan); *terms > maxFilterTerms {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "filter has more than %d conditions and mailbox ids", maxFilterTerms)
	}
	switch f.Operator {
	case "", "AND", "OR", "NOT":
	default:
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "unknown operator %q", f.Operator)
	}
	if f.Header != nil && (len(f.Header) < 1 || len(f.Header) > 2) {
		return jmap.Errorf(jmap.ErrInvalidArguments, "header needs one or two strings")
	}
	for i := range f.Conditions {
		if err := checkFilter(&f.Conditions[i], depth+1, terms); err != nil {
			return err
		}
	}
	return nil
}

func emailQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if res, ok, err := fastEmailQuery(c, a); ok || err != nil {
		return res, err
	}
	ids, st, err := emailQueryIDs(c, a)
	if err != nil {
		return nil, err
	}
	return changeablePage(c, a, ids, st)
}

// emailQueryIDs runs an Email/query and returns every matching id in
// order (Email/query pages them, Email/queryChanges compares them).
func emailQueryIDs(c *call, a queryArgs) ([]string, *store.Store, error) {
	var filter emailFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(a.Filter)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&filter); err != nil {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
		terms := 0
		if err := checkFilter(&filter, 0, &terms); err != nil {
			return nil, nil, err
		}
	}
	for _, s := range a.Sort {
		if !slices.Contains(emailSorts, s.Property) {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort emails by %q", s.Property)
		}
		if s.Property == "hasKeyword" && s.Keyword == "" {
			return nil, nil, jmap.Errorf(jmap.ErrInvalidArguments, "sort by hasKeyword needs keyword")
		}
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, nil, err
	}
	folders, err := c.mailFolders(st)
	if err != nil {
		return nil, nil, err
	}
	sorts := a.Sort
	if len(sorts) == 0 {
		f := false
		sorts = []comparator{{Property: "receivedAt", IsAscending: &f}}
	}
	headerSort := slices.ContainsFunc(sorts, func(s comparator) bool { return isHeaderSort(s.Property) })
	q := &queryRun{c: c, st: st}
	needThreads := a.CollapseThreads || usesThreadFilter(&filter)
	var cands []*candidate
	for _, f := range folders {
		// inMailbox at the top level narrows the folders read.
		if filter.Operator == "" && filter.InMailbox != nil && jmap.FormatID('M', f.ID) != *filter.InMailbox {
			continue
		}
		items, err := c.s.o.Store.ListItems(c.ctx, f.ID, 1, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("items of folder %d: %w", f.ID, err)
		}
		if err := q.prepareIndex(&filter, f.ID); err != nil {
			return nil, nil, err
		}
		if needThreads {
			if err := q.loadThreads(items); err != nil {
				return nil, nil, err
			}
		}
		for _, it := range items {
			cd := &candidate{sum: it, folder: f.ID}
			if q.match(&filter, cd) {
				if headerSort {
					// Each message is parsed at most once, and only its
					// sort keys are kept: not the whole mailbox's parsed
					// messages while sorting.
					cd.keys = make([]string, len(sorts))
					for i, s := range sorts {
						if isHeaderSort(s.Property) {
							cd.keys[i] = q.sortKey(cd, s.Property)
						}
					}
				}
				cands = append(cands, cd)
			}
			cd.msg = nil
			if q.err != nil {
				return nil, nil, q.err
			}
		}
	}
	slices.SortStableFunc(cands, func(x, y *candidate) int {
		for i, s := range sorts {
			var d int
			switch s.Property {
			case "receivedAt":
				d = x.sum.InternalDate.Compare(y.sum.InternalDate)
			case "size":
				d = cmpInt(x.sum.Size, y.sum.Size)
			case "hasKeyword":
				d = cmpBool(hasFlag(x.sum.Flags, s.Keyword), hasFlag(y.sum.Flags, s.Keyword))
			default:
				d = strings.Compare(x.keys[i], y.keys[i])
			}
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		// Ties go by id in the direction of the last comparator, as the
		// paged path's database order has it (store.ItemQuery).
		if last := sorts[len(sorts)-1]; last.IsAscending != nil && !*last.IsAscending {
			return cmpInt(y.sum.ID, x.sum.ID)
		}
		return cmpInt(x.sum.ID, y.sum.ID)
	})
	ids := make([]string, 0, len(cands))
	seen := map[int64]bool{}
	for _, cd := range cands {
		if a.CollapseThreads {
			// RFC 8621 §4.4.3: only the first email of each thread in
			// the sort order.
			tid := q.threads[cd.sum.ID]
			if seen[tid] {
				continue
			}
			seen[tid] = true
		}
		ids = append(ids, jmap.FormatID('E', cd.sum.ID))
	}
	return ids, st, nil
}

// isHeaderSort reports whether sorting by property reads the message's
// header (the others come from the item summary).
func isHeaderSort(property string) bool {
	switch property {
	case "subject", "from", "to", "sentAt":
		return true
	}
	return false
}

// sortKey is the text a header sort compares for cd.
func (q *queryRun) sortKey(cd *candidate, property string) string {
	m := q.load(cd)
	if m == nil {
		return ""
	}
	switch property {
	case "subject":
		return strings.ToLower(asText(m.root.Header.Get("Subject")))
	case "from", "to":
		as := addresses(m.root.Header.Get(map[string]string{"from": "From", "to": "To"}[property]))
		if len(as) == 0 {
			return ""
		}
		if as[0].Name != nil {
			return strings.ToLower(*as[0].Name)
		}
		return strings.ToLower(as[0].Email)
	case "sentAt":
		if v, ok := headerValue(&m.root.Header, "Date", "Date", false).(string); ok {
			return v
		}
	}
	return ""
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
