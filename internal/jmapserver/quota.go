package jmapserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// CapQuota is RFC 9425.
const CapQuota = "urn:ietf:params:jmap:quota"

var quotaProps = []string{"id", "resourceType", "used", "hardLimit", "scope", "name", "types", "warnLimit", "softLimit", "description"}

// quota is RFC 9425 §4 over the store's quota levels (store.StoreQuota:
// the user's override, the tenant's or the global defaults). A store
// has at most two: "Qoctets" (bytes, when a soft or hard level is set)
// and "Qcount" (messages, when the installation limits them).
type quota struct {
	ID           string   `json:"id"`
	ResourceType string   `json:"resourceType"`
	Used         int64    `json:"used"`
	HardLimit    int64    `json:"hardLimit"`
	Scope        string   `json:"scope"`
	Name         string   `json:"name"`
	Types        []string `json:"types"`
	WarnLimit    *int64   `json:"warnLimit,omitempty"`
	SoftLimit    *int64   `json:"softLimit,omitempty"`
	Description  string   `json:"description,omitempty"`
}

// quotaTypes are the data types a store's quota counts: everything in
// the store.
var quotaTypes = []string{"Email", "Mailbox", "CalendarEvent", "ContactCard"}

func quotasOf(login string, q *store.QuotaStatus) []quota {
	var out []quota
	opt := func(n int64) *int64 {
		if n <= 0 {
			return nil
		}
		return &n
	}
	if hard := max(q.Quota.Hard, q.Quota.Soft); hard > 0 {
		// Roost refuses new mail above the hard level; with only a soft
		// level set, that is the limit a client should show.
		out = append(out, quota{ID: "Qoctets", ResourceType: "octets", Used: q.Size, HardLimit: hard, Scope: "account",
			Name: login + " storage", Types: quotaTypes, WarnLimit: opt(q.Quota.Warn), SoftLimit: opt(q.Quota.Soft),
			Description: "the size of everything in the mailbox"})
	}
	if q.MaxMessages > 0 {
		out = append(out, quota{ID: "Qcount", ResourceType: "count", Used: q.Messages, HardLimit: q.MaxMessages, Scope: "account",
			Name: login + " messages", Types: quotaTypes, Description: "the number of items in the mailbox"})
	}
	return out
}

// quotaState is the quotas' values themselves (usage and levels): the
// levels are set by administrators outside the change journal, so the
// state carries what /changes needs to compare.
func quotaState(q *store.QuotaStatus) string {
	return fmt.Sprintf("q%d.%d.%d.%d.%d.%d", q.Size, q.Quota.Warn, q.Quota.Soft, q.Quota.Hard, q.Messages, q.MaxMessages)
}

func parseQuotaState(s string) (*store.QuotaStatus, bool) {
	f := strings.Split(strings.TrimPrefix(s, "q"), ".")
	if !strings.HasPrefix(s, "q") || len(f) != 6 {
		return nil, false
	}
	var n [6]int64
	for i, x := range f {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil || v < 0 {
			return nil, false
		}
		n[i] = v
	}
	return &store.QuotaStatus{Size: n[0], Quota: store.Quota{Warn: n[1], Soft: n[2], Hard: n[3]}, Messages: n[4], MaxMessages: n[5]}, true
}

func (c *call) quotaStatus(acct string) (*store.QuotaStatus, error) {
	st, err := c.account(acct)
	if err != nil {
		return nil, err
	}
	q, err := c.s.o.Store.StoreQuota(c.ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("quota of store %d: %w", st.ID, err)
	}
	return q, nil
}

func quotaGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, quotaProps); err != nil {
		return nil, err
	}
	q, err := c.quotaStatus(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: quotaState(q), List: []any{}, NotFound: []string{}}
	all := quotasOf(c.p.Login, q)
	if a.IDs == nil {
		for _, x := range all {
			res.List = append(res.List, pick(x, a.Properties))
		}
		return res, nil
	}
	for _, id := range *a.IDs {
		i := slices.IndexFunc(all, func(x quota) bool { return x.ID == id })
		if i < 0 {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		res.List = append(res.List, pick(all[i], a.Properties))
	}
	return res, nil
}

