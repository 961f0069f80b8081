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

// errors.xml "PUT" 1, 2, 3 and 11: the precondition a refused PUT names
// tells the client what was wrong (RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1):
// data of another media type is supported-calendar-data (only when it
// does not parse: iCalendar labelled text/plain is stored), data that is
// not valid iCalendar is valid-calendar-data, and valid iCalendar that
// breaks §4.1 (one component type, one UID) is
// valid-calendar-object-resource.
func TestCalDAVTesterPutPreconditions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	vevent := strings.TrimSuffix(strings.TrimPrefix(event("x", "20240101T100000Z", "20240101T110000Z", ""), "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"), "END:VCALENDAR\r\n")
	wrap := func(inner string) string {
		return crlf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n") + inner + "END:VCALENDAR\r\n"
	}
	cases := []struct {
		name, ct, body, cond string
	}{
		{"xml body", "text/xml; charset=utf-8", `<?xml version="1.0"?><x/>`, "<C:supported-calendar-data/>"},
		{"root not VCALENDAR", "text/calendar", strings.Replace(strings.Replace(event("r", "20240101T100000Z", "20240101T110000Z", ""), "BEGIN:VCALENDAR", "BEGIN:XCALENDAR", 1), "END:VCALENDAR", "END:XCALENDAR", 1), "<C:valid-calendar-data/>"},
		{"bad RRULE", "text/calendar", event("b", "20240101T100000Z", "20240101T110000Z", "RRULE:FREQ=MONTHLY;BYDAY=+1,3MO\r\n"), "<C:valid-calendar-data/>"},
		{"bad DTSTART", "text/calendar", event("d", "2024-01-01", "20240101T110000Z", ""), "<C:valid-calendar-data/>"},
		{"VEVENT and VFREEBUSY", "text/calendar", wrap(vevent + crlf("BEGIN:VFREEBUSY\nUID:fb\nDTSTAMP:20240101T000000Z\nEND:VFREEBUSY\n")), "<C:valid-calendar-object-resource/>"},
		{"VEVENT and VTODO", "text/calendar", wrap(vevent + crlf("BEGIN:VTODO\nUID:x\nDTSTAMP:20240101T000000Z\nEND:VTODO\n")), "<C:valid-calendar-object-resource/>"},
		{"two UIDs", "text/calendar", wrap(vevent + strings.Replace(vevent, "UID:x", "UID:y", 1)), "<C:valid-calendar-object-resource/>"},
		{"METHOD", "text/calendar", strings.Replace(event("m", "20240101T100000Z", "20240101T110000Z", ""), "VERSION:2.0", "VERSION:2.0\r\nMETHOD:PUBLISH", 1), "<C:valid-calendar-object-resource/>"},
	}
	for _, c := range cases {
		r := e.do("alice", "PUT", cal+"p.ics", c.body, "Content-Type", c.ct)
		if r.code != http.StatusForbidden || !strings.Contains(r.body, c.cond) {
			t.Errorf("%s: %d %s, want 403 %s", c.name, r.code, r.body, c.cond)
		}
	}
	// A good object is stored whatever its label says.
	e.do("alice", "PUT", cal+"ok.ics", event("ok", "20240101T100000Z", "20240101T110000Z", ""), "Content-Type", "text/plain").must(t, http.StatusCreated)
	// CardDAV: the same for address data.
	r := e.do("alice", "PUT", e.cardURL("alice")+"p.vcf", `<?xml version="1.0"?><x/>`, "Content-Type", "text/xml")
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "<CR:supported-address-data/>") {
		t.Errorf("vCard as XML: %d %s", r.code, r.body)
	}
	r = e.do("alice", "PUT", e.cardURL("alice")+"p.vcf", "not a card", "Content-Type", "text/vcard")
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "<CR:valid-address-data/>") {
		t.Errorf("bad vCard: %d %s", r.code, r.body)
	}
}

