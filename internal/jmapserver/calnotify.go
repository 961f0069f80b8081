package jmapserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/jscalendar"
	"github.com/roost-mail/roost/internal/store"
)

// CalendarEventNotification (JMAP Calendars draft §7) without a second
// change log: a notification is a journal entry of one of the user's
// calendars whose actor (store.Change.Actor) is not the user — another
// user writing through an ACL, or the iTIP scheduler delivering an
// invitation, an answer or a cancellation on behalf of the organizer or
// an attendee, or delivery of an external iMIP message (no actor). A
// store.ReplaceItem (a CalDAV PUT, a JMAP update, a scheduler update)
// journals the old version's deletion and the new version's creation
// back to back: the pair is one "updated" notification. Its id is "N"
// and the journal position of the change; the event versions are the
// items the entries name (the replaced and deleted ones are read while
// the store keeps them soft-deleted).
//
// What the user destroys is recorded in the store's properties (one key
// per notification, with the time), and a floor below which every
// notification is destroyed keeps the journal scan short.
var calNotifyMethods = map[string]method{
	"CalendarEventNotification/get":          {CapCalendars, calNotifyGet},
	"CalendarEventNotification/changes":      {CapCalendars, calNotifyChanges},
	"CalendarEventNotification/query":        {CapCalendars, calNotifyQuery},
	"CalendarEventNotification/queryChanges": {CapCalendars, calNotifyQueryChanges},
	"CalendarEventNotification/set":          {CapCalendars, calNotifySet},
}

const (
	cenPrefix      = "jmap/cen/"
	cenFloorKey    = cenPrefix + "floor"
	cenPrunedKey   = cenPrefix + "pruned"
	cenDismissPfx  = cenPrefix + "d/"
	maxCalNotifies = 1000 // newest kept; older ones are destroyed by the server
	maxDismissKeys = 5000 // destroy records kept for /changes
	cenScanBatch   = 1000
)

// notification is one CalendarEventNotification, derived from the journal.
type notification struct {
	seq     uint64 // the id is "N<seq>"
	first   uint64 // the first journal entry of it (updated: the deletion)
	typ     string // created, updated, destroyed
	folder  int64
	name    string
	item    int64 // the version after the change; destroyed: the deleted one
	oldItem int64 // updated: the version before
	actor   string
	at      time.Time
}

func (n *notification) id() string { return "N" + strconv.FormatUint(n.seq, 10) }

// notifyState is what the user destroyed.
type notifyState struct {
	floor     uint64
	dismissed map[uint64]int64 // seq → when (unix µs)
	pruned    int64            // destroy records older than this are gone
	last      int64            // the latest destroy
}

func (ns *notifyState) state(modSeq uint64) string {
	return jmap.FormatState(modSeq) + "-" + strconv.FormatInt(ns.last, 10)
}

func parseNotifyState(s string) (modSeq uint64, last int64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	m, ok := jmap.ParseState(a)
	if !ok {
		return 0, 0, false
	}
	l, err := strconv.ParseInt(b, 10, 64)
	return m, l, err == nil && l >= 0
}

func (c *call) loadNotifyState(st *store.Store) (*notifyState, error) {
	props, err := c.s.o.Store.StorePropsPrefix(c.ctx, st.ID, cenPrefix)
	if err != nil {
		return nil, fmt.Errorf("notifications of store %d: %w", st.ID, err)
	}
	ns := &notifyState{dismissed: map[uint64]int64{}}
	ns.floor, _ = strconv.ParseUint(props[cenFloorKey], 10, 64)
	ns.pruned, _ = strconv.ParseInt(props[cenPrunedKey], 10, 64)
	for k, v := range props {
		if s, ok := strings.CutPrefix(k, cenDismissPfx); ok {
			seq, err1 := strconv.ParseUint(s, 10, 64)
			at, err2 := strconv.ParseInt(v, 10, 64)
			if err1 == nil && err2 == nil {
				ns.dismissed[seq] = at
				ns.last = max(ns.last, at)
			}
		}
	}
	ns.last = max(ns.last, ns.pruned)
	return ns, nil
}

