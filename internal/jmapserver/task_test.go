package jmapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// JMAP for Tasks over the VTODOs CalDAV serves, checked through both
// protocols.

var taskCaps = []string{"urn:ietf:params:jmap:tasks"}

func (e *gwEnv) task(login, name string, args any) (string, map[string]any) {
	e.t.Helper()
	return e.callWith(login, taskCaps, name, args)
}

func (e *gwEnv) taskMust(login, name string, args any) map[string]any {
	e.t.Helper()
	return e.mustWith(login, taskCaps, name, args)
}

func (e *gwEnv) tasksPath(login string) string {
	return "/dav/calendars/" + login + "/" + e.folder(login, store.SpecialTasks).Name + "/"
}

// unfold undoes iCalendar line folding and line ends, for matching.
func unfold(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n ", ""), "\r\n", "\n")
}

func TestTasksJMAPToCalDAV(t *testing.T) { eachBackend(t, testTasksJMAPToCalDAV) }

func testTasksJMAPToCalDAV(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	tl := fmt.Sprintf("L%d", e.folder("alice", store.SpecialTasks).ID)

	// The session names the capability, and the default list is the inbox.
	sess := e.do("alice", "GET", "/jmap/session", nil).json(t)
	if _, ok := sess["capabilities"].(map[string]any)["urn:ietf:params:jmap:tasks"]; !ok {
		t.Fatalf("no tasks capability in %v", sess["capabilities"])
	}
	lists := e.taskMust("alice", "TaskList/get", map[string]any{"accountId": acct})["list"].([]any)
	if len(lists) != 1 || lists[0].(map[string]any)["id"] != tl || lists[0].(map[string]any)["role"] != "inbox" {
		t.Fatalf("task lists: %v", lists)
	}
	calState := e.taskMust("alice", "Task/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)

	res := e.taskMust("alice", "Task/set", map[string]any{"accountId": acct, "create": map[string]any{
		"a": map[string]any{"taskListId": tl, "title": "File the report", "description": "Q3 numbers",
			"due": "2026-03-05T17:00:00", "timeZone": "Europe/Berlin", "priority": 1},
		"b": map[string]any{"taskListId": tl, "title": "Later", "due": "2026-04-01T09:00:00"},
		"c": map[string]any{"taskListId": tl, "title": "Someday"},
		"x": map[string]any{"taskListId": "L999999", "title": "nowhere"},
		"y": map[string]any{"taskListId": tl, "@type": "Event", "title": "not a task"},
	}})
	created := res["created"].(map[string]any)
	if len(created) != 3 || res["notCreated"].(map[string]any)["x"] == nil || res["notCreated"].(map[string]any)["y"] == nil {
		t.Fatalf("Task/set create: %v", res)
	}
	id := created["a"].(map[string]any)["id"].(string)

	// CalDAV serves the very object, a VTODO.
	code, body := e.davDo("alice", "REPORT", e.tasksPath("alice"), `<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter></C:calendar-query>`,
		"Depth", "1", "Content-Type", "application/xml")
	body = unfold(body)
	if code != 207 || strings.Count(body, "BEGIN:VTODO") != 3 || !strings.Contains(body, "SUMMARY:File the report") ||
		!strings.Contains(body, "DUE;TZID=Europe/Berlin:20260305T170000") || !strings.Contains(body, "PRIORITY:1") {
		t.Fatalf("CalDAV REPORT %d: %s", code, body)
	}

	// Mark it done over JMAP: CalDAV sees STATUS:COMPLETED.
	upd := e.taskMust("alice", "Task/set", map[string]any{"accountId": acct, "update": map[string]any{
		id: map[string]any{"progress": "completed"}}})
	if upd["updated"].(map[string]any)[id] == nil && len(upd["updated"].(map[string]any)) != 1 {
		t.Fatalf("update: %v", upd)
	}
	code, body = e.davDo("alice", "REPORT", e.tasksPath("alice"), `<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:prop-filter name="STATUS"><C:text-match>COMPLETED</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		"Depth", "1", "Content-Type", "application/xml")
	body = unfold(body)
	if code != 207 || strings.Count(body, "BEGIN:VTODO") != 1 || !strings.Contains(body, "STATUS:COMPLETED") ||
		!strings.Contains(body, "SUMMARY:File the report") {
		t.Fatalf("CalDAV after done %d: %s", code, body)
	}

	// Task/get, with the computed utcDue when asked for.
	got := e.taskMust("alice", "Task/get", map[string]any{"accountId": acct, "ids": []string{id, "J1_eA", "garbage"},
		"properties": []string{"title", "progress", "utcDue", "taskListId"}})
	l := got["list"].([]any)
	if len(l) != 1 || len(got["notFound"].([]any)) != 2 {
		t.Fatalf("Task/get: %v", got)
	}
	o := l[0].(map[string]any)
	if o["progress"] != "completed" || o["utcDue"] != "2026-03-05T16:00:00Z" || o["taskListId"] != tl || o["description"] != nil {
		t.Fatalf("task: %v", o)
	}

	// Task/query: open ones by due time, the one without due last.
	q := e.taskMust("alice", "Task/query", map[string]any{"accountId": acct,
		"filter": map[string]any{"operator": "NOT", "conditions": []any{map[string]any{"progress": "completed"}}}})
	ids := q["ids"].([]any)
	if len(ids) != 2 || ids[0] != created["b"].(map[string]any)["id"] || ids[1] != created["c"].(map[string]any)["id"] {
		t.Fatalf("open tasks: %v", q)
	}
	q2 := e.taskMust("alice", "Task/query", map[string]any{"accountId": acct, "filter": map[string]any{"progress": "completed"}})
	if ids := q2["ids"].([]any); len(ids) != 1 || ids[0] != id {
		t.Fatalf("done tasks: %v", q2)
	}
	qs := e.taskMust("alice", "Task/query", map[string]any{"accountId": acct,
		"filter": map[string]any{"before": "2026-03-10T00:00:00Z"}, "sort": []any{map[string]any{"property": "title"}}})
	if ids := qs["ids"].([]any); len(ids) != 1 || ids[0] != id {
		t.Fatalf("due before: %v", qs)
	}

	// /changes and /queryChanges read the one journal.
	ch := e.taskMust("alice", "Task/changes", map[string]any{"accountId": acct, "sinceState": calState})
	if len(ch["created"].([]any)) != 3 {
		t.Fatalf("Task/changes: %v", ch)
	}
	qc := e.taskMust("alice", "Task/queryChanges", map[string]any{"accountId": acct, "sinceQueryState": q["queryState"]})
	if len(qc["added"].([]any)) != 0 || len(qc["removed"].([]any)) != 0 {
		t.Fatalf("Task/queryChanges with no change: %v", qc)
	}

	// Destroy: gone from CalDAV too.
	e.taskMust("alice", "Task/set", map[string]any{"accountId": acct, "destroy": []string{id}})
	code, body = e.davDo("alice", "REPORT", e.tasksPath("alice"), `<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter></C:calendar-query>`,
		"Depth", "1", "Content-Type", "application/xml")
	if code != 207 || strings.Count(body, "BEGIN:VTODO") != 2 || strings.Contains(body, "File the report") {
		t.Fatalf("CalDAV after destroy %d: %s", code, body)
	}
	qc = e.taskMust("alice", "Task/queryChanges", map[string]any{"accountId": acct, "sinceQueryState": q2["queryState"],
		"filter": map[string]any{"progress": "completed"}})
	if rm := qc["removed"].([]any); len(rm) != 1 || rm[0] != id || len(qc["added"].([]any)) != 0 {
		t.Fatalf("Task/queryChanges after destroy: %v", qc)
	}
}

func TestTasksCalDAVToJMAP(t *testing.T) { eachBackend(t, testTasksCalDAVToJMAP) }

func testTasksCalDAVToJMAP(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	code, body := e.davDo("alice", "PUT", e.tasksPath("alice")+"t1.ics", crlfs(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:dav-task-1
DTSTAMP:20260101T000000Z
DUE;VALUE=DATE:20260310
SUMMARY:Water the plants
DESCRIPTION:Both balconies
PRIORITY:5
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
`), "Content-Type", "text/calendar")
	if code != 201 {
		t.Fatalf("PUT %d: %s", code, body)
	}
	l := e.taskMust("alice", "Task/get", map[string]any{"accountId": acct})["list"].([]any)
	if len(l) != 1 {
		t.Fatalf("Task/get: %v", l)
	}
	o := l[0].(map[string]any)
	if o["title"] != "Water the plants" || o["description"] != "Both balconies" || o["priority"] != float64(5) ||
		o["due"] != "2026-03-10T00:00:00" || o["showWithoutTime"] != true || o["uid"] != "dav-task-1" || o["@type"] != "Task" {
		t.Fatalf("task from CalDAV: %v", o)
	}
	// Done over JMAP, then edited back over CalDAV: JMAP follows.
	id := o["id"].(string)
	e.taskMust("alice", "Task/set", map[string]any{"accountId": acct, "update": map[string]any{id: map[string]any{"progress": "completed"}}})
	code, body = e.davDo("alice", "GET", e.tasksPath("alice")+"t1.ics", "")
	if code != 200 || !strings.Contains(body, "STATUS:COMPLETED") || !strings.Contains(body, "DUE;VALUE=DATE:20260310") {
		t.Fatalf("GET after done %d: %s", code, body)
	}
	code, _ = e.davDo("alice", "PUT", e.tasksPath("alice")+"t1.ics",
		strings.Replace(strings.Replace(body, "STATUS:COMPLETED", "STATUS:IN-PROCESS", 1), "Water the plants", "Water the roses", 1),
		"Content-Type", "text/calendar")
	if code != 204 && code != 201 {
		t.Fatalf("PUT back: %d", code)
	}
	o = e.taskMust("alice", "Task/get", map[string]any{"accountId": acct, "ids": []string{id}})["list"].([]any)[0].(map[string]any)
	if o["title"] != "Water the roses" || o["progress"] != "in-process" {
		t.Fatalf("task after CalDAV edit: %v", o)
	}
	// A VEVENT in a calendar is no Task.
	if code, _ := e.davDo("alice", "PUT", e.calPath("alice")+"w.ics", crlfs(weeklyICS), "Content-Type", "text/calendar"); code != 201 {
		t.Fatalf("PUT event: %d", code)
	}
	if l := e.taskMust("alice", "Task/get", map[string]any{"accountId": acct})["list"].([]any); len(l) != 1 {
		t.Fatalf("events listed as tasks: %v", l)
	}
}

