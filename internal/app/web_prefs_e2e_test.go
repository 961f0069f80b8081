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

// calJMAP makes one JMAP request with the calendars capability as user
// (Basic auth), ACCT in calls standing for their calendars account, and
// returns the method answers by call id.
func calJMAP(t *testing.T, base, user, pw, calls string) map[string]map[string]any {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
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
	body := `{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:calendars"],"methodCalls":` +
		strings.ReplaceAll(calls, "ACCT", sess.PrimaryAccounts["urn:ietf:params:jmap:calendars"]) + `}`
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

// TestWebPrefsE2E: the user's time zone and date format are the
// server's (web/e2e/prefs.mjs). In a browser whose zone is New York the
// user picks Europe/Berlin, day.month.year and 24 hours in Settings; in
// another browser context (nothing shared but the server) a message sent
// at 09:15 UTC shows as 07.12.2026 10:15 in the list and the reader, an
// event at 14:00 UTC tomorrow shows at 15:00, and a new event made at
// 09:00 is created in Europe/Berlin (checked here over JMAP). axe-core
// scans the section, light and dark.
func TestWebPrefsE2E(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr := freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\n", httpsAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"pia","email":"pia@example.org","name":"Pia Zone","password":"pw-pia-zone-1"}`, 201)
	const subject = "Zoned minutes"
	adminCall(t, c, "POST", "/v1/deliver?rcpt=pia@example.org",
		"From: Sender <s@example.net>\r\nTo: pia@example.org\r\nSubject: "+subject+"\r\nDate: Mon, 7 Dec 2026 09:15:00 +0000\r\nMessage-ID: <zoned@example.net>\r\n\r\nAt 09:15 UTC.\r\n", 201)
	base := "https://" + httpsAddr

	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(berlin).AddDate(0, 0, 1).Format(time.DateOnly)
	r := calJMAP(t, base, "pia", "pw-pia-zone-1", `[["Calendar/get",{"accountId":"ACCT"},"c"]]`)
	var calID string
	for _, c := range r["c"]["list"].([]any) {
		if c := c.(map[string]any); c["isDefault"] == true && c["name"] == "Calendar" {
			calID = c["id"].(string)
		}
	}
	r = calJMAP(t, base, "pia", "pw-pia-zone-1", fmt.Sprintf(`[["CalendarEvent/set",{"accountId":"ACCT","create":{"e":{"@type":"Event","calendarIds":{%q:true},
		"title":"UTC review","start":"%sT14:00:00","timeZone":"Etc/UTC","duration":"PT1H"}}},"s"]]`, calID, day))
	if cr, _ := r["s"]["created"].(map[string]any); len(cr) != 1 {
		t.Fatalf("creating the event: %v", r["s"])
	}

	runWebE2E(t, node, chromium, webDir, "prefs.mjs", "web-prefs",
		"BASE="+base, "USER=pia", "PASS=pw-pia-zone-1", "SUBJECT="+subject, "DAY="+day)

	r = calJMAP(t, base, "pia", "pw-pia-zone-1", `[["CalendarEvent/query",{"accountId":"ACCT","filter":{"title":"Berlin standup"}},"q"],
		["CalendarEvent/get",{"accountId":"ACCT","#ids":{"resultOf":"q","name":"CalendarEvent/query","path":"/ids"}},"g"]]`)
	list, _ := r["g"]["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("the event made in the browser: %v", r["g"])
	}
	ev := list[0].(map[string]any)
	if ev["timeZone"] != "Europe/Berlin" || ev["start"] != day+"T09:00:00" {
		t.Errorf("the new event: timeZone %v start %v, want Europe/Berlin %sT09:00:00 (the chosen zone, not the browser's New York)", ev["timeZone"], ev["start"], day)
	}
}
