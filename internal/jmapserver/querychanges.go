package jmapserver

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// mailQueryChangesArgs are /queryChanges' arguments (RFC 8620 §5.6,
// queryChangesArgs in calendarobj.go) with Email's collapseThreads (RFC
// 8621 §4.5).
type mailQueryChangesArgs struct {
	queryChangesArgs
	CollapseThreads bool `json:"collapseThreads"`
}

// journalQueryChanges is /queryChanges (RFC 8620 §5.6) for a type whose
// query state is a journal position: the query runs again, and every
// object the journal changed since the old state is reported removed,
// and added again at its index when it is in the new results (the
// RFC's way for a server that does not keep old results). run returns
// the current results in order; classify names the object a journal
// entry changes ("" for none of this type).
func journalQueryChanges(c *call, raw json.RawMessage, run func(queryArgs) ([]string, *store.Store, error),
	classify func(types map[int64]store.FolderType, ch store.Change) string) (any, error) {
	var a mailQueryChangesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	since, ok := jmap.ParseState(a.SinceQueryState)
	if !ok {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "unknown query state %q", a.SinceQueryState)
	}
	ids, st, err := run(queryArgs{AccountID: a.AccountID, Filter: a.Filter, Sort: a.Sort, CollapseThreads: a.CollapseThreads})
	if err != nil {
		return nil, err
	}
	types, err := c.folderTypes(st)
	if err != nil {
		return nil, err
	}
	limit := 5000
	if a.MaxChanges != nil && *a.MaxChanges < limit {
		limit = *a.MaxChanges
	}
	created, updated, destroyed, _, more, err := c.journalDiff(st, since, limit, func(ch store.Change) (string, store.ChangeKind) {
		return classify(types, ch), ch.Kind
	})
	if err != nil {
		return nil, err
	}
	if a.CollapseThreads && !more {
		// Which email stands for a thread may change with any email of
		// the thread: all of them are reported.
		if updated, err = c.threadMates(st, created, updated, destroyed, limit); err != nil {
			return nil, err
		}
		more = len(created)+len(updated)+len(destroyed) > limit
	}
	if more {
		if a.MaxChanges != nil {
			return nil, jmap.Errorf(jmap.ErrTooManyChanges, "more than %d changes", *a.MaxChanges)
		}
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "too many changes: query again")
	}
	res := queryChangesResponse{AccountID: a.AccountID, OldQueryState: a.SinceQueryState, NewQueryState: jmap.FormatState(st.ModSeq),
		Removed: append(append([]string{}, updated...), destroyed...), Added: []addedItem{}}
	if a.CalculateTotal {
		n := len(ids)
		res.Total = &n
	}
	changed := map[string]bool{}
	for _, id := range append(created, updated...) {
		changed[id] = true
	}
	for i, id := range ids {
		if changed[id] {
			res.Added = append(res.Added, addedItem{ID: id, Index: i})
		}
	}
	if a.MaxChanges != nil && len(res.Removed)+len(res.Added) > *a.MaxChanges {
		return nil, jmap.Errorf(jmap.ErrTooManyChanges, "more than %d changes", *a.MaxChanges)
	}
	slices.Sort(res.Removed)
	return res, nil
}

func emailQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return journalQueryChanges(c, raw, func(a queryArgs) ([]string, *store.Store, error) { return emailQueryIDs(c, a) },
		func(types map[int64]store.FolderType, ch store.Change) string {
			if ch.ItemID == 0 {
				return ""
			}
			if t := types[ch.FolderID]; t != "" && t != store.FolderMail {
				return ""
			}
			return c.emailChangeID(ch)
		})
}

func mailboxQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return journalQueryChanges(c, raw, func(a queryArgs) ([]string, *store.Store, error) { return mailboxQueryIDs(c, a) },
		func(types map[int64]store.FolderType, ch store.Change) string {
			if t := types[ch.FolderID]; ch.ItemID != 0 || (t != "" && t != store.FolderMail) {
				// Item changes alter counts only, which Mailbox/query
				// neither filters nor sorts by.
				return ""
			}
			return jmap.FormatID('M', ch.FolderID)
		})
}

// emailChangeID is the Email id a journal entry changes.
func (c *call) emailChangeID(ch store.Change) string {
	return jmap.FormatID('E', ch.ItemID)
}

// changeablePage is page for a query whose state is a journal position:
// /queryChanges can answer it.
func changeablePage(c *call, a queryArgs, ids []string, st *store.Store) (any, error) {
	r, err := page(c, a, ids, jmap.FormatState(st.ModSeq))
	if q, ok := r.(queryResponse); ok {
		q.CanCalculateChanges = true
		return q, nil
	}
	return r, err
}

// threadIDOf is the Thread id of a message.
func (c *call) threadIDOf(it *store.Item) (string, error) {
	return jmap.FormatID('T', it.ThreadID), nil
}

// threadMates adds to updated every other email of the threads of the
// changed emails (at most limit in all).
func (c *call) threadMates(st *store.Store, created, updated, destroyed []string, limit int) ([]string, error) {
	var ids []int64
	known := map[string]bool{}
	for _, l := range [][]string{created, updated, destroyed} {
		for _, id := range l {
			known[id] = true
			if n, ok := jmap.ParseID('E', id); ok {
				ids = append(ids, n)
			}
		}
	}
	threads, err := c.s.o.Store.ItemThreads(c.ctx, st.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("threads of changed emails: %w", err)
	}
	done := map[int64]bool{}
	for _, t := range threads {
		if done[t] {
			continue
		}
		done[t] = true
		refs, err := c.s.o.Store.ThreadItems(c.ctx, st.ID, t)
		if err != nil {
			return nil, fmt.Errorf("thread %d: %w", t, err)
		}
		for _, r := range refs {
			id := jmap.FormatID('E', r.ID)
			if !known[id] {
				known[id] = true
				updated = append(updated, id)
			}
		}
		if len(known) > limit {
			break
		}
	}
	return updated, nil
}
