package davserver_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestCopyMoveResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/other/", "").must(t, http.StatusCreated)
	other := "/dav/calendars/alice/other/"
	e.do("alice", "PUT", cal+"a.ics", event("a", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	// COPY within one calendar would duplicate the UID.
	r := e.do("alice", "COPY", cal+"a.ics", "", "Destination", e.url+cal+"b.ics")
	if r.code != http.StatusConflict || !strings.Contains(r.body, "no-uid-conflict") {
		t.Errorf("COPY in one calendar: %d %s", r.code, r.body)
	}
	// COPY to another calendar, then MOVE back over nothing.
	e.do("alice", "COPY", cal+"a.ics", "", "Destination", e.url+other+"a.ics").must(t, http.StatusCreated)
	e.do("alice", "COPY", cal+"a.ics", "", "Destination", e.url+other+"a.ics", "Overwrite", "F").must(t, http.StatusPreconditionFailed)
	e.do("alice", "MOVE", cal+"a.ics", "", "Destination", e.url+cal+"renamed.ics").must(t, http.StatusCreated)
	e.do("alice", "GET", cal+"a.ics", "").must(t, http.StatusNotFound)
	e.do("alice", "GET", cal+"renamed.ics", "").must(t, http.StatusOK)
	// Into an address book: refused as invalid data.
	if r := e.do("alice", "COPY", cal+"renamed.ics", "", "Destination", e.url+e.cardURL("alice")+"x.vcf"); r.code != http.StatusForbidden {
		t.Errorf("COPY event to address book: %d", r.code)
	}
	// Elsewhere: another server, another tenant.
	e.do("alice", "COPY", cal+"renamed.ics", "", "Destination", "http://elsewhere.test/x.ics").must(t, http.StatusBadGateway)
	if r := e.do("alice", "COPY", cal+"renamed.ics", "", "Destination", e.url+e.calURL("eve")+"x.ics"); r.code != http.StatusConflict && r.code != http.StatusNotFound {
		t.Errorf("COPY to another tenant: %d", r.code)
	}
	// PROPFIND may ask for calendar-data.
	r = e.do("alice", "PROPFIND", cal+"renamed.ics", `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop></D:propfind>`, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "UID:a") {
		t.Errorf("PROPFIND calendar-data: %s", r.body)
	}
}

func TestLimitRecurrenceSetAndRepeatPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	body := crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:lr
DTSTAMP:20240101T000000Z
DTSTART:20240101T100000Z
DTEND:20240101T110000Z
RRULE:FREQ=DAILY;COUNT=30
END:VEVENT
BEGIN:VEVENT
UID:lr
DTSTAMP:20240101T000000Z
RECURRENCE-ID:20240102T100000Z
DTSTART:20240102T120000Z
DTEND:20240102T130000Z
SUMMARY:early override
END:VEVENT
BEGIN:VEVENT
UID:lr
DTSTAMP:20240101T000000Z
RECURRENCE-ID:20240120T100000Z
DTSTART:20240120T120000Z
DTEND:20240120T130000Z
SUMMARY:late override
END:VEVENT
END:VCALENDAR
`)
	e.do("alice", "PUT", cal+"lr.ics", body).must(t, http.StatusCreated)
	q := calQuery("20240115T000000Z", "20240125T000000Z", "", `<C:calendar-data><C:limit-recurrence-set start="20240115T000000Z" end="20240125T000000Z"/></C:calendar-data>`)
	r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "late override") || strings.Contains(r.body, "early override") || !strings.Contains(r.body, "RRULE") {
		t.Errorf("limit-recurrence-set:\n%s", r.body)
	}
	// Re-uploading a meeting unchanged does not touch the attendees' copies.
	inv := meeting("same", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test")
	e.do("alice", "PUT", cal+"same.ics", inv).must(t, http.StatusCreated)
	tag := e.do("bob", "GET", e.calURL("bob")+"same.ics", "").must(t, http.StatusOK).hdr.Get("ETag")
	e.do("alice", "PUT", cal+"same.ics", inv).must(t, http.StatusNoContent)
	if tag2 := e.do("bob", "GET", e.calURL("bob")+"same.ics", "").must(t, http.StatusOK).hdr.Get("ETag"); tag2 != tag {
		t.Errorf("attendee copy rewritten by an unchanged PUT: %s → %s", tag, tag2)
	}
}