func TestTaskLists(t *testing.T) { eachBackend(t, testTaskLists) }

func testTaskLists(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	st := e.taskMust("alice", "TaskList/get", map[string]any{"accountId": acct, "ids": []string{}})["state"]
	res := e.taskMust("alice", "TaskList/set", map[string]any{"accountId": acct, "create": map[string]any{
		"w": map[string]any{"name": "Work", "color": "#aa0000", "description": "office"},
		"r": map[string]any{"name": "Bad", "role": "inbox"},
	}})
	w := res["created"].(map[string]any)["w"].(map[string]any)["id"].(string)
	if res["notCreated"].(map[string]any)["r"] == nil {
		t.Fatalf("role accepted: %v", res)
	}
	got := e.taskMust("alice", "TaskList/get", map[string]any{"accountId": acct, "ids": []string{w}})["list"].([]any)[0].(map[string]any)
	if got["name"] != "Work" || got["color"] != "#aa0000" || got["description"] != "office" || got["role"] != nil ||
		got["myRights"].(map[string]any)["mayDelete"] != true {
		t.Fatalf("TaskList: %v", got)
	}
	// CalDAV sees a VTODO collection.
	code, body := e.davDo("alice", "PROPFIND", "/dav/calendars/alice/Work/", `<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:supported-calendar-component-set/></D:prop></D:propfind>`,
		"Depth", "0")
	if code != 207 || !strings.Contains(body, `name="VTODO"`) || strings.Contains(body, `name="VEVENT"`) {
		t.Fatalf("PROPFIND %d: %s", code, body)
	}
	ch := e.taskMust("alice", "TaskList/changes", map[string]any{"accountId": acct, "sinceState": st})
	if c := ch["created"].([]any); len(c) != 1 || c[0] != w {
		t.Fatalf("TaskList/changes: %v", ch)
	}
	e.taskMust("alice", "Task/set", map[string]any{"accountId": acct, "create": map[string]any{
		"t": map[string]any{"taskListId": w, "title": "in work"}}})
	res = e.taskMust("alice", "TaskList/set", map[string]any{"accountId": acct, "destroy": []string{w}})
	if ne := res["notDestroyed"].(map[string]any)[w].(map[string]any); ne["type"] != "taskListHasTask" {
		t.Fatalf("destroy non-empty: %v", res)
	}
	def := fmt.Sprintf("L%d", e.folder("alice", store.SpecialTasks).ID)
	res = e.taskMust("alice", "TaskList/set", map[string]any{"accountId": acct, "destroy": []string{w, def}, "onDestroyRemoveTasks": true})
	if len(res["destroyed"].([]any)) != 1 || res["notDestroyed"].(map[string]any)[def] == nil {
		t.Fatalf("destroy: %v", res)
	}
	if l := e.taskMust("alice", "Task/get", map[string]any{"accountId": acct})["list"].([]any); len(l) != 0 {
		t.Fatalf("tasks of the destroyed list: %v", l)
	}
}

