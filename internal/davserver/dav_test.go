package davserver_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

const propfindDiscovery = `<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav">
<D:prop><D:current-user-principal/><C:calendar-home-set/><CR:addressbook-home-set/><D:resourcetype/><D:displayname/></D:prop>
</D:propfind>`

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("", "PROPFIND", "/dav/", propfindDiscovery, "Depth", "0")
	r.must(t, http.StatusUnauthorized)
	if !strings.Contains(r.hdr.Get("WWW-Authenticate"), `Basic realm="Roost"`) {
		t.Errorf("challenge %q", r.hdr.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest("PROPFIND", e.url+"/dav/", nil)
	req.SetBasicAuth("alice", "wrong")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", res.StatusCode)
	}
	// A room cannot log in.
	e.do("room1", "PROPFIND", "/dav/", "", "Depth", "0").must(t, http.StatusForbidden)
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, wk := range []string{"/.well-known/caldav", "/.well-known/carddav", "/.well-known/caldav/", "/.well-known/carddav/"} {
		// GET is redirected; other methods with 308, which keeps the
		// method and body (RFC 9110 §15.4.9).
		r := e.do("alice", "GET", wk, "").must(t, http.StatusMovedPermanently)
		if r.hdr.Get("Location") != "/dav/" {
			t.Errorf("%s → %q", wk, r.hdr.Get("Location"))
		}
		r = e.do("alice", "REPORT", wk, "<x/>").must(t, http.StatusPermanentRedirect)
		if r.hdr.Get("Location") != "/dav/" {
			t.Errorf("%s → %q", wk, r.hdr.Get("Location"))
		}
		// PROPFIND is answered at the well-known URL itself, for
		// clients that do not follow redirects or drop the body.
		e.do("", "PROPFIND", wk, propfindDiscovery, "Depth", "0").must(t, http.StatusUnauthorized)
		r = e.do("alice", "PROPFIND", wk, propfindDiscovery, "Depth", "0").must(t, http.StatusMultiStatus)
		if hs := hrefs(r.body); !slices.Equal(hs, []string{wk}) || !strings.Contains(r.body, "<D:current-user-principal><D:href>/dav/principals/alice/</D:href>") {
			t.Errorf("PROPFIND %s: %v\n%s", wk, hs, r.body)
		}
		if r := e.do("alice", "OPTIONS", wk, "").must(t, http.StatusOK); !strings.Contains(r.hdr.Get("DAV"), "calendar-access") {
			t.Errorf("OPTIONS %s: DAV %q", wk, r.hdr.Get("DAV"))
		}
	}
	r := e.do("alice", "PROPFIND", "/dav/", propfindDiscovery, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "<D:current-user-principal><D:href>/dav/principals/alice/</D:href>") {
		t.Fatalf("no principal:\n%s", r.body)
	}
	r = e.do("alice", "PROPFIND", "/dav/principals/alice/", propfindDiscovery, "Depth", "0").must(t, http.StatusMultiStatus)
	for _, want := range []string{"<C:calendar-home-set><D:href>/dav/calendars/alice/</D:href>", "<CR:addressbook-home-set><D:href>/dav/addressbooks/alice/</D:href>", "<D:principal/>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("principal lacks %s:\n%s", want, r.body)
		}
	}
	r = e.do("alice", "PROPFIND", "/dav/calendars/alice/", propfindDiscovery, "Depth", "1").must(t, http.StatusMultiStatus)
	hs := hrefs(r.body)
	for _, want := range []string{"/dav/calendars/alice/", e.calURL("alice"), e.tasksURL("alice"), "/dav/calendars/alice/inbox/"} {
		if !slices.Contains(hs, want) {
			t.Errorf("calendar home lacks %s: %v", want, hs)
		}
	}
	if !strings.Contains(r.body, "<C:calendar/>") {
		t.Errorf("no calendar resourcetype:\n%s", r.body)
	}
	r = e.do("alice", "PROPFIND", "/dav/addressbooks/alice/", propfindDiscovery, "Depth", "1").must(t, http.StatusMultiStatus)
	if !slices.Contains(hrefs(r.body), e.cardURL("alice")) || !strings.Contains(r.body, "<CR:addressbook/>") {
		t.Errorf("address book home:\n%s", r.body)
	}
	r = e.do("alice", "OPTIONS", e.calURL("alice"), "").must(t, http.StatusOK)
	for _, want := range []string{"calendar-access", "addressbook", "extended-mkcol"} {
		if !strings.Contains(r.hdr.Get("DAV"), want) {
			t.Errorf("DAV header %q lacks %s", r.hdr.Get("DAV"), want)
		}
	}
}

func TestPutGetDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.calURL("alice") + "ev1.ics"
	body := event("ev1", "20240105T100000Z", "20240105T110000Z", "")
	r := e.do("alice", "PUT", u, body, "If-None-Match", "*").must(t, http.StatusCreated)
	tag := r.hdr.Get("ETag")
	if !strings.HasPrefix(tag, `"`) || len(tag) < 4 {
		t.Fatalf("ETag %q", tag)
	}
	g := e.do("alice", "GET", u, "").must(t, http.StatusOK)
	if g.body != body || g.hdr.Get("ETag") != tag || !strings.HasPrefix(g.hdr.Get("Content-Type"), "text/calendar") {
		t.Fatalf("GET: %q %q %q", g.hdr.Get("ETag"), g.hdr.Get("Content-Type"), g.body)
	}
	e.do("alice", "GET", u, "", "If-None-Match", tag).must(t, http.StatusNotModified)
	e.do("alice", "HEAD", u, "").must(t, http.StatusOK)
	// Create-only and conditional updates.
	e.do("alice", "PUT", u, body, "If-None-Match", "*").must(t, http.StatusPreconditionFailed)
	body2 := event("ev1", "20240105T100000Z", "20240105T120000Z", "")
	e.do("alice", "PUT", u, body2, "If-Match", `"nope"`).must(t, http.StatusPreconditionFailed)
	r = e.do("alice", "PUT", u, body2, "If-Match", tag).must(t, http.StatusNoContent)
	tag2 := r.hdr.Get("ETag")
	if tag2 == tag || tag2 == "" {
		t.Fatalf("ETag after update %q (was %q)", tag2, tag)
	}
	// The old ETag no longer matches.
	e.do("alice", "DELETE", u, "", "If-Match", tag).must(t, http.StatusPreconditionFailed)
	e.do("alice", "DELETE", u, "", "If-Match", tag2).must(t, http.StatusNoContent)
	e.do("alice", "GET", u, "").must(t, http.StatusNotFound)
	e.do("alice", "DELETE", u, "").must(t, http.StatusNotFound)
	// The same name can be used again.
	e.do("alice", "PUT", u, body, "If-None-Match", "*").must(t, http.StatusCreated)
	// Parent missing, PUT on a collection.
	e.do("alice", "PUT", "/dav/calendars/alice/nope/x/ev.ics", body).must(t, http.StatusConflict)
	e.do("alice", "PUT", e.calURL("alice"), body).must(t, http.StatusMethodNotAllowed)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	for name, tc := range map[string]struct {
		body, cond string
	}{
		"garbage":  {"hello", "valid-calendar-data"},
		"unclosed": {crlf("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\n"), "valid-calendar-data"},
		"method":   {strings.Replace(event("m1", "20240101T100000Z", "20240101T110000Z", ""), "VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST", 1), "valid-calendar-object-resource"},
		"two uids": {strings.Replace(event("a", "20240101T100000Z", "20240101T110000Z", ""), "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR", 1), "valid-calendar-object-resource"},
		"no uid":   {strings.Replace(event("", "20240101T100000Z", "20240101T110000Z", ""), "UID:\r\n", "", 1), "valid-calendar-object-resource"},
		// Not valid iCalendar: valid-calendar-data (RFC 4791 §5.3.2.1;
		// TestCalDAVTesterPutPreconditions).
		"bad date":         {event("d", "2024-01-01", "20240101T110000Z", ""), "<C:valid-calendar-data/>"},
		"bad rrule":        {event("r", "20240101T100000Z", "20240101T110000Z", "RRULE:FREQ=SOMETIMES\r\n"), "<C:valid-calendar-data/>"},
		"todo in calendar": {crlf("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTODO\nUID:t\nSUMMARY:x\nEND:VTODO\nEND:VCALENDAR\n"), "supported-calendar-component"},
	} {
		r := e.do("alice", "PUT", cal+"x.ics", tc.body)
		if r.code != http.StatusForbidden || !strings.Contains(r.body, tc.cond) {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	ab := e.cardURL("alice")
	for name, body := range map[string]string{
		"garbage":  "nope",
		"two":      card("a", "A", "a@x.test") + card("b", "B", "b@x.test"),
		"no uid":   strings.Replace(card("", "A", "a@x.test"), "UID:\r\n", "", 1),
		"unclosed": "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n",
	} {
		r := e.do("alice", "PUT", ab+"x.vcf", body, "Content-Type", "text/vcard")
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "address-data") {
			t.Errorf("vcard %s: %d %s", name, r.code, r.body)
		}
	}
	// Size bound.
	big := event("big", "20240101T100000Z", "20240101T110000Z", "DESCRIPTION:"+strings.Repeat("x", 11<<20)+"\r\n")
	r := e.do("alice", "PUT", cal+"big.ics", big)
	if r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("big: %d", r.code)
	}
	// The server keeps serving.
	e.do("alice", "PUT", cal+"ok.ics", event("ok", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusCreated)
}

func TestUIDConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"a.ics", event("same", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusCreated)
	r := e.do("alice", "PUT", cal+"b.ics", event("same", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusConflict)
	if !strings.Contains(r.body, "<C:no-uid-conflict><D:href>"+cal+"a.ics</D:href>") {
		t.Errorf("body %s", r.body)
	}
	// Changing the UID of a resource is refused too.
	e.do("alice", "PUT", cal+"a.ics", event("other", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusConflict)
	ab := e.cardURL("alice")
	e.do("alice", "PUT", ab+"a.vcf", card("c1", "A", "a@x.test")).must(t, http.StatusCreated)
	r = e.do("alice", "PUT", ab+"b.vcf", card("c1", "B", "b@x.test")).must(t, http.StatusConflict)
	if !strings.Contains(r.body, "CR:no-uid-conflict") {
		t.Errorf("body %s", r.body)
	}
}

func TestMkcalendarProppatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/">
<D:set><D:prop><D:displayname>Work &amp; Play</D:displayname><A:calendar-color>#ff0000</A:calendar-color>
<C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/work/", body).must(t, http.StatusCreated)
	// RFC 4791 §5.3.1.1: DAV:resource-must-be-null, a 403 (TestCalDAVTesterMkcalendar).
	e.do("alice", "MKCALENDAR", "/dav/calendars/alice/work/", body).must(t, http.StatusForbidden)
	r := e.do("alice", "PROPFIND", "/dav/calendars/alice/work/", `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/"><D:prop><D:displayname/><A:calendar-color/><C:supported-calendar-component-set/><D:resourcetype/><D:sync-token/></D:prop></D:propfind>`, "Depth", "0").must(t, http.StatusMultiStatus)
	for _, want := range []string{"<D:displayname>Work &amp; Play</D:displayname>", "<A:calendar-color>#ff0000</A:calendar-color>", `<C:comp name="VTODO"/>`, "<C:calendar/>", "<D:sync-token>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("lacks %s:\n%s", want, r.body)
		}
	}
	// A VTODO-only calendar refuses events.
	e.do("alice", "PUT", "/dav/calendars/alice/work/e.ics", event("e", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusForbidden)
	// PROPPATCH: set, remove, protected.
	pp := `<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><D:set><D:prop><D:displayname>Renamed</D:displayname><X:dead>v<X:sub a="1">w</X:sub></X:dead></D:prop></D:set></D:propertyupdate>`
	r = e.do("alice", "PROPPATCH", "/dav/calendars/alice/work/", pp).must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "200 OK") {
		t.Errorf("proppatch: %s", r.body)
	}
	r = e.do("alice", "PROPFIND", "/dav/calendars/alice/work/", `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "Renamed") || !strings.Contains(r.body, `dead xmlns:X="urn:x">v<x:sub xmlns:x="urn:x" a="1">w</x:sub>`) {
		t.Errorf("allprop after proppatch:\n%s", r.body)
	}
	pp = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><D:displayname>No</D:displayname></D:prop></D:set></D:propertyupdate>`
	r = e.do("alice", "PROPPATCH", "/dav/calendars/alice/work/", pp).must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "403 Forbidden") || !strings.Contains(r.body, "424 Failed Dependency") {
		t.Errorf("protected: %s", r.body)
	}
	// Extended MKCOL for an address book.
	mk := `<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>Friends</D:displayname></D:prop></D:set></D:mkcol>`
	e.do("alice", "MKCOL", "/dav/addressbooks/alice/friends/", mk).must(t, http.StatusCreated)
	r = e.do("alice", "PROPFIND", "/dav/addressbooks/alice/friends/", `<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/></D:prop></D:propfind>`, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "<CR:addressbook/>") || !strings.Contains(r.body, "Friends") {
		t.Errorf("mkcol: %s", r.body)
	}
	// DELETE of a collection (soft delete in the store), and of a default one.
	e.do("alice", "DELETE", "/dav/calendars/alice/work/", "").must(t, http.StatusNoContent)
	e.do("alice", "PROPFIND", "/dav/calendars/alice/work/", "", "Depth", "0").must(t, http.StatusNotFound)
	e.do("alice", "DELETE", e.calURL("alice"), "").must(t, http.StatusForbidden)
}

func TestQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	on, hard := true, int64(2000)
	if _, err := e.db.UpdateUser(sys, "carol", store.UserUpdate{QuotaOverride: &on, QuotaHard: &hard}); err != nil {
		t.Fatal(err)
	}
	cal := e.calURL("carol")
	r := e.do("carol", "PROPFIND", "/dav/calendars/carol/", `<D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>`, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "<D:quota-available-bytes>2000</D:quota-available-bytes>") || !strings.Contains(r.body, "<D:quota-used-bytes>0</D:quota-used-bytes>") {
		t.Errorf("quota props:\n%s", r.body)
	}
	big := event("q", "20240101T100000Z", "20240101T110000Z", "DESCRIPTION:"+strings.Repeat("x", 3000)+"\r\n")
	r = e.do("carol", "PUT", cal+"q.ics", big)
	if r.code != http.StatusInsufficientStorage || !strings.Contains(r.body, "quota-not-exceeded") {
		t.Errorf("over quota: %d %s", r.code, r.body)
	}
	e.do("carol", "PUT", cal+"small.ics", event("s", "20240101T100000Z", "20240101T110000Z", "")).must(t, http.StatusCreated)
}
