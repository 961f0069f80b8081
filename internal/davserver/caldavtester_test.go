package davserver_test

import (
	"net/http"
	"strings"
	"testing"
)

// Cases found by Apple's CalDAVTester (docs/clients.md, "Apple
// CalDAVTester"); each names the test file and the RFC section.

// mkcalendar.xml "MKCALENDAR without body" 2-3: MKCALENDAR over an existing
// resource fails DAV:resource-must-be-null, and a calendar collection is
// never created inside another one, at any depth (RFC 4791 §4.2 b,
// §5.3.1.1 CALDAV:calendar-collection-location-ok). A plain collection
// inside a calendar stays allowed (§4.2 a).
func TestCalDAVTesterMkcalendar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/c1/", "").must(t, http.StatusCreated)
	r := e.do("alice", "MKCALENDAR", "/dav/calendars/alice/c1/", "").must(t, http.StatusForbidden)
	if !strings.Contains(r.body, "<D:resource-must-be-null/>") {
		t.Errorf("MKCALENDAR on existing: %s", r.body)
	}
	r = e.do("alice", "MKCALENDAR", "/dav/calendars/alice/c1/c2/", "").must(t, http.StatusForbidden)
	if !strings.Contains(r.body, "calendar-collection-location-ok") {
		t.Errorf("MKCALENDAR in a calendar: %s", r.body)
	}
	e.do("alice", "MKCOL", "/dav/calendars/alice/c1/plain/", "").must(t, http.StatusCreated)
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/c1/plain/c3/", "").must(t, http.StatusForbidden)
	ext := `<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>`
	e.do("alice", "MKCOL", "/dav/calendars/alice/c1/plain/c4/", ext).must(t, http.StatusForbidden)
	// Outside calendars, nesting is as before.
	e.do("alice", "MKCOL", "/dav/calendars/alice/p/", "").must(t, http.StatusCreated)
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/p/c5/", "").must(t, http.StatusCreated)
	// MKCOL on an existing collection stays 405 (RFC 4918 §9.3.1).
	e.do("alice", "MKCOL", "/dav/calendars/alice/p/", "").must(t, http.StatusMethodNotAllowed)
}
