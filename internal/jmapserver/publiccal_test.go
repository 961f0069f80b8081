package jmapserver_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// TestPublicCalendar: a calendar of the tenant's public store is one more
// shared account's calendar. With a calendar folder readable by anyone of
// the tenant, bob's session has a "Public folders" account with the
// calendars capability (no mail, no owner principal, no calendar
// creation, read-only); Calendar/get and CalendarEvent/query and /get
// read it, CalendarEvent/set is refused by the rights; alice, who may
// write there, writes. Another tenant's user sees no such account and is
// refused it by id.
func TestPublicCalendar(t *testing.T) { eachBackend(t, testPublicCalendar) }

func testPublicCalendar(t *testing.T, e *gwEnv) {
	pub, err := e.db.CreatePublicStore(sys, "acme")
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.db.CreateFolder(sys, pub.ID, 0, "Events", store.FolderCalendar)
	if err != nil {
		t.Fatal(err)
	}
	for subject, rights := range map[string]string{"anyone": "lr", "user:alice": "lrswite"} {
		if err := e.db.SetACL(sys, f.ID, subject, rights); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := e.davDo("alice", "PUT", "/dav/calendars/alice/~"+strconv.FormatInt(f.ID, 10)+"/weekly.ics", crlfs(weeklyICS), "Content-Type", "text/calendar"); code != 201 {
		t.Fatalf("alice's PUT into the public calendar: %d %s", code, body)
	}
	acct, cal := fmt.Sprintf("A%d", pub.ID), fmt.Sprintf("C%d", f.ID)

	a, _ := e.session("bob")["accounts"].(map[string]any)[acct].(map[string]any)
	if a == nil {
		t.Fatalf("bob's session lacks the public account %s: %v", acct, e.session("bob")["accounts"])
	}
	caps := a["accountCapabilities"].(map[string]any)
	cc, _ := caps["urn:ietf:params:jmap:calendars"].(map[string]any)
	if a["name"] != "Public folders" || a["isReadOnly"] != true || a["isPersonal"] != false || cc == nil || cc["mayCreateCalendar"] != false ||
		caps["urn:ietf:params:jmap:mail"] != nil || caps["urn:ietf:params:jmap:principals:owner"] != nil {
		t.Fatalf("the public account for bob: %v", a)
	}
	cg := e.shMust("bob", "Calendar/get", map[string]any{"accountId": acct})
	o := firstOf(t, cg)
	rights := o["myRights"].(map[string]any)
	if o["id"] != cal || o["name"] != "Events" || rights["mayReadItems"] != true || rights["mayWriteAll"] != false || rights["mayWriteOwn"] != false {
		t.Fatalf("bob's Calendar/get of the public calendar: %v", cg)
	}
	q := e.shMust("bob", "CalendarEvent/query", map[string]any{"accountId": acct})
	if len(ids(q["ids"])) != 1 {
		t.Fatalf("bob's CalendarEvent/query: %v", q)
	}
	ev := e.shMust("bob", "CalendarEvent/get", map[string]any{"accountId": acct, "ids": ids(q["ids"]), "properties": []string{"title", "calendarIds"}})
	if got := firstOf(t, ev); got["title"] != "Team sync" || got["calendarIds"].(map[string]any)[cal] != true {
		t.Fatalf("bob's CalendarEvent/get: %v", ev)
	}
	create := map[string]any{"accountId": acct, "create": map[string]any{"n": map[string]any{"calendarIds": map[string]any{cal: true},
		"title": "Not allowed", "start": "2026-12-10T10:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H"}}}
	cs := e.shMust("bob", "CalendarEvent/set", create)
	if nc, _ := cs["notCreated"].(map[string]any)["n"].(map[string]any); nc["type"] != "forbidden" {
		t.Fatalf("bob creating an event in the read-only public calendar: %v", cs)
	}
	es := e.shMust("bob", "CalendarEvent/set", map[string]any{"accountId": acct, "destroy": ids(q["ids"])})
	if nd, _ := es["notDestroyed"].(map[string]any)[ids(q["ids"])[0]].(map[string]any); nd["type"] != "forbidden" {
		t.Fatalf("bob destroying the public event: %v", es)
	}
	// alice may write: her account is not read-only and she creates.
	if aa := e.session("alice")["accounts"].(map[string]any)[acct].(map[string]any); aa["isReadOnly"] != false {
		t.Fatalf("the public account for alice: %v", aa)
	}
	create["create"].(map[string]any)["n"].(map[string]any)["title"] = "Town hall"
	cs = e.shMust("alice", "CalendarEvent/set", create)
	if _, ok := cs["created"].(map[string]any)["n"]; !ok {
		t.Fatalf("alice creating an event in the public calendar: %v", cs)
	}
	if q := e.shMust("bob", "CalendarEvent/query", map[string]any{"accountId": acct}); len(ids(q["ids"])) != 2 {
		t.Fatalf("bob's CalendarEvent/query after alice's event: %v", q)
	}

	// Another tenant's user.
	if _, ok := e.session("eve")["accounts"].(map[string]any)[acct]; ok {
		t.Fatal("eve's session lists acme's public account")
	}
	e.shErr("eve", "Calendar/get", map[string]any{"accountId": acct}, "accountNotFound")
}
