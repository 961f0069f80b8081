package jmapserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// TestCalendarEventNotifications: alice's invitation reaches bob's
// calendar through the iTIP scheduler and is a "created" notification
// for bob, changed by alice; her change of the title an "updated" one
// with the patch, her cancellation another; bob's answer is one for
// alice; nobody is notified of their own changes. A write by alice into
// bob's calendar through an ACL, and its deletion, are notifications
// too. /changes, /query and /set destroy follow; ids of other accounts
// are notFound.
func TestCalendarEventNotifications(t *testing.T) { eachBackend(t, testCalendarEventNotifications) }

func testCalendarEventNotifications(t *testing.T, e *gwEnv) {
	bob, alice := e.acct("bob"), e.acct("alice")
	list := func(login string) []map[string]any {
		t.Helper()
		g := e.gwMust(login, "CalendarEventNotification/get", map[string]any{"accountId": e.acct(login), "ids": nil})
		var out []map[string]any
		for _, o := range g["list"].([]any) {
			out = append(out, o.(map[string]any))
		}
		return out
	}
	state := func(login string) string {
		return e.gwMust(login, "CalendarEventNotification/get", map[string]any{"accountId": e.acct(login), "ids": []string{}})["state"].(string)
	}
	if l := list("bob"); len(l) != 0 {
		t.Fatalf("notifications before anything happened: %v", l)
	}
	bob0 := state("bob")

	aliceCal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	set := e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": alice, "sendSchedulingMessages": true,
		"create": map[string]any{"m": map[string]any{
			"calendarIds": map[string]any{aliceCal: true}, "@type": "Event", "uid": "notify-1", "title": "Budget review",
			"start": "2026-03-02T14:00:00", "timeZone": "Europe/Paris", "duration": "PT1H",
			"replyTo": map[string]any{"imip": "mailto:alice@acme.test"},
			"participants": map[string]any{
				"a": map[string]any{"@type": "Participant", "name": "Alice", "roles": map[string]any{"owner": true, "attendee": true},
					"sendTo": map[string]any{"imip": "mailto:alice@acme.test"}, "participationStatus": "accepted"},
				"b": map[string]any{"@type": "Participant", "name": "Bob", "roles": map[string]any{"attendee": true},
					"sendTo": map[string]any{"imip": "mailto:bob@acme.test"}, "participationStatus": "needs-action", "expectReply": true},
			}}}})
	aliceEv := set["created"].(map[string]any)["m"].(map[string]any)["id"].(string)
	if l := list("alice"); len(l) != 0 {
		t.Fatalf("alice is notified of her own event: %v", l)
	}
	l := list("bob")
	if len(l) != 1 {
		t.Fatalf("bob's notifications after the invitation: %v", l)
	}
	n := l[0]
	by := n["changedBy"].(map[string]any)
	if n["type"] != "created" || by["email"] != "alice@acme.test" || by["calendarAddress"] != "mailto:alice@acme.test" ||
		!strings.HasPrefix(fmt.Sprint(by["principalId"]), "U") ||
		n["isDraft"] != false || !strings.HasPrefix(n["calendarEventId"].(string), "V") {
		t.Fatalf("invitation notification %v", n)
	}
	if ev := n["event"].(map[string]any); ev["title"] != "Budget review" || ev["uid"] != "notify-1" {
		t.Fatalf("event of the notification %v", ev)
	}
	bobEv := n["calendarEventId"].(string)
	if got := e.gwMust("bob", "CalendarEvent/get", map[string]any{"accountId": bob, "ids": []string{bobEv}}); len(got["list"].([]any)) != 1 {
		t.Fatalf("calendarEventId is not bob's event: %v", got)
	}
	ch := e.gwMust("bob", "CalendarEventNotification/changes", map[string]any{"accountId": bob, "sinceState": bob0})
	if c := ch["created"].([]any); len(c) != 1 || c[0] != n["id"] || len(ch["destroyed"].([]any)) != 0 {
		t.Fatalf("changes after the invitation %v", ch)
	}

	// Alice retitles: bob gets "updated" with the patch.
	e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": alice, "sendSchedulingMessages": true,
		"update": map[string]any{aliceEv: map[string]any{"title": "Budget review (moved)"}}})
	l = list("bob")
	if len(l) != 2 || l[1]["type"] != "updated" {
		t.Fatalf("after the update: %v", l)
	}
	if p := l[1]["eventPatch"].(map[string]any); p["title"] != "Budget review (moved)" {
		t.Fatalf("eventPatch %v", p)
	}
	if _, ok := l[1]["eventPatch"].(map[string]any)["uid"]; ok {
		t.Fatalf("eventPatch names an unchanged property: %v", l[1]["eventPatch"])
	}
	// Bob answers: alice's copy is updated by the scheduler for bob.
	var bobKey string
	for k, v := range l[1]["event"].(map[string]any)["participants"].(map[string]any) {
		if strings.Contains(fmt.Sprint(v.(map[string]any)["sendTo"]), "bob@") {
			bobKey = k
		}
	}
	e.gwMust("bob", "CalendarEvent/set", map[string]any{"accountId": bob, "sendSchedulingMessages": true,
		"update": map[string]any{bobEv: map[string]any{"participants/" + bobKey + "/participationStatus": "accepted"}}})
	if l := list("bob"); len(l) != 2 {
		t.Fatalf("bob is notified of his own answer: %v", l)
	}
	al := list("alice")
	if len(al) != 1 || al[0]["type"] != "updated" || al[0]["changedBy"].(map[string]any)["email"] != "bob@acme.test" {
		t.Fatalf("alice's notification of bob's answer: %v", al)
	}

	// Query: by type, newest first, by event.
	q := e.gwMust("bob", "CalendarEventNotification/query", map[string]any{"accountId": bob,
		"filter": map[string]any{"type": "updated"}, "calculateTotal": true})
	if ids := q["ids"].([]any); len(ids) != 1 || ids[0] != l[1]["id"] {
		t.Fatalf("query type updated: %v", q)
	}
	q = e.gwMust("bob", "CalendarEventNotification/query", map[string]any{"accountId": bob,
		"filter": map[string]any{"calendarEventIds": []string{bobEv}}, "sort": []any{map[string]any{"property": "created", "isAscending": false}}})
	if ids := q["ids"].([]any); len(ids) != 2 || ids[0] != l[1]["id"] {
		t.Fatalf("query by event, newest first: %v", q)
	}
	if n, a := e.gw("bob", "CalendarEventNotification/query", map[string]any{"accountId": bob, "sort": []any{map[string]any{"property": "title"}}}); n != "error" || a["type"] != "unsupportedSort" {
		t.Fatalf("%s %v", n, a)
	}

	// Destroy the first; create and update are forbidden; another
	// account's id and alice's notification are notFound for bob.
	s1 := state("bob")
	d := e.gwMust("bob", "CalendarEventNotification/set", map[string]any{"accountId": bob, "ifInState": s1,
		"destroy": []any{l[0]["id"], al[0]["id"], "N1"},
		"create":  map[string]any{"x": map[string]any{"type": "created"}}, "update": map[string]any{l[1]["id"].(string): map[string]any{"comment": "x"}}})
	if ds := d["destroyed"].([]any); len(ds) != 1 || ds[0] != l[0]["id"] {
		t.Fatalf("destroy: %v", d)
	}
	if d["notCreated"].(map[string]any)["x"].(map[string]any)["type"] != "forbidden" ||
		d["notUpdated"].(map[string]any)[l[1]["id"].(string)].(map[string]any)["type"] != "forbidden" ||
		d["notDestroyed"].(map[string]any)[al[0]["id"].(string)].(map[string]any)["type"] != "notFound" {
		t.Fatalf("refusals: %v", d)
	}
	if n, a := e.gw("bob", "CalendarEventNotification/set", map[string]any{"accountId": bob, "ifInState": s1, "destroy": []any{l[1]["id"]}}); n != "error" || a["type"] != "stateMismatch" {
		t.Fatalf("stale ifInState: %s %v", n, a)
	}
	ch = e.gwMust("bob", "CalendarEventNotification/changes", map[string]any{"accountId": bob, "sinceState": s1})
	if ds := ch["destroyed"].([]any); len(ds) != 1 || ds[0] != l[0]["id"] || len(ch["created"].([]any)) != 0 {
		t.Fatalf("changes after destroy: %v", ch)
	}
	if l2 := list("bob"); len(l2) != 1 || l2[0]["id"] != l[1]["id"] {
		t.Fatalf("after destroy: %v", l2)
	}
	// From the first state: one created (the update), the destroyed one
	// never seen is not reported; maxChanges pages.
	ch = e.gwMust("bob", "CalendarEventNotification/changes", map[string]any{"accountId": bob, "sinceState": bob0})
	if c := ch["created"].([]any); len(c) != 1 || c[0] != l[1]["id"] || len(ch["destroyed"].([]any)) != 0 {
		t.Fatalf("changes since the start: %v", ch)
	}

	// Alice cancels: bob is notified.
	e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": alice, "sendSchedulingMessages": true, "destroy": []string{aliceEv}})
	l3 := list("bob")
	// The scheduler keeps bob's copy, cancelled (RFC 5546 §3.2.5).
	if len(l3) != 2 || l3[1]["type"] != "updated" || l3[1]["eventPatch"].(map[string]any)["status"] != "cancelled" ||
		l3[1]["changedBy"].(map[string]any)["email"] != "alice@acme.test" {
		t.Fatalf("after the cancellation: %v", l3)
	}

	// maxChanges pages: the destroy first, then the new notification.
	ch = e.gwMust("bob", "CalendarEventNotification/changes", map[string]any{"accountId": bob, "sinceState": s1, "maxChanges": 1})
	if ds := ch["destroyed"].([]any); len(ds) != 1 || len(ch["created"].([]any)) != 0 || ch["hasMoreChanges"] != true {
		t.Fatalf("first page: %v", ch)
	}
	ch = e.gwMust("bob", "CalendarEventNotification/changes", map[string]any{"accountId": bob, "sinceState": ch["newState"], "maxChanges": 1})
	if c := ch["created"].([]any); len(c) != 1 || c[0] != l3[1]["id"] || len(ch["destroyed"].([]any)) != 0 || ch["hasMoreChanges"] != false {
		t.Fatalf("second page: %v", ch)
	}

	// Through an ACL: alice writes an event into bob's calendar and
	// deletes it; bob is notified of both, alice of neither.
	bobCal := e.folder("bob", store.SpecialCalendar)
	if err := e.db.SetACL(e.as("bob"), bobCal.ID, "user:alice", "lrswitex"); err != nil {
		t.Fatal(err)
	}
	ics := crlfs("\nBEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\nUID:acl-1\nDTSTAMP:20260101T000000Z\nDTSTART:20260401T090000Z\nDTEND:20260401T100000Z\nSUMMARY:Planted\nEND:VEVENT\nEND:VCALENDAR\n")
	it, err := e.db.AppendItem(e.as("alice"), bobCal.ID, store.NewItem{Content: strings.NewReader(ics), Name: "acl-1.ics", ObjectUID: "acl-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.DeleteItems(e.as("alice"), bobCal.ID, []uint32{it.UID}); err != nil {
		t.Fatal(err)
	}
	l4 := list("bob")
	if len(l4) != 4 || l4[2]["type"] != "created" || l4[3]["type"] != "destroyed" ||
		l4[3]["event"].(map[string]any)["title"] != "Planted" || l4[2]["changedBy"].(map[string]any)["email"] != "alice@acme.test" {
		t.Fatalf("ACL writes: %v", l4)
	}
	if l := list("alice"); len(l) != 1 {
		t.Fatalf("alice: %v", l)
	}

	// Other accounts: accountNotFound; eve sees none of it.
	if n, a := e.gw("eve", "CalendarEventNotification/get", map[string]any{"accountId": bob, "ids": nil}); n != "error" || a["type"] != "accountNotFound" {
		t.Fatalf("%s %v", n, a)
	}
	g := e.gwMust("eve", "CalendarEventNotification/get", map[string]any{"accountId": e.acct("eve"), "ids": []any{l4[0]["id"]}})
	if nf := g["notFound"].([]any); len(nf) != 1 {
		t.Fatalf("eve gets bob's notification: %v", g)
	}
	if n, a := e.gw("bob", "CalendarEventNotification/changes", map[string]any{"accountId": bob, "sinceState": "bogus"}); n != "error" || a["type"] != "cannotCalculateChanges" {
		t.Fatalf("%s %v", n, a)
	}
}

