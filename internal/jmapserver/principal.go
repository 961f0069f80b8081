package jmapserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// Principals (RFC 9670 §2): the users and groups of the caller's tenant,
// as its address book lists them (the GAL: users with an address, groups
// that are not hidden). Ids are U<user id> and G<group id>. They live in
// the user's own account, the one with the principals capability; the
// directory is read as the user, so the store's tenancy check holds and
// another tenant's users are never listed.

const (
	CapPrincipals     = "urn:ietf:params:jmap:principals"
	CapPrincipalOwner = "urn:ietf:params:jmap:principals:owner"
)

var principalMethods = map[string]method{
	"Principal/get":          {CapPrincipals, principalGet},
	"Principal/changes":      {CapPrincipals, principalChanges},
	"Principal/query":        {CapPrincipals, principalQuery},
	"Principal/queryChanges": {CapPrincipals, principalQueryChanges},
	"Principal/set":          {CapPrincipals, principalSet},
}

var principalProperties = []string{"id", "type", "name", "description", "email", "timeZone", "capabilities", "accounts"}

// principal is one entry of the tenant's directory as JMAP shows it.
type principal struct {
	id      string
	typ     string // individual, group, resource, location
	name    string
	email   string
	subject string // the ACL subject naming it (user:LOGIN, group:NAME)
	login   string // users
	storeID int64  // users with a store
	listed  bool   // the address book shows it
}

// subjectOrEmpty is the ACL subject of p, "" for nil.
func (p *principal) subjectOrEmpty() string {
	if p == nil {
		return ""
	}
	return p.subject
}

// userPrincipalID is a user's principal id.
func userPrincipalID(userID int64) string { return jmap.FormatID('U', userID) }

// principalType is the user's calendar user type (the one CalDAV's
// calendar-user-type shows) in RFC 9670's words: a room is a location.
func principalType(u *store.User) string {
	switch u.CalendarUserType() {
	case "RESOURCE":
		return "resource"
	case "ROOM":
		return "location"
	}
	return "individual"
}

// principals loads the caller's tenant's users and groups (once per
// call), listed or not: ACL entries may name hidden groups.
func (c *call) principals() ([]*principal, error) {
	if c.dir != nil {
		return c.dir, nil
	}
	users, err := c.s.o.Store.ListUsers(c.ctx, c.p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("users of tenant %s: %w", c.p.Tenant, err)
	}
	groups, err := c.s.o.Store.ListGroups(c.ctx, c.p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("groups of tenant %s: %w", c.p.Tenant, err)
	}
	out := []*principal{}
	for _, u := range users {
		if u.TenantID != c.p.TenantID {
			continue
		}
		name := u.FullName
		if name == "" {
			name = u.Login
		}
		out = append(out, &principal{id: userPrincipalID(u.ID), typ: principalType(u), name: name, email: u.Email,
			subject: store.UserSubject(strings.ToLower(u.Login)), login: u.Login, storeID: u.StoreID, listed: u.Email != ""})
	}
	for _, g := range groups {
		if g.TenantID != c.p.TenantID {
			continue
		}
		out = append(out, &principal{id: jmap.FormatID('G', g.ID), typ: "group", name: g.Name, email: g.Email,
			subject: store.GroupSubject(strings.ToLower(g.Name)), listed: !g.Hidden})
	}
	c.dir, c.dirKey = out, make(map[string]*principal, 2*len(out))
	for _, p := range out {
		// Ids (U…, G…) and subjects (user:…, group:…) never collide.
		c.dirKey[p.id], c.dirKey[p.subject] = p, p
	}
	return out, nil
}

// principalBySubject finds the principal an ACL subject names.
func (c *call) principalBySubject(subject string) (*principal, error) {
	if _, err := c.principals(); err != nil {
		return nil, err
	}
	if !strings.Contains(subject, ":") {
		return nil, nil
	}
	return c.dirKey[strings.ToLower(subject)], nil
}

// principalByID finds a principal by id, listed or not.
func (c *call) principalByID(id string) (*principal, error) {
	if _, err := c.principals(); err != nil {
		return nil, err
	}
	if strings.Contains(id, ":") {
		return nil, nil
	}
	return c.dirKey[id], nil
}

// principalAccounts are the accounts the user may use that hold a
// principal's data: the user's own, or another user's shared store.
func (c *call) principalAccounts(p *principal, own *store.Store) (map[string]any, error) {
	if p.storeID == 0 {
		return nil, nil
	}
	if p.storeID == own.ID {
		return map[string]any{jmap.FormatID('A', own.ID): c.s.ownAccountObject(c.p, own)}, nil
	}
	accts, err := c.sharedAccounts()
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		if a.st.ID == p.storeID {
			return map[string]any{jmap.FormatID('A', a.st.ID): c.s.sharedAccountObject(c.p, own, a)}, nil
		}
	}
	return nil, nil
}

