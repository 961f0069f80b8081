package davserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
)

// Issue 9.11: an answer computed from a recurrence cut at
// Options.MaxInstances says so.
func TestInstanceLimitTruncation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *davserver.Options) { o.MaxInstances = 10 })
	cal := e.calURL("alice")
	// Daily for 30 days; the 20th instance is moved and renamed.
	e.do("alice", "PUT", cal+"daily.ics", crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:daily
DTSTAMP:20240101T000000Z
DTSTART:20240101T100000Z
DTEND:20240101T110000Z
RRULE:FREQ=DAILY;COUNT=30
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:daily
DTSTAMP:20240101T000000Z
RECURRENCE-ID:20240120T100000Z
DTSTART:20240120T150000Z
DTEND:20240120T160000Z
SUMMARY:Special standup
END:VEVENT
END:VCALENDAR
`)).must(t, http.StatusCreated)
	cut := func(body string) bool {
		return strings.Contains(body, "507 Insufficient Storage") && strings.Contains(body, "<D:number-of-matches-within-limits/>")
	}
	special := `<C:prop-filter name="SUMMARY"><C:text-match>special</C:text-match></C:prop-filter>`
	// Within the limit: a complete answer.
	r := e.do("alice", "REPORT", cal, calQuery("20240119T000000Z", "20240122T000000Z", special, ""), "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, cal); len(got) != 1 || cut(r.body) {
		t.Errorf("within the limit: %v\n%s", got, r.body)
	}
	// Over it: the instance that would match is past the cut, and the
	// answer says it is incomplete.
	r = e.do("alice", "REPORT", cal, calQuery("20240101T000000Z", "20240201T000000Z", special, ""), "Depth", "1").must(t, http.StatusMultiStatus)
	if !cut(r.body) {
		t.Errorf("calendar-query cut silently:\n%s", r.body)
	}
	// Expanded calendar-data: ten instances and the 507.
	q := calQuery("20240101T000000Z", "20240201T000000Z", "", `<C:calendar-data><C:expand start="20240101T000000Z" end="20240201T000000Z"/></C:calendar-data>`)
	r = e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
	if n := strings.Count(r.body, "BEGIN:VEVENT"); n != 10 || !cut(r.body) {
		t.Errorf("expand: %d instances, cut said: %v\n%s", n, cut(r.body), r.body)
	}
	q = calQuery("20240101T000000Z", "20240104T000000Z", "", `<C:calendar-data><C:expand start="20240101T000000Z" end="20240104T000000Z"/></C:calendar-data>`)
	r = e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
	if n := strings.Count(r.body, "BEGIN:VEVENT"); n != 3 || cut(r.body) {
		t.Errorf("short expand: %d instances, cut: %v", n, cut(r.body))
	}
	// Multiget with expansion.
	mg := `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20240101T000000Z" end="20240201T000000Z"/></C:calendar-data></D:prop><D:href>` + cal + `daily.ics</D:href></C:calendar-multiget>`
	r = e.do("alice", "REPORT", cal, mg, "Depth", "1").must(t, http.StatusMultiStatus)
	if !cut(r.body) {
		t.Errorf("multiget expand cut silently:\n%s", r.body)
	}
	// Free/busy: REQUEST-STATUS 2.11 (RFC 5546 §3.6.14).
	fb := func(start, end string) string {
		return `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="` + start + `" end="` + end + `"/></C:free-busy-query>`
	}
	r = e.do("alice", "REPORT", cal, fb("20240101T000000Z", "20240201T000000Z"), "Depth", "1").must(t, http.StatusOK)
	if !strings.Contains(r.body, "REQUEST-STATUS:2.11;") || strings.Count(r.body, "FREEBUSY:") == 0 {
		t.Errorf("free/busy cut silently:\n%s", r.body)
	}
	r = e.do("alice", "REPORT", cal, fb("20240101T000000Z", "20240105T000000Z"), "Depth", "1").must(t, http.StatusOK)
	if strings.Contains(r.body, "REQUEST-STATUS") {
		t.Errorf("free/busy within the limit says clipped:\n%s", r.body)
	}
}

// TestAlarmQueryNoAlarms: a VALARM time-range query open at its end does
// not expand (and report as cut) a series that has no relative alarms:
// no instance of it can match.
func TestAlarmQueryNoAlarms(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *davserver.Options) { o.MaxInstances = 10 })
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"forever.ics", crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:forever
DTSTAMP:20240101T000000Z
DTSTART:20240101T100000Z
DTEND:20240101T110000Z
RRULE:FREQ=DAILY
SUMMARY:No alarm
END:VEVENT
END:VCALENDAR
`)).must(t, http.StatusCreated)
	r := e.do("alice", "REPORT", cal, alarmQuery("VEVENT", "20240101T000000Z", ""), "Depth", "1").must(t, http.StatusMultiStatus)
	if strings.Contains(r.body, "forever.ics") || strings.Contains(r.body, "507") {
		t.Errorf("alarm query over a series without alarms:\n%s", r.body)
	}
}