// errors.xml "REPORT/calendar-data" 1-4: a calendar-data element asking
// for a media type or version the server does not produce fails
// CALDAV:supported-calendar-data (RFC 4791 §7.8, §7.9, §9.6), and the
// same for address-data (RFC 6352 §8.6, §8.7, §10.4).
func TestCalDAVTesterSupportedData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal, ab := e.calURL("alice"), e.cardURL("alice")
	e.do("alice", "PUT", cal+"a.ics", event("a", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusCreated)
	e.do("alice", "PUT", ab+"a.vcf", card("a", "A", "a@x.test")).must(t, http.StatusCreated)
	query := func(data string) string {
		return `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>` + data + `</D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`
	}
	multiget := func(data string) string {
		return `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>` + data + `</D:prop><D:href>` + cal + `a.ics</D:href></C:calendar-multiget>`
	}
	for _, body := range []func(string) string{query, multiget} {
		for _, data := range []string{`<C:calendar-data content-type="text/vcalendar" version="2.0"/>`, `<C:calendar-data content-type="text/calendar" version="3.0"/>`} {
			r := e.do("alice", "REPORT", cal, body(data), "Depth", "1")
			if r.code != http.StatusForbidden || !strings.Contains(r.body, "<C:supported-calendar-data/>") {
				t.Errorf("%s: %d %s", body(data), r.code, r.body)
			}
		}
		for _, data := range []string{`<C:calendar-data/>`, `<C:calendar-data content-type="text/calendar" version="2.0"/>`} {
			r := e.do("alice", "REPORT", cal, body(data), "Depth", "1").must(t, http.StatusMultiStatus)
			if !strings.Contains(r.body, "BEGIN:VEVENT") {
				t.Errorf("%s: %s", body(data), r.body)
			}
		}
	}
	abq := func(data string) string {
		return `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop>` + data + `</D:prop><CR:filter/></CR:addressbook-query>`
	}
	r := e.do("alice", "REPORT", ab, abq(`<CR:address-data content-type="text/xml"/>`), "Depth", "1")
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "<CR:supported-address-data/>") {
		t.Errorf("address-data text/xml: %d %s", r.code, r.body)
	}
	r = e.do("alice", "REPORT", ab, abq(`<CR:address-data content-type="text/vcard" version="3.0"/>`), "Depth", "1").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "BEGIN:VCARD") {
		t.Errorf("address-data 3.0: %s", r.body)
	}
}

// proppatch.xml and CardDAV proppatch.xml "prop patch property
// attributes" 1: the xml:lang of a property element set by PROPPATCH is
// preserved (RFC 4918 §4.3), on collections and on resources, and goes
// when the property is set again without one or removed.
func TestCalDAVTesterXMLLang(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"a.ics", event("a", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusCreated)
	set := func(inner string) string {
		return `<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><D:set><D:prop>` + inner + `</D:prop></D:set></D:propertyupdate>`
	}
	find := `<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop><D:displayname/><X:note/></D:prop></D:propfind>`
	for _, u := range []string{cal, cal + "a.ics", e.cardURL("alice")} {
		e.do("alice", "PROPPATCH", u, set(`<X:note xml:lang="en">Hi &amp; bye</X:note><D:displayname xml:lang="fr">Mon nom</D:displayname>`)).must(t, http.StatusMultiStatus)
		r := e.do("alice", "PROPFIND", u, find, "Depth", "0").must(t, http.StatusMultiStatus)
		if !strings.Contains(r.body, `xml:lang="en">Hi &amp; bye</X:note>`) {
			t.Errorf("%s: X:note without its xml:lang: %s", u, r.body)
		}
		if u != cal+"a.ics" && !strings.Contains(r.body, `<D:displayname xml:lang="fr">Mon nom</D:displayname>`) {
			t.Errorf("%s: displayname without its xml:lang: %s", u, r.body)
		}
		e.do("alice", "PROPPATCH", u, set(`<X:note>plain</X:note>`)).must(t, http.StatusMultiStatus)
		r = e.do("alice", "PROPFIND", u, find, "Depth", "0").must(t, http.StatusMultiStatus)
		if strings.Contains(r.body, `xml:lang="en"`) || !strings.Contains(r.body, ">plain</X:note>") {
			t.Errorf("%s: after a set without xml:lang: %s", u, r.body)
		}
	}
	// The language moves with the resource.
	e.do("alice", "PROPPATCH", cal+"a.ics", set(`<X:note xml:lang="de">Hallo</X:note>`)).must(t, http.StatusMultiStatus)
	e.do("alice", "MOVE", cal+"a.ics", "", "Destination", cal+"b.ics").must(t, http.StatusCreated)
	r := e.do("alice", "PROPFIND", cal+"b.ics", find, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, `xml:lang="de">Hallo</X:note>`) {
		t.Errorf("after MOVE: %s", r.body)
	}
}