func (c *call) principalObject(p *principal, own *store.Store) (map[string]any, error) {
	o := map[string]any{"id": p.id, "type": p.typ, "name": p.name, "description": nil, "email": nil, "timeZone": nil,
		"capabilities": map[string]any{}}
	if p.email != "" {
		o["email"] = p.email
	}
	accts, err := c.principalAccounts(p, own)
	if err != nil {
		return nil, err
	}
	if accts == nil {
		o["accounts"] = nil
	} else {
		o["accounts"] = accts
	}
	if p.login != "" && p.email != "" {
		// JMAP Calendars: the principal as a calendar user. Its
		// availability is answered for the user's own, for rooms and
		// equipment, and for a user who shares a calendar with the caller (Principal/getAvailability
		// checks the lookup right, CalDAV's read-free-busy, per calendar).
		var acct any
		for id := range accts {
			acct = id
		}
		// A room or equipment shows its busy time to the whole tenant
		// (principalGetAvailability).
		may := p.storeID == own.ID || p.typ == "location" || p.typ == "resource"
		if !may {
			shared, err := c.sharedAccounts()
			if err != nil {
				return nil, err
			}
			for _, a := range shared {
				if a.st.ID == p.storeID && slices.ContainsFunc(a.folders, func(sf store.SharedFolder) bool {
					return sf.Folder.Type == store.FolderCalendar && strings.ContainsRune(sf.Rights, store.RightLookup)
				}) {
					may = true
				}
			}
		}
		o["capabilities"] = map[string]any{CapCalendars: map[string]any{"accountId": acct,
			"mayGetAvailability": may, "mayShareWith": true, "calendarAddress": "mailto:" + p.email}}
	}
	return o, nil
}

// principalState is a digest of what Principal/get shows: principals
// are directory entries, outside the store's change journal.
func (c *call) principalState(own *store.Store) (string, []map[string]any, error) {
	ps, err := c.principals()
	if err != nil {
		return "", nil, err
	}
	var all []map[string]any
	h := sha256.New()
	for _, p := range ps {
		if !p.listed {
			continue
		}
		o, err := c.principalObject(p, own)
		if err != nil {
			return "", nil, err
		}
		all = append(all, o)
		h.Write(rawJSON(o))
	}
	return "p" + hex.EncodeToString(h.Sum(nil)[:12]), all, nil
}

func principalGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, principalProperties); err != nil {
		return nil, err
	}
	own, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	state, all, err := c.principalState(own)
	if err != nil {
		return nil, err
	}
	return listGet(c, &a, state, all, "principals")
}

// listGet answers a /get from every object of the account, all (each
// with its "id"): all of them when no ids are asked, within
// maxObjectsInGet (RFC 8620 §5.1), else the asked ones.
func listGet(c *call, a *getArgs, state string, all []map[string]any, noun string) (getResponse, error) {
	res := getResponse{AccountID: a.AccountID, State: state, List: []any{}, NotFound: []string{}}
	if a.IDs == nil {
		if len(all) > c.s.o.MaxObjectsInGet {
			return res, jmap.Errorf(jmap.ErrRequestTooLarge, "%d %s, at most %d (maxObjectsInGet): ask by ids", len(all), noun, c.s.o.MaxObjectsInGet)
		}
		for _, o := range all {
			res.List = append(res.List, pickProps(o, a.Properties))
		}
		return res, nil
	}
	byID := make(map[any]map[string]any, len(all))
	for _, o := range all {
		byID[o["id"]] = o
	}
	for _, id := range *a.IDs {
		o, ok := byID[id]
		if !ok {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		res.List = append(res.List, pickProps(o, a.Properties))
	}
	return res, nil
}

// pickProps keeps the asked properties of an object (id always).
func pickProps(o map[string]any, props *[]string) map[string]any {
	if props == nil {
		return o
	}
	out := map[string]any{"id": o["id"]}
	for _, p := range *props {
		out[p] = o[p]
	}
	return out
}

// principalChanges answers an unchanged state, and otherwise
// cannotCalculateChanges (RFC 8620 §5.2): the directory keeps no
// history, so the client fetches the principals again.
func principalChanges(c *call, raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	own, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	state, _, err := c.principalState(own)
	if err != nil {
		return nil, err
	}
	if a.SinceState != state {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "principals changed since %q", a.SinceState)
	}
	return changesResponse{AccountID: a.AccountID, OldState: state, NewState: state,
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}, nil
}

// principalFilter is RFC 9670 §2.4.1's FilterCondition.
type principalFilter struct {
	AccountIDs *[]string `json:"accountIds"`
	Email      *string   `json:"email"`
	Name       *string   `json:"name"`
	Text       *string   `json:"text"`
	Type       *string   `json:"type"`
	TimeZone   *string   `json:"timeZone"`
}

const maxPrincipalFilterDepth = 16
const maxPrincipalConditions = 1000

