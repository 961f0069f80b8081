package jmapserver

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// ShareNotification (RFC 9670 §4): the store's share notifications of
// the user's own account (store.ShareNotification), written by SetACL
// whichever protocol changed the ACL, with ids N<id>. Their state is the
// store's journal position like every mail type's: creating or
// destroying one is a journal entry of the user's store.

var shareMethods = map[string]method{
	"ShareNotification/get":          {CapPrincipals, shareNotificationGet},
	"ShareNotification/changes":      {CapPrincipals, shareNotificationChanges},
	"ShareNotification/query":        {CapPrincipals, shareNotificationQuery},
	"ShareNotification/queryChanges": {CapPrincipals, shareNotificationQueryChanges},
	"ShareNotification/set":          {CapPrincipals, shareNotificationSet},
}

var shareNotificationProperties = []string{"id", "created", "changedBy", "objectType", "objectAccountId", "objectId",
	"oldRights", "newRights", "name"}

// shareObjectType is the JMAP type of a shared folder; "" for folders
// JMAP does not show (notes).
func shareObjectType(t store.FolderType) (string, byte, shareKind) {
	switch t {
	case store.FolderMail:
		return "Mailbox", 'M', shareMailbox
	case store.FolderCalendar, store.FolderTasks:
		return "Calendar", 'C', shareCalendar
	case store.FolderContacts:
		return "AddressBook", 'B', shareAddressBook
	}
	return "", 0, 0
}

func (c *call) shareNotificationObject(n *store.ShareNotification) (map[string]any, error) {
	typ, kind, sk := shareObjectType(n.FolderType)
	changedBy := map[string]any{"name": n.ChangedBy, "email": nil, "principalId": nil}
	if n.ChangedBy == "" {
		changedBy["name"] = "System"
	} else {
		p, err := c.principalBySubject(store.UserSubject(n.ChangedBy))
		if err != nil {
			return nil, err
		}
		if p != nil {
			changedBy["name"] = p.name
			if p.email != "" {
				changedBy["email"] = p.email
			}
			if p.listed {
				changedBy["principalId"] = p.id
			}
		}
	}
	rights := func(letters string) any {
		if letters == "" {
			return nil
		}
		return shareRightsObject(sk, letters)
	}
	return map[string]any{
		"id":              jmap.FormatID('N', n.ID),
		"created":         n.Created.UTC().Format(time.RFC3339),
		"changedBy":       changedBy,
		"objectType":      typ,
		"objectAccountId": jmap.FormatID('A', n.ObjectStoreID),
		"objectId":        jmap.FormatID(kind, n.FolderID),
		"oldRights":       rights(n.OldRights),
		"newRights":       rights(n.NewRights),
		"name":            n.Name,
	}, nil
}

// shareNotifications reads the account's live notifications as objects.
func (c *call) shareNotifications(st *store.Store) ([]map[string]any, error) {
	ns, err := c.s.o.Store.ShareNotifications(c.ctx, st.ID, 0)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ns))
	for i := range ns {
		if typ, _, _ := shareObjectType(ns[i].FolderType); typ == "" {
			continue
		}
		o, err := c.shareNotificationObject(&ns[i])
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func shareNotificationGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, shareNotificationProperties); err != nil {
		return nil, err
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	all, err := c.shareNotifications(st)
	if err != nil {
		return nil, err
	}
	return listGet(c, &a, jmap.FormatState(st.ModSeq), all, "share notifications")
}

