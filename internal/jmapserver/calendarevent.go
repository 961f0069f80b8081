package jmapserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/jscalendar"
	"github.com/roost-mail/roost/internal/store"
)

// event is a stored calendar object with its JSCalendar form.
type event struct {
	f    *store.Folder
	it   *store.Item
	body []byte
	cal  *ical.Component
	js   jscalendar.Object
}

// loadEvent reads and converts a stored object; nil for one that is not
// a readable VEVENT/VTODO (skipped and logged: it is still served as is
// over CalDAV).
func (c *call) loadEvent(f *store.Folder, it *store.Item) (*event, error) {
	body, err := c.readObject(it)
	if err != nil {
		return nil, err
	}
	cal, err := ical.Decode(body, ical.Limits{MaxBytes: maxObjectBytes})
	if err == nil {
		var js jscalendar.Object
		if js, err = jscalendar.FromICal(cal); err == nil {
			return &event{f: f, it: it, body: body, cal: cal, js: jscalendar.Normalize(js)}, nil
		}
	}
	c.s.log.Warn("JMAP: calendar object not converted", "folder", f.ID, "name", it.Name, "err", err)
	return nil, nil
}

// myAddresses are the user's calendar addresses (mailto:, lower case).
func (c *call) myAddresses() ([]string, error) {
	u, err := c.s.o.Store.GetUser(store.SystemContext(c.ctx), c.p.Login)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", c.p.Login, err)
	}
	var out []string
	for _, a := range append([]string{u.Email}, u.Aliases...) {
		if a != "" {
			out = append(out, "mailto:"+strings.ToLower(a))
		}
	}
	return out, nil
}

// eventObject is the CalendarEvent of e (an instance when key is set).
func (c *call) eventObject(e *event, key string, mine []string) (map[string]any, bool) {
	o := e.js
	id := objectID('V', e.f.ID, e.it.Name)
	if key != "" {
		inst, ok := jscalendar.Instance(e.js, key)
		if !ok {
			return nil, false
		}
		o = inst
		id = "W" + id[1:] + "_" + strings.NewReplacer("-", "", ":", "").Replace(key)
	}
	out := make(map[string]any, len(o)+4)
	for k, v := range o {
		out[k] = v
	}
	out["id"] = id
	out["calendarIds"] = map[string]bool{jmap.FormatID('C', e.f.ID): true}
	out["isDraft"] = false
	origin := true
	if rt, ok := o["replyTo"].(map[string]any); ok {
		if addr, ok := rt["imip"].(string); ok {
			origin = slices.Contains(mine, strings.ToLower(addr))
		}
	}
	out["isOrigin"] = origin
	if start, end, ok := jscalendar.Span(o, c.s.o.Scheduler.Zones.Zones(e.cal)); ok {
		out["utcStart"] = start.UTC().Format(jscalendar.UTCLayout)
		out["utcEnd"] = end.UTC().Format(jscalendar.UTCLayout)
	}
	return out, true
}

// keyOfStamp turns an instance id's "20260105T100000" into a
// LocalDateTime.
func keyOfStamp(s string) string {
	t, err := time.Parse("20060102T150405", s)
	if err != nil {
		return ""
	}
	return t.Format(jscalendar.LocalLayout)
}

type eventGetArgs struct {
	getArgs
	RecurrenceOverridesBefore *string `json:"recurrenceOverridesBefore"`
	RecurrenceOverridesAfter  *string `json:"recurrenceOverridesAfter"`
	ReduceParticipants        bool    `json:"reduceParticipants"`
	TimeZone                  *string `json:"timeZone"`
}

