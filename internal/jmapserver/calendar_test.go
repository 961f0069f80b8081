package jmapserver_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// Calendars and contacts: the JMAP methods over the very objects CalDAV
// and CardDAV serve, checked through both protocols.

const gwUsing = `["urn:ietf:params:jmap:core","urn:ietf:params:jmap:calendars","urn:ietf:params:jmap:contacts"]`

// gwEnv is the JMAP harness with a CalDAV/CardDAV server on the same
// store.
type gwEnv struct {
	*env
	dav string
}

// newGWEnv starts JMAP and CalDAV/CardDAV over one store of the given
// backend with tenant acme (alice, bob) and globex (eve).
func newGWEnv(t *testing.T, backend string, opts ...func(*jmapserver.Options)) *gwEnv {
	hub := events.NewHub()
	s := testenv.Open(t, testenv.Options{Backend: backend, BlobGrace: -1, OnChange: hub.Publish})
	s.Tenants(t, "acme", "globex")
	for _, u := range [][2]string{{"acme", "alice"}, {"acme", "bob"}, {"globex", "eve"}} {
		s.User(t, u[0], store.User{Login: u[1], Active: true}, password(u[1]))
	}
	o := jmapserver.Options{Store: s.DB, Blobs: s.Blobs, Hub: hub, Logger: testLogger(), Authenticate: authenticator(s.DB)}
	for _, f := range opts {
		f(&o)
	}
	js := jmapserver.New(o)
	srv := httptest.NewServer(js)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { js.Close() })
	dav := httptest.NewServer(davserver.New(davserver.Options{Store: s.DB, Logger: testLogger(), Authenticate: authenticator(s.DB)}))
	t.Cleanup(dav.Close)
	return &gwEnv{env: &env{t: t, db: s.DB, hub: hub, url: srv.URL}, dav: dav.URL}
}

// eachBackend runs a test on SQLite, and on PostgreSQL when the test
// cluster is there (testenv.Backends).
func eachBackend(t *testing.T, test func(t *testing.T, e *gwEnv)) {
	for _, b := range testenv.Backends(t) {
		t.Run(b, func(t *testing.T) { test(t, newGWEnv(t, b)) })
	}
}

// gw posts one method call with the calendars and contacts capabilities
// and returns the response name and arguments.
func (e *gwEnv) gw(login, name string, args any) (string, map[string]any) {
	e.t.Helper()
	b, _ := json.Marshal([]any{[]any{name, args, "c0"}})
	r := e.do(login, "POST", "/jmap/api/", strings.NewReader(`{"using":`+gwUsing+`,"methodCalls":`+string(b)+`}`))
	if r.code != 200 {
		e.t.Fatalf("API %d: %s", r.code, r.body)
	}
	out := r.json(e.t)["methodResponses"].([]any)
	inv := out[0].([]any)
	return inv[0].(string), inv[1].(map[string]any)
}

func (e *gwEnv) gwMust(login, name string, args any) map[string]any {
	e.t.Helper()
	n, a := e.gw(login, name, args)
	if n != name {
		e.t.Fatalf("%s: %s %v", name, n, a)
	}
	return a
}