func quotaChanges(c *call, raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	old, ok := parseQuotaState(a.SinceState)
	if !ok {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "unknown state %q", a.SinceState)
	}
	q, err := c.quotaStatus(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: quotaState(q),
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	was, now := quotasOf(c.p.Login, old), quotasOf(c.p.Login, q)
	onlyUsed := true
	for _, n := range now {
		i := slices.IndexFunc(was, func(x quota) bool { return x.ID == n.ID })
		switch {
		case i < 0:
			res.Created = append(res.Created, n.ID)
		case mustJSONEq(was[i], n):
		default:
			res.Updated = append(res.Updated, n.ID)
			w := was[i]
			w.Used = n.Used
			onlyUsed = onlyUsed && mustJSONEq(w, n)
		}
	}
	for _, w := range was {
		if !slices.ContainsFunc(now, func(x quota) bool { return x.ID == w.ID }) {
			res.Destroyed = append(res.Destroyed, w.ID)
		}
	}
	if a.MaxChanges != nil && len(res.Created)+len(res.Updated)+len(res.Destroyed) > *a.MaxChanges {
		// At most two quotas: not worth intermediate states.
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "more than maxChanges changes")
	}
	if len(res.Updated) > 0 && len(res.Created)+len(res.Destroyed) == 0 && onlyUsed {
		// RFC 9425 §4.2: only "used" changed.
		props := []string{"used"}
		res.UpdatedProperties = &props
	}
	return res, nil
}

func mustJSONEq(a, b any) bool { return string(rawJSON(a)) == string(rawJSON(b)) }

// quotaFilter is RFC 9425 §4.3.
type quotaFilter struct {
	Name         *string `json:"name"`
	Scope        *string `json:"scope"`
	ResourceType *string `json:"resourceType"`
	Type         *string `json:"type"`
}

func quotaQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	var f quotaFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		if err := parseArgs(a.Filter, &f); err != nil {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
	}
	for _, s := range a.Sort {
		if s.Property != "name" && s.Property != "used" {
			return nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort quotas by %q", s.Property)
		}
	}
	q, err := c.quotaStatus(a.AccountID)
	if err != nil {
		return nil, err
	}
	var match []quota
	for _, x := range quotasOf(c.p.Login, q) {
		if (f.Name != nil && !containsFold(x.Name, *f.Name)) || (f.Scope != nil && x.Scope != *f.Scope) ||
			(f.ResourceType != nil && x.ResourceType != *f.ResourceType) || (f.Type != nil && !slices.Contains(x.Types, *f.Type)) {
			continue
		}
		match = append(match, x)
	}
	slices.SortStableFunc(match, func(x, y quota) int {
		for _, s := range a.Sort {
			d := strings.Compare(x.Name, y.Name)
			if s.Property == "used" {
				d = cmpInt(x.Used, y.Used)
			}
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return 0
	})
	ids := make([]string, len(match))
	for i, x := range match {
		ids[i] = x.ID
	}
	return page(c, a, ids, quotaState(q))
}

// quotaQueryChanges answers only an unchanged state: with at most two
// quotas a client re-queries.
func quotaQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return simpleQueryChanges(c, raw, func(acct string) (string, error) {
		q, err := c.quotaStatus(acct)
		if err != nil {
			return "", err
		}
		return quotaState(q), nil
	})
}

// simpleQueryChanges is a /queryChanges that reports nothing when the
// state is unchanged and cannotCalculateChanges otherwise (RFC 8620 §5.6
// allows it), for types whose states are not journal positions.
func simpleQueryChanges(c *call, raw json.RawMessage, state func(acct string) (string, error)) (any, error) {
	var a queryChangesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	cur, err := state(a.AccountID)
	if err != nil {
		return nil, err
	}
	if a.SinceQueryState != cur {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "the query changed: query again")
	}
	return queryChangesResponse{AccountID: a.AccountID, OldQueryState: cur, NewQueryState: cur, Removed: []string{}, Added: []addedItem{}}, nil
}