// reports.xml's setup: a VFREEBUSY object in a calendar whose
// supported-calendar-component-set does not name VFREEBUSY fails
// CALDAV:supported-calendar-component (RFC 4791 §5.3.2.1), which says
// why, rather than valid-calendar-object-resource.
func TestCalDAVTesterFreeBusyObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fb := crlf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VFREEBUSY\nUID:fb\nDTSTAMP:20240101T000000Z\nDTSTART:20240108T050000Z\nDTEND:20240109T050000Z\nFREEBUSY:20240108T163000Z/PT1H30M\nEND:VFREEBUSY\nEND:VCALENDAR\n")
	r := e.do("alice", "PUT", e.calURL("alice")+"fb.ics", fb)
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "<C:supported-calendar-component/>") {
		t.Errorf("VFREEBUSY object: %d %s", r.code, r.body)
	}
	// Only a VTIMEZONE: still not a calendar object resource.
	tz := crlf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VTIMEZONE\nTZID:X\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0000\nTZOFFSETTO:+0000\nEND:STANDARD\nEND:VTIMEZONE\nEND:VCALENDAR\n")
	r = e.do("alice", "PUT", e.calURL("alice")+"tz.ics", tz)
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "<C:valid-calendar-object-resource/>") {
		t.Errorf("VTIMEZONE only: %d %s", r.code, r.body)
	}
}

