package jmapserver

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// Threads (RFC 8621 §3) are the store's conversations: the store assigns
// every message a thread when it is appended (store.Item.ThreadID, from
// Message-ID, References, In-Reply-To and the base subject), and answers
// a thread's messages (ThreadItems) and a page of a mailbox by date with
// threads collapsed (QueryItems).

// threadGet is Thread/get: a thread's emails, oldest first.
func threadGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, []string{"id", "emailIds"}); err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	if a.IDs == nil {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "Thread/get needs ids")
	}
	types, err := c.folderTypes(st)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	for _, id := range *a.IDs {
		emails, err := c.threadEmails(st, types, id)
		if err != nil {
			return nil, err
		}
		if len(emails) == 0 {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		o := map[string]any{"id": id, "emailIds": emails}
		if a.Properties != nil && !slices.Contains(*a.Properties, "emailIds") {
			delete(o, "emailIds")
		}
		res.List = append(res.List, o)
	}
	return res, nil
}

// threadEmails returns the Email ids of a thread id, oldest first; none
// for an unknown thread.
func (c *call) threadEmails(st *store.Store, types map[int64]store.FolderType, id string) ([]string, error) {
	n, ok := jmap.ParseID('T', id)
	if !ok {
		return nil, nil
	}
	refs, err := c.s.o.Store.ThreadItems(c.ctx, st.ID, n)
	if err != nil {
		return nil, fmt.Errorf("thread %d: %w", n, err)
	}
	var out []string
	for _, r := range refs {
		if types[r.FolderID] == store.FolderMail {
			out = append(out, jmap.FormatID('E', r.ID))
		}
	}
	return out, nil
}

// threadChanges is Thread/changes: Email/changes folded into threads. A
// thread is created when its first email is; destroyed when it has no
// email left; updated when an email joined or left it. A changed email
// (keywords, mailbox) leaves its thread, whose only property is
// emailIds, as it was.
func threadChanges(c *call, raw json.RawMessage) (any, error) {
	r, err := itemChanges(c, raw, 'E')
	if err != nil {
		return nil, err
	}
	ch := r.(changesResponse)
	st, err := c.dataAccount(ch.AccountID) // the account itemChanges read
	if err != nil {
		return nil, err
	}
	all := append(append(append([]string{}, ch.Created...), ch.Updated...), ch.Destroyed...)
	ids := make([]int64, 0, len(all))
	for _, id := range all {
		if n, ok := jmap.ParseID('E', id); ok {
			ids = append(ids, n)
		}
	}
	threads, err := c.s.o.Store.ItemThreads(c.ctx, st.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("threads of changed emails: %w", err)
	}
	types, err := c.folderTypes(st)
	if err != nil {
		return nil, err
	}
	tid := func(id string) int64 {
		n, _ := jmap.ParseID('E', id)
		if t, ok := threads[n]; ok {
			return t
		}
		return n
	}
	created, updated, destroyed := []string{}, []string{}, []string{}
	done := map[int64]bool{}
	for _, id := range ch.Created {
		// The thread's first email (its id) was created in the range.
		if n, _ := jmap.ParseID('E', id); tid(id) == n && !done[n] {
			done[n] = true
			created = append(created, jmap.FormatID('T', n))
		}
	}
	for _, id := range append(append([]string{}, ch.Created...), ch.Destroyed...) {
		t := tid(id)
		if done[t] {
			continue
		}
		done[t] = true
		if slices.Contains(ch.Destroyed, id) {
			emails, err := c.threadEmails(st, types, jmap.FormatID('T', t))
			if err != nil {
				return nil, err
			}
			if len(emails) == 0 {
				destroyed = append(destroyed, jmap.FormatID('T', t))
				continue
			}
		}
		updated = append(updated, jmap.FormatID('T', t))
	}
	ch.Created, ch.Updated, ch.Destroyed = created, updated, destroyed
	return ch, nil
}

// usesThreadFilter reports whether a filter has a thread keyword
// condition, which needs the candidates' threads.
func usesThreadFilter(f *emailFilter) bool {
	if f.AllInThreadHaveKeyword != nil || f.SomeInThreadHaveKeyword != nil || f.NoneInThreadHaveKeyword != nil {
		return true
	}
	for i := range f.Conditions {
		if usesThreadFilter(&f.Conditions[i]) {
			return true
		}
	}
	return false
}

// loadThreads learns the threads of a folder's items.
func (q *queryRun) loadThreads(items []store.ItemSummary) error {
	if q.threads == nil {
		q.threads = map[int64]int64{}
	}
	for start := 0; start < len(items); start += store.MaxItemThreads {
		chunk := items[start:min(start+store.MaxItemThreads, len(items))]
		ids := make([]int64, len(chunk))
		for i, it := range chunk {
			ids[i] = it.ID
		}
		m, err := q.c.s.o.Store.ItemThreads(q.c.ctx, q.st.ID, ids)
		if err != nil {
			return fmt.Errorf("threads of items: %w", err)
		}
		for k, v := range m {
			q.threads[k] = v
		}
	}
	return nil
}

// maxThreadFlagsLoaded bounds the emails whose keywords one query reads
// for the thread keyword filters (each an item read).
const maxThreadFlagsLoaded = 20000

