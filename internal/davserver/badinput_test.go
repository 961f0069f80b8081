package davserver_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

func TestXMLAttacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	xxe := `<?xml version="1.0"?>
<!DOCTYPE D:propfind [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>`
	laughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol3;</D:displayname></D:prop></D:propfind>`
	deep := `<D:propfind xmlns:D="DAV:">` + strings.Repeat("<D:x>", 10000) + strings.Repeat("</D:x>", 10000) + `</D:propfind>`
	wide := `<D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat("<D:x/>", 30000) + `</D:prop></D:propfind>`
	huge := `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>` + strings.Repeat("a", 2<<20) + `</D:displayname></D:prop></D:propfind>`
	for name, tc := range map[string]struct {
		method, body string
		code         int
	}{
		"xxe propfind":        {"PROPFIND", xxe, 400},
		"billion laughs":      {"PROPFIND", laughs, 400},
		"xxe report":          {"REPORT", strings.Replace(xxe, "D:propfind", "C:calendar-query", 2), 400},
		"xxe proppatch":       {"PROPPATCH", xxe, 400},
		"xxe mkcalendar":      {"MKCALENDAR", xxe, 400},
		"deep":                {"PROPFIND", deep, 400},
		"wide":                {"PROPFIND", wide, 400},
		"huge":                {"PROPFIND", huge, 413},
		"not xml":             {"PROPFIND", "<D:propfind xmlns:D='DAV:'><D:prop>", 400},
		"undeclared prefix":   {"PROPFIND", `<D:propfind xmlns:D="DAV:"><D:prop><foo:bar xmlns:foo=""/></D:prop></D:propfind>`, 400},
		"wrong root":          {"PROPFIND", `<D:nonsense xmlns:D="DAV:"/>`, 400},
		"report without body": {"REPORT", "", 400},
		"unknown report":      {"REPORT", `<D:nonsense xmlns:D="DAV:"/>`, 403},
	} {
		target := cal
		if tc.method == "MKCALENDAR" {
			target = "/dav/calendars/alice/new/"
		}
		r := e.do("alice", tc.method, target, tc.body, "Depth", "1")
		if r.code != tc.code {
			t.Errorf("%s: %d, want %d: %.300s", name, r.code, tc.code, r.body)
		}
		if strings.Contains(r.body, "root:") || strings.Contains(r.body, "lollol") {
			t.Errorf("%s: entity expanded", name)
		}
	}
	e.do("alice", "PROPFIND", cal, "", "Depth", "0").must(t, http.StatusMultiStatus)
}

func TestPathAttacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"a.ics", event("a", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	bobCal := e.calURL("bob")
	e.do("bob", "PUT", bobCal+"secret.ics", event("s", "20240110T100000Z", "20240110T110000Z", "SUMMARY:secret\r\n")).must(t, http.StatusCreated)
	for _, p := range []string{
		cal + "../../bob/" + strings.TrimPrefix(bobCal, "/dav/calendars/bob/") + "secret.ics",
		cal + "..%2F..%2Fbob%2Fsecret.ics",
		cal + "%2e%2e/%2e%2e/bob/",
		"/dav/calendars/alice/%00/",
	} {
		r := e.do("alice", "GET", p, "")
		if r.code != http.StatusBadRequest && r.code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.code)
		}
		if strings.Contains(r.body, "secret") {
			t.Errorf("GET %s leaked bob's event", p)
		}
	}
	// Another tenant's paths are 404, like paths that do not exist.
	eveCal := e.calURL("eve")
	for _, p := range []string{"/dav/calendars/eve/", eveCal, eveCal + "x.ics", "/dav/principals/eve/", "/dav/calendars/nobody/", "/dav/addressbooks/eve/"} {
		if r := e.do("alice", "PROPFIND", p, "", "Depth", "0"); r.code != http.StatusNotFound {
			t.Errorf("alice PROPFIND %s: %d", p, r.code)
		}
		if r := e.do("alice", "PUT", p+"y.ics", event("y", "20240110T100000Z", "20240110T110000Z", "")); r.code != http.StatusNotFound {
			t.Errorf("alice PUT %s: %d", p, r.code)
		}
	}
	nx := e.do("alice", "PROPFIND", "/dav/calendars/nobody/", "", "Depth", "0")
	ev := e.do("alice", "PROPFIND", "/dav/calendars/eve/", "", "Depth", "0")
	if nx.body != ev.body {
		t.Errorf("another tenant's home is distinguishable from a missing one:\n%s\n%s", nx.body, ev.body)
	}
	// Same tenant without an ACL: 404 too (the store hides folders the
	// principal cannot look up).
	for _, p := range []string{bobCal, bobCal + "secret.ics", "/dav/calendars/bob/"} {
		if r := e.do("alice", "GET", p, ""); r.code != http.StatusNotFound {
			t.Errorf("alice GET %s: %d", p, r.code)
		}
	}
	// Multiget hrefs to elsewhere are 404 members, never content.
	mg := `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><D:href>` + bobCal + `secret.ics</D:href><D:href>` + cal + `../../bob/x</D:href></C:calendar-multiget>`
	r := e.do("alice", "REPORT", cal, mg, "Depth", "1").must(t, http.StatusMultiStatus)
	if strings.Contains(r.body, "SUMMARY:secret") || strings.Count(r.body, "404") != 2 {
		t.Errorf("multiget across users:\n%s", r.body)
	}
}