// notifications lists the live notifications of the account, oldest
// first, and the account's store as read.
func (c *call) notifications(accountID string) ([]*notification, *store.Store, *notifyState, error) {
	st, err := c.account(accountID)
	if err != nil {
		return nil, nil, nil, err
	}
	ns, err := c.loadNotifyState(st)
	if err != nil {
		return nil, nil, nil, err
	}
	folders, err := c.groupwareFolders(st, true)
	if err != nil {
		return nil, nil, nil, err
	}
	var out []*notification
	for _, f := range folders {
		var chs []store.Change
		for pos := ns.floor; ; {
			b, err := c.s.o.Store.FolderChanges(c.ctx, f.ID, pos, cenScanBatch)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("journal of folder %d: %w", f.ID, err)
			}
			for _, ch := range b {
				if ch.Seq <= st.ModSeq {
					chs = append(chs, ch)
				}
			}
			if len(b) < cenScanBatch {
				break
			}
			pos = b[len(b)-1].Seq
		}
		out = append(out, c.foldNotifications(f.ID, chs)...)
	}
	live := out[:0]
	for _, n := range out {
		if _, gone := ns.dismissed[n.seq]; !gone {
			live = append(live, n)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].seq < live[j].seq })
	if extra := len(live) - maxCalNotifies; extra > 0 {
		// The server destroys the oldest (the draft lets it): recorded
		// like the user's destroys, so /changes reports them.
		if err := c.dismiss(st, ns, live[:extra], live[extra:]); err != nil {
			return nil, nil, nil, err
		}
		live = live[extra:]
	} else if err := c.raiseFloor(st, ns, live); err != nil {
		return nil, nil, nil, err
	}
	return live, st, ns, nil
}

// foldNotifications turns one calendar's journal entries into
// notifications: entries of the user's own requests and flag changes
// are skipped, a deletion followed at once by a creation of the same
// name by the same actor is one update.
func (c *call) foldNotifications(folder int64, chs []store.Change) []*notification {
	var out []*notification
	for i := 0; i < len(chs); i++ {
		ch := chs[i]
		if ch.ItemID == 0 || ch.Name == "" || ch.Kind == store.ChangeItemUpdated {
			continue
		}
		n := &notification{seq: ch.Seq, first: ch.Seq, folder: folder, name: ch.Name, item: ch.ItemID, actor: ch.Actor, at: ch.Time}
		switch ch.Kind {
		case store.ChangeItemCreated:
			n.typ = "created"
		case store.ChangeItemDeleted:
			n.typ = "destroyed"
			if i+1 < len(chs) {
				nx := chs[i+1]
				if nx.Kind == store.ChangeItemCreated && nx.Seq == ch.Seq+1 && nx.Name == ch.Name && nx.Actor == ch.Actor {
					n.typ, n.seq, n.oldItem, n.item, n.at = "updated", nx.Seq, ch.ItemID, nx.ItemID, nx.Time
					i++
				}
			}
		default:
			continue
		}
		if ch.Actor == c.p.Login || ch.Actor == store.ActorUnrecorded {
			continue
		}
		out = append(out, n)
	}
	return out
}

// floorBelow is the highest floor that keeps the live notifications
// above it: every journal entry up to it is scanned for nothing.
func (ns *notifyState) floorBelow(st *store.Store, live []*notification) uint64 {
	floor := st.ModSeq
	for _, n := range live {
		if _, d := ns.dismissed[n.seq]; !d {
			floor = min(floor, n.first-1)
		}
	}
	return floor
}

// raiseFloor moves the floor up to floorBelow when that skips more than a
// scan batch of journal entries: the user's own changes, flag changes and
// destroyed notifications are then not read again by every call. (The
// floor only moved when notifications were destroyed, so a user who
// destroys none had the calendars' whole journal scanned each time.)
// Only for the account's owner: which entries make notifications
// depends on who asks (their own changes make none).
func (c *call) raiseFloor(st *store.Store, ns *notifyState, live []*notification) error {
	floor := ns.floorBelow(st, live)
	if floor <= ns.floor+cenScanBatch || st.Owner != c.p.Login {
		return nil
	}
	c.s.subMu.Lock()
	defer c.s.subMu.Unlock()
	f := strconv.FormatUint(floor, 10)
	if err := c.s.o.Store.SetStoreProps(c.ctx, st.ID, map[string]*string{cenFloorKey: &f}); err != nil {
		return fmt.Errorf("record the notifications' floor: %w", err)
	}
	ns.floor = floor
	return nil
}