// davDo sends a CalDAV/CardDAV request as login.
func (e *gwEnv) davDo(login, method, path, body string, hdr ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.dav+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.SetBasicAuth(login, password(login))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (e *gwEnv) calPath(login string) string {
	return "/dav/calendars/" + login + "/" + e.folder(login, store.SpecialCalendar).Name + "/"
}

func (e *gwEnv) cardPath(login string) string {
	return "/dav/addressbooks/" + login + "/" + e.folder(login, store.SpecialContacts).Name + "/"
}

func crlfs(s string) string { return strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\n", "\r\n") }

const weeklyICS = `
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:20260105T100000
DTEND;TZID=Europe/Berlin:20260105T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Berlin:20260119T100000
SUMMARY:Team sync
X-CUSTOM-PROP:kept
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000
DTSTART;TZID=Europe/Berlin:20260112T150000
DTEND;TZID=Europe/Berlin:20260112T160000
SUMMARY:Team sync (moved)
END:VEVENT
END:VCALENDAR
`

func firstOf(t *testing.T, a map[string]any) map[string]any {
	t.Helper()
	l, _ := a["list"].([]any)
	if len(l) != 1 {
		t.Fatalf("want one object: %v", a)
	}
	return l[0].(map[string]any)
}

// TestCalDAVEventInJMAP: an event PUT over CalDAV is a CalendarEvent with
// the same recurrence, its exception and its override; a change and a
// deletion over CalDAV show in CalendarEvent/changes; an edit over JMAP
// keeps the property JMAP does not map.
func TestCalDAVEventInJMAP(t *testing.T) { eachBackend(t, testCalDAVEventInJMAP) }

func testCalDAVEventInJMAP(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	cal := e.calPath("alice")
	state0 := e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)
	if code, body := e.davDo("alice", "PUT", cal+"weekly.ics", crlfs(weeklyICS), "Content-Type", "text/calendar"); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	q := e.gwMust("alice", "CalendarEvent/query", map[string]any{"accountId": acct})
	ids := q["ids"].([]any)
	if len(ids) != 1 {
		t.Fatalf("query ids %v", ids)
	}
	id := ids[0].(string)
	ev := firstOf(t, e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": []string{id}}))
	if ev["uid"] != "weekly-1" || ev["title"] != "Team sync" || ev["start"] != "2026-01-05T10:00:00" ||
		ev["timeZone"] != "Europe/Berlin" || ev["duration"] != "PT1H" {
		t.Errorf("event %v", ev)
	}
	rule := ev["recurrenceRules"].([]any)[0].(map[string]any)
	if rule["frequency"] != "weekly" || rule["count"] != float64(4) {
		t.Errorf("rule %v", rule)
	}
	ovs := ev["recurrenceOverrides"].(map[string]any)
	if ex := ovs["2026-01-19T10:00:00"].(map[string]any); ex["excluded"] != true {
		t.Errorf("EXDATE override %v", ex)
	}
	moved := ovs["2026-01-12T10:00:00"].(map[string]any)
	if moved["title"] != "Team sync (moved)" || moved["start"] != "2026-01-12T15:00:00" {
		t.Errorf("moved instance %v", moved)
	}
	cals := ev["calendarIds"].(map[string]any)
	if cals[fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)] != true {
		t.Errorf("calendarIds %v", cals)
	}
	if ev["utcStart"] != "2026-01-05T09:00:00Z" {
		t.Errorf("utcStart %v", ev["utcStart"])
	}
	ch := e.gwMust("alice", "CalendarEvent/changes", map[string]any{"accountId": acct, "sinceState": state0})
	if fmt.Sprint(ch["created"]) != fmt.Sprint([]any{id}) {
		t.Errorf("changes after the PUT: %v", ch)
	}

	// Expansion: three instances (the fourth is excluded), the moved one
	// at its new time, each gettable by its instance id.
	x := e.gwMust("alice", "CalendarEvent/query", map[string]any{"accountId": acct, "expandRecurrences": true,
		"filter": map[string]any{"after": "2026-01-01T00:00:00Z", "before": "2026-02-01T00:00:00Z"}})
	inst := x["ids"].([]any)
	if len(inst) != 3 {
		t.Fatalf("expanded %v", inst)
	}
	got := e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": inst,
		"properties": []string{"title", "utcStart", "utcEnd", "recurrenceId"}})
	var summary []string
	for _, o := range got["list"].([]any) {
		m := o.(map[string]any)
		summary = append(summary, fmt.Sprintf("%v %v %v", m["recurrenceId"], m["utcStart"], m["title"]))
	}
	want := []string{"2026-01-05T10:00:00 2026-01-05T09:00:00Z Team sync", "2026-01-12T10:00:00 2026-01-12T14:00:00Z Team sync (moved)",
		"2026-01-26T10:00:00 2026-01-26T09:00:00Z Team sync"}
	if fmt.Sprint(summary) != fmt.Sprint(want) {
		t.Errorf("instances\n%v\nwant\n%v", summary, want)
	}

	// A change over CalDAV is an update in CalendarEvent/changes.
	state1 := ch["newState"].(string)
	changed := strings.Replace(weeklyICS, "SUMMARY:Team sync\n", "SUMMARY:Team meeting\n", 1)
	if code, body := e.davDo("alice", "PUT", cal+"weekly.ics", crlfs(changed)); code != 204 {
		t.Fatalf("PUT %d %s", code, body)
	}
	ch = e.gwMust("alice", "CalendarEvent/changes", map[string]any{"accountId": acct, "sinceState": state1})
	if fmt.Sprint(ch["updated"]) != fmt.Sprint([]any{id}) || len(ch["created"].([]any)) != 0 {
		t.Errorf("changes after the CalDAV edit: %v", ch)
	}

	// An edit over JMAP: the title changes, the X- property CalDAV
	// clients put there stays, the id stays.
	set := e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": acct,
		"update": map[string]any{id: map[string]any{"title": "Renamed in JMAP", "recurrenceOverrides/2026-01-12T10:00:00/title": "Moved, renamed"}}})
	if _, ok := set["updated"].(map[string]any)[id]; !ok {
		t.Fatalf("update: %v", set)
	}
	code, body := e.davDo("alice", "GET", cal+"weekly.ics", "")
	if code != 200 || !strings.Contains(body, "SUMMARY:Renamed in JMAP") || !strings.Contains(body, "X-CUSTOM-PROP:kept") ||
		!strings.Contains(body, "SUMMARY:Moved\\, renamed") || !strings.Contains(body, "EXDATE;TZID=Europe/Berlin:20260119T100000") {
		t.Errorf("CalDAV GET after the JMAP edit (%d):\n%s", code, body)
	}

	// A deletion over CalDAV is destroyed.
	state2 := set["newState"].(string)
	if code, _ := e.davDo("alice", "DELETE", cal+"weekly.ics", ""); code != 204 {
		t.Fatalf("DELETE %d", code)
	}
	ch = e.gwMust("alice", "CalendarEvent/changes", map[string]any{"accountId": acct, "sinceState": state2})
	if fmt.Sprint(ch["destroyed"]) != fmt.Sprint([]any{id}) {
		t.Errorf("changes after the CalDAV delete: %v", ch)
	}
}