// shareNotificationChanges reads the notifications created or destroyed
// after the state (journal positions) from the store.
func shareNotificationChanges(c *call, raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	since, max, err := a.check()
	if err != nil {
		return nil, err
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	if since > st.ModSeq {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "state %d is in the future", since)
	}
	if since == 0 {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "unknown state %q", a.SinceState)
	}
	ns, err := c.s.o.Store.ShareNotifications(c.ctx, st.ID, since)
	if err != nil {
		return nil, err
	}
	if len(ns) >= 2*store.MaxShareNotifications {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "too many notifications since %s", a.SinceState)
	}
	type event struct {
		seq     uint64
		id      string
		created bool
	}
	var evs []event
	for _, n := range ns {
		if typ, _, _ := shareObjectType(n.FolderType); typ == "" {
			continue
		}
		id := jmap.FormatID('N', n.ID)
		switch {
		case n.Seq > since && n.DeletedSeq == 0:
			evs = append(evs, event{n.Seq, id, true})
		case n.Seq <= since && n.DeletedSeq > since:
			evs = append(evs, event{n.DeletedSeq, id, false})
		}
	}
	slices.SortStableFunc(evs, func(x, y event) int { return cmpInt(int64(x.seq), int64(y.seq)) })
	res := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: jmap.FormatState(st.ModSeq),
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	if len(evs) > max {
		// Stop at a journal position: the changes of one position go
		// together (a bulk destroy).
		cut := max
		for cut > 0 && evs[cut].seq == evs[cut-1].seq {
			cut--
		}
		if cut == 0 {
			return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "more than maxChanges changes at one state")
		}
		res.NewState, res.HasMoreChanges = jmap.FormatState(evs[cut-1].seq), true
		evs = evs[:cut]
	}
	for _, e := range evs {
		if e.created {
			res.Created = append(res.Created, e.id)
		} else {
			res.Destroyed = append(res.Destroyed, e.id)
		}
	}
	return res, nil
}

// shareNotificationFilter is RFC 9670 §4.4.1.
type shareNotificationFilter struct {
	After           *time.Time `json:"after"`
	Before          *time.Time `json:"before"`
	ObjectType      *string    `json:"objectType"`
	ObjectAccountID *string    `json:"objectAccountId"`
}

func shareNotificationQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.CollapseThreads || a.SortAsTree || a.FilterAsTree {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "not a ShareNotification/query argument")
	}
	var f shareNotificationFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		if err := parseArgs(a.Filter, &f); err != nil {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
	}
	descending := false
	for _, s := range a.Sort {
		if s.Property != "created" {
			return nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort share notifications by %q", s.Property)
		}
		descending = s.IsAscending != nil && !*s.IsAscending
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	all, err := c.shareNotifications(st)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, o := range all {
		created, _ := time.Parse(time.RFC3339, o["created"].(string))
		if (f.After != nil && created.Before(*f.After)) || (f.Before != nil && !created.Before(*f.Before)) ||
			(f.ObjectType != nil && o["objectType"] != *f.ObjectType) ||
			(f.ObjectAccountID != nil && o["objectAccountId"] != *f.ObjectAccountID) {
			continue
		}
		ids = append(ids, o["id"].(string)) // oldest first: ids grow with time
	}
	if descending {
		slices.Reverse(ids)
	}
	return page(c, a, ids, jmap.FormatState(st.ModSeq))
}

func shareNotificationQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return simpleQueryChanges(c, raw, func(acct string) (string, error) {
		st, err := c.account(acct)
		if err != nil {
			return "", err
		}
		return jmap.FormatState(st.ModSeq), nil
	})
}

// shareNotificationSet only destroys (RFC 9670 §4.3: notifications are
// the server's to create, and are immutable).
func shareNotificationSet(c *call, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.OnDestroyRemoveEmails {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "onDestroyRemoveEmails is a Mailbox/set argument")
	}
	st, res, err := c.beginSet(&a)
	if err != nil {
		return nil, err
	}
	if st.ID != c.acct.ID {
		return nil, jmap.Errorf(jmap.ErrAccountNotFound, "no account %q", a.AccountID)
	}
	for k := range a.Create {
		res.NotCreated[k] = &jmap.SetError{Type: jmap.SetForbidden, Description: "share notifications are created by the server"}
	}
	for id := range a.Update {
		res.NotUpdated[id] = &jmap.SetError{Type: jmap.SetForbidden, Description: "share notifications are immutable"}
	}
	var nums []int64
	for _, id := range a.Destroy {
		if n, ok := jmap.ParseID('N', c.resolveID(id)); ok {
			nums = append(nums, n)
		}
	}
	gone, err := c.s.o.Store.DeleteShareNotifications(c.ctx, st.ID, nums)
	if err != nil {
		return nil, err
	}
	for _, id := range a.Destroy {
		n, ok := jmap.ParseID('N', c.resolveID(id))
		if ok && slices.Contains(gone, n) && !slices.Contains(res.Destroyed, id) {
			res.Destroyed = append(res.Destroyed, id)
		} else if !slices.Contains(res.Destroyed, id) {
			res.NotDestroyed[id] = &jmap.SetError{Type: jmap.SetNotFound}
		}
	}
	return c.finishSet(st, res)
}