// dismiss records notifications as destroyed now, and moves the floor
// below the oldest one still live.
func (c *call) dismiss(st *store.Store, ns *notifyState, gone, live []*notification) error {
	// The submissions' lock serialises this node's read-modify-write of
	// the destroy times (another node's destroys get their own keys).
	c.s.subMu.Lock()
	defer c.s.subMu.Unlock()
	at := max(c.s.o.Now().UnixMicro(), ns.last+1)
	set := map[string]*string{}
	v := strconv.FormatInt(at, 10)
	for _, n := range gone {
		set[cenDismissPfx+strconv.FormatUint(n.seq, 10)] = &v
		ns.dismissed[n.seq] = at
	}
	ns.last = at
	if floor := ns.floorBelow(st, live); floor > ns.floor {
		f := strconv.FormatUint(floor, 10)
		set[cenFloorKey] = &f
		ns.floor = floor
	}
	// Bound the destroy records: the oldest go, and a /changes from
	// before them cannot be calculated.
	if len(ns.dismissed) > maxDismissKeys {
		type rec struct {
			seq uint64
			at  int64
		}
		var all []rec
		for s, a := range ns.dismissed {
			all = append(all, rec{s, a})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].at < all[j].at || all[i].at == all[j].at && all[i].seq < all[j].seq })
		for _, r := range all[:len(all)-maxDismissKeys] {
			if r.seq > ns.floor {
				continue // still needed to hide it
			}
			set[cenDismissPfx+strconv.FormatUint(r.seq, 10)] = nil
			delete(ns.dismissed, r.seq)
			ns.pruned = max(ns.pruned, r.at)
		}
		p := strconv.FormatInt(ns.pruned, 10)
		set[cenPrunedKey] = &p
	}
	if err := c.s.o.Store.SetStoreProps(c.ctx, st.ID, set); err != nil {
		return fmt.Errorf("record destroyed notifications: %w", err)
	}
	return nil
}

// readVersion reads an event version, live or soft-deleted; nil when
// the store no longer has it (purged) or it does not convert.
func (c *call) readVersion(itemID int64) (map[string]any, error) {
	rc, err := c.s.o.Store.OpenItem(c.ctx, itemID)
	if errors.Is(err, store.ErrNotFound) {
		rc, err = c.s.o.Store.OpenDeletedItem(c.ctx, itemID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open item %d: %w", itemID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", itemID, err)
	}
	cal, err := ical.Decode(b, ical.Limits{MaxBytes: maxObjectBytes})
	if err != nil {
		return nil, nil
	}
	js, err := jscalendar.FromICal(cal)
	if err != nil {
		return nil, nil
	}
	return jscalendar.Normalize(js), nil
}

// eventPatch is a PatchObject from old to new at the top level: changed
// properties with their new value, removed ones null.
func eventPatch(old, new map[string]any) map[string]any {
	p := map[string]any{}
	for k, v := range new {
		if ov, ok := old[k]; !ok || !jsonEqual(ov, v) {
			p[k] = v
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			p[k] = nil
		}
	}
	return p
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return reflect.DeepEqual(a, b)
	}
	var x, y any
	json.Unmarshal(ja, &x)
	json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