// TestJMAPInviteLandsInCalDAV: alice invites bob with CalendarEvent/set;
// the scheduler puts the invitation in bob's calendar, where CalDAV and
// JMAP both show it; bob's answer over JMAP reaches alice's copy.
func TestJMAPInviteLandsInCalDAV(t *testing.T) { eachBackend(t, testJMAPInviteLandsInCalDAV) }

func testJMAPInviteLandsInCalDAV(t *testing.T, e *gwEnv) {
	aliceCal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	set := e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": e.acct("alice"), "sendSchedulingMessages": true,
		"create": map[string]any{"m": map[string]any{
			"calendarIds": map[string]any{aliceCal: true}, "@type": "Event", "uid": "invite-1", "title": "Budget review",
			"start": "2026-03-02T14:00:00", "timeZone": "Europe/Paris", "duration": "PT1H",
			"replyTo": map[string]any{"imip": "mailto:alice@acme.test"},
			"participants": map[string]any{
				"a": map[string]any{"@type": "Participant", "name": "Alice", "roles": map[string]any{"owner": true, "attendee": true},
					"sendTo": map[string]any{"imip": "mailto:alice@acme.test"}, "participationStatus": "accepted"},
				"b": map[string]any{"@type": "Participant", "name": "Bob", "roles": map[string]any{"attendee": true},
					"sendTo": map[string]any{"imip": "mailto:bob@acme.test"}, "participationStatus": "needs-action", "expectReply": true},
			}}}})
	created, ok := set["created"].(map[string]any)["m"].(map[string]any)
	if !ok {
		t.Fatalf("create: %v", set)
	}
	// Bob's calendar over CalDAV: the collection export holds it.
	code, body := e.davDo("bob", "GET", e.calPath("bob"), "")
	if code != 200 || !strings.Contains(body, "UID:invite-1") || !strings.Contains(body, "SUMMARY:Budget review") ||
		!strings.Contains(body, "ORGANIZER") {
		t.Fatalf("bob's calendar over CalDAV (%d):\n%s", code, body)
	}
	// Exactly what a CalDAV PUT of the same object schedules: alice's
	// stored copy, PUT again over CalDAV under another UID, gives bob the
	// same copy.
	code, mine := e.davDo("alice", "GET", e.calPath("alice")+"invite-1.ics", "")
	if code != 200 {
		t.Fatalf("alice's copy: %d", code)
	}
	again := strings.ReplaceAll(mine, "UID:invite-1", "UID:invite-2")
	if code, body := e.davDo("alice", "PUT", e.calPath("alice")+"invite-2.ics", again); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	_, viaJMAP := e.davDo("bob", "GET", e.calPath("bob")+"invite-1.ics", "")
	_, viaDAV := e.davDo("bob", "GET", e.calPath("bob")+"invite-2.ics", "")
	if strings.ReplaceAll(viaDAV, "UID:invite-2", "UID:invite-1") != viaJMAP || viaJMAP == "" {
		t.Errorf("bob's copy from JMAP:\n%s\nfrom CalDAV:\n%s", viaJMAP, viaDAV)
	}
	// And over JMAP, bob sees it as not his origin, needing his answer.
	q := e.gwMust("bob", "CalendarEvent/query", map[string]any{"accountId": e.acct("bob"), "filter": map[string]any{"uid": "invite-1"}})
	ids := q["ids"].([]any)
	if len(ids) != 1 {
		t.Fatalf("bob's query %v", q)
	}
	ev := firstOf(t, e.gwMust("bob", "CalendarEvent/get", map[string]any{"accountId": e.acct("bob"), "ids": ids}))
	if ev["isOrigin"] != false {
		t.Errorf("bob's copy isOrigin %v", ev["isOrigin"])
	}
	var bobKey string
	for k, v := range ev["participants"].(map[string]any) {
		p := v.(map[string]any)
		if p["email"] == "bob@acme.test" {
			bobKey = k
			if p["participationStatus"] != "needs-action" {
				t.Errorf("bob's status %v", p)
			}
		}
	}
	// Bob accepts over JMAP: the reply reaches alice's copy.
	e.gwMust("bob", "CalendarEvent/set", map[string]any{"accountId": e.acct("bob"), "sendSchedulingMessages": true,
		"update": map[string]any{ids[0].(string): map[string]any{"participants/" + bobKey + "/participationStatus": "accepted"}}})
	a := firstOf(t, e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": e.acct("alice"), "ids": []any{created["id"]}}))
	if p := a["participants"].(map[string]any)[bobKey].(map[string]any); p["participationStatus"] != "accepted" {
		t.Errorf("alice's copy after bob's answer: %v", p)
	}
	// Bob declines with a comment: alice's copy has both (over JMAP,
	// and over CalDAV as Apple's attendee comment).
	e.gwMust("bob", "CalendarEvent/set", map[string]any{"accountId": e.acct("bob"), "sendSchedulingMessages": true,
		"update": map[string]any{ids[0].(string): map[string]any{"participants/" + bobKey + "/participationStatus": "declined",
			"participants/" + bobKey + "/participationComment": "On leave, sorry"}}})
	a = firstOf(t, e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": e.acct("alice"), "ids": []any{created["id"]}}))
	if p := a["participants"].(map[string]any)[bobKey].(map[string]any); p["participationStatus"] != "declined" || p["participationComment"] != "On leave, sorry" {
		t.Errorf("alice's copy after bob's answer with a comment: %v", p)
	}
	if _, body := e.davDo("alice", "GET", e.calPath("alice")+"invite-1.ics", ""); !strings.Contains(strings.ReplaceAll(body, "\r\n ", ""),
		`X-CALENDARSERVER-ATTENDEE-COMMENT;X-CALENDARSERVER-ATTENDEE-REF="mailto:bob@acme.test":On leave\, sorry`) {
		t.Errorf("alice's copy over CalDAV:\n%s", body)
	}
	// Only the comment changes: still a reply.
	e.gwMust("bob", "CalendarEvent/set", map[string]any{"accountId": e.acct("bob"), "sendSchedulingMessages": true,
		"update": map[string]any{ids[0].(string): map[string]any{"participants/" + bobKey + "/participationComment": "On leave until March 9"}}})
	// Alice changes the title: bob's copy keeps his own comment.
	e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": e.acct("alice"), "sendSchedulingMessages": true,
		"update": map[string]any{created["id"].(string): map[string]any{"title": "Budget review (moved)"}}})
	a = firstOf(t, e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": e.acct("alice"), "ids": []any{created["id"]}}))
	if p := a["participants"].(map[string]any)[bobKey].(map[string]any); p["participationComment"] != "On leave until March 9" {
		t.Errorf("alice's copy after bob's new comment: %v", p)
	}
	b := firstOf(t, e.gwMust("bob", "CalendarEvent/get", map[string]any{"accountId": e.acct("bob"), "ids": ids}))
	if p := b["participants"].(map[string]any)[bobKey].(map[string]any); b["title"] != "Budget review (moved)" || p["participationComment"] != "On leave until March 9" || p["participationStatus"] != "declined" {
		t.Errorf("bob's copy after alice's update: %v %v", b["title"], p)
	}
}

