package davserver_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func alarmQuery(kind, start, end string) string {
	q := calQuery("", "", `<C:comp-filter name="VALARM"><C:time-range start="`+start+`" end="`+end+`"/></C:comp-filter>`, "")
	return strings.Replace(q, `"VEVENT"`, `"`+kind+`"`, 1)
}

// Issue 9.4: a VALARM time range matches the alarms of every instance of
// a recurring event or to-do, not only of the first (RFC 4791 §9.9).
func TestAlarmTimeRangeRecurring(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal, tasks := e.calURL("alice"), e.tasksURL("alice")
	e.do("alice", "PUT", cal+"daily.ics", crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:daily-alarm
DTSTAMP:20240101T000000Z
DTSTART:20240101T100000Z
DTEND:20240101T110000Z
RRULE:FREQ=DAILY
SUMMARY:Standup
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Standup
TRIGGER:-PT15M
END:VALARM
END:VEVENT
END:VCALENDAR
`)).must(t, http.StatusCreated)
	e.do("alice", "PUT", cal+"once.ics", event("once", "20240101T100000Z", "20240101T110000Z",
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n")).must(t, http.StatusCreated)
	e.do("alice", "PUT", tasks+"daily.ics", crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTODO
UID:daily-todo
DTSTAMP:20240101T000000Z
DTSTART:20240101T080000Z
DUE:20240101T170000Z
RRULE:FREQ=DAILY;COUNT=30
SUMMARY:Water the plants
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Due soon
TRIGGER;RELATED=END:-PT1H
END:VALARM
END:VTODO
END:VCALENDAR
`)).must(t, http.StatusCreated)
	for _, tc := range []struct {
		url, kind, start, end string
		want                  []string
	}{
		// The first day's alarm, 09:45.
		{cal, "VEVENT", "20240101T094000Z", "20240101T095000Z", []string{"daily.ics", "once.ics"}},
		// Any later day's alarm.
		{cal, "VEVENT", "20240315T094000Z", "20240315T095000Z", []string{"daily.ics"}},
		{cal, "VEVENT", "20290704T094500Z", "20290704T094501Z", []string{"daily.ics"}},
		// Between two alarms nothing.
		{cal, "VEVENT", "20240315T095000Z", "20240316T094000Z", nil},
		// The to-do's alarm an hour before each DUE, 16:00, for 30 days.
		{tasks, "VTODO", "20240110T155900Z", "20240110T160100Z", []string{"daily.ics"}},
		{tasks, "VTODO", "20240130T155900Z", "20240130T160100Z", []string{"daily.ics"}},
		{tasks, "VTODO", "20240131T155900Z", "20240131T160100Z", nil},
		{tasks, "VTODO", "20240110T170000Z", "20240111T155900Z", nil},
	} {
		r := e.do("alice", "REPORT", tc.url, alarmQuery(tc.kind, tc.start, tc.end), "Depth", "1").must(t, http.StatusMultiStatus)
		if got := names(r.body, tc.url); !slices.Equal(got, tc.want) {
			t.Errorf("%s alarms %s..%s: got %v, want %v", tc.kind, tc.start, tc.end, got, tc.want)
		}
	}
}

// Issues 9.5 and 9.6: what real clients send and can be understood is
// stored, and queries read it as documented (ical.Validate, ical.Expand).
func TestStoreLiberal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal, tasks := e.calURL("alice"), e.tasksURL("alice")
	vcal := func(body string) string {
		return crlf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + body + "END:VCALENDAR\n")
	}
	for _, tc := range []struct{ url, name, body string }{
		{tasks, "rtodo.ics", vcal("BEGIN:VTODO\nUID:rtodo\nDTSTAMP:20240101T000000Z\nDUE:20240101T170000Z\nRRULE:FREQ=WEEKLY\nSUMMARY:Bins out\nEND:VTODO\n")},
		{cal, "p1dt.ics", vcal("BEGIN:VEVENT\nUID:p1dt\nDTSTAMP:20240101T000000Z\nDTSTART:20240201T100000Z\nDURATION:P1DT\nEND:VEVENT\n")},
		{cal, "mixed.ics", vcal("BEGIN:VEVENT\nUID:mixed\nDTSTAMP:20240101T000000Z\nDTSTART;VALUE=DATE:20240301\nDTEND:20240302T120000Z\nEND:VEVENT\n")},
		{cal, "backwards.ics", vcal("BEGIN:VEVENT\nUID:backwards\nDTSTAMP:20240101T000000Z\nDTSTART:20240401T100000Z\nDTEND:20240401T090000Z\nEND:VEVENT\n")},
		{cal, "rid.ics", vcal("BEGIN:VEVENT\nUID:rid\nDTSTAMP:20240101T000000Z\nDTSTART:20240501T100000Z\nDTEND:20240501T110000Z\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n" +
			"BEGIN:VEVENT\nUID:rid\nDTSTAMP:20240101T000000Z\nRECURRENCE-ID;VALUE=DATE:20240502\nDTSTART:20240502T150000Z\nDTEND:20240502T160000Z\nEND:VEVENT\n")},
	} {
		r := e.do("alice", "PUT", tc.url+tc.name, tc.body)
		if r.code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", tc.name, r.code, r.body)
		}
		if got := e.do("alice", "GET", tc.url+tc.name, ""); got.body != tc.body {
			t.Errorf("%s not stored as sent:\n%s", tc.name, got.body)
		}
	}
	for _, tc := range []struct {
		url, kind, start, end string
		want                  []string
	}{
		// The weekly to-do recurs from its DUE: due on Monday 4 March.
		{tasks, "VTODO", "20240304T120000Z", "20240304T180000Z", []string{"rtodo.ics"}},
		{tasks, "VTODO", "20240305T120000Z", "20240305T180000Z", nil},
		// P1DT lasts a day.
		{cal, "VEVENT", "20240202T090000Z", "20240202T093000Z", []string{"p1dt.ics"}},
		// A DATE start with a timed end runs to that instant.
		{cal, "VEVENT", "20240302T110000Z", "20240302T113000Z", []string{"mixed.ics"}},
		{cal, "VEVENT", "20240302T120000Z", "20240302T130000Z", nil},
		// An end before the start: an instant at the start.
		{cal, "VEVENT", "20240401T095959Z", "20240401T100001Z", []string{"backwards.ics"}},
		{cal, "VEVENT", "20240401T090000Z", "20240401T095959Z", nil},
		// The DATE RECURRENCE-ID moved the 2 May instance to 15:00.
		{cal, "VEVENT", "20240502T100000Z", "20240502T103000Z", nil},
		{cal, "VEVENT", "20240502T150000Z", "20240502T153000Z", []string{"rid.ics"}},
	} {
		q := strings.Replace(calQuery(tc.start, tc.end, "", ""), `"VEVENT"`, `"`+tc.kind+`"`, 1)
		r := e.do("alice", "REPORT", tc.url, q, "Depth", "1").must(t, http.StatusMultiStatus)
		if got := names(r.body, tc.url); !slices.Equal(got, tc.want) {
			t.Errorf("%s %s..%s: got %v, want %v", tc.kind, tc.start, tc.end, got, tc.want)
		}
	}
	// A recurring VEVENT still needs its DTSTART.
	r := e.do("alice", "PUT", cal+"nostart.ics", vcal("BEGIN:VEVENT\nUID:nostart\nDTSTAMP:20240101T000000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n"))
	if r.code != http.StatusForbidden {
		t.Errorf("recurring VEVENT without DTSTART: %d", r.code)
	}
}
