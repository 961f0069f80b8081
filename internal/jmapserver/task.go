package jmapserver

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/jscalendar"
	"github.com/roost-mail/roost/internal/store"
)

// JMAP for Tasks (draft-ietf-jmap-tasks) on the task folders CalDAV
// serves as VTODO collections: a TaskList is a tasks folder (id
// L<folder>), a Task a stored VTODO series converted to a JSCalendar
// Task (RFC 8984 §2.2), with the id J<folder>_<base64url(name)> as for
// CalendarEvent (calendarobj.go). Edits go through the same
// validation and store calls as CalendarEvent/set, so CalDAV, ActiveSync
// and JMAP see one object and /changes reads the one journal. Task lists
// stay Calendars too (a CalDAV client sees one collection); a Task is
// only listed as a Task.

// CapTasks is the JMAP for Tasks capability.
const CapTasks = "urn:ietf:params:jmap:tasks"

var taskMethods = map[string]method{
	"TaskList/get":      {CapTasks, taskListGet},
	"TaskList/changes":  {CapTasks, taskListChanges},
	"TaskList/set":      {CapTasks, taskListSet},
	"Task/get":          {CapTasks, taskGet},
	"Task/changes":      {CapTasks, taskChanges},
	"Task/query":        {CapTasks, taskQuery},
	"Task/queryChanges": {CapTasks, taskQueryChanges},
	"Task/set":          {CapTasks, taskSet},
}

var taskListCollection = collection{kind: 'L', typ: store.FolderTasks, is: isTaskListFolder, descKey: propCalDesc,
	color: true, share: shareCalendar, hasContents: "taskListHasTask", role: true}

// tasksAccountCapability is the account capability of the draft's §1.4.1.
func tasksAccountCapability(own bool) map[string]any {
	return map[string]any{
		"shareesActAs":             "self",
		"maxTaskListsPerTask":      1, // a task is an object of one tasks folder
		"minDateTime":              "1900-01-01T00:00:00Z",
		"maxDateTime":              "2200-01-01T00:00:00Z",
		"maxExpandedQueryDuration": "P400D",
		"maxAssigneesPerTask":      nil,
		"mayCreateTaskList":        own,
	}
}

var taskListProperties = []string{"id", "role", "name", "description", "color", "sortOrder", "isSubscribed", "isVisible",
	"timeZone", "shareWith", "myRights"}

// taskListObject is a TaskList: the Calendar of the same folder with the
// draft's role in place of isDefault.
func (c *call) taskListObject(f *store.Folder, props []string) (map[string]any, error) {
	cp := slices.DeleteFunc(slices.Clone(props), func(p string) bool { return p == "role" })
	o, err := c.calendarObject(f, cp)
	if err != nil {
		return nil, err
	}
	o["id"] = jmap.FormatID('L', f.ID)
	if slices.Contains(props, "role") {
		if f.Special == store.SpecialTasks {
			o["role"] = "inbox"
		} else {
			o["role"] = nil
		}
	}
	return o, nil
}

func taskListGet(c *call, raw json.RawMessage) (any, error) {
	return c.folderGet(raw, &taskListCollection, taskListProperties, c.taskListObject)
}

func taskListChanges(c *call, raw json.RawMessage) (any, error) {
	return c.groupwareChanges(raw, true, 'L', isTasksType)
}

func taskListSet(c *call, raw json.RawMessage) (any, error) {
	return c.folderSet(raw, &taskListCollection, c.taskListObject)
}

func isTasksType(t store.FolderType) bool { return t == store.FolderTasks }

// loadTask is loadEvent for a task: nil for an object that is not a
// readable VTODO.
func (c *call) loadTask(f *store.Folder, it *store.Item) (*event, error) {
	e, err := c.loadEvent(f, it)
	if err != nil || e == nil || e.js["@type"] != "Task" {
		return nil, err
	}
	return e, nil
}

// taskObject is the Task of e; utcStart and utcDue only when asked for
// (the draft: "not included by default").
func (c *call) taskObject(e *event, props []string) map[string]any {
	out := make(map[string]any, len(e.js)+4)
	for k, v := range e.js {
		out[k] = v
	}
	out["id"] = objectID('J', e.f.ID, e.it.Name)
	out["taskListId"] = jmap.FormatID('L', e.f.ID)
	out["isDraft"] = false
	if slices.Contains(props, "utcStart") || slices.Contains(props, "utcDue") {
		zones := c.s.o.Scheduler.Zones.Zones(e.cal)
		if _, ok := e.js["start"]; ok {
			if start, _, ok := jscalendar.Span(map[string]any{"start": e.js["start"], "timeZone": e.js["timeZone"]}, zones); ok {
				out["utcStart"] = start.UTC().Format(jscalendar.UTCLayout)
			}
		}
		if due, ok := taskDue(e.js, zones); ok {
			out["utcDue"] = due.UTC().Format(jscalendar.UTCLayout)
		}
	}
	if props != nil {
		for k := range out {
			if k != "id" && !slices.Contains(props, k) {
				delete(out, k)
			}
		}
	}
	return out
}