// TestGroupwareBadInput: other accounts' ids are notFound (never
// forbidden), malformed JSCalendar and JSContact are invalidProperties,
// bad query arguments their RFC errors; the server keeps serving.
func TestGroupwareBadInput(t *testing.T) { eachBackend(t, testGroupwareBadInput) }

func testGroupwareBadInput(t *testing.T, e *gwEnv) {
	// eve (another tenant) has an event and a card.
	if code, body := e.davDo("eve", "PUT", e.calPath("eve")+"x.ics", crlfs(weeklyICS)); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	eveEv := e.gwMust("eve", "CalendarEvent/query", map[string]any{"accountId": e.acct("eve")})["ids"].([]any)[0].(string)
	eveCal := fmt.Sprintf("C%d", e.folder("eve", store.SpecialCalendar).ID)
	eveAB := fmt.Sprintf("B%d", e.folder("eve", store.SpecialContacts).ID)
	acct := e.acct("alice")
	aliceCal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)

	g := e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": []string{eveEv, "V1_x", "nonsense"}})
	if len(g["list"].([]any)) != 0 || len(g["notFound"].([]any)) != 3 {
		t.Errorf("get of other ids: %v", g)
	}
	g = e.gwMust("alice", "Calendar/get", map[string]any{"accountId": acct, "ids": []string{eveCal}})
	if fmt.Sprint(g["notFound"]) != fmt.Sprint([]any{eveCal}) {
		t.Errorf("Calendar/get of eve's calendar: %v", g)
	}
	if n, a := e.gw("alice", "CalendarEvent/get", map[string]any{"accountId": e.acct("eve"), "ids": []string{eveEv}}); n != "error" || a["type"] != "accountNotFound" {
		t.Errorf("eve's account: %s %v", n, a)
	}
	s := e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": acct,
		"update":  map[string]any{eveEv: map[string]any{"title": "x"}},
		"destroy": []string{eveEv},
		"create": map[string]any{
			"other":    map[string]any{"calendarIds": map[string]any{eveCal: true}, "title": "x", "start": "2026-01-01T10:00:00"},
			"badstart": map[string]any{"calendarIds": map[string]any{aliceCal: true}, "title": "x", "start": "tomorrow"},
			"badtype":  map[string]any{"calendarIds": map[string]any{aliceCal: true}, "@type": "Meeting", "start": "2026-01-01T10:00:00"},
			"badrule": map[string]any{"calendarIds": map[string]any{aliceCal: true}, "start": "2026-01-01T10:00:00",
				"recurrenceRules": []any{map[string]any{"frequency": "sometimes"}}},
			"badtz": map[string]any{"calendarIds": map[string]any{aliceCal: true}, "start": "2026-01-01T10:00:00", "timeZone": "Moon/Base"},
		}})
	if s["notUpdated"].(map[string]any)[eveEv].(map[string]any)["type"] != "notFound" ||
		s["notDestroyed"].(map[string]any)[eveEv].(map[string]any)["type"] != "notFound" {
		t.Errorf("update/destroy of eve's event: %v", s)
	}
	nc := s["notCreated"].(map[string]any)
	for k, prop := range map[string]string{"other": "calendarIds", "badstart": "start", "badtype": "@type", "badrule": "recurrenceRules/0", "badtz": "timeZone"} {
		se, _ := nc[k].(map[string]any)
		if se["type"] != "invalidProperties" || fmt.Sprint(se["properties"]) != fmt.Sprint([]any{prop}) {
			t.Errorf("create %s: %v", k, se)
		}
	}
	if len(s["created"].(map[string]any)) != 0 {
		t.Errorf("created %v", s["created"])
	}
	c := e.gwMust("alice", "ContactCard/set", map[string]any{"accountId": acct, "create": map[string]any{
		"other": map[string]any{"addressBookIds": map[string]any{eveAB: true}, "name": map[string]any{"full": "X"}},
		"bad":   map[string]any{"addressBookIds": map[string]any{fmt.Sprintf("B%d", e.folder("alice", store.SpecialContacts).ID): true}, "kind": "robot"},
	}})
	for k, prop := range map[string]string{"other": "addressBookIds", "bad": "kind"} {
		se, _ := c["notCreated"].(map[string]any)[k].(map[string]any)
		if se["type"] != "invalidProperties" || fmt.Sprint(se["properties"]) != fmt.Sprint([]any{prop}) {
			t.Errorf("card create %s: %v", k, se)
		}
	}
	for _, bad := range []struct {
		method string
		args   map[string]any
		want   string
	}{
		{"CalendarEvent/query", map[string]any{"accountId": acct, "expandRecurrences": true}, "invalidArguments"},
		{"CalendarEvent/query", map[string]any{"accountId": acct, "filter": map[string]any{"colour": "red"}}, "unsupportedFilter"},
		{"CalendarEvent/query", map[string]any{"accountId": acct, "sort": []any{map[string]any{"property": "colour"}}}, "unsupportedSort"},
		{"ContactCard/query", map[string]any{"accountId": acct, "filter": map[string]any{"operator": "XOR", "conditions": []any{}}}, "unsupportedFilter"},
		{"CalendarEvent/changes", map[string]any{"accountId": acct, "sinceState": "bogus"}, "cannotCalculateChanges"},
		{"Calendar/set", map[string]any{"accountId": acct, "ifInState": "1"}, "stateMismatch"},
		{"CalendarEvent/get", map[string]any{"accountId": acct, "ids": nil, "bogus": true}, "invalidArguments"},
	} {
		if n, a := e.gw("alice", bad.method, bad.args); n != "error" || a["type"] != bad.want {
			t.Errorf("%s %v: %s %v, want %s", bad.method, bad.args, n, a, bad.want)
		}
	}
	// Still serving.
	e.gwMust("alice", "Calendar/get", map[string]any{"accountId": acct})
	// Without the capability in using, the methods are unknown.
	if n, a := e.call1("alice", "Calendar/get", map[string]any{"accountId": acct}); n != "error" || a["type"] != "unknownMethod" {
		t.Errorf("without the capability: %s %v", n, a)
	}
}