func calendarEventGet(c *call, raw json.RawMessage) (any, error) {
	var a eventGetArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a.getArgs, nil); err != nil {
		return nil, err
	}
	var before, after time.Time
	for _, x := range []struct {
		s *string
		t *time.Time
	}{{a.RecurrenceOverridesBefore, &before}, {a.RecurrenceOverridesAfter, &after}} {
		if x.s != nil {
			t, err := time.Parse(time.RFC3339, *x.s)
			if err != nil {
				return nil, jmap.Errorf(jmap.ErrInvalidArguments, "not a UTCDate: %q", *x.s)
			}
			*x.t = t
		}
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	mine, err := c.myAddresses()
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	add := func(e *event, key string) bool {
		o, ok := c.eventObject(e, key, mine)
		if !ok {
			return false
		}
		if ovs, ok := o["recurrenceOverrides"].(map[string]any); ok && (!before.IsZero() || !after.IsZero()) {
			zones := c.s.o.Scheduler.Zones.Zones(e.cal)
			kept := map[string]any{}
			for k, v := range ovs {
				inst, _, ok := jscalendar.Span(map[string]any{"start": k, "timeZone": o["timeZone"]}, zones)
				if ok && (before.IsZero() || inst.Before(before)) && (after.IsZero() || !inst.Before(after)) {
					kept[k] = v
				}
			}
			o["recurrenceOverrides"] = kept
		}
		if a.ReduceParticipants {
			if ps, ok := o["participants"].(map[string]any); ok {
				kept := map[string]any{}
				for id, v := range ps {
					p, _ := v.(map[string]any)
					roles, _ := p["roles"].(map[string]any)
					send, _ := p["sendTo"].(map[string]any)
					addr, _ := send["imip"].(string)
					if roles["owner"] == true || slices.Contains(mine, strings.ToLower(addr)) {
						kept[id] = v
					}
				}
				o["participants"] = kept
			}
		}
		if a.Properties != nil {
			for k := range o {
				if k != "id" && !slices.Contains(*a.Properties, k) {
					delete(o, k)
				}
			}
		}
		res.List = append(res.List, o)
		return true
	}
	if a.IDs == nil {
		folders, err := c.groupwareFolders(st, true)
		if err != nil {
			return nil, err
		}
		err = c.eachObject(folders, "events", func(f *store.Folder, it *store.Item) error {
			e, err := c.loadEvent(f, it)
			if e != nil {
				add(e, "")
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	for _, id := range *a.IDs {
		ref, ok := parseObjectID('V', id)
		if !ok {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		f, it, err := c.findObject(st, ref, isCalendarFolder)
		if errors.Is(err, store.ErrNotFound) {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		e, err := c.loadEvent(f, it)
		if err != nil {
			return nil, err
		}
		key := ""
		if ref.rid != "" {
			key = keyOfStamp(ref.rid)
		}
		if e == nil || !add(e, key) {
			res.NotFound = append(res.NotFound, id)
		}
	}
	return res, nil
}

func calendarEventChanges(c *call, raw json.RawMessage) (any, error) {
	return c.groupwareChanges(raw, false, 'V', func(t store.FolderType) bool {
		return t == store.FolderCalendar || t == store.FolderTasks
	})
}

// eventFilter is FilterCondition/FilterOperator of CalendarEvent/query.
type eventFilter struct {
	Operator   string        `json:"operator"`
	Conditions []eventFilter `json:"conditions"`

	InCalendars []string `json:"inCalendars"`
	After       *string  `json:"after"`
	Before      *string  `json:"before"`
	Text        *string  `json:"text"`
	Title       *string  `json:"title"`
	Description *string  `json:"description"`
	Location    *string  `json:"location"`
	Owner       *string  `json:"owner"`
	Attendee    *string  `json:"attendee"`
	UID         *string  `json:"uid"`

	after, before time.Time
}

func (f *eventFilter) check(depth int, terms *int) error {
	if depth > 16 {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "filter nested too deep")
	}
	if *terms++; *terms > 1000 {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "too many filter conditions")
	}
	switch f.Operator {
	case "":
	case "AND", "OR", "NOT":
		for i := range f.Conditions {
			if err := f.Conditions[i].check(depth+1, terms); err != nil {
				return err
			}
		}
		return nil
	default:
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "unknown operator %q", f.Operator)
	}
	*terms += len(f.InCalendars)
	for _, x := range []struct {
		s *string
		t *time.Time
	}{{f.After, &f.after}, {f.Before, &f.before}} {
		if x.s != nil {
			t, err := time.Parse(time.RFC3339, *x.s)
			if err != nil {
				return jmap.Errorf(jmap.ErrUnsupportedFilter, "not a UTCDate: %q", *x.s)
			}
			*x.t = t
		}
	}
	return nil
}

// jsText is what the text filters search: the JSON of the named
// properties.
func jsText(o map[string]any, keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		switch v := o[k].(type) {
		case string:
			b.WriteString(v + "\n")
		case nil:
		default:
			j, _ := json.Marshal(v)
			b.Write(j)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func participantMatches(o map[string]any, who string, owner bool) bool {
	ps, _ := o["participants"].(map[string]any)
	for _, v := range ps {
		p, _ := v.(map[string]any)
		roles, _ := p["roles"].(map[string]any)
		if owner != (roles["owner"] == true) && owner {
			continue
		}
		if !owner && roles["attendee"] != true {
			continue
		}
		if containsFold(jsText(p, "name", "email", "sendTo"), who) {
			return true
		}
	}
	return false
}

// match evaluates f for one event (or instance) o of calendar calID
// occupying [start, end) (zero: unbounded).
func (f *eventFilter) match(o map[string]any, calID string, start, end time.Time) bool {
	switch f.Operator {
	case "AND":
		for i := range f.Conditions {
			if !f.Conditions[i].match(o, calID, start, end) {
				return false
			}
		}
		return true
	case "OR":
		for i := range f.Conditions {
			if f.Conditions[i].match(o, calID, start, end) {
				return true
			}
		}
		return false
	case "NOT":
		for i := range f.Conditions {
			if f.Conditions[i].match(o, calID, start, end) {
				return false
			}
		}
		return true
	}
	if f.InCalendars != nil && !slices.Contains(f.InCalendars, calID) {
		return false
	}
	// RFC-style overlap: ends after "after", starts before "before".
	if !f.after.IsZero() && !end.IsZero() && !end.After(f.after) && !(end.Equal(start) && end.Equal(f.after)) {
		return false
	}
	if !f.before.IsZero() && !start.IsZero() && !start.Before(f.before) {
		return false
	}
	str := func(p *string, keys ...string) bool { return p == nil || containsFold(jsText(o, keys...), *p) }
	if !str(f.Text, "title", "description", "locations", "participants", "keywords") || !str(f.Title, "title") ||
		!str(f.Description, "description") || !str(f.Location, "locations") {
		return false
	}
	if f.UID != nil && o["uid"] != *f.UID {
		return false
	}
	if f.Owner != nil && !participantMatches(o, *f.Owner, true) {
		return false
	}
	if f.Attendee != nil && !participantMatches(o, *f.Attendee, false) {
		return false
	}
	return true
}

type eventQueryArgs struct {
	AccountID         string          `json:"accountId"`
	Filter            json.RawMessage `json:"filter"`
	Sort              []comparator    `json:"sort"`
	Position          int             `json:"position"`
	Anchor            *string         `json:"anchor"`
	AnchorOffset      int             `json:"anchorOffset"`
	Limit             *int            `json:"limit"`
	CalculateTotal    bool            `json:"calculateTotal"`
	ExpandRecurrences bool            `json:"expandRecurrences"`
	TimeZone          *string         `json:"timeZone"`
}

var eventSorts = []string{"start", "uid", "created", "updated", "recurrenceId"}

// maxExpansion is the longest after..before window an expanding query
// may ask for (maxExpandedQueryDuration).
const maxExpansion = 400 * 24 * time.Hour

// maxExpandedInstances bounds the instances one expanding query builds,
// across all its events (each series alone stops at 2000).
const maxExpandedInstances = 20000

func calendarEventQuery(c *call, raw json.RawMessage) (any, error) {
	var a eventQueryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	ids, st, err := c.eventQueryIDs(a.AccountID, a.Filter, a.Sort, a.ExpandRecurrences)
	if err != nil {
		return nil, err
	}
	qa := queryArgs{AccountID: a.AccountID, Position: a.Position, Anchor: a.Anchor, AnchorOffset: a.AnchorOffset,
		Limit: a.Limit, CalculateTotal: a.CalculateTotal}
	if a.ExpandRecurrences {
		// Instances come and go with the query window, not with the
		// journal: no /queryChanges for them.
		return page(c, qa, ids, jmap.FormatState(st.ModSeq))
	}
	return pageChanges(c, qa, ids, st)
}

// eventQueryIDs runs a CalendarEvent/query: every matching id (of an
// event, or of an instance when expanding), sorted.
func (c *call) eventQueryIDs(accountID string, rawFilter json.RawMessage, sortBy []comparator, expand bool) ([]string, *store.Store, error) {
	a := struct {
		AccountID         string
		Filter            json.RawMessage
		Sort              []comparator
		ExpandRecurrences bool
	}{accountID, rawFilter, sortBy, expand}
	var filter eventFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		dec := json.NewDecoder(bytes.NewReader(a.Filter))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&filter); err != nil {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
		terms := 0
		if err := filter.check(0, &terms); err != nil {
			return nil, nil, err
		}
	}
	for _, s := range a.Sort {
		if !slices.Contains(eventSorts, s.Property) {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort events by %q", s.Property)
		}
	}
	top := filter.Operator == ""
	if a.ExpandRecurrences {
		if !top || filter.after.IsZero() || filter.before.IsZero() {
			return nil, nil, jmap.Errorf(jmap.ErrInvalidArguments, "expandRecurrences needs after and before in the filter")
		}
		if filter.before.Sub(filter.after) > maxExpansion {
			return nil, nil, jmap.Errorf(jmap.ErrInvalidArguments, "expansion window longer than maxExpandedQueryDuration")
		}
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, nil, err
	}
	folders, err := c.groupwareFolders(st, true)
	if err != nil {
		return nil, nil, err
	}
	mine, err := c.myAddresses()
	if err != nil {
		return nil, nil, err
	}
	type hit struct {
		id               string
		start            time.Time
		uid, rid         string
		created, updated string
	}
	var hits []hit
	read, expanded := 0, 0
	for _, f := range folders {
		calID := jmap.FormatID('C', f.ID)
		if top && filter.InCalendars != nil && !slices.Contains(filter.InCalendars, calID) {
			continue
		}
		q := store.ObjectQuery{}
		if top {
			q.Start, q.End = filter.after, filter.before
		}
		items, err := c.s.o.Store.ListObjects(c.ctx, f.ID, q)
		if err != nil {
			return nil, nil, fmt.Errorf("objects of folder %d: %w", f.ID, err)
		}
		if read += len(items); read > maxGroupwareObjects {
			return nil, nil, jmap.Errorf(jmap.ErrRequestTooLarge, "more than %d events to search: narrow the filter", maxGroupwareObjects)
		}
		for _, it := range items {
			if it.Name == "" {
				continue
			}
			e, err := c.loadEvent(f, it)
			if err != nil {
				return nil, nil, err
			}
			if e == nil {
				continue
			}
			str := func(k string) string { s, _ := e.js[k].(string); return s }
			if !a.ExpandRecurrences {
				o, _ := c.eventObject(e, "", mine)
				if filter.match(o, calID, it.Start, it.End) {
					hits = append(hits, hit{id: o["id"].(string), start: it.Start, uid: str("uid"), created: str("created"), updated: str("updated")})
				}
				continue
			}
			zones := c.s.o.Scheduler.Zones.Zones(e.cal)
			for _, s := range ical.SeriesOf(e.cal, zones) {
				occ, err := ical.Expand(s, filter.after, filter.before, ical.ExpandLimits{MaxInstances: 2000})
				if err != nil && len(occ) == 0 {
					c.s.log.Warn("JMAP: expansion failed", "folder", f.ID, "name", it.Name, "err", err)
					continue
				}
				if expanded += len(occ); expanded > maxExpandedInstances {
					return nil, nil, jmap.Errorf(jmap.ErrRequestTooLarge, "more than %d instances to expand: narrow the window or the calendars", maxExpandedInstances)
				}
				recurring := s.Master != nil && (s.Master.Prop("RRULE") != nil || s.Master.Prop("RDATE") != nil) || len(s.Overrides) > 0
				for _, oc := range occ {
					key := ""
					if recurring {
						key = jscalendar.RecurrenceKey(e.cal, oc.RecurrenceID, oc.Date)
					}
					o, ok := c.eventObject(e, key, mine)
					if !ok {
						continue
					}
					o["utcStart"] = oc.Start.UTC().Format(jscalendar.UTCLayout)
					o["utcEnd"] = oc.End.UTC().Format(jscalendar.UTCLayout)
					if filter.match(o, calID, oc.Start, oc.End) {
						hits = append(hits, hit{id: o["id"].(string), start: oc.Start, uid: str("uid"), rid: key,
							created: str("created"), updated: str("updated")})
					}
				}
			}
		}
	}
	sorts := a.Sort
	if len(sorts) == 0 {
		sorts = []comparator{{Property: "start"}}
	}
	slices.SortStableFunc(hits, func(x, y hit) int {
		for _, s := range sorts {
			var d int
			switch s.Property {
			case "start":
				d = x.start.Compare(y.start)
			case "uid":
				d = strings.Compare(x.uid, y.uid)
			case "created":
				d = strings.Compare(x.created, y.created)
			case "updated":
				d = strings.Compare(x.updated, y.updated)
			case "recurrenceId":
				d = strings.Compare(x.rid, y.rid)
			}
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return strings.Compare(x.id, y.id)
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return ids, st, nil
}

// eventServerSet are CalendarEvent properties the server sets; a create
// or update may only repeat their current value.
var eventServerSet = []string{"id", "isOrigin", "utcStart", "utcEnd", "isDraft", "calendarIds", "blobId"}

// writeEvent validates and stores a converted calendar object, through
// the same iTIP scheduler as a CalDAV PUT.
func (c *call) writeEvent(st *store.Store, f *store.Folder, old *store.Item, oldBody []byte, cal *ical.Component, schedule bool) (*store.Item, error) {
	if err := groupware.ValidateCalendar(cal); err != nil {
		return nil, invalidProps(err.Error())
	}
	ix, err := groupware.IndexCalendar(cal, c.s.o.Scheduler.Zones.Zones(cal))
	if err != nil {
		return nil, invalidProps(err.Error())
	}
	kind := groupware.Kind(cal)
	comps, err := c.supportedComponents(f)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(comps, func(s string) bool { return strings.EqualFold(s, kind) }) {
		return nil, invalidProps(kind+" not supported by this calendar", "calendarIds")
	}
	body, err := ical.Marshal(cal)
	if err != nil {
		return nil, invalidProps(err.Error())
	}
	if len(body) > maxObjectBytes {
		return nil, &jmap.SetError{Type: jmap.SetTooLarge}
	}
	others, err := c.s.o.Store.ListObjects(c.ctx, f.ID, store.ObjectQuery{ObjectUID: ix.UID, Limit: 2})
	if err != nil {
		return nil, fmt.Errorf("objects of folder %d: %w", f.ID, err)
	}
	for _, o := range others {
		if old == nil || o.ID != old.ID {
			return nil, &jmap.SetError{Type: jmap.SetAlreadyExists, Description: "another event of this calendar has this uid",
				Properties: []string{"uid"}}
		}
	}
	var sched *groupware.Change
	if schedule && !groupware.Unchanged(oldBody, cal) {
		name := ""
		if old != nil {
			name = old.Name
		}
		sched, err = c.s.o.Scheduler.PlanPut(c.ctx, groupware.PutEvent{Owner: st, Folder: f, Name: name, Old: oldBody, New: cal})
		if errors.Is(err, groupware.ErrTooManyAttendees) {
			return nil, invalidProps(err.Error(), "participants")
		}
		if err != nil {
			return nil, err
		}
	}
	ni := store.NewItem{Content: bytes.NewReader(body), ObjectUID: ix.UID, Start: ix.Start, End: ix.End, InternalDate: c.s.o.Now()}
	var it *store.Item
	if old != nil {
		it, err = c.s.o.Store.ReplaceItem(c.ctx, old.ID, ni)
	} else {
		ni.Name = objectName(ix.UID, ".ics")
		it, err = c.s.o.Store.AppendItem(c.ctx, f.ID, ni)
		if errors.Is(err, store.ErrConflict) {
			ni.Name = objectName(fmt.Sprintf("%s-%d", ix.UID, c.s.o.Now().UnixNano()), ".ics")
			ni.Content = bytes.NewReader(body)
			it, err = c.s.o.Store.AppendItem(c.ctx, f.ID, ni)
		}
	}
	if err != nil {
		return nil, err
	}
	sched.Run(c.ctx)
	return it, nil
}

// supportedComponents is the component set CalDAV enforces for f.
func (c *call) supportedComponents(f *store.Folder) ([]string, error) {
	m, err := c.s.o.Store.FolderProps(c.ctx, f.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("properties of folder %d: %w", f.ID, err)
	}
	return groupware.Components(f, m), nil
}

// objectName makes a resource name from a UID, as a CalDAV client would.
func objectName(uid, ext string) string {
	var b strings.Builder
	for _, r := range uid {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '@' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 100 {
			break
		}
	}
	if b.Len() == 0 {
		b.WriteString("object")
	}
	return b.String() + ext
}

// calendarIDOf reads calendarIds (exactly one calendar of the account).
func (c *call) calendarIDOf(st *store.Store, v any) (*store.Folder, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, invalidProps("calendarIds must name exactly one calendar", "calendarIds")
	}
	for k, on := range m {
		n, ok := jmap.ParseID('C', c.resolveID(k))
		if !ok || on != true {
			return nil, invalidProps("no such calendar", "calendarIds")
		}
		f, err := c.folderOf(st, n, isCalendarFolder)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalidProps("no such calendar", "calendarIds")
		}
		return f, err
	}
	return nil, invalidProps("calendarIds must name exactly one calendar", "calendarIds")
}

func jscalError(err error) error {
	var pe *jscalendar.PropError
	if errors.As(err, &pe) {
		return invalidProps(pe.Msg, pe.Prop)
	}
	return err
}

func calendarEventSet(c *call, raw json.RawMessage) (any, error) {
	var ga groupwareSetArgs
	if err := parseArgs(raw, &ga); err != nil {
		return nil, err
	}
	a := ga.core()
	st, res, err := c.beginSet(a)
	if err != nil {
		return nil, err
	}
	now := c.s.o.Now()
	lim := jscalendar.Limits{MaxParticipants: c.s.o.Scheduler.MaxAttendees}
	mine, err := c.myAddresses()
	if err != nil {
		return nil, err
	}
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		var o map[string]any
		if err := json.Unmarshal(a.Create[k], &o); err != nil || o == nil {
			return invalidProps("not an object")
		}
		f, err := c.calendarIDOf(st, o["calendarIds"])
		if err != nil {
			return err
		}
		for _, p := range eventServerSet {
			if p != "calendarIds" && o[p] != nil && p != "isDraft" {
				return invalidProps("set by the server", p)
			}
			delete(o, p)
		}
		if _, ok := o["@type"]; !ok {
			o["@type"] = "Event"
		}
		if _, ok := o["uid"]; !ok {
			o["uid"] = newUID(now)
		}
		if _, ok := o["updated"]; !ok {
			o["updated"] = now.UTC().Format(jscalendar.UTCLayout)
		}
		cal, err := jscalendar.ToICal(o, now, lim)
		if err != nil {
			return jscalError(err)
		}
		it, err := c.writeEvent(st, f, nil, nil, cal, ga.SendSchedulingMessages)
		if err != nil {
			return err
		}
		id := objectID('V', f.ID, it.Name)
		c.created[k] = id
		res.Created[k] = map[string]any{"id": id, "uid": o["uid"]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.updateDestroy(a, res, func(id string, patch map[string]any) error {
		ref, ok := parseObjectID('V', id)
		if !ok || ref.rid != "" {
			return store.ErrNotFound // instances are read-only: patch recurrenceOverrides of the event
		}
		f, it, err := c.findObject(st, ref, isCalendarFolder)
		if err != nil {
			return err
		}
		e, err := c.loadEvent(f, it)
		if err != nil {
			return err
		}
		if e == nil {
			return &jmap.SetError{Type: jmap.SetInvalidProperties, Description: "the stored object cannot be converted"}
		}
		o, err := jsonCopy(e.js)
		if err != nil {
			return err
		}
		for _, p := range sortedKeys(patch) {
			v := patch[p]
			root, _, _ := strings.Cut(p, "/")
			switch {
			case root == "calendarIds":
				want, _ := v.(map[string]any)
				if p != "calendarIds" || len(want) != 1 || want[jmap.FormatID('C', f.ID)] != true {
					return invalidProps("an event cannot move to another calendar", "calendarIds")
				}
				continue
			case root == "uid" && v != o["uid"]:
				return invalidProps("the uid cannot change", "uid")
			case slices.Contains(eventServerSet, root):
				continue // server-set: ignored (clients echo them)
			}
			if err := jscalendar.ApplyPatch(o, p, v); err != nil {
				return &jmap.SetError{Type: jmap.SetInvalidPatch, Description: err.Error()}
			}
		}
		if _, ok := patch["updated"]; !ok {
			o["updated"] = now.UTC().Format(jscalendar.UTCLayout)
		}
		if ga.SendSchedulingMessages && organizerEdit(e.js, mine) {
			// RFC 5546 §2.1.4: the organizer's significant changes bump
			// SEQUENCE; an attendee's answer does not.
			seq, _ := o["sequence"].(float64)
			o["sequence"] = seq + 1
		}
		ulim := lim
		ulim.Zones = c.s.o.Scheduler.Zones.Zones(e.cal) // its VTIMEZONEs stay (Merge)
		cal, err := jscalendar.ToICal(o, now, ulim)
		if err != nil {
			return jscalError(err)
		}
		cal = jscalendar.Merge(e.cal, cal, now)
		_, err = c.writeEvent(st, f, it, e.body, cal, ga.SendSchedulingMessages)
		return err
	}, func(id string) error {
		ref, ok := parseObjectID('V', id)
		if !ok || ref.rid != "" {
			return store.ErrNotFound
		}
		f, it, err := c.findObject(st, ref, isCalendarFolder)
		if err != nil {
			return err
		}
		var sched *groupware.Change
		if ga.SendSchedulingMessages {
			body, err := c.readObject(it)
			if err != nil {
				return err
			}
			if sched, err = c.s.o.Scheduler.PlanDelete(c.ctx, groupware.DeleteEvent{Owner: st, Folder: f, Old: body}); err != nil {
				return err
			}
		}
		if _, err := c.s.o.Store.DeleteItems(c.ctx, f.ID, []uint32{it.UID}); err != nil {
			return err
		}
		sched.Run(c.ctx)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.finishSet(st, res)
}

// organizerEdit reports whether the user organizes the event (or no one
// does).
func organizerEdit(o map[string]any, mine []string) bool {
	rt, ok := o["replyTo"].(map[string]any)
	if !ok {
		return true
	}
	addr, _ := rt["imip"].(string)
	return addr == "" || slices.Contains(mine, strings.ToLower(addr))
}

func jsonCopy(o map[string]any) (map[string]any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("copy object: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy object: %w", err)
	}
	return out, nil
}

// newUID makes a UID for an object a client created without one.
func newUID(now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("roost-%d", now.UnixNano())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// maxBusyPeriods bounds the busy periods one Principal/getAvailability
// answers (tooLarge beyond it, as the JMAP Calendars draft says).
const maxBusyPeriods = 10000

// busyFolder is a calendar whose busy time an availability request
// reads, and whether its events may be shown (the read right).
type busyFolder struct {
	f       *store.Folder
	details bool
}

// principalGetAvailability answers the busy periods of a principal (the
// JMAP Calendars draft's Principal/getAvailability), from the same
// free/busy computation as CalDAV's: the user's own calendars, or those
// of another user of the tenant on which the caller has the lookup
// right, CalDAV's read-free-busy (RFC 4791 §6.1.1). Busy time is then
// read as the system, as CalDAV's free-busy-query does; event details
// (showDetails) only come from calendars the caller may read, and never
// from private events. Another tenant's principal is notFound.
func principalGetAvailability(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID   string    `json:"accountId"`
		ID          string    `json:"id"`
		UTCStart    string    `json:"utcStart"`
		UTCEnd      string    `json:"utcEnd"`
		ShowDetails bool      `json:"showDetails"`
		EventProps  *[]string `json:"eventProperties"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	start, err1 := time.Parse(time.RFC3339, a.UTCStart)
	end, err2 := time.Parse(time.RFC3339, a.UTCEnd)
	if err1 != nil || err2 != nil || !end.After(start) || end.Sub(start) > maxExpansion {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "utcStart and utcEnd must be UTCDates at most 400 days apart")
	}
	if a.EventProps != nil && len(*a.EventProps) > 100 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "at most 100 eventProperties")
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	var folders []busyFolder
	// The id is a principal (RFC 9670: U<user id>), or, as before
	// principals existed, the account id or P<store id> for the user's
	// own.
	if a.ID == a.AccountID || a.ID == "P"+a.AccountID[1:] || a.ID == userPrincipalID(c.p.UserID) {
		fs, err := c.groupwareFolders(st, true)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			folders = append(folders, busyFolder{f: f, details: true})
		}
	} else {
		p, err := c.principalByID(a.ID)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, jmap.Errorf("notFound", "no principal %q", a.ID)
		}
		if p.storeID == 0 || p.login == "" {
			return nil, jmap.Errorf(jmap.ErrForbidden, "principal %s has no calendars", a.ID)
		}
		// A room or equipment (a resource principal) shows its busy
		// time to every user of its tenant, as Kopano does and as
		// CalDAV's schedule outbox answers: booking one needs it, and
		// nobody can sign in as the resource to share its calendar.
		// Never with details.
		resource := p.typ == "location" || p.typ == "resource"
		lctx := c.ctx
		if resource {
			lctx = store.SystemContext(c.ctx)
		}
		fs, err := c.s.o.Store.ListFolders(lctx, p.storeID)
		switch {
		case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission):
		case err != nil:
			return nil, fmt.Errorf("folders of store %d: %w", p.storeID, err)
		}
		for _, f := range fs {
			if f.Type != store.FolderCalendar || f.Deleted || groupware.IsScheduleInbox(f) {
				continue
			}
			if resource {
				folders = append(folders, busyFolder{f: f})
				continue
			}
			rights, err := c.s.o.Store.MyRights(c.ctx, f.ID)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("rights on folder %d: %w", f.ID, err)
			}
			if strings.ContainsRune(rights, store.RightLookup) {
				folders = append(folders, busyFolder{f: f, details: strings.ContainsRune(rights, store.RightRead)})
			}
		}
		if len(folders) == 0 {
			return nil, jmap.Errorf(jmap.ErrForbidden, "no free/busy right on the calendars of %s", a.ID)
		}
	}
	sys := store.SystemContext(c.ctx)
	var periods []groupware.Period
	list := []any{}
	busyOf := func(p groupware.Period) string {
		switch p.Type {
		case groupware.BusyTentative:
			return "tentative"
		case groupware.BusyUnavailable:
			return "unavailable"
		}
		return "confirmed"
	}
	for _, bf := range folders {
		items, err := c.s.o.Store.ListObjects(sys, bf.f.ID, store.ObjectQuery{Start: start, End: end})
		if err != nil {
			return nil, fmt.Errorf("objects of folder %d: %w", bf.f.ID, err)
		}
		for _, it := range items {
			body, err := readObjectAs(c, sys, it)
			if err != nil {
				return nil, err
			}
			cal, err := ical.Decode(body, ical.Limits{MaxBytes: maxObjectBytes})
			if err != nil {
				continue
			}
			ps, _ := groupware.BusyPeriodsLimited(cal, c.s.o.Scheduler.Zones.Zones(cal), start, end, ical.ExpandLimits{MaxInstances: 2000})
			var detail map[string]any
			if a.ShowDetails && bf.details && len(ps) > 0 {
				detail = c.busyDetail(bf.f, it, cal, a.EventProps)
			}
			if detail == nil {
				periods = append(periods, ps...)
				if len(periods) > 2*maxBusyPeriods {
					// Merge as they come, so that memory stays
					// bounded; too many even merged is tooLarge.
					periods = groupware.MergePeriods(periods)
					if len(list)+len(periods) > maxBusyPeriods {
						return nil, jmap.Errorf("tooLarge", "more than %d busy periods: ask for a shorter window", maxBusyPeriods)
					}
				}
				continue
			}
			for _, p := range ps {
				list = append(list, map[string]any{"utcStart": p.Start.UTC().Format(jscalendar.UTCLayout),
					"utcEnd": p.End.UTC().Format(jscalendar.UTCLayout), "busyStatus": busyOf(p), "event": detail})
			}
			if len(list)+len(periods) > maxBusyPeriods {
				return nil, jmap.Errorf("tooLarge", "more than %d busy periods: ask for a shorter window", maxBusyPeriods)
			}
		}
	}
	for _, p := range groupware.MergePeriods(periods) {
		list = append(list, map[string]any{"utcStart": p.Start.UTC().Format(jscalendar.UTCLayout),
			"utcEnd": p.End.UTC().Format(jscalendar.UTCLayout), "busyStatus": busyOf(p), "event": nil})
	}
	if len(list) > maxBusyPeriods {
		return nil, jmap.Errorf("tooLarge", "more than %d busy periods: ask for a shorter window", maxBusyPeriods)
	}
	slices.SortStableFunc(list, func(x, y any) int {
		return strings.Compare(x.(map[string]any)["utcStart"].(string), y.(map[string]any)["utcStart"].(string))
	})
	return map[string]any{"list": list}, nil
}

// readObjectAs is readObject under another context (the system's, for
// free/busy of calendars the caller may only look up).
func readObjectAs(c *call, ctx context.Context, it *store.Item) ([]byte, error) {
	rc, err := c.s.o.Store.OpenItem(ctx, it.ID)
	if err != nil {
		return nil, fmt.Errorf("open item %d: %w", it.ID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", it.ID, err)
	}
	return b, nil
}

// busyDetail is the event shown with a busy period (showDetails): the
// CalendarEvent limited to eventProperties, nil for a private or secret
// one or one that does not convert.
func (c *call) busyDetail(f *store.Folder, it *store.Item, cal *ical.Component, props *[]string) map[string]any {
	js, err := jscalendar.FromICal(cal)
	if err != nil {
		return nil
	}
	js = jscalendar.Normalize(js)
	if pv, _ := js["privacy"].(string); pv == "private" || pv == "secret" {
		return nil
	}
	o, ok := c.eventObject(&event{f: f, it: it, cal: cal, js: js}, "", nil)
	if !ok {
		return nil
	}
	return pickProps(o, props)
}

// calendarEventQueryChanges is RFC 8620 §5.6 for CalendarEvent/query
// (without expandRecurrences).
func calendarEventQueryChanges(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		queryChangesArgs
		ExpandRecurrences bool    `json:"expandRecurrences"`
		TimeZone          *string `json:"timeZone"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.ExpandRecurrences {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "no changes of expanded instances")
	}
	return c.queryChanges(&a.queryChangesArgs, 'V', func(t store.FolderType) bool {
		return t == store.FolderCalendar || t == store.FolderTasks
	}, func() ([]string, *store.Store, error) { return c.eventQueryIDs(a.AccountID, a.Filter, a.Sort, false) })
}