// taskDue is the instant a task is due, in its time zone (floating: as
// the server's zone data reads a wall time without one).
func taskDue(o map[string]any, zones *ical.Zones) (time.Time, bool) {
	if _, ok := o["due"].(string); !ok {
		return time.Time{}, false
	}
	t, _, ok := jscalendar.Span(map[string]any{"due": o["due"], "timeZone": o["timeZone"]}, zones)
	return t, ok
}

func taskGet(c *call, raw json.RawMessage) (any, error) {
	var a eventGetArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a.getArgs, nil); err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	var props []string
	if a.Properties != nil {
		props = *a.Properties
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	if a.IDs == nil {
		folders, err := c.foldersOf(st, isTaskListFolder)
		if err != nil {
			return nil, err
		}
		err = c.eachObject(folders, "tasks", func(f *store.Folder, it *store.Item) error {
			e, err := c.loadTask(f, it)
			if e != nil {
				res.List = append(res.List, c.taskObject(e, props))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	for _, id := range *a.IDs {
		ref, ok := parseObjectID('J', id)
		if !ok {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		f, it, err := c.findObject(st, ref, isTaskListFolder)
		if errors.Is(err, store.ErrNotFound) {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		e, err := c.loadTask(f, it)
		if err != nil {
			return nil, err
		}
		if e == nil {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		res.List = append(res.List, c.taskObject(e, props))
	}
	return res, nil
}

func taskChanges(c *call, raw json.RawMessage) (any, error) {
	return c.groupwareChanges(raw, false, 'J', isTasksType)
}

// taskSetArgs are the arguments of Task/set.
type taskSetArgs struct {
	AccountID string                     `json:"accountId"`
	IfInState *string                    `json:"ifInState"`
	Create    map[string]json.RawMessage `json:"create"`
	Update    map[string]map[string]any  `json:"update"`
	Destroy   []string                   `json:"destroy"`
}

// taskServerSet are Task properties the server sets; a create or update
// may only repeat them (taskListId is the client's on create).
var taskServerSet = []string{"id", "taskListId", "isDraft", "utcStart", "utcDue", "blobId"}

// taskListOf reads a taskListId: a task list of the account.
func (c *call) taskListOf(st *store.Store, v any) (*store.Folder, error) {
	s, ok := v.(string)
	if !ok {
		return nil, invalidProps("taskListId must name a task list", "taskListId")
	}
	n, ok := jmap.ParseID('L', c.resolveID(s))
	if !ok {
		return nil, invalidProps("no such task list", "taskListId")
	}
	f, err := c.folderOf(st, n, isTaskListFolder)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidProps("no such task list", "taskListId")
	}
	return f, err
}

// taskSet is Task/set: the CalendarEvent/set of a VTODO, without
// scheduling (an assigned task is stored, not sent).
func taskSet(c *call, raw json.RawMessage) (any, error) {
	var ta taskSetArgs
	if err := parseArgs(raw, &ta); err != nil {
		return nil, err
	}
	a := &setArgs{AccountID: ta.AccountID, IfInState: ta.IfInState, Create: ta.Create, Update: ta.Update, Destroy: ta.Destroy}
	st, res, err := c.beginSet(a)
	if err != nil {
		return nil, err
	}
	now := c.s.o.Now()
	lim := jscalendar.Limits{MaxParticipants: c.s.o.Scheduler.MaxAttendees}
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		var o map[string]any
		if err := json.Unmarshal(a.Create[k], &o); err != nil || o == nil {
			return invalidProps("not an object")
		}
		f, err := c.taskListOf(st, o["taskListId"])
		if err != nil {
			return err
		}
		for _, p := range taskServerSet {
			if p != "taskListId" && p != "isDraft" && o[p] != nil {
				return invalidProps("set by the server", p)
			}
			delete(o, p)
		}
		if t, ok := o["@type"]; !ok {
			o["@type"] = "Task"
		} else if t != "Task" {
			return invalidProps("must be Task", "@type")
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
		it, err := c.writeEvent(st, f, nil, nil, cal, false)
		if err != nil {
			return err
		}
		id := objectID('J', f.ID, it.Name)
		c.created[k] = id
		res.Created[k] = map[string]any{"id": id, "uid": o["uid"]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	find := func(id string) (*event, error) {
		ref, ok := parseObjectID('J', id)
		if !ok {
			return nil, store.ErrNotFound
		}
		f, it, err := c.findObject(st, ref, isTaskListFolder)
		if err != nil {
			return nil, err
		}
		e, err := c.loadTask(f, it)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, store.ErrNotFound // not a task: served as a CalendarEvent
		}
		return e, nil
	}
	err = c.updateDestroy(a, res, func(id string, patch map[string]any) error {
		e, err := find(id)
		if err != nil {
			return err
		}
		o, err := jsonCopy(e.js)
		if err != nil {
			return err
		}
		for _, p := range sortedKeys(patch) {
			v := patch[p]
			root, _, _ := strings.Cut(p, "/")
			switch {
			case root == "taskListId":
				if v != jmap.FormatID('L', e.f.ID) {
					return invalidProps("a task cannot move to another task list", "taskListId")
				}
				continue
			case root == "uid" && v != o["uid"]:
				return invalidProps("the uid cannot change", "uid")
			case root == "@type" && v != "Task":
				return invalidProps("must be Task", "@type")
			case slices.Contains(taskServerSet, root):
				continue // server-set: ignored (clients echo them)
			}
			if err := jscalendar.ApplyPatch(o, p, v); err != nil {
				return &jmap.SetError{Type: jmap.SetInvalidPatch, Description: err.Error()}
			}
		}
		if _, ok := patch["updated"]; !ok {
			o["updated"] = now.UTC().Format(jscalendar.UTCLayout)
		}
		ulim := lim
		ulim.Zones = c.s.o.Scheduler.Zones.Zones(e.cal)
		cal, err := jscalendar.ToICal(o, now, ulim)
		if err != nil {
			return jscalError(err)
		}
		cal = jscalendar.Merge(e.cal, cal, now)
		_, err = c.writeEvent(st, e.f, e.it, e.body, cal, false)
		return err
	}, func(id string) error {
		e, err := find(id)
		if err != nil {
			return err
		}
		_, err = c.s.o.Store.DeleteItems(c.ctx, e.f.ID, []uint32{e.it.UID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.finishSet(st, res)
}

// taskFilter is FilterCondition/FilterOperator of Task/query. The
// draft leaves Task/query's filter to be written; these are
// CalendarEvent/query's conditions that make sense for a task, on its
// due time (after/before), plus progress.
type taskFilter struct {
	Operator   string       `json:"operator"`
	Conditions []taskFilter `json:"conditions"`

	InTaskLists []string `json:"inTaskLists"`
	After       *string  `json:"after"`  // due at or after
	Before      *string  `json:"before"` // due before
	Text        *string  `json:"text"`
	Title       *string  `json:"title"`
	Description *string  `json:"description"`
	UID         *string  `json:"uid"`
	Progress    *string  `json:"progress"` // needs-action (the default), in-process, completed, failed, cancelled
	HasDue      *bool    `json:"hasDue"`

	after, before time.Time
}

// maxFilterDepth bounds the nesting of a Task/query filter (its terms
// are bounded by maxFilterTerms, as Email/query's).
const maxFilterDepth = 16

// parseTaskFilter reads and checks a Task/query filter (nil or null:
// match everything).
func parseTaskFilter(raw json.RawMessage) (*taskFilter, error) {
	f := &taskFilter{}
	if len(raw) == 0 || string(raw) == "null" {
		return f, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		return nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
	}
	terms := 0
	if err := f.check(0, &terms); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *taskFilter) check(depth int, terms *int) error {
	if depth > maxFilterDepth {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "filter nested too deep")
	}
	if *terms++; *terms > maxFilterTerms {
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
	if *terms += len(f.InTaskLists); *terms > maxFilterTerms {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "too many filter conditions")
	}
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

// progressOf is a task's progress, needs-action when unset (RFC 8984
// §5.2.5).
func progressOf(o map[string]any) string {
	if p, ok := o["progress"].(string); ok && p != "" {
		return p
	}
	return "needs-action"
}

// match evaluates f for task o of list listID due at due (zero: none).
func (f *taskFilter) match(o map[string]any, listID string, due time.Time) bool {
	switch f.Operator {
	case "AND", "OR", "NOT":
		for i := range f.Conditions {
			m := f.Conditions[i].match(o, listID, due)
			if f.Operator == "AND" && !m || f.Operator == "NOT" && m {
				return false
			}
			if f.Operator == "OR" && m {
				return true
			}
		}
		return f.Operator != "OR"
	}
	if f.InTaskLists != nil && !slices.Contains(f.InTaskLists, listID) {
		return false
	}
	if !f.after.IsZero() && (due.IsZero() || due.Before(f.after)) {
		return false
	}
	if !f.before.IsZero() && (due.IsZero() || !due.Before(f.before)) {
		return false
	}
	if f.HasDue != nil && *f.HasDue == due.IsZero() {
		return false
	}
	str := func(p *string, keys ...string) bool { return p == nil || containsFold(jsText(o, keys...), *p) }
	if !str(f.Text, "title", "description", "locations", "participants", "keywords", "categories") ||
		!str(f.Title, "title") || !str(f.Description, "description") {
		return false
	}
	if f.UID != nil && o["uid"] != *f.UID {
		return false
	}
	if f.Progress != nil && progressOf(o) != *f.Progress {
		return false
	}
	return true
}

var taskSorts = []string{"due", "start", "title", "priority", "progress", "created", "updated", "uid"}

func taskQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	ids, st, err := c.taskQueryIDs(a.AccountID, a.Filter, a.Sort)
	if err != nil {
		return nil, err
	}
	return pageChanges(c, a, ids, st)
}

func taskQueryChanges(c *call, raw json.RawMessage) (any, error) {
	var a queryChangesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	return c.queryChanges(&a, 'J', isTasksType, func() ([]string, *store.Store, error) {
		return c.taskQueryIDs(a.AccountID, a.Filter, a.Sort)
	})
}

// taskQueryIDs runs a Task/query: every matching task id, sorted (by
// due time, then id, by default; a task without due time sorts last
// ascending).
func (c *call) taskQueryIDs(accountID string, rawFilter json.RawMessage, sortBy []comparator) ([]string, *store.Store, error) {
	filter, err := parseTaskFilter(rawFilter)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range sortBy {
		if !slices.Contains(taskSorts, s.Property) {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort tasks by %q", s.Property)
		}
	}
	if len(sortBy) > 10 {
		return nil, nil, jmap.Errorf(jmap.ErrUnsupportedSort, "at most 10 sort comparators")
	}
	st, err := c.dataAccount(accountID)
	if err != nil {
		return nil, nil, err
	}
	folders, err := c.foldersOf(st, isTaskListFolder)
	if err != nil {
		return nil, nil, err
	}
	type hit struct {
		id         string
		due, start time.Time
		o          map[string]any
	}
	var hits []hit
	read := 0
	for _, f := range folders {
		listID := jmap.FormatID('L', f.ID)
		if filter.Operator == "" && filter.InTaskLists != nil && !slices.Contains(filter.InTaskLists, listID) {
			continue
		}
		items, err := c.s.o.Store.ListObjects(c.ctx, f.ID, store.ObjectQuery{})
		if err != nil {
			return nil, nil, fmt.Errorf("objects of folder %d: %w", f.ID, err)
		}
		if read += len(items); read > maxGroupwareObjects {
			return nil, nil, jmap.Errorf(jmap.ErrRequestTooLarge, "more than %d tasks to search: narrow the filter", maxGroupwareObjects)
		}
		for _, it := range items {
			if it.Name == "" {
				continue
			}
			e, err := c.loadTask(f, it)
			if err != nil {
				return nil, nil, err
			}
			if e == nil {
				continue
			}
			zones := c.s.o.Scheduler.Zones.Zones(e.cal)
			due, _ := taskDue(e.js, zones)
			if !filter.match(e.js, listID, due) {
				continue
			}
			h := hit{id: objectID('J', f.ID, it.Name), due: due, o: e.js}
			if _, ok := e.js["start"]; ok {
				h.start, _, _ = jscalendar.Span(map[string]any{"start": e.js["start"], "timeZone": e.js["timeZone"]}, zones)
			}
			hits = append(hits, h)
		}
	}
	sorts := sortBy
	if len(sorts) == 0 {
		sorts = []comparator{{Property: "due"}}
	}
	// times compares instants, the zero one (none) after every other.
	times := func(x, y time.Time) int {
		switch {
		case x.IsZero() && y.IsZero():
			return 0
		case x.IsZero():
			return 1
		case y.IsZero():
			return -1
		}
		return x.Compare(y)
	}
	strOf := func(o map[string]any, k string) string { s, _ := o[k].(string); return s }
	prio := func(o map[string]any) float64 {
		// RFC 8984 §4.4.1: 1 is the highest, 0 undefined (after 9).
		if n, ok := o["priority"].(float64); ok && n > 0 {
			return n
		}
		return 10
	}
	slices.SortStableFunc(hits, func(x, y hit) int {
		for _, s := range sorts {
			var d int
			switch s.Property {
			case "due":
				d = times(x.due, y.due)
			case "start":
				d = times(x.start, y.start)
			case "title":
				d = strings.Compare(strings.ToLower(strOf(x.o, "title")), strings.ToLower(strOf(y.o, "title")))
			case "priority":
				d = cmp.Compare(prio(x.o), prio(y.o))
			case "progress":
				d = strings.Compare(progressOf(x.o), progressOf(y.o))
			case "created", "updated", "uid":
				d = strings.Compare(strOf(x.o, s.Property), strOf(y.o, s.Property))
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