// changedBy is the draft's Person: the acting user, or for changes no
// user of Roost made (external iMIP) the event's organizer.
func (c *call) changedBy(n *notification, ev map[string]any) (map[string]any, error) {
	if n.actor != "" {
		u, err := c.s.o.Store.GetUser(store.SystemContext(c.ctx), n.actor)
		if errors.Is(err, store.ErrNotFound) {
			return map[string]any{"name": n.actor, "email": nil, "principalId": nil, "calendarAddress": nil}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", n.actor, err)
		}
		name := u.FullName
		if name == "" {
			name = u.Login
		}
		return map[string]any{"name": name, "email": nullIfEmpty(u.Email), "principalId": userPrincipalID(u.ID),
			"calendarAddress": nullIfEmpty(mailtoOf(u.Email))}, nil
	}
	var addr, name string
	if rt, ok := ev["replyTo"].(map[string]any); ok {
		addr, _ = rt["imip"].(string)
	}
	if ps, ok := ev["participants"].(map[string]any); ok {
		for _, p := range ps {
			pm, _ := p.(map[string]any)
			roles, _ := pm["roles"].(map[string]any)
			if roles["owner"] == true {
				name, _ = pm["name"].(string)
				if addr == "" {
					if st, ok := pm["sendTo"].(map[string]any); ok {
						addr, _ = st["imip"].(string)
					}
				}
			}
		}
	}
	email := strings.TrimPrefix(strings.TrimPrefix(addr, "mailto:"), "MAILTO:")
	if name == "" {
		name = email
	}
	return map[string]any{"name": name, "email": nullIfEmpty(email), "principalId": nil, "calendarAddress": nullIfEmpty(addr)}, nil
}

func mailtoOf(email string) string {
	if email == "" {
		return ""
	}
	return "mailto:" + email
}

var calNotifyProps = []string{"id", "created", "changedBy", "comment", "type", "calendarEventId", "isDraft", "event", "eventPatch"}

// object builds a notification; nil when its event version is gone.
func (c *call) notificationObject(n *notification, props []string) (map[string]any, error) {
	ev, err := c.readVersion(n.item)
	if err != nil || ev == nil {
		return nil, err
	}
	o := map[string]any{"id": n.id(), "created": utcDate(n.at), "comment": nil, "type": n.typ,
		"calendarEventId": objectID('V', n.folder, n.name), "isDraft": false, "event": ev}
	if n.typ == "updated" {
		old, err := c.readVersion(n.oldItem)
		if err != nil {
			return nil, err
		}
		if old != nil {
			o["eventPatch"] = eventPatch(old, ev)
		} else {
			o["eventPatch"] = map[string]any{}
		}
	}
	if o["changedBy"], err = c.changedBy(n, ev); err != nil {
		return nil, err
	}
	if props != nil {
		for k := range o {
			if k != "id" && !slices.Contains(props, k) {
				delete(o, k)
			}
		}
	}
	return o, nil
}

func calNotifyGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, calNotifyProps); err != nil {
		return nil, err
	}
	list, st, ns, err := c.notifications(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: ns.state(st.ModSeq), List: []any{}, NotFound: []string{}}
	byID := map[string]*notification{}
	for _, n := range list {
		byID[n.id()] = n
	}
	var want []string
	if a.IDs != nil {
		want = *a.IDs
	} else {
		if len(list) > c.s.o.MaxObjectsInGet {
			return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d notifications, at most %d (maxObjectsInGet): ask by ids", len(list), c.s.o.MaxObjectsInGet)
		}
		for _, n := range list {
			want = append(want, n.id())
		}
	}
	var props []string
	if a.Properties != nil {
		props = *a.Properties
	}
	for _, id := range want {
		n := byID[id]
		if n == nil {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		o, err := c.notificationObject(n, props)
		if err != nil {
			return nil, err
		}
		if o == nil {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		res.List = append(res.List, o)
	}
	return res, nil
}

func calNotifyChanges(c *call, raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	m0, d0, ok := parseNotifyState(a.SinceState)
	if !ok {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "unknown state %q", a.SinceState)
	}
	list, st, ns, err := c.notifications(a.AccountID)
	if err != nil {
		return nil, err
	}
	if m0 > st.ModSeq || d0 > ns.last || d0 < ns.pruned && ns.pruned > 0 {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "state %q is too old or unknown", a.SinceState)
	}
	maxN := 5000
	if a.MaxChanges != nil && *a.MaxChanges < maxN {
		maxN = *a.MaxChanges
	}
	// Destroyed: what was destroyed since d0 among what the client could
	// have seen (journal position up to m0).
	destroyed := []string{}
	var ds []uint64
	for seq, at := range ns.dismissed {
		if at > d0 && seq <= m0 {
			ds = append(ds, seq)
		}
	}
	slices.Sort(ds)
	for _, s := range ds {
		destroyed = append(destroyed, "N"+strconv.FormatUint(s, 10))
	}
	if len(destroyed) > maxN {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "more than %d destroyed notifications", maxN)
	}
	created := []string{}
	newM, more := m0, false
	for _, n := range list {
		if n.seq <= m0 {
			continue
		}
		if len(created)+len(destroyed) >= maxN {
			more = true
			break
		}
		created = append(created, n.id())
		newM = n.seq
	}
	if !more {
		newM = st.ModSeq
	}
	return changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: ns.state(newM), HasMoreChanges: more,
		Created: created, Updated: []string{}, Destroyed: destroyed}, nil
}