// errors.xml "Invalid CalDAV:timezone" 1-2: CALDAV:timezone in a
// calendar-query and the calendar-timezone property hold an iCalendar
// object with exactly one VTIMEZONE (RFC 4791 §9.8, §5.2.2); anything
// else fails valid-calendar-data (§7.8, §5.3.1.1), and a PROPPATCH leaves
// the property as it was.
func TestCalDAVTesterTimezoneData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"a.ics", event("a", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusCreated)
	vtz := "BEGIN:VTIMEZONE\nTZID:Europe/Berlin\nBEGIN:STANDARD\nDTSTART:19701025T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n"
	good := "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + vtz + "END:VCALENDAR\n"
	withEvent := "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + vtz + "BEGIN:VEVENT\nUID:x\nDTSTAMP:20240101T000000Z\nDTSTART:20240101T100000Z\nEND:VEVENT\nEND:VCALENDAR\n"
	bad := map[string]string{"with a VEVENT": withEvent, "no VTIMEZONE": "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "not iCalendar": "Europe/Berlin"}
	query := func(tz string) string {
		return `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter><C:timezone>` + escapeXML(tz) + `</C:timezone></C:calendar-query>`
	}
	pp := func(tz string) string {
		return `<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>` + escapeXML(tz) + `</C:calendar-timezone></D:prop></D:set></D:propertyupdate>`
	}
	find := `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-timezone/></D:prop></D:propfind>`
	e.do("alice", "REPORT", cal, query(good), "Depth", "1").must(t, http.StatusMultiStatus)
	e.do("alice", "PROPPATCH", cal, pp(good)).must(t, http.StatusMultiStatus)
	for name, tz := range bad {
		r := e.do("alice", "REPORT", cal, query(tz), "Depth", "1")
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "<C:valid-calendar-data/>") {
			t.Errorf("query, %s: %d %s", name, r.code, r.body)
		}
		r = e.do("alice", "PROPPATCH", cal, pp(tz)).must(t, http.StatusMultiStatus)
		if !strings.Contains(r.body, "403 Forbidden") || !strings.Contains(r.body, "<C:valid-calendar-data/>") {
			t.Errorf("PROPPATCH, %s: %s", name, r.body)
		}
		r = e.do("alice", "PROPFIND", cal, find, "Depth", "0").must(t, http.StatusMultiStatus)
		if !strings.Contains(r.body, "TZID:Europe/Berlin") || strings.Contains(r.body, "BEGIN:VEVENT") {
			t.Errorf("after PROPPATCH %s: %s", name, r.body)
		}
		mk := `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>` + escapeXML(tz) + `</C:calendar-timezone></D:prop></D:set></C:mkcalendar>`
		r = e.do("alice", "MKCALENDAR", "/dav/calendars/alice/tz/", mk)
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "<C:valid-calendar-data/>") {
			t.Errorf("MKCALENDAR, %s: %d %s", name, r.code, r.body)
		}
	}
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// nonascii.xml "Non-ascii calendar data" 1: a body that starts with a
// UTF-8 byte order mark (as Windows tools write it) is stored and read
// like one without (RFC 3629 §6: the mark is not part of the text), for
// iCalendar and vCard alike.
func TestCalDAVTesterByteOrderMark(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const bom = "\xef\xbb\xbf"
	e.do("alice", "PUT", e.calURL("alice")+"bom.ics", bom+event("bom", "20240101T100000Z", "20240101T110000Z", ""), "Content-Type", "text/calendar; charset=utf-8").must(t, http.StatusCreated)
	q := `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z" end="20240102T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	r := e.do("alice", "REPORT", e.calURL("alice"), q, "Depth", "1").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "bom.ics") {
		t.Errorf("the event is not found by its time: %s", r.body)
	}
	e.do("alice", "PUT", e.cardURL("alice")+"bom.vcf", bom+card("bom", "Bom", "bom@x.test"), "Content-Type", "text/vcard").must(t, http.StatusCreated)
}

// floating.xml "REPORT free-busy floating behaviour" 2: a free-busy-query
// reads floating times in the calendar's calendar-timezone, as
// calendar-query does (RFC 4791 §5.2.2, §9.9), not in UTC.
func TestCalDAVTesterFreeBusyFloating(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tz := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
	mk := `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>` + escapeXML(tz) + `</C:calendar-timezone></D:prop></D:set></C:mkcalendar>`
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/ny/", mk).must(t, http.StatusCreated)
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/utc/", "").must(t, http.StatusCreated)
	ev := event("f", "20240110T100000", "20240110T110000", "")
	e.do("alice", "PUT", "/dav/calendars/alice/ny/f.ics", ev).must(t, http.StatusCreated)
	e.do("alice", "PUT", "/dav/calendars/alice/utc/f.ics", ev).must(t, http.StatusCreated)
	fb := `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20240110T000000Z" end="20240111T000000Z"/></C:free-busy-query>`
	r := e.do("alice", "REPORT", "/dav/calendars/alice/ny/", fb, "Depth", "1").must(t, http.StatusOK)
	if !strings.Contains(r.body, "20240110T150000Z") || strings.Contains(r.body, "20240110T100000Z") {
		t.Errorf("New York calendar: 10:00 floating is 15:00Z:\n%s", r.body)
	}
	r = e.do("alice", "REPORT", "/dav/calendars/alice/utc/", fb, "Depth", "1").must(t, http.StatusOK)
	if !strings.Contains(r.body, "20240110T100000Z") {
		t.Errorf("calendar without a zone: floating is UTC:\n%s", r.body)
	}
}
