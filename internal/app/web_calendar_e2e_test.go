package app

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWebClientCalendarRooms drives the calendar's scheduling in
// Chromium (web/e2e/calendar2.mjs): alice books room1 for 10:00-11:00
// and the room accepts; bob, in his own browser session, sees the room
// busy then in the free/busy grid, books it for 10:30 and sees it
// declined; alice's calendar, shared with bob, shows beside his own in
// another colour and hides when unticked; alice creates a calendar and
// changes its colour; a series by weekday is split by "this and
// following"; axe-core scans the new dialogs. Then the room's calendar,
// exported by the admin API, holds alice's booking and not bob's, and
// its busy time over JMAP is alice's hour only; bob's copy has the
// room's decline, the split series and alice's new calendar's colour are
// checked over JMAP.
func TestWebClientCalendarRooms(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\n", httpsAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","name":"Alice Organizer","password":"pw-alice-cal-2"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","name":"Bob Booker","password":"pw-bob-cal-2"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"room1","email":"room1@example.org","name":"Room 1","active":false}`, 201)
	adminCall(t, c, "PATCH", "/v1/users/room1", `{"mr_accept":true,"mr_decline_conflict":true}`, 200)
	base := "https://" + httpsAddr

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	jmap := func(user, pw string, calls string) map[string]map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/jmap/session", nil)
		req.SetBasicAuth(user, pw)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var sess struct {
			PrimaryAccounts map[string]string `json:"primaryAccounts"`
		}
		json.NewDecoder(res.Body).Decode(&sess)
		res.Body.Close()
		acct := sess.PrimaryAccounts["urn:ietf:params:jmap:calendars"]
		body := `{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:calendars","urn:ietf:params:jmap:principals"],"methodCalls":` +
			strings.ReplaceAll(calls, "ACCT", acct) + `}`
		req, _ = http.NewRequest("POST", base+"/jmap/api/", strings.NewReader(body))
		req.SetBasicAuth(user, pw)
		req.Header.Set("Content-Type", "application/json")
		res, err = hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var r struct {
			MethodResponses [][]json.RawMessage `json:"methodResponses"`
		}
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil || res.StatusCode != 200 {
			t.Fatalf("JMAP %d: %v", res.StatusCode, err)
		}
		outs := map[string]map[string]any{}
		for _, mr := range r.MethodResponses {
			var name, id string
			var args map[string]any
			json.Unmarshal(mr[0], &name)
			json.Unmarshal(mr[2], &id)
			json.Unmarshal(mr[1], &args)
			if name == "error" {
				t.Fatalf("JMAP %s: %v", id, args)
			}
			outs[id] = args
		}
		return outs
	}
	// alice shares her default calendar with bob (read), over JMAP.
	r := jmap("alice", "pw-alice-cal-2", `[["Calendar/get",{"accountId":"ACCT"},"c"],
		["Principal/query",{"accountId":"ACCT","filter":{"email":"bob@example.org"}},"p"]]`)
	var calID string
	for _, c := range r["c"]["list"].([]any) {
		// The default calendar (the tasks folder is a default one too).
		if c := c.(map[string]any); c["isDefault"] == true && c["name"] == "Calendar" {
			calID = c["id"].(string)
		}
	}
	bobP := r["p"]["ids"].([]any)[0].(string)
	r = jmap("alice", "pw-alice-cal-2", fmt.Sprintf(`[["Calendar/set",{"accountId":"ACCT","update":{%q:{"shareWith":{%q:{"mayReadItems":true,"mayReadFreeBusy":true}}}}},"s"]]`, calID, bobP))
	if up, _ := r["s"]["updated"].(map[string]any); up == nil || len(up) != 1 {
		t.Fatalf("sharing alice's calendar: %v", r["s"])
	}

	runWebE2E(t, node, chromium, webDir, "calendar2.mjs", "web-calendar2",
		"BASE="+base, "USER=alice", "PASS=pw-alice-cal-2", "OTHER=bob", "OTHER_PASS=pw-bob-cal-2", "ROOM_ADDR=room1@example.org")

	// The room's calendar: alice's booking, not bob's.
	req, _ := http.NewRequest("GET", "http://roost/v1/users/room1/calendars/Calendar/export", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(ics), "SUMMARY:Planning") || strings.Contains(string(ics), "Retro") {
		t.Errorf("room1's calendar (%d) should hold Planning only:\n%s", res.StatusCode, ics)
	}
	// And over JMAP: the room's busy time, which every user of the
	// tenant may ask for, is alice's hour only (10:00-11:00 in Berlin).
	r = jmap("bob", "pw-bob-cal-2", `[["Principal/query",{"accountId":"ACCT","filter":{"email":"room1@example.org"}},"p"]]`)
	roomP := r["p"]["ids"].([]any)[0].(string)
	now := time.Now().UTC()
	r = jmap("bob", "pw-bob-cal-2", fmt.Sprintf(`[["Principal/getAvailability",{"accountId":"ACCT","id":%q,"utcStart":%q,"utcEnd":%q},"a"]]`,
		roomP, now.Add(-24*time.Hour).Format("2006-01-02T15:04:05Z"), now.Add(72*time.Hour).Format("2006-01-02T15:04:05Z")))
	busy, _ := r["a"]["list"].([]any)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if len(busy) != 1 {
		t.Fatalf("the room's busy time: %v", busy)
	}
	from, _ := time.Parse(time.RFC3339, busy[0].(map[string]any)["utcStart"].(string))
	to, _ := time.Parse(time.RFC3339, busy[0].(map[string]any)["utcEnd"].(string))
	if from.In(berlin).Format("15:04") != "10:00" || to.Sub(from) != time.Hour {
		t.Errorf("the room is busy %v to %v, want alice's 10:00-11:00 in Berlin", from.In(berlin), to.In(berlin))
	}
	// bob's event says the room declined, in his copy over JMAP.
	r = jmap("bob", "pw-bob-cal-2", `[["CalendarEvent/query",{"accountId":"ACCT","filter":{"title":"Retro"}},"q"],
		["CalendarEvent/get",{"accountId":"ACCT","#ids":{"resultOf":"q","name":"CalendarEvent/query","path":"/ids"}},"g"]]`)
	list, _ := r["g"]["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("bob's Retro: %v", r["g"])
	}
	declined := false
	for _, p := range list[0].(map[string]any)["participants"].(map[string]any) {
		p := p.(map[string]any)
		if p["email"] == "room1@example.org" || strings.Contains(fmt.Sprint(p["sendTo"]), "room1@example.org") {
			declined = p["participationStatus"] == "declined"
		}
	}
	if !declined {
		t.Errorf("room1's answer in bob's event: %v", list[0].(map[string]any)["participants"])
	}
	// The split series: "Sync" ends before "Sync v2" starts, both every
	// other week on Mondays and Wednesdays; "Sync v2" ends after its
	// first occurrence (its later part deleted).
	r = jmap("alice", "pw-alice-cal-2", `[["CalendarEvent/query",{"accountId":"ACCT","filter":{"title":"Sync"}},"q"],
		["CalendarEvent/get",{"accountId":"ACCT","#ids":{"resultOf":"q","name":"CalendarEvent/query","path":"/ids"}},"g"]]`)
	byTitle := map[string]map[string]any{}
	for _, e := range r["g"]["list"].([]any) {
		e := e.(map[string]any)
		byTitle[e["title"].(string)] = e
	}
	rule := func(e map[string]any) map[string]any {
		rr, _ := e["recurrenceRules"].([]any)
		if len(rr) != 1 {
			t.Fatalf("rules of %v: %v", e["title"], e["recurrenceRules"])
		}
		return rr[0].(map[string]any)
	}
	old, nu := byTitle["Sync"], byTitle["Sync v2"]
	if len(byTitle) != 2 || old == nil || nu == nil {
		t.Fatalf("the split series: %v", r["g"]["list"])
	}
	ro, rn := rule(old), rule(nu)
	nuStart, _ := nu["start"].(string)
	oldUntil, _ := ro["until"].(string)
	if oldUntil == "" || oldUntil >= nuStart || !strings.HasSuffix(nuStart, "T09:00:00") || old["uid"] == nu["uid"] {
		t.Errorf("Sync until %q, Sync v2 from %q (uids %v, %v)", oldUntil, nuStart, old["uid"], nu["uid"])
	}
	for _, x := range []map[string]any{ro, rn} {
		if x["frequency"] != "weekly" || fmt.Sprint(x["interval"]) != "2" || fmt.Sprint(x["byDay"]) != "[map[@type:NDay day:mo] map[@type:NDay day:we]]" {
			t.Errorf("rule %v", x)
		}
	}
	// Deleted from its second occurrence, two days after the first on.
	first, _ := time.Parse("2006-01-02T15:04:05", nuStart)
	if u, _ := rn["until"].(string); u != first.AddDate(0, 0, 2).Add(-time.Minute).Format("2006-01-02T15:04:05") {
		t.Errorf("Sync v2 should end before its second occurrence (%s): until %q", nuStart, rn["until"])
	}
	// alice's new calendar has the colour she chose last.
	r = jmap("alice", "pw-alice-cal-2", `[["Calendar/get",{"accountId":"ACCT"},"c"]]`)
	colour := ""
	for _, c := range r["c"]["list"].([]any) {
		if c.(map[string]any)["name"] == "Projects" {
			colour, _ = c.(map[string]any)["color"].(string)
		}
	}
	if !strings.EqualFold(colour, "#8e44ad") {
		t.Errorf("the Projects calendar's colour: %q", colour)
	}
}
