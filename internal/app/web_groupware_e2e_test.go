package app

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWebClientGroupware drives the calendar and contacts of the web
// client in Chromium (web/e2e/groupware.mjs): an organizer in Berlin
// creates a daily event inviting a user, drags one occurrence to another
// time and resizes it ("this occurrence"), adds an all-day event; the
// invitee, in New York in their own browser session, sees it in their
// zone and accepts with a comment; the organizer sees the acceptance
// and the comment. A contact is
// created, edited, one imported from a vCard and deleted; axe-core scans
// the views. Then the results are checked over JMAP with Basic
// credentials, not through the web client: the override in the
// organizer's event, the invitee's answer in the organizer's copy, and
// the contact.
func TestWebClientGroupware(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\n", httpsAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"ann","email":"ann@example.org","name":"Ann Organizer","password":"pw-ann-cal-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"ben","email":"ben@example.org","name":"Ben Guest","password":"pw-ben-cal-1"}`, 201)
	base := "https://" + httpsAddr

	runWebE2E(t, node, chromium, webDir, "groupware.mjs", "web-groupware",
		"BASE="+base, "USER=ann", "PASS=pw-ann-cal-1", "GUEST=ben", "GUEST_PASS=pw-ben-cal-1", "GUEST_ADDR=ben@example.org")

	// Over JMAP, as a JMAP client would see it.
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
		body := `{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:calendars","urn:ietf:params:jmap:contacts"],"methodCalls":` +
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
			var id string
			var args map[string]any
			json.Unmarshal(mr[2], &id)
			json.Unmarshal(mr[1], &args)
			outs[id] = args
		}
		return outs
	}
	events := jmap("ann", "pw-ann-cal-1", `[["CalendarEvent/query",{"accountId":"ACCT","filter":{"title":"Standup"}},"q"],
		["CalendarEvent/get",{"accountId":"ACCT","#ids":{"resultOf":"q","name":"CalendarEvent/query","path":"/ids"}},"g"]]`)
	list, _ := events["g"]["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("ann's Standup events: %v", events)
	}
	ev := list[0].(map[string]any)
	if rr, _ := ev["recurrenceRules"].([]any); len(rr) != 1 || rr[0].(map[string]any)["frequency"] != "daily" {
		t.Errorf("recurrence: %v", ev["recurrenceRules"])
	}
	ov, _ := ev["recurrenceOverrides"].(map[string]any)
	if len(ov) != 1 {
		t.Fatalf("overrides: %v", ev["recurrenceOverrides"])
	}
	for rid, o := range ov {
		o := o.(map[string]any)
		start, _ := o["start"].(string)
		if !strings.HasSuffix(rid, "T10:00:00") || !strings.HasSuffix(start, "T14:00:00") || o["duration"] != "PT1H" {
			t.Errorf("the moved occurrence: %s → %v", rid, o)
		}
	}
	var accepted bool
	for _, p := range ev["participants"].(map[string]any) {
		p := p.(map[string]any)
		if p["email"] == "ben@example.org" {
			accepted = p["participationStatus"] == "accepted" && p["participationComment"] == "Glad to join, a bit late on Fridays"
		}
	}
	if !accepted {
		t.Errorf("ben's answer (accepted, with his comment) is not in ann's copy: %v", ev["participants"])
	}

	cards := jmap("ann", "pw-ann-cal-1", `[["ContactCard/query",{"accountId":"ACCT","filter":{"email":"zoe@example.net"}},"q"],
		["ContactCard/get",{"accountId":"ACCT","#ids":{"resultOf":"q","name":"ContactCard/query","path":"/ids"}},"g"]]`)
	cl, _ := cards["g"]["list"].([]any)
	if len(cl) != 1 {
		t.Fatalf("ann's contact: %v", cards)
	}
	card, _ := json.Marshal(cl[0])
	for _, want := range []string{`"full":"Zoe Example"`, `"+49 30 123456"`, `"Example AG"`, `Met at the conference.`} {
		if !strings.Contains(string(card), want) {
			t.Errorf("the contact lacks %s: %s", want, card)
		}
	}
	if gone := jmap("ann", "pw-ann-cal-1", `[["ContactCard/query",{"accountId":"ACCT","filter":{"email":"yann@example.net"}},"q"]]`); len(gone["q"]["ids"].([]any)) != 0 {
		t.Errorf("the deleted contact is still there: %v", gone)
	}
}
