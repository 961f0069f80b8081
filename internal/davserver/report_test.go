package davserver_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func calQuery(start, end, extraFilter, prop string) string {
	tr := ""
	if start != "" || end != "" {
		tr = `<C:time-range`
		if start != "" {
			tr += ` start="` + start + `"`
		}
		if end != "" {
			tr += ` end="` + end + `"`
		}
		tr += `/>`
	}
	if prop == "" {
		prop = "<D:getetag/>"
	}
	return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop>` + prop + `</D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">` + tr + extraFilter + `</C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`
}

func names(body, base string) []string {
	var out []string
	for _, h := range hrefs(body) {
		if n, ok := strings.CutPrefix(h, base); ok && n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func TestCalendarQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	put := func(name, body string) {
		t.Helper()
		e.do("alice", "PUT", cal+name, body).must(t, http.StatusCreated)
	}
	put("jan.ics", event("jan", "20240110T100000Z", "20240110T110000Z", ""))
	put("feb.ics", event("feb", "20240210T100000Z", "20240210T110000Z", "LOCATION:Room 7\r\n"))
	// Weekly on Mondays from 1 Jan 2024, forever, in New York time.
	put("weekly.ics", crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly
DTSTAMP:20240101T000000Z
DTSTART;TZID=America/New_York:20240101T090000
DTEND;TZID=America/New_York:20240101T100000
RRULE:FREQ=WEEKLY;BYDAY=MO
EXDATE;TZID=America/New_York:20240108T090000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:weekly
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=America/New_York:20240115T090000
DTSTART;TZID=America/New_York:20240116T090000
DTEND;TZID=America/New_York:20240116T100000
SUMMARY:Standup moved
END:VEVENT
END:VCALENDAR
`))
	// Daily, five times, all-day (floating dates).
	put("daily.ics", crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:daily
DTSTAMP:20240101T000000Z
DTSTART;VALUE=DATE:20240301
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Conference
END:VEVENT
END:VCALENDAR
`))
	for _, tc := range []struct {
		start, end, filter string
		want               []string
	}{
		{"20240101T000000Z", "20240201T000000Z", "", []string{"jan.ics", "weekly.ics"}},
		{"20240201T000000Z", "20240301T000000Z", "", []string{"feb.ics", "weekly.ics"}},
		{"20240305T000000Z", "20240306T000000Z", "", []string{"daily.ics"}},
		{"20240306T000000Z", "20240307T000000Z", "", nil},
		// The excluded Monday 8 Jan (14:00Z) matches nothing...
		{"20240108T130000Z", "20240108T160000Z", "", nil},
		// ...the moved instance is on Tuesday 16 Jan, 14:00Z...
		{"20240116T133000Z", "20240116T143000Z", "", []string{"weekly.ics"}},
		{"20240115T133000Z", "20240115T143000Z", "", nil},
		// ...and the 9:00 New York time is 14:00Z in winter, 13:00Z in summer.
		{"20240722T125900Z", "20240722T130100Z", "", []string{"weekly.ics"}},
		{"20300107T140000Z", "20300107T140100Z", "", []string{"weekly.ics"}},
		{"", "", "", []string{"daily.ics", "feb.ics", "jan.ics", "weekly.ics"}},
		{"", "", `<C:prop-filter name="LOCATION"><C:text-match>room</C:text-match></C:prop-filter>`, []string{"feb.ics"}},
		{"", "", `<C:prop-filter name="LOCATION"><C:text-match negate-condition="yes">room</C:text-match></C:prop-filter>`, nil},
		{"", "", `<C:prop-filter name="LOCATION"><C:is-not-defined/></C:prop-filter>`, []string{"daily.ics", "jan.ics", "weekly.ics"}},
		{"", "", `<C:prop-filter name="SUMMARY"><C:text-match collation="i;octet">moved</C:text-match></C:prop-filter>`, []string{"weekly.ics"}},
	} {
		r := e.do("alice", "REPORT", cal, calQuery(tc.start, tc.end, tc.filter, ""), "Depth", "1").must(t, http.StatusMultiStatus)
		if got := names(r.body, cal); !slices.Equal(got, tc.want) {
			t.Errorf("%s..%s %s: got %v, want %v", tc.start, tc.end, tc.filter, got, tc.want)
		}
	}
	// calendar-data with expansion: three Mondays in the window, one moved.
	q := calQuery("20240101T000000Z", "20240123T000000Z", "", `<D:getetag/><C:calendar-data><C:expand start="20240101T000000Z" end="20240123T000000Z"/></C:calendar-data>`)
	r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
	for _, want := range []string{"RECURRENCE-ID:20240101T140000Z", "RECURRENCE-ID:20240115T140000Z", "DTSTART:20240116T140000Z", "RECURRENCE-ID:20240122T140000Z"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("expanded data lacks %s:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "RRULE") || strings.Contains(r.body, "20240108T140000Z") {
		t.Errorf("expanded data has the rule or the excluded instance:\n%s", r.body)
	}
	// Bad filters are clean 4xx.
	for _, bad := range []string{
		calQuery("yesterday", "", "", ""),
		calQuery("20240201T000000Z", "20240101T000000Z", "", ""),
		strings.Replace(calQuery("", "", "", ""), `<C:filter>`, `<C:filter><C:comp-filter name="VCALENDAR"/>`, 1),
		calQuery("", "", `<C:prop-filter name="SUMMARY"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter>`, ""),
	} {
		if r := e.do("alice", "REPORT", cal, bad, "Depth", "1"); r.code < 400 || r.code >= 500 {
			t.Errorf("bad query: %d %s", r.code, r.body)
		}
	}
}

func TestMultigetAndTodos(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"a.ics", event("a", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	e.do("alice", "PUT", cal+"b%20c.ics", event("b c", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	q := `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>
<D:href>` + cal + `a.ics</D:href><D:href>` + e.url + cal + `b%20c.ics</D:href><D:href>` + cal + `missing.ics</D:href><D:href>/dav/calendars/eve/x/y.ics</D:href></C:calendar-multiget>`
	r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
	if strings.Count(r.body, "BEGIN:VEVENT") != 2 || strings.Count(r.body, "404 Not Found") != 2 || !strings.Contains(r.body, "UID:b c") {
		t.Errorf("multiget:\n%s", r.body)
	}
	// Tasks go in the tasks folder.
	todo := crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:t1
DTSTAMP:20240101T000000Z
DUE:20240201T000000Z
SUMMARY:Taxes
END:VTODO
END:VCALENDAR
`)
	tasks := e.tasksURL("alice")
	e.do("alice", "PUT", tasks+"t1.ics", todo).must(t, http.StatusCreated)
	tq := strings.Replace(calQuery("20240131T000000Z", "20240202T000000Z", "", ""), `"VEVENT"`, `"VTODO"`, 1)
	r = e.do("alice", "REPORT", tasks, tq, "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, tasks); !slices.Equal(got, []string{"t1.ics"}) {
		t.Errorf("todo query: %v\n%s", got, r.body)
	}
	tq = strings.Replace(calQuery("20240301T000000Z", "20240302T000000Z", "", ""), `"VEVENT"`, `"VTODO"`, 1)
	r = e.do("alice", "REPORT", tasks, tq, "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, tasks); len(got) != 0 {
		t.Errorf("todo query out of range: %v", got)
	}
}

func syncReport(token string) string {
	return `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + token + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

var tokenRE = regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`)

func TestSyncCollection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	for i := range 3 {
		e.do("alice", "PUT", fmt.Sprintf("%se%d.ics", cal, i), event(fmt.Sprint("e", i), "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	}
	r := e.do("alice", "REPORT", cal, syncReport(""), "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, cal); !slices.Equal(got, []string{"e0.ics", "e1.ics", "e2.ics"}) {
		t.Fatalf("initial sync %v", got)
	}
	tok := tokenRE.FindStringSubmatch(r.body)[1]
	ctag := func() string {
		r := e.do("alice", "PROPFIND", cal, `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>`, "Depth", "0")
		return regexp.MustCompile(`<CS:getctag>(\d+)<`).FindStringSubmatch(r.body)[1]
	}
	c1 := ctag()
	// Nothing changed.
	r = e.do("alice", "REPORT", cal, syncReport(tok), "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, cal); len(got) != 0 {
		t.Errorf("empty sync reported %v", got)
	}
	// A change elsewhere in the store is not reported here.
	e.do("alice", "PUT", e.tasksURL("alice")+"t.ics", strings.ReplaceAll(event("t", "20240110T100000Z", "20240110T110000Z", ""), "VEVENT", "VTODO")).must(t, http.StatusCreated)
	e.do("alice", "PUT", cal+"e1.ics", event("e1", "20240110T100000Z", "20240110T120000Z", "")).must(t, http.StatusNoContent)
	e.do("alice", "DELETE", cal+"e2.ics", "").must(t, http.StatusNoContent)
	e.do("alice", "PUT", cal+"e3.ics", event("e3", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	r = e.do("alice", "REPORT", cal, syncReport(tok), "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, cal); !slices.Equal(got, []string{"e1.ics", "e2.ics", "e3.ics"}) {
		t.Errorf("delta sync %v\n%s", got, r.body)
	}
	if !regexp.MustCompile(`<D:href>[^<]*e2.ics</D:href><D:status>HTTP/1.1 404`).MatchString(r.body) {
		t.Errorf("deleted member not 404:\n%s", r.body)
	}
	tok2 := tokenRE.FindStringSubmatch(r.body)[1]
	if tok2 == tok {
		t.Error("token did not move")
	}
	if c2 := ctag(); c2 == c1 {
		t.Error("ctag did not move")
	}
	r = e.do("alice", "REPORT", cal, syncReport(tok2), "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, cal); len(got) != 0 {
		t.Errorf("sync after sync: %v", got)
	}
	r = e.do("alice", "REPORT", cal, syncReport("bogus"), "Depth", "1").must(t, http.StatusForbidden)
	if !strings.Contains(r.body, "valid-sync-token") {
		t.Errorf("bad token: %s", r.body)
	}
}

func TestAddressbookQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ab := e.cardURL("alice")
	e.do("alice", "PUT", ab+"a.vcf", card("a", "Anna Able", "anna@example.test"), "Content-Type", "text/vcard").must(t, http.StatusCreated)
	e.do("alice", "PUT", ab+"b.vcf", card("b", "Bert Baker", "bert@example.org"), "Content-Type", "text/vcard").must(t, http.StatusCreated)
	q := func(filter string) []string {
		body := `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>` + filter + `</CR:addressbook-query>`
		r := e.do("alice", "REPORT", ab, body, "Depth", "1").must(t, http.StatusMultiStatus)
		return names(r.body, ab)
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{``, []string{"a.vcf", "b.vcf"}},
		{`<CR:filter><CR:prop-filter name="FN"><CR:text-match collation="i;unicode-casemap" match-type="contains">ANNA</CR:text-match></CR:prop-filter></CR:filter>`, []string{"a.vcf"}},
		{`<CR:filter><CR:prop-filter name="EMAIL"><CR:text-match match-type="ends-with">.org</CR:text-match></CR:prop-filter></CR:filter>`, []string{"b.vcf"}},
		{`<CR:filter test="anyof"><CR:prop-filter name="FN"><CR:text-match match-type="starts-with">anna</CR:text-match></CR:prop-filter><CR:prop-filter name="FN"><CR:text-match match-type="equals">bert baker</CR:text-match></CR:prop-filter></CR:filter>`, []string{"a.vcf", "b.vcf"}},
		{`<CR:filter test="allof"><CR:prop-filter name="FN"><CR:text-match>anna</CR:text-match></CR:prop-filter><CR:prop-filter name="EMAIL"><CR:text-match>.org</CR:text-match></CR:prop-filter></CR:filter>`, nil},
		{`<CR:filter><CR:prop-filter name="NICKNAME"><CR:is-not-defined/></CR:prop-filter></CR:filter>`, []string{"a.vcf", "b.vcf"}},
	} {
		if got := q(tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v want %v", tc.filter, got, tc.want)
		}
	}
	mg := `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop><D:href>` + ab + `b.vcf</D:href></CR:addressbook-multiget>`
	r := e.do("alice", "REPORT", ab, mg, "Depth", "1").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "FN:Bert Baker") {
		t.Errorf("multiget: %s", r.body)
	}
}

func TestExportFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"a.ics", event("a", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	e.do("alice", "PUT", cal+"b.ics", event("b", "20240111T100000Z", "20240111T110000Z", "")).must(t, http.StatusCreated)
	r := e.do("alice", "GET", cal+"?export", "").must(t, http.StatusOK)
	if !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/calendar") || strings.Count(r.body, "BEGIN:VEVENT") != 2 || strings.Count(r.body, "BEGIN:VCALENDAR") != 1 {
		t.Errorf("feed %s:\n%s", r.hdr.Get("Content-Type"), r.body)
	}
	e.do("", "GET", cal+"?export", "").must(t, http.StatusUnauthorized)
	e.do("bob", "GET", cal+"?export", "").must(t, http.StatusNotFound)
	e.do("alice", "PUT", e.cardURL("alice")+"a.vcf", card("a", "A", "a@x.test")).must(t, http.StatusCreated)
	r = e.do("alice", "GET", e.cardURL("alice"), "", "Accept", "text/vcard").must(t, http.StatusOK)
	if !strings.Contains(r.body, "BEGIN:VCARD") {
		t.Errorf("vcf export: %s", r.body)
	}
}

func TestSyncCollectionLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	r := e.do("alice", "REPORT", cal, syncReport(""), "Depth", "1").must(t, http.StatusMultiStatus)
	tok := tokenRE.FindStringSubmatch(r.body)[1]
	for i := range 5 {
		e.do("alice", "PUT", fmt.Sprintf("%sl%d.ics", cal, i), event(fmt.Sprint("l", i), "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	}
	var all []string
	for round := 0; ; round++ {
		if round > 5 {
			t.Fatal("paging does not end")
		}
		q := strings.Replace(syncReport(tok), "</D:sync-collection>", "<D:limit><D:nresults>2</D:nresults></D:limit></D:sync-collection>", 1)
		r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
		got := names(r.body, cal)
		all = append(all, got...)
		tok = tokenRE.FindStringSubmatch(r.body)[1]
		if !strings.Contains(r.body, "507 Insufficient Storage") {
			if len(got) > 2 {
				t.Errorf("round %d: %d results", round, len(got))
			}
			break
		}
		if len(got) != 2 {
			t.Errorf("truncated round %d: %v", round, got)
		}
	}
	slices.Sort(all)
	if !slices.Equal(all, []string{"l0.ics", "l1.ics", "l2.ics", "l3.ics", "l4.ics"}) {
		t.Errorf("paged sync gave %v", all)
	}
}

func TestPreferMinimal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	q := `<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop><D:displayname/><X:nothing/></D:prop></D:propfind>`
	r := e.do("alice", "PROPFIND", cal, q, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "404 Not Found") {
		t.Fatalf("no 404 propstat without Prefer:\n%s", r.body)
	}
	r = e.do("alice", "PROPFIND", cal, q, "Depth", "0", "Prefer", "return=minimal").must(t, http.StatusMultiStatus)
	if strings.Contains(r.body, "404 Not Found") || !strings.Contains(r.body, "<D:displayname>") {
		t.Errorf("Prefer: return=minimal:\n%s", r.body)
	}
}

// Floating times are read in the calendar's time zone (RFC 4791 §7.3).
func TestFloatingTimeZone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"f.ics", event("f", "20240110T090000", "20240110T100000", "")).must(t, http.StatusCreated)
	utcHit := calQuery("20240110T090000Z", "20240110T093000Z", "", "")
	berlinHit := calQuery("20240110T080000Z", "20240110T083000Z", "", "")
	if got := names(e.do("alice", "REPORT", cal, utcHit, "Depth", "1").body, cal); len(got) != 1 {
		t.Errorf("floating read as UTC: %v", got)
	}
	tz := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
	pp := `<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>` + strings.ReplaceAll(tz, "\r", "&#13;") + `</C:calendar-timezone></D:prop></D:set></D:propertyupdate>`
	e.do("alice", "PROPPATCH", cal, pp).must(t, http.StatusMultiStatus)
	if got := names(e.do("alice", "REPORT", cal, berlinHit, "Depth", "1").body, cal); len(got) != 1 {
		t.Errorf("floating in Berlin: %v", got)
	}
	if got := names(e.do("alice", "REPORT", cal, utcHit, "Depth", "1").body, cal); len(got) != 0 {
		t.Errorf("floating still read as UTC: %v", got)
	}
	ex := calQuery("20240110T000000Z", "20240111T000000Z", "", `<C:calendar-data><C:expand start="20240110T000000Z" end="20240111T000000Z"/></C:calendar-data>`)
	if b := e.do("alice", "REPORT", cal, ex, "Depth", "1").body; !strings.Contains(b, "DTSTART:20240110T080000Z") {
		t.Errorf("floating expansion not in the calendar's zone:\n%s", b)
	}
	// A request's own timezone wins.
	q := strings.Replace(utcHit, "</C:calendar-query>", "<C:timezone>"+strings.ReplaceAll(strings.ReplaceAll(tz, "Europe/Berlin", "UTC"), "\r", "&#13;")+"</C:timezone></C:calendar-query>", 1)
	if got := names(e.do("alice", "REPORT", cal, q, "Depth", "1").body, cal); len(got) != 1 {
		t.Errorf("request timezone ignored: %v", got)
	}
}

func TestPartialData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"p.ics", event("p", "20240110T100000Z", "20240110T110000Z", "LOCATION:Secret room\r\n")).must(t, http.StatusCreated)
	q := calQuery("", "", "", `<C:calendar-data><C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID"/></C:comp></C:comp></C:calendar-data>`)
	r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "SUMMARY:Event p") || !strings.Contains(r.body, "UID:p") || strings.Contains(r.body, "LOCATION") || strings.Contains(r.body, "PRODID") {
		t.Errorf("partial calendar-data:\n%s", r.body)
	}
	ab := e.cardURL("alice")
	e.do("alice", "PUT", ab+"c.vcf", card("c", "Cee", "c@x.test")).must(t, http.StatusCreated)
	mg := `<CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><CR:address-data><CR:prop name="FN"/></CR:address-data></D:prop><D:href>` + ab + `c.vcf</D:href></CR:addressbook-multiget>`
	r = e.do("alice", "REPORT", ab, mg, "Depth", "1").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "FN:Cee") || strings.Contains(r.body, "EMAIL") || !strings.Contains(r.body, "UID:c") {
		t.Errorf("partial address-data:\n%s", r.body)
	}
}