// TestCalendarEventNotificationFloor: a user who destroys no notification
// had the whole journal of their calendars read by every call. The floor
// now rises over entries that make no notification (bob's own 1,100
// events) while the notifications above it stay, in /get and /changes.
func TestCalendarEventNotificationFloor(t *testing.T) {
	eachBackend(t, testCalendarEventNotificationFloor)
}

func testCalendarEventNotificationFloor(t *testing.T, e *gwEnv) {
	bob, alice := e.acct("bob"), e.acct("alice")
	bobCal := fmt.Sprintf("C%d", e.folder("bob", store.SpecialCalendar).ID)
	aliceCal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	get := func() []any {
		return e.gwMust("bob", "CalendarEventNotification/get", map[string]any{"accountId": bob, "ids": nil})["list"].([]any)
	}
	invite := func(uid string) {
		e.gwMust("alice", "CalendarEvent/set", map[string]any{"accountId": alice, "sendSchedulingMessages": true,
			"create": map[string]any{"m": map[string]any{
				"calendarIds": map[string]any{aliceCal: true}, "@type": "Event", "uid": uid, "title": "Kick-off",
				"start": "2026-03-02T14:00:00", "timeZone": "Europe/Paris", "duration": "PT1H",
				"replyTo": map[string]any{"imip": "mailto:alice@acme.test"},
				"participants": map[string]any{
					"a": map[string]any{"@type": "Participant", "roles": map[string]any{"owner": true, "attendee": true},
						"sendTo": map[string]any{"imip": "mailto:alice@acme.test"}, "participationStatus": "accepted"},
					"b": map[string]any{"@type": "Participant", "roles": map[string]any{"attendee": true},
						"sendTo": map[string]any{"imip": "mailto:bob@acme.test"}, "participationStatus": "needs-action", "expectReply": true},
				}}}})
	}
	sysCtx := store.SystemContext(context.Background())
	st, err := e.db.UserStore(sysCtx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	floor := func() string {
		t.Helper()
		props, err := e.db.StoreProps(sysCtx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		return props["jmap/cen/floor"]
	}
	before := e.gwMust("bob", "CalendarEventNotification/get", map[string]any{"accountId": bob, "ids": []string{}})["state"].(string)
	for n := 0; n < 1100; n += 100 {
		create := map[string]any{}
		for i := range 100 {
			create[fmt.Sprint("e", i)] = map[string]any{"calendarIds": map[string]any{bobCal: true}, "@type": "Event",
				"uid": fmt.Sprintf("own-%d-%d", n, i), "title": "Own", "start": "2026-04-01T09:00:00", "duration": "PT30M"}
		}
		e.gwMust("bob", "CalendarEvent/set", map[string]any{"accountId": bob, "create": create})
	}
	if l := get(); len(l) != 0 {
		t.Fatalf("bob is notified of his own events: %d", len(l))
	}
	f1 := floor()
	if f1 == "" {
		t.Fatal("the floor did not rise over 1,100 own events")
	}
	// Alice's invitation lands above the floor and is seen; the floor
	// stays below it.
	invite("floor-1")
	if l := get(); len(l) != 1 || l[0].(map[string]any)["type"] != "created" {
		t.Fatalf("after the invitation: %v", l)
	}
	invite("floor-2")
	if l := get(); len(l) != 2 {
		t.Fatalf("after a second invitation: %v", l)
	}
	ch := e.gwMust("bob", "CalendarEventNotification/changes", map[string]any{"accountId": bob, "sinceState": before})
	if len(ch["created"].([]any)) != 2 || len(ch["destroyed"].([]any)) != 0 {
		t.Fatalf("changes since before bob's own events: %v", ch)
	}
	if f := floor(); f != f1 {
		t.Fatalf("floor moved from %s to %s with live notifications above it", f1, f)
	}
}