// matchThread applies the thread keyword filters (RFC 8621 §4.4.1) with
// the keywords of every email of the candidate's thread.
func (q *queryRun) matchThread(f *emailFilter, cd *candidate) bool {
	if f.AllInThreadHaveKeyword == nil && f.SomeInThreadHaveKeyword == nil && f.NoneInThreadHaveKeyword == nil {
		return true
	}
	flags := q.flagsOfThread(q.threads[cd.sum.ID])
	if q.err != nil {
		return false
	}
	count := func(kw string) int {
		n := 0
		for _, fl := range flags {
			if hasFlag(fl, kw) {
				n++
			}
		}
		return n
	}
	if f.AllInThreadHaveKeyword != nil && count(*f.AllInThreadHaveKeyword) != len(flags) {
		return false
	}
	if f.SomeInThreadHaveKeyword != nil && count(*f.SomeInThreadHaveKeyword) == 0 {
		return false
	}
	if f.NoneInThreadHaveKeyword != nil && count(*f.NoneInThreadHaveKeyword) != 0 {
		return false
	}
	return true
}

func (q *queryRun) flagsOfThread(tid int64) [][]string {
	if fl, ok := q.threadFlags[tid]; ok {
		return fl
	}
	if q.threadFlags == nil {
		q.threadFlags = map[int64][][]string{}
	}
	refs, err := q.c.s.o.Store.ThreadItems(q.c.ctx, q.st.ID, tid)
	if err != nil {
		q.err = fmt.Errorf("thread %d: %w", tid, err)
		return nil
	}
	if q.threadItemsRead += len(refs); q.threadItemsRead > maxThreadFlagsLoaded {
		q.err = jmap.Errorf(jmap.ErrUnsupportedFilter, "thread keyword filters over more than %d emails: narrow the query", maxThreadFlagsLoaded)
		return nil
	}
	var out [][]string
	for _, r := range refs {
		it, err := q.c.s.o.Store.GetItem(q.c.ctx, r.ID)
		if err != nil {
			q.err = fmt.Errorf("item %d: %w", r.ID, err)
			return nil
		}
		out = append(out, it.Flags)
	}
	q.threadFlags[tid] = out
	return out
}

// fastEmailQuery answers the common Email/query — no filter or only
// inMailbox, sorted by receivedAt (or unsorted), paged by position — from
// a page the database sorts (store.QueryItems), so the newest 50 of a
// large mailbox cost 50 rows, not the mailbox. ok is false for any other
// query, which the general path answers.
func fastEmailQuery(c *call, a queryArgs) (any, bool, error) {
	var filter emailFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		if err := parseArgs(a.Filter, &filter); err != nil {
			return nil, false, nil
		}
		only := emailFilter{InMailbox: filter.InMailbox}
		if filter.InMailbox == nil || string(rawJSON(filter)) != string(rawJSON(only)) {
			return nil, false, nil
		}
	}
	ascending := false
	switch {
	case len(a.Sort) == 0:
	case len(a.Sort) == 1 && a.Sort[0].Property == "receivedAt" && a.Sort[0].Collation == "" && a.Sort[0].Keyword == "":
		ascending = a.Sort[0].IsAscending == nil || *a.Sort[0].IsAscending
	default:
		return nil, false, nil
	}
	if a.Anchor != nil || a.Position < 0 {
		return nil, false, nil
	}
	if a.Limit != nil && *a.Limit < 0 {
		return nil, true, jmap.Errorf(jmap.ErrInvalidArguments, "limit must not be negative")
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, true, err
	}
	res := queryResponse{AccountID: a.AccountID, QueryState: jmap.FormatState(st.ModSeq), CanCalculateChanges: true,
		Position: a.Position, IDs: []string{}}
	limit := 5000
	if a.Limit != nil && *a.Limit < limit {
		limit = *a.Limit
	}
	// One more than the page, to tell whether the server's cap cut it.
	q := store.ItemQuery{StoreID: st.ID, Ascending: ascending, CollapseThreads: a.CollapseThreads,
		Position: a.Position, Limit: limit + 1, Total: a.CalculateTotal}
	if filter.InMailbox != nil {
		f, err := c.mailboxOf(st, *filter.InMailbox)
		if err != nil {
			if _, ok := setError(err); !ok {
				return nil, true, err
			}
			// No such mailbox: nothing matches.
			if a.CalculateTotal {
				zero := 0
				res.Total = &zero
			}
			return res, true, nil
		}
		q.FolderIDs = []int64{f.ID}
	}
	page, err := c.s.o.Store.QueryItems(c.ctx, q)
	if err != nil {
		return nil, true, fmt.Errorf("query items of store %d: %w", st.ID, err)
	}
	if a.CalculateTotal {
		res.Total = &page.Total
		if a.Position > page.Total {
			res.Position = page.Total
		}
	}
	for i, r := range page.Items {
		if i >= limit {
			if a.Limit == nil || *a.Limit > limit {
				res.Limit = &limit
			}
			break
		}
		res.IDs = append(res.IDs, jmap.FormatID('E', r.ID))
	}
	return res, true, nil
}