// TestCalendarAndAddressBookSet: collections created, renamed and
// destroyed over JMAP are CalDAV/CardDAV collections, and
// Calendar/changes sees them.
func TestCalendarAndAddressBookSet(t *testing.T) { eachBackend(t, testCalendarAndAddressBookSet) }

func testCalendarAndAddressBookSet(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	g0 := e.gwMust("alice", "Calendar/get", map[string]any{"accountId": acct})
	st0 := g0["state"].(string)
	// One default calendar: the calendar, not the tasks folder (a client
	// putting a new event into "the default calendar" must not pick the
	// tasks folder).
	var defaults []string
	for _, c := range g0["list"].([]any) {
		if c := c.(map[string]any); c["isDefault"] == true {
			defaults = append(defaults, c["id"].(string))
		}
	}
	if want := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID); fmt.Sprint(defaults) != fmt.Sprint([]string{want}) {
		t.Errorf("default calendars %v, want [%s]", defaults, want)
	}
	s := e.gwMust("alice", "Calendar/set", map[string]any{"accountId": acct, "create": map[string]any{
		"w": map[string]any{"name": "Work", "color": "#ff0000", "description": "Work <stuff> & more"}}})
	id := s["created"].(map[string]any)["w"].(map[string]any)["id"].(string)
	cal := firstOf(t, e.gwMust("alice", "Calendar/get", map[string]any{"accountId": acct, "ids": []string{id}}))
	if cal["name"] != "Work" || cal["color"] != "#ff0000" || cal["description"] != "Work <stuff> & more" || cal["isDefault"] != false {
		t.Errorf("calendar %v", cal)
	}
	code, body := e.davDo("alice", "PROPFIND", "/dav/calendars/alice/Work/", `<?xml version="1.0"?><propfind xmlns="DAV:"><prop><displayname/><calendar-color xmlns="http://apple.com/ns/ical/"/></prop></propfind>`, "Depth", "0")
	if code != 207 || !strings.Contains(body, "#ff0000") {
		t.Errorf("PROPFIND of the JMAP calendar (%d): %s", code, body)
	}
	ch := e.gwMust("alice", "Calendar/changes", map[string]any{"accountId": acct, "sinceState": st0})
	if fmt.Sprint(ch["created"]) != fmt.Sprint([]any{id}) {
		t.Errorf("Calendar/changes %v", ch)
	}
	// An event in it, then destroy: refused without onDestroyRemoveEvents.
	e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": acct, "create": map[string]any{"e": map[string]any{
		"calendarIds": map[string]any{id: true}, "title": "x", "start": "2026-05-01T10:00:00", "timeZone": "Etc/UTC", "duration": "PT1H"}}})
	d := e.gwMust("alice", "Calendar/set", map[string]any{"accountId": acct, "destroy": []string{id}})
	if d["notDestroyed"].(map[string]any)[id].(map[string]any)["type"] != "calendarHasEvent" {
		t.Errorf("destroy of a calendar with events: %v", d)
	}
	d = e.gwMust("alice", "Calendar/set", map[string]any{"accountId": acct, "destroy": []string{id}, "onDestroyRemoveEvents": true})
	if fmt.Sprint(d["destroyed"]) != fmt.Sprint([]any{id}) {
		t.Errorf("destroy: %v", d)
	}
	def := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	d = e.gwMust("alice", "Calendar/set", map[string]any{"accountId": acct, "destroy": []string{def}})
	if d["notDestroyed"].(map[string]any)[def] == nil {
		t.Errorf("the default calendar was destroyed: %v", d)
	}
	ab := e.gwMust("alice", "AddressBook/set", map[string]any{"accountId": acct, "create": map[string]any{"f": map[string]any{"name": "Friends"}}})
	abID := ab["created"].(map[string]any)["f"].(map[string]any)["id"].(string)
	if code, _ := e.davDo("alice", "PROPFIND", "/dav/addressbooks/alice/Friends/", "", "Depth", "0"); code != 207 {
		t.Errorf("PROPFIND of the JMAP address book: %d", code)
	}
	books := e.gwMust("alice", "AddressBook/get", map[string]any{"accountId": acct})["list"].([]any)
	if len(books) != 2 || !strings.Contains(fmt.Sprint(books), abID) {
		t.Errorf("address books %v", books)
	}
}

