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

// errors.xml "REPORT/filter" 1-9: a calendar-query whose filter is not
// structured as RFC 4791 §9.7 and §9.9 allow fails CALDAV:valid-filter
// (§7.8, whose examples are a VEVENT nested in a VTODO and a time-range
// on SUMMARY).
func TestCalDAVTesterValidFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("alice", "PUT", e.calURL("alice")+"a.ics", event("a", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusCreated)
	const tr = `<C:time-range start="20240101T000000Z" end="20240102T000000Z"/>`
	query := func(filter string) string {
		return `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter>` + filter + `</C:filter></C:calendar-query>`
	}
	bad := map[string]string{
		"top-level VEVENT":         `<C:comp-filter name="VEVENT"/>`,
		"time-range on VCALENDAR":  `<C:comp-filter name="VCALENDAR">` + tr + `</C:comp-filter>`,
		"VALARM in VCALENDAR":      `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VALARM"/></C:comp-filter>`,
		"time-range on VTIMEZONE":  `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTIMEZONE">` + tr + `</C:comp-filter></C:comp-filter>`,
		"VEVENT in VEVENT":         `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="VEVENT"/></C:comp-filter></C:comp-filter>`,
		"VEVENT in VTODO":          `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:comp-filter name="VEVENT"/></C:comp-filter></C:comp-filter>`,
		"time-range on STANDARD":   `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTIMEZONE"><C:comp-filter name="STANDARD">` + tr + `</C:comp-filter></C:comp-filter></C:comp-filter>`,
		"VEVENT in VALARM":         `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:comp-filter name="VEVENT"/></C:comp-filter></C:comp-filter></C:comp-filter>`,
		"time-range on X-COMP":     `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:comp-filter name="X-COMP">` + tr + `</C:comp-filter></C:comp-filter></C:comp-filter></C:comp-filter>`,
		"time-range on SUMMARY":    `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">` + tr + `</C:prop-filter></C:comp-filter></C:comp-filter>`,
		"VCALENDAR in VCALENDAR":   `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VCALENDAR"/></C:comp-filter>`,
		"date-only time-range":     `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101" end="20240102"/></C:comp-filter></C:comp-filter>`,
		"floating time-range":      `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000" end="20240102T000000"/></C:comp-filter></C:comp-filter>`,
		"VEVENT in VTIMEZONE":      `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTIMEZONE"><C:comp-filter name="VEVENT"/></C:comp-filter></C:comp-filter>`,
		"STANDARD under VEVENT":    `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="STANDARD"/></C:comp-filter></C:comp-filter>`,
		"time-range on UID":        `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="UID">` + tr + `</C:prop-filter></C:comp-filter></C:comp-filter>`,
		"time-range on VCALENDAR2": `<C:comp-filter name="vcalendar">` + tr + `</C:comp-filter>`,
	}
	for name, f := range bad {
		r := e.do("alice", "REPORT", e.calURL("alice"), query(f), "Depth", "1")
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "valid-filter") {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	good := map[string]string{
		"VEVENT in range":       `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">` + tr + `</C:comp-filter></C:comp-filter>`,
		"time-range on DTSTART": `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="DTSTART">` + tr + `</C:prop-filter></C:comp-filter></C:comp-filter>`,
		"X- component":          `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="X-THING"><C:is-not-defined/></C:comp-filter></C:comp-filter></C:comp-filter>`,
		"no VALARM":             `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:is-not-defined/></C:comp-filter></C:comp-filter></C:comp-filter>`,
		"whole calendar":        `<C:comp-filter name="VCALENDAR"/>`,
	}
	for name, f := range good {
		r := e.do("alice", "REPORT", e.calURL("alice"), query(f), "Depth", "1")
		if r.code != http.StatusMultiStatus || !strings.Contains(r.body, "a.ics") {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
}