func TestTasksSharing(t *testing.T) { eachBackend(t, testTasksSharing) }

func testTasksSharing(t *testing.T, e *gwEnv) {
	aliceAcct := e.acct("alice")
	tl := fmt.Sprintf("L%d", e.folder("alice", store.SpecialTasks).ID)
	e.taskMust("alice", "Task/set", map[string]any{"accountId": aliceAcct, "create": map[string]any{
		"t": map[string]any{"taskListId": tl, "title": "secret plan"}}})

	// Not shared: alice's account is no account of bob's, nor of eve's.
	for _, who := range []string{"bob", "eve"} {
		n, a := e.task(who, "Task/get", map[string]any{"accountId": aliceAcct})
		if n != "error" || a["type"] != "accountNotFound" {
			t.Fatalf("%s reads alice's tasks: %s %v", who, n, a)
		}
	}
	// Shared read-only: bob reads, and the store refuses his writes (a
	// replace it refuses is notFound, as in every protocol).
	if err := e.db.SetACL(e.as("alice"), e.folder("alice", store.SpecialTasks).ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	sess := e.do("bob", "GET", "/jmap/session", nil).json(t)
	acc := sess["accounts"].(map[string]any)[aliceAcct].(map[string]any)
	if _, ok := acc["accountCapabilities"].(map[string]any)["urn:ietf:params:jmap:tasks"]; !ok {
		t.Fatalf("shared account without tasks: %v", acc)
	}
	l := e.taskMust("bob", "Task/get", map[string]any{"accountId": aliceAcct})["list"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["title"] != "secret plan" {
		t.Fatalf("bob's view: %v", l)
	}
	id := l[0].(map[string]any)["id"].(string)
	res := e.taskMust("bob", "Task/set", map[string]any{"accountId": aliceAcct,
		"create":  map[string]any{"n": map[string]any{"taskListId": tl, "title": "bob's"}},
		"update":  map[string]any{id: map[string]any{"progress": "completed"}},
		"destroy": []string{id}})
	if res["notCreated"].(map[string]any)["n"].(map[string]any)["type"] != "forbidden" ||
		res["notUpdated"].(map[string]any)[id].(map[string]any)["type"] != "notFound" ||
		res["notDestroyed"].(map[string]any)[id].(map[string]any)["type"] != "forbidden" {
		t.Fatalf("read-only writes: %v", res)
	}
	// With write rights bob marks it done.
	if err := e.db.SetACL(e.as("alice"), e.folder("alice", store.SpecialTasks).ID, "user:bob", "lritew"); err != nil {
		t.Fatal(err)
	}
	res = e.taskMust("bob", "Task/set", map[string]any{"accountId": aliceAcct, "update": map[string]any{id: map[string]any{"progress": "completed"}}})
	if _, ok := res["updated"].(map[string]any)[id]; !ok {
		t.Fatalf("shared write: %v", res)
	}
	o := e.taskMust("alice", "Task/get", map[string]any{"accountId": aliceAcct, "ids": []string{id}})["list"].([]any)[0].(map[string]any)
	if o["progress"] != "completed" {
		t.Fatalf("alice's view after bob's write: %v", o)
	}
}

func TestTaskQueryBounds(t *testing.T) {
	e := newGWEnv(t, "sqlite")
	acct := e.acct("alice")
	deep := map[string]any{"title": "x"}
	for range 20 {
		deep = map[string]any{"operator": "NOT", "conditions": []any{deep}}
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = "L1"
	}
	for name, f := range map[string]any{
		"deep": deep, "many": map[string]any{"inTaskLists": many}, "unknown": map[string]any{"colour": "red"},
		"date": map[string]any{"after": "tomorrow"}, "op": map[string]any{"operator": "XOR", "conditions": []any{}},
	} {
		n, a := e.task("alice", "Task/query", map[string]any{"accountId": acct, "filter": f})
		if n != "error" || a["type"] != "unsupportedFilter" {
			t.Errorf("%s: %s %v", name, n, a)
		}
	}
	n, a := e.task("alice", "Task/query", map[string]any{"accountId": acct, "sort": []any{map[string]any{"property": "color"}}})
	if n != "error" || a["type"] != "unsupportedSort" {
		t.Errorf("sort: %s %v", n, a)
	}
	// Without the capability in using, the methods are unknown.
	n, a = e.gw("alice", "Task/get", map[string]any{"accountId": acct})
	if n != "error" || a["type"] != "unknownMethod" {
		t.Errorf("without using: %s %v", n, a)
	}
}

// TestTaskGetAllBounded: Task/get without ids answers every task up to
// MaxObjectsInGet and requestTooLarge beyond it, never a truncated list.
func TestTaskGetAllBounded(t *testing.T) {
	e := newGWEnv(t, "sqlite", func(o *jmapserver.Options) { o.MaxObjectsInGet = 3 })
	acct := e.acct("alice")
	tl := fmt.Sprintf("L%d", e.folder("alice", store.SpecialTasks).ID)
	all := func() (string, map[string]any) {
		return e.task("alice", "Task/get", map[string]any{"accountId": acct, "ids": nil})
	}
	for i := range 4 {
		e.task("alice", "Task/set", map[string]any{"accountId": acct, "create": map[string]any{
			"t": map[string]any{"@type": "Task", "taskListId": tl, "title": fmt.Sprint("task ", i)}}})
		n, a := all()
		if i < 3 && (n != "Task/get" || len(a["list"].([]any)) != i+1) {
			t.Fatalf("with %d tasks: %s %v", i+1, n, a)
		}
		if i == 3 && (n != "error" || a["type"] != "requestTooLarge") {
			t.Fatalf("with 4 tasks and MaxObjectsInGet 3: %s %v", n, a)
		}
	}
}

// TestTasksStoreFailure: a failing store is serverFail for every Task and
// TaskList method, never notFound or an empty answer.
func TestTasksStoreFailure(t *testing.T) {
	t.Parallel()
	var fb *storefault.Backend
	e := newGWEnv(t, "sqlite", func(o *jmapserver.Options) {
		fb = storefault.New(o.Store)
		o.Store = fb
		o.Authenticate = fb.Authenticate("web")
		o.AuthCacheTTL = -1
	})
	acct := e.acct("alice")
	tl := fmt.Sprintf("L%d", e.folder("alice", store.SpecialTasks).ID)
	id := e.taskMust("alice", "Task/set", map[string]any{"accountId": acct, "create": map[string]any{
		"t": map[string]any{"taskListId": tl, "title": "x"}}})["created"].(map[string]any)["t"].(map[string]any)["id"].(string)
	for _, tc := range []struct {
		fail, method string
		args         map[string]any
	}{
		{"ListFolders", "TaskList/get", map[string]any{}},
		{"ListFolders", "Task/get", map[string]any{}},
		{"ListObjects", "Task/get", map[string]any{}},
		{"OpenItem", "Task/get", map[string]any{"ids": []string{id}}},
		{"GetFolder", "Task/get", map[string]any{"ids": []string{id}}},
		{"ListObjects", "Task/query", map[string]any{}},
		{"OpenItem", "Task/query", map[string]any{"filter": map[string]any{"progress": "completed"}}},
		{"Changes", "Task/changes", map[string]any{"sinceState": "1"}},
		{"Changes", "TaskList/changes", map[string]any{"sinceState": "1"}},
		{"Changes", "Task/queryChanges", map[string]any{"sinceQueryState": "1"}},
		{"AppendItem", "Task/set", map[string]any{"create": map[string]any{"n": map[string]any{"taskListId": tl, "title": "y"}}}},
		{"ReplaceItem", "Task/set", map[string]any{"update": map[string]any{id: map[string]any{"progress": "completed"}}}},
		{"DeleteItems", "Task/set", map[string]any{"destroy": []string{id}}},
		{"CreateFolder", "TaskList/set", map[string]any{"create": map[string]any{"n": map[string]any{"name": "N"}}}},
	} {
		tc.args["accountId"] = acct
		fb.Fail(nil, tc.fail)
		if n, a := e.task("alice", tc.method, tc.args); n != "error" || a["type"] != "serverFail" {
			t.Errorf("%s with %s failing: %s %v", tc.method, tc.fail, n, a)
		}
		fb.Heal()
	}
	if l := e.taskMust("alice", "Task/get", map[string]any{"accountId": acct})["list"].([]any); len(l) != 1 {
		t.Fatalf("after healing: %v", l)
	}
}