// principalMatcher compiles a filter (a condition or an operator) into a
// predicate; depth and the number of conditions are bounded.
func principalMatcher(raw json.RawMessage, depth int, count *int) (func(o map[string]any) bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return func(map[string]any) bool { return true }, nil
	}
	if depth > maxPrincipalFilterDepth {
		return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "filter nested deeper than %d", maxPrincipalFilterDepth)
	}
	if *count++; *count > maxPrincipalConditions {
		return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "more than %d conditions", maxPrincipalConditions)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "filter: %v", err)
	}
	if _, ok := probe["operator"]; ok {
		var f struct {
			Operator   string            `json:"operator"`
			Conditions []json.RawMessage `json:"conditions"`
		}
		if err := parseArgs(raw, &f); err != nil {
			return nil, err
		}
		var subs []func(map[string]any) bool
		for _, cond := range f.Conditions {
			m, err := principalMatcher(cond, depth+1, count)
			if err != nil {
				return nil, err
			}
			subs = append(subs, m)
		}
		switch f.Operator {
		case "AND":
			return func(o map[string]any) bool {
				return !slices.ContainsFunc(subs, func(m func(map[string]any) bool) bool { return !m(o) })
			}, nil
		case "OR":
			return func(o map[string]any) bool {
				return slices.ContainsFunc(subs, func(m func(map[string]any) bool) bool { return m(o) })
			}, nil
		case "NOT":
			return func(o map[string]any) bool {
				return !slices.ContainsFunc(subs, func(m func(map[string]any) bool) bool { return m(o) })
			}, nil
		}
		return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "unknown operator %q", f.Operator)
	}
	var f principalFilter
	if err := parseArgs(raw, &f); err != nil {
		return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
	}
	str := func(o map[string]any, k string) string { s, _ := o[k].(string); return s }
	return func(o map[string]any) bool {
		if f.AccountIDs != nil {
			accts, _ := o["accounts"].(map[string]any)
			if !slices.ContainsFunc(*f.AccountIDs, func(id string) bool { _, ok := accts[id]; return ok }) {
				return false
			}
		}
		if f.Email != nil && !containsFold(str(o, "email"), *f.Email) {
			return false
		}
		if f.Name != nil && !containsFold(str(o, "name"), *f.Name) {
			return false
		}
		if f.Text != nil && !containsFold(str(o, "name"), *f.Text) && !containsFold(str(o, "email"), *f.Text) &&
			!containsFold(str(o, "description"), *f.Text) {
			return false
		}
		if f.Type != nil && str(o, "type") != *f.Type {
			return false
		}
		if f.TimeZone != nil && str(o, "timeZone") != *f.TimeZone {
			return false
		}
		return true
	}, nil
}

func principalQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.CollapseThreads || a.SortAsTree || a.FilterAsTree {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "not a Principal/query argument")
	}
	var n int
	match, err := principalMatcher(a.Filter, 0, &n)
	if err != nil {
		return nil, err
	}
	for _, s := range a.Sort {
		if s.Property != "name" && s.Property != "email" && s.Property != "type" {
			return nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort principals by %q", s.Property)
		}
	}
	own, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	state, all, err := c.principalState(own)
	if err != nil {
		return nil, err
	}
	var hits []map[string]any
	for _, o := range all {
		if match(o) {
			hits = append(hits, o)
		}
	}
	str := func(o map[string]any, k string) string { s, _ := o[k].(string); return strings.ToLower(s) }
	slices.SortStableFunc(hits, func(x, y map[string]any) int {
		for _, s := range a.Sort {
			d := strings.Compare(str(x, s.Property), str(y, s.Property))
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return strings.Compare(str(x, "name"), str(y, "name"))
	})
	ids := make([]string, len(hits))
	for i, o := range hits {
		ids[i] = o["id"].(string)
	}
	return page(c, a, ids, state)
}

func principalQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return simpleQueryChanges(c, raw, func(acct string) (string, error) {
		own, err := c.account(acct)
		if err != nil {
			return "", err
		}
		state, _, err := c.principalState(own)
		return state, err
	})
}

// principalSet refuses every change: principals are the directory's
// users and groups, which administrators manage (roost admin, LDAP);
// RFC 9670 §2.3 lets a server refuse even a user's own principal.
func principalSet(c *call, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.OnDestroyRemoveEmails {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "onDestroyRemoveEmails is a Mailbox/set argument")
	}
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	own, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	state, all, err := c.principalState(own)
	if err != nil {
		return nil, err
	}
	if a.IfInState != nil && *a.IfInState != state {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", state, *a.IfInState)
	}
	res := &setResponse{AccountID: a.AccountID, OldState: state, NewState: state, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}
	forbidden := &jmap.SetError{Type: jmap.SetForbidden, Description: "principals are managed by administrators"}
	exists := func(id string) bool {
		return slices.ContainsFunc(all, func(o map[string]any) bool { return o["id"] == id })
	}
	for k := range a.Create {
		res.NotCreated[k] = forbidden
	}
	for id := range a.Update {
		if exists(id) {
			res.NotUpdated[id] = forbidden
		} else {
			res.NotUpdated[id] = &jmap.SetError{Type: jmap.SetNotFound}
		}
	}
	for _, id := range a.Destroy {
		if exists(id) {
			res.NotDestroyed[id] = forbidden
		} else {
			res.NotDestroyed[id] = &jmap.SetError{Type: jmap.SetNotFound}
		}
	}
	return res, nil
}