type calNotifyFilter struct {
	After            *time.Time `json:"after"`
	Before           *time.Time `json:"before"`
	Type             *string    `json:"type"`
	CalendarEventIDs []string   `json:"calendarEventIds"`
}

func calNotifyQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	var f calNotifyFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		if err := parseArgs(a.Filter, &f); err != nil {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
		if len(f.CalendarEventIDs) > c.s.o.MaxObjectsInGet {
			return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "at most %d calendarEventIds", c.s.o.MaxObjectsInGet)
		}
	}
	desc := false
	for i, s := range a.Sort {
		if s.Property != "created" || i > 0 {
			return nil, jmap.Errorf(jmap.ErrUnsupportedSort, "sort by created only")
		}
		desc = s.IsAscending != nil && !*s.IsAscending
	}
	list, st, ns, err := c.notifications(a.AccountID)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, n := range list {
		switch {
		case f.After != nil && n.at.Before(*f.After),
			f.Before != nil && !n.at.Before(*f.Before),
			f.Type != nil && *f.Type != n.typ,
			f.CalendarEventIDs != nil && !slices.Contains(f.CalendarEventIDs, objectID('V', n.folder, n.name)):
			continue
		}
		ids = append(ids, n.id())
	}
	if desc {
		slices.Reverse(ids)
	}
	return page(c, a, ids, ns.state(st.ModSeq))
}

// calNotifyQueryChanges answers an unchanged state; otherwise the
// client queries again.
func calNotifyQueryChanges(c *call, raw json.RawMessage) (any, error) {
	return simpleQueryChanges(c, raw, func(acct string) (string, error) {
		_, st, ns, err := c.notifications(acct)
		if err != nil {
			return "", err
		}
		return ns.state(st.ModSeq), nil
	})
}

// calNotifySet destroys notifications; they are created by the server
// only (the draft: create and update are forbidden).
func calNotifySet(c *call, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	list, st, ns, err := c.notifications(a.AccountID)
	if err != nil {
		return nil, err
	}
	state := ns.state(st.ModSeq)
	if a.IfInState != nil && *a.IfInState != state {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", state, *a.IfInState)
	}
	res := &setResponse{AccountID: a.AccountID, OldState: state, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}
	for k := range a.Create {
		res.NotCreated[k] = &jmap.SetError{Type: jmap.SetForbidden, Description: "notifications are made by the server"}
	}
	for k := range a.Update {
		res.NotUpdated[k] = &jmap.SetError{Type: jmap.SetForbidden, Description: "notifications cannot be changed"}
	}
	byID := map[string]*notification{}
	for _, n := range list {
		byID[n.id()] = n
	}
	var gone []*notification
	for _, id := range a.Destroy {
		n := byID[c.resolveID(id)]
		if n == nil {
			res.NotDestroyed[id] = &jmap.SetError{Type: jmap.SetNotFound}
			continue
		}
		delete(byID, n.id())
		gone = append(gone, n)
		res.Destroyed = append(res.Destroyed, id)
	}
	if len(gone) > 0 {
		if err := c.dismiss(st, ns, gone, list); err != nil {
			return nil, err
		}
	}
	res.NewState = ns.state(st.ModSeq)
	return res, nil
}