// TestSessionGroupwareCapabilities: the session advertises both.
func TestSessionGroupwareCapabilities(t *testing.T) { eachBackend(t, testSessionGroupwareCapabilities) }

func testSessionGroupwareCapabilities(t *testing.T, e *gwEnv) {
	s := e.do("alice", "GET", "/jmap/session", nil).json(t)
	caps := s["capabilities"].(map[string]any)
	for _, c := range []string{"urn:ietf:params:jmap:calendars", "urn:ietf:params:jmap:contacts"} {
		if _, ok := caps[c]; !ok {
			t.Errorf("capability %s missing", c)
		}
		if s["primaryAccounts"].(map[string]any)[c] != e.acct("alice") {
			t.Errorf("primary account for %s", c)
		}
	}
}

var _ = time.Now

// TestAvailabilityAndTasks: Principal/getAvailability answers the busy
// time of a CalDAV event; a VTODO in the tasks folder is a Task.
func TestAvailabilityAndTasks(t *testing.T) { eachBackend(t, testAvailabilityAndTasks) }

func testAvailabilityAndTasks(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	if code, body := e.davDo("alice", "PUT", e.calPath("alice")+"w.ics", crlfs(weeklyICS)); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	av := e.gwMust("alice", "Principal/getAvailability", map[string]any{"accountId": acct, "id": acct,
		"utcStart": "2026-01-05T00:00:00Z", "utcEnd": "2026-01-13T00:00:00Z"})
	if fmt.Sprint(av["list"]) != "[map[busyStatus:confirmed event:<nil> utcEnd:2026-01-05T10:00:00Z utcStart:2026-01-05T09:00:00Z] "+
		"map[busyStatus:confirmed event:<nil> utcEnd:2026-01-12T15:00:00Z utcStart:2026-01-12T14:00:00Z]]" {
		t.Errorf("availability %v", av["list"])
	}
	tasks := "/dav/calendars/alice/" + e.folder("alice", store.SpecialTasks).Name + "/"
	todo := crlfs(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:todo-1
DTSTAMP:20260101T000000Z
DUE;TZID=Europe/Berlin:20260301T170000
SUMMARY:File taxes
STATUS:IN-PROCESS
PERCENT-COMPLETE:30
END:VTODO
END:VCALENDAR
`)
	if code, body := e.davDo("alice", "PUT", tasks+"todo.ics", todo); code != 201 {
		t.Fatalf("PUT todo %d %s", code, body)
	}
	q := e.gwMust("alice", "CalendarEvent/query", map[string]any{"accountId": acct,
		"filter": map[string]any{"inCalendars": []string{fmt.Sprintf("C%d", e.folder("alice", store.SpecialTasks).ID)}}})
	task := firstOf(t, e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": q["ids"]}))
	if task["@type"] != "Task" || task["due"] != "2026-03-01T17:00:00" || task["progress"] != "in-process" || task["percentComplete"] != float64(30) {
		t.Errorf("task %v", task)
	}
	// An Event cannot go into the tasks calendar.
	s := e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": acct, "create": map[string]any{"x": map[string]any{
		"calendarIds": map[string]any{fmt.Sprintf("C%d", e.folder("alice", store.SpecialTasks).ID): true},
		"start":       "2026-01-01T10:00:00", "title": "meeting"}}})
	if se := s["notCreated"].(map[string]any)["x"].(map[string]any); se["type"] != "invalidProperties" {
		t.Errorf("event in the tasks calendar: %v", s)
	}
}

// TestOutlookEventEdit: an event in a Windows time zone (defined only by
// its VTIMEZONE) is edited over JMAP and keeps its zone and Outlook's
// properties for CalDAV clients.
func TestOutlookEventEdit(t *testing.T) { eachBackend(t, testOutlookEventEdit) }

func testOutlookEventEdit(t *testing.T, e *gwEnv) {
	ics := crlfs(`
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:outlook-1
DTSTAMP:20260101T000000Z
DTSTART;TZID=W. Europe Standard Time:20260601T090000
DTEND;TZID=W. Europe Standard Time:20260601T093000
SUMMARY:Stand-up
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
END:VEVENT
END:VCALENDAR
`)
	path := e.calPath("alice") + "outlook.ics"
	if code, body := e.davDo("alice", "PUT", path, ics); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	acct := e.acct("alice")
	ids := e.gwMust("alice", "CalendarEvent/query", map[string]any{"accountId": acct})["ids"].([]any)
	ev := firstOf(t, e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": ids}))
	if ev["timeZone"] != "W. Europe Standard Time" || ev["utcStart"] != "2026-06-01T07:00:00Z" {
		t.Errorf("event %v", ev)
	}
	s := e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": acct, "update": map[string]any{
		ids[0].(string): map[string]any{"title": "Daily stand-up", "start": "2026-06-01T09:15:00"}}})
	if len(s["updated"].(map[string]any)) != 1 {
		t.Fatalf("update %v", s)
	}
	code, body := e.davDo("alice", "GET", path, "")
	for _, w := range []string{"BEGIN:VTIMEZONE", "DTSTART;TZID=W. Europe Standard Time:20260601T091500", "SUMMARY:Daily stand-up",
		"X-MICROSOFT-CDO-BUSYSTATUS:BUSY", "DTEND;TZID=W. Europe Standard Time:20260601T094500"} {
		if code != 200 || !strings.Contains(body, w) {
			t.Errorf("CalDAV GET lacks %q (%d):\n%s", w, code, body)
		}
	}
}

// TestCalDAVChangePushed: a CalDAV PUT reaches an open EventSource as a
// CalendarEvent state change, the state CalendarEvent/changes starts
// from.
func TestCalDAVChangePushed(t *testing.T) { eachBackend(t, testCalDAVChangePushed) }

func testCalDAVChangePushed(t *testing.T, e *gwEnv) {
	acct := e.acct("alice")
	state := e.gwMust("alice", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)
	req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?types=CalendarEvent&closeafter=state&ping=0", nil)
	req.SetBasicAuth("alice", password("alice"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if code, body := e.davDo("alice", "PUT", e.calPath("alice")+"p.ics", crlfs(weeklyICS)); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	typ, data := readEvent(t, bufio.NewReader(res.Body))
	var sc struct {
		Changed map[string]map[string]string `json:"changed"`
	}
	if err := json.Unmarshal([]byte(data), &sc); err != nil || typ != "state" {
		t.Fatalf("event %s %s", typ, data)
	}
	newState := sc.Changed[acct]["CalendarEvent"]
	if newState == "" || newState == state || sc.Changed[acct]["Email"] != "" {
		t.Fatalf("changed %v", sc.Changed)
	}
	ch := e.gwMust("alice", "CalendarEvent/changes", map[string]any{"accountId": acct, "sinceState": state})
	if len(ch["created"].([]any)) != 1 || ch["newState"] != newState {
		t.Fatalf("changes %v", ch)
	}
}

// The instances an expanding query builds are bounded across events,
// not only per series: eleven minutely series of 2000 instances each
// are refused, not built.
func TestExpansionBounded(t *testing.T) {
	e := newGWEnv(t, testenv.SQLite)
	acct := e.acct("alice")
	cal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	create := map[string]any{}
	for i := range 11 {
		create[fmt.Sprint("e", i)] = map[string]any{"calendarIds": map[string]any{cal: true}, "title": "tick",
			"start": "2026-01-01T00:00:00", "timeZone": "Etc/UTC", "duration": "PT1M",
			"recurrenceRules": []any{map[string]any{"@type": "RecurrenceRule", "frequency": "minutely"}}}
	}
	set := e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": acct, "create": create})
	if len(set["created"].(map[string]any)) != 11 {
		t.Fatalf("create %v", set)
	}
	n, a := e.gw("alice", "CalendarEvent/query", map[string]any{"accountId": acct, "expandRecurrences": true,
		"filter": map[string]any{"after": "2026-01-01T00:00:00Z", "before": "2026-02-01T00:00:00Z"}})
	if n != "error" || a["type"] != "requestTooLarge" {
		t.Fatalf("expanding 22000 instances: %s %v (%d ids)", n, a["type"], len(fmt.Sprint(a["ids"])))
	}
}