func TestSharing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bobCal := e.folder("bob", store.SpecialCalendar)
	bobURL := e.calURL("bob")
	e.do("bob", "PUT", bobURL+"m.ics", event("m", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	// Read access for alice.
	if err := e.db.SetACL(e.as("bob"), bobCal.ID, store.UserSubject("alice"), "lr"); err != nil {
		t.Fatal(err)
	}
	e.do("alice", "GET", bobURL+"m.ics", "").must(t, http.StatusOK)
	r := e.do("alice", "PUT", bobURL+"n.ics", event("n", "20240110T100000Z", "20240110T110000Z", ""))
	if r.code != http.StatusForbidden {
		t.Errorf("PUT with read-only access: %d", r.code)
	}
	e.do("alice", "DELETE", bobURL+"m.ics", "").must(t, http.StatusForbidden)
	// The shared calendar shows in alice's home as ~id.
	r = e.do("alice", "PROPFIND", "/dav/calendars/alice/", `<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:current-user-privilege-set/></D:prop></D:propfind>`, "Depth", "1").must(t, http.StatusMultiStatus)
	shared := fmt.Sprintf("/dav/calendars/alice/~%d/", bobCal.ID)
	if !strings.Contains(r.body, "<D:href>"+shared+"</D:href>") {
		t.Fatalf("shared calendar not in home:\n%s", r.body)
	}
	e.do("alice", "GET", shared+"m.ics", "").must(t, http.StatusOK)
	// Carol has nothing: the same id is 404 for her.
	e.do("carol", "GET", shared+"m.ics", "").must(t, http.StatusNotFound)
	e.do("carol", "PROPFIND", fmt.Sprintf("/dav/calendars/carol/~%d/", bobCal.ID), "", "Depth", "0").must(t, http.StatusNotFound)
	// Write access.
	if err := e.db.SetACL(e.as("bob"), bobCal.ID, store.UserSubject("alice"), "lrswitex"); err != nil {
		t.Fatal(err)
	}
	e.do("alice", "PUT", shared+"n.ics", event("n", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	e.do("bob", "GET", bobURL+"n.ics", "").must(t, http.StatusOK)
}

func TestRRuleBombs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	for i, rule := range []string{
		"FREQ=SECONDLY",
		"FREQ=SECONDLY;COUNT=1000000000",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=MINUTELY;BYSECOND=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59",
		"FREQ=DAILY;UNTIL=99991231T000000Z",
	} {
		body := event(fmt.Sprint("bomb", i), "20240101T000000Z", "20240101T000001Z", "RRULE:"+rule+"\r\n")
		e.do("alice", "PUT", fmt.Sprintf("%sbomb%d.ics", cal, i), body).must(t, http.StatusCreated)
	}
	// Queries over them answer with a bounded result.
	q := calQuery("20240101T000000Z", "20250101T000000Z", "", `<D:getetag/><C:calendar-data><C:expand start="20240101T000000Z" end="20250101T000000Z"/></C:calendar-data>`)
	r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
	if n := strings.Count(r.body, "BEGIN:VEVENT"); n == 0 || n > 5*2000 {
		t.Errorf("expanded %d instances", n)
	}
	// Far in the future, the unbounded rules still match and the bounded
	// impossible one does not.
	r = e.do("alice", "REPORT", cal, calQuery("20990101T000000Z", "20990101T000100Z", "", ""), "Depth", "1").must(t, http.StatusMultiStatus)
	got := names(r.body, cal)
	for _, want := range []string{"bomb0.ics", "bomb3.ics"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("far query lacks %s: %v", want, got)
		}
	}
	if strings.Contains(strings.Join(got, " "), "bomb2.ics") {
		t.Errorf("Feb 30 matched: %v", got)
	}
	// Free/busy over them.
	fb := `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20240101T000000Z" end="20240102T000000Z"/></C:free-busy-query>`
	r = e.do("alice", "REPORT", cal, fb, "Depth", "1").must(t, http.StatusOK)
	if !strings.Contains(r.body, "FREEBUSY") {
		t.Errorf("free/busy:\n%.500s", r.body)
	}
}
