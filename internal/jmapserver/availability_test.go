package jmapserver_test

import (
	"fmt"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestAvailabilityOfOthers: alice asks Principal/getAvailability for
// bob, who has an event from CalDAV and one from JMAP. Without a right
// on his calendar it is forbidden; with the lookup right (CalDAV's
// read-free-busy) she sees his busy periods, filtered by utcStart and
// utcEnd, without details even when she asks for them; with the read
// right showDetails shows the events. A principal of another tenant is
// notFound, both ways.
func TestAvailabilityOfOthers(t *testing.T) { eachBackend(t, testAvailabilityOfOthers) }

func testAvailabilityOfOthers(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	bobP, eveP := e.principalID("bob"), e.principalID("eve")
	if code, body := e.davDo("bob", "PUT", e.calPath("bob")+"w.ics", crlfs(weeklyICS)); code != 201 {
		t.Fatalf("PUT %d %s", code, body)
	}
	calF := e.folder("bob", store.SpecialCalendar)
	set := e.shMust("bob", "CalendarEvent/set", map[string]any{"accountId": bob, "create": map[string]any{"l": map[string]any{
		"calendarIds": map[string]any{fmt.Sprintf("C%d", calF.ID): true}, "title": "Lunch",
		"start": "2026-01-07T12:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H"}}})
	if set["created"].(map[string]any)["l"] == nil {
		t.Fatalf("CalendarEvent/set: %v", set)
	}
	mayGet := func() any {
		t.Helper()
		g := e.shMust("alice", "Principal/get", map[string]any{"accountId": alice, "ids": []string{bobP}})
		p := firstOf(t, g)
		return p["capabilities"].(map[string]any)["urn:ietf:params:jmap:calendars"].(map[string]any)["mayGetAvailability"]
	}
	avail := func(start, end string, details bool, props any) []any {
		t.Helper()
		args := map[string]any{"accountId": alice, "id": bobP, "utcStart": start, "utcEnd": end, "showDetails": details}
		if props != nil {
			args["eventProperties"] = props
		}
		return e.shMust("alice", "Principal/getAvailability", args)["list"].([]any)
	}
	args := map[string]any{"accountId": alice, "id": bobP, "utcStart": "2026-01-05T00:00:00Z", "utcEnd": "2026-01-13T00:00:00Z"}
	// No right on bob's calendars yet.
	e.shErr("alice", "Principal/getAvailability", args, "forbidden")
	if m := mayGet(); m != false {
		t.Fatalf("mayGetAvailability before the share: %v", m)
	}
	// The lookup right: busy time, never details.
	if err := e.db.SetACL(e.as("bob"), calF.ID, "user:alice", "l"); err != nil {
		t.Fatal(err)
	}
	if m := mayGet(); m != true {
		t.Fatalf("mayGetAvailability with the lookup right: %v", m)
	}
	want := "[map[busyStatus:confirmed event:<nil> utcEnd:2026-01-05T10:00:00Z utcStart:2026-01-05T09:00:00Z] " +
		"map[busyStatus:confirmed event:<nil> utcEnd:2026-01-07T12:00:00Z utcStart:2026-01-07T11:00:00Z] " +
		"map[busyStatus:confirmed event:<nil> utcEnd:2026-01-12T15:00:00Z utcStart:2026-01-12T14:00:00Z]]"
	if got := fmt.Sprint(avail("2026-01-05T00:00:00Z", "2026-01-13T00:00:00Z", true, nil)); got != want {
		t.Fatalf("bob's availability with the lookup right:\n got %s\nwant %s", got, want)
	}
	// utcStart/utcEnd select the periods that overlap the window.
	if got := fmt.Sprint(avail("2026-01-07T11:30:00Z", "2026-01-12T14:30:00Z", false, nil)); got !=
		"[map[busyStatus:confirmed event:<nil> utcEnd:2026-01-07T12:00:00Z utcStart:2026-01-07T11:30:00Z] "+
			"map[busyStatus:confirmed event:<nil> utcEnd:2026-01-12T14:30:00Z utcStart:2026-01-12T14:00:00Z]]" {
		t.Fatalf("windowed availability: %s", got)
	}
	if got := avail("2026-01-08T00:00:00Z", "2026-01-12T00:00:00Z", false, nil); len(got) != 0 {
		t.Fatalf("a free window: %v", got)
	}
	// The read right: showDetails shows the events, limited to
	// eventProperties; without showDetails there are none.
	if err := e.db.SetACL(e.as("bob"), calF.ID, "user:alice", "lr"); err != nil {
		t.Fatal(err)
	}
	got := avail("2026-01-05T00:00:00Z", "2026-01-13T00:00:00Z", true, []string{"title"})
	if len(got) != 3 {
		t.Fatalf("with details: %v", got)
	}
	titles := ""
	for _, x := range got {
		ev, _ := x.(map[string]any)["event"].(map[string]any)
		if ev == nil || ev["start"] != nil {
			t.Fatalf("detail %v", x)
		}
		titles += fmt.Sprint(ev["title"]) + ";"
	}
	if titles != "Team sync;Lunch;Team sync;" {
		t.Fatalf("titles %q", titles)
	}
	if fmt.Sprint(avail("2026-01-05T00:00:00Z", "2026-01-13T00:00:00Z", false, nil)) != want {
		t.Fatal("details without showDetails")
	}
	// Another tenant's principal is not found, whichever way.
	args["id"] = eveP
	e.shErr("alice", "Principal/getAvailability", args, "notFound")
	e.shErr("eve", "Principal/getAvailability", map[string]any{"accountId": e.acct("eve"), "id": bobP,
		"utcStart": "2026-01-05T00:00:00Z", "utcEnd": "2026-01-13T00:00:00Z"}, "notFound")
	// Revoked: forbidden again.
	if err := e.db.SetACL(e.as("bob"), calF.ID, "user:alice", ""); err != nil {
		t.Fatal(err)
	}
	args["id"] = bobP
	e.shErr("alice", "Principal/getAvailability", args, "forbidden")
}

// TestAvailabilityManyPeriods: busy periods are merged as they are read,
// so many calendars of overlapping recurring events (more periods than
// the bound before merging) answer their merged periods, and more
// distinct periods than the bound are tooLarge.
func TestAvailabilityManyPeriods(t *testing.T) {
	e := newGWEnv(t, testenv.SQLite)
	alice := e.acct("alice")
	calF := e.folder("alice", store.SpecialCalendar)
	create := func(n int, offsetMin int) {
		t.Helper()
		evs := map[string]any{}
		for i := range n {
			evs[fmt.Sprintf("e%d", i)] = map[string]any{
				"calendarIds": map[string]any{fmt.Sprintf("C%d", calF.ID): true}, "title": "Hourly",
				"start": fmt.Sprintf("2026-01-01T00:%02d:00", i*offsetMin), "timeZone": "Etc/UTC", "duration": "PT1M",
				"recurrenceRules": []any{map[string]any{"frequency": "hourly"}}}
		}
		set := e.shMust("alice", "CalendarEvent/set", map[string]any{"accountId": alice, "create": evs})
		if len(set["created"].(map[string]any)) != n {
			t.Fatalf("CalendarEvent/set: %v", set)
		}
	}
	args := map[string]any{"accountId": alice, "id": alice, "utcStart": "2026-01-01T00:00:00Z", "utcEnd": "2026-03-02T00:00:00Z"}
	// 15 identical events of 1440 instances: 21600 periods, 1440 merged.
	create(15, 0)
	if got := e.shMust("alice", "Principal/getAvailability", args)["list"].([]any); len(got) != 1440 {
		t.Fatalf("%d merged busy periods, want 1440", len(got))
	}
	// 8 more at minutes 0, 5, ..., 35: 8*1440 = 11520 distinct periods.
	create(8, 5)
	e.shErr("alice", "Principal/getAvailability", args, "tooLarge")
}

// TestAvailabilityOfRooms: a room (an inactive user that books itself)
// shows its busy time to every user of its tenant with no share, as
// CalDAV's schedule outbox does: alice books it, bob sees the booking
// as busy time, never its details, and Principal/get says he may ask.
// Another tenant's user does not find the room.
func TestAvailabilityOfRooms(t *testing.T) { eachBackend(t, testAvailabilityOfRooms) }

func testAvailabilityOfRooms(t *testing.T, e *gwEnv) {
	room, err := e.db.CreateUser(sys, "acme", store.User{Login: "room1", Email: "room1@acme.test", FullName: "Room 1",
		Resource: store.ResourceSettings{AutoAccept: true, DeclineConflict: true}})
	if err != nil {
		t.Fatal(err)
	}
	roomP := fmt.Sprintf("U%d", room.ID)
	aliceCal := fmt.Sprintf("C%d", e.folder("alice", store.SpecialCalendar).ID)
	set := e.shMust("alice", "CalendarEvent/set", map[string]any{"accountId": e.acct("alice"), "sendSchedulingMessages": true,
		"create": map[string]any{"m": map[string]any{
			"calendarIds": map[string]any{aliceCal: true}, "@type": "Event", "title": "Board meeting",
			"start": "2026-03-02T10:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
			"replyTo": map[string]any{"imip": "mailto:alice@acme.test"},
			"participants": map[string]any{
				"a": map[string]any{"@type": "Participant", "roles": map[string]any{"owner": true, "attendee": true},
					"sendTo": map[string]any{"imip": "mailto:alice@acme.test"}, "participationStatus": "accepted"},
				"r": map[string]any{"@type": "Participant", "kind": "room", "roles": map[string]any{"attendee": true},
					"sendTo": map[string]any{"imip": "mailto:room1@acme.test"}, "participationStatus": "needs-action", "expectReply": true},
			}}}})
	if set["created"].(map[string]any)["m"] == nil {
		t.Fatalf("create: %v", set)
	}
	bob := e.acct("bob")
	g := e.shMust("bob", "Principal/get", map[string]any{"accountId": bob, "ids": []string{roomP}})
	p := firstOf(t, g)
	if p["type"] != "location" || p["capabilities"].(map[string]any)["urn:ietf:params:jmap:calendars"].(map[string]any)["mayGetAvailability"] != true {
		t.Fatalf("the room as a principal: %v", p)
	}
	got := e.shMust("bob", "Principal/getAvailability", map[string]any{"accountId": bob, "id": roomP,
		"utcStart": "2026-03-02T00:00:00Z", "utcEnd": "2026-03-03T00:00:00Z", "showDetails": true})["list"]
	if fmt.Sprint(got) != "[map[busyStatus:confirmed event:<nil> utcEnd:2026-03-02T10:00:00Z utcStart:2026-03-02T09:00:00Z]]" {
		t.Fatalf("the room's availability for bob: %v", got)
	}
	e.shErr("eve", "Principal/getAvailability", map[string]any{"accountId": e.acct("eve"), "id": roomP,
		"utcStart": "2026-03-02T00:00:00Z", "utcEnd": "2026-03-03T00:00:00Z"}, "notFound")
}
