package davserver_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/store"
)

// TestScheduleTag: issue 9.7, RFC 6638 §3.2.10, §7.3, §8.3.
func TestScheduleTag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceCal, bobCal := e.calURL("alice"), e.calURL("bob")
	unfold := func(s string) string { return strings.ReplaceAll(s, "\r\n ", "") }

	inv := meeting("st-1", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test", "ext@example.com")
	r := e.do("alice", "PUT", aliceCal+"st.ics", inv).must(t, http.StatusCreated)
	tag := r.hdr.Get("Schedule-Tag")
	if tag == "" || !strings.HasPrefix(tag, `"`) {
		t.Fatalf("PUT of a scheduling object: Schedule-Tag %q", tag)
	}
	// SCHEDULE-STATUS on the organizer's copy: delivered to bob, sent to
	// the external attendee. The server changed the resource: no ETag.
	if r.hdr.Get("ETag") != "" {
		t.Errorf("ETag %q although the server added SCHEDULE-STATUS", r.hdr.Get("ETag"))
	}
	r = e.do("alice", "GET", aliceCal+"st.ics", "").must(t, http.StatusOK)
	org := unfold(r.body)
	if !strings.Contains(org, "SCHEDULE-STATUS=1.2:mailto:bob@acme.test") || !strings.Contains(org, "SCHEDULE-STATUS=1.1:mailto:ext@example.com") {
		t.Errorf("organizer's copy lacks SCHEDULE-STATUS:\n%s", r.body)
	}
	if r.hdr.Get("Schedule-Tag") != tag {
		t.Errorf("GET Schedule-Tag %q, PUT said %q", r.hdr.Get("Schedule-Tag"), tag)
	}
	etag1 := r.hdr.Get("ETag")
	// The attendees' copies carry no SCHEDULE-STATUS; iMIP neither.
	bob := e.do("bob", "GET", bobCal+"st-1.ics", "").must(t, http.StatusOK)
	if strings.Contains(bob.body, "SCHEDULE-STATUS") {
		t.Errorf("bob's copy carries SCHEDULE-STATUS:\n%s", bob.body)
	}
	for _, m := range e.out.all() {
		if strings.Contains(m.ics, "SCHEDULE-STATUS") {
			t.Errorf("iMIP carries SCHEDULE-STATUS:\n%s", m.ics)
		}
	}
	bobTag := bob.hdr.Get("Schedule-Tag")
	if bobTag == "" {
		t.Fatalf("bob's copy has no Schedule-Tag")
	}

	// Bob accepts, guarded by his Schedule-Tag: the organizer's copy
	// changes (ETag) but its Schedule-Tag does not.
	acc := strings.Replace(unfold(bob.body), "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@acme.test", "PARTSTAT=ACCEPTED:mailto:bob@acme.test", 1)
	e.do("bob", "PUT", bobCal+"st-1.ics", acc, "If-Schedule-Tag-Match", `"stale"`).must(t, http.StatusPreconditionFailed)
	e.do("bob", "PUT", bobCal+"st-1.ics", acc, "If-Schedule-Tag-Match", bobTag).must(t, http.StatusNoContent)
	r = e.do("alice", "GET", aliceCal+"st.ics", "").must(t, http.StatusOK)
	if partstatOf(r.body, "bob@acme.test") != "ACCEPTED" || r.hdr.Get("ETag") == etag1 {
		t.Fatalf("reply not merged:\n%s", r.body)
	}
	if got := r.hdr.Get("Schedule-Tag"); got != tag {
		t.Errorf("merging a reply changed the organizer's Schedule-Tag: %s → %s", tag, got)
	}
	// So the organizer's client, holding only the Schedule-Tag, may write.
	moved := strings.Replace(r.body, "SUMMARY:Event st-1", "SUMMARY:Moved", 1)
	e.do("alice", "PUT", aliceCal+"st.ics", moved, "If-Schedule-Tag-Match", `"stale"`).must(t, http.StatusPreconditionFailed)
	r = e.do("alice", "PUT", aliceCal+"st.ics", moved, "If-Schedule-Tag-Match", tag).must(t, http.StatusNoContent)
	tag2 := r.hdr.Get("Schedule-Tag")
	if tag2 == "" || tag2 == tag {
		t.Errorf("an organizer's change kept the Schedule-Tag %s", tag2)
	}
	// The organizer's update is a new Schedule-Tag on bob's copy.
	if got := e.do("bob", "GET", bobCal+"st-1.ics", "").must(t, http.StatusOK).hdr.Get("Schedule-Tag"); got == "" || got == bobTag {
		t.Errorf("bob's Schedule-Tag after the organizer's update: %q (was %q)", got, bobTag)
	}
	// The property (RFC 6638 §9.3).
	pf := `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:schedule-tag/></D:prop></D:propfind>`
	r = e.do("alice", "PROPFIND", aliceCal+"st.ics", pf, "Depth", "0").must(t, http.StatusMultiStatus)
	if !strings.Contains(r.body, "<C:schedule-tag>"+strings.ReplaceAll(tag2, `"`, "&#34;")+"</C:schedule-tag>") &&
		!strings.Contains(r.body, "<C:schedule-tag>"+tag2+"</C:schedule-tag>") {
		t.Errorf("schedule-tag property (want %s):\n%s", tag2, r.body)
	}
	// DELETE honours If-Schedule-Tag-Match too.
	e.do("alice", "DELETE", aliceCal+"st.ics", "", "If-Schedule-Tag-Match", `"stale"`).must(t, http.StatusPreconditionFailed)
	e.do("alice", "DELETE", aliceCal+"st.ics", "", "If-Schedule-Tag-Match", tag2).must(t, http.StatusNoContent)

	// An object without ORGANIZER is not a scheduling object resource.
	e.do("alice", "PUT", aliceCal+"plain.ics", event("plain", "20240110T100000Z", "20240110T110000Z", "")).must(t, http.StatusCreated)
	if got := e.do("alice", "GET", aliceCal+"plain.ics", "").must(t, http.StatusOK).hdr.Get("Schedule-Tag"); got != "" {
		t.Errorf("plain event has Schedule-Tag %q", got)
	}
}

// TestScheduleTagPropfindLookups: a Depth 1 PROPFIND for schedule-tag
// looks the calendar's owner up once, not once per object.
func TestScheduleTagPropfindLookups(t *testing.T) {
	t.Parallel()
	e, fb := newFaultEnv(t)
	cal := e.calURL("alice")
	const n = 5
	for i := range n {
		uid := "stl-" + string(rune('a'+i))
		e.do("alice", "PUT", cal+uid+".ics", meeting(uid, "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "ext@example.com")).must(t, http.StatusCreated)
	}
	var mu sync.Mutex
	lookups := 0
	fb.set(func(m string) error {
		if m == "GetUser" {
			mu.Lock()
			lookups++
			mu.Unlock()
		}
		return nil
	})
	pf := `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:schedule-tag/></D:prop></D:propfind>`
	r := e.do("alice", "PROPFIND", cal, pf, "Depth", "1").must(t, http.StatusMultiStatus)
	fb.set(nil)
	if got := strings.Count(r.body, "<C:schedule-tag>"); got != n {
		t.Fatalf("%d schedule-tags, want %d:\n%s", got, n, r.body)
	}
	if lookups > 1 {
		t.Errorf("PROPFIND Depth 1 over %d objects looked the owner up %d times", n, lookups)
	}
}

// TestScheduleTagReadsOnce: a multiget or PROPFIND asking for
// calendar-data and schedule-tag reads each object once.
func TestScheduleTagReadsOnce(t *testing.T) {
	t.Parallel()
	e, fb := newFaultEnv(t)
	cal := e.calURL("alice")
	e.do("alice", "PUT", cal+"once.ics", meeting("once", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "ext@example.com")).must(t, http.StatusCreated)
	var mu sync.Mutex
	reads := 0
	count := func(m string) error {
		if m == "OpenItem" {
			mu.Lock()
			reads++
			mu.Unlock()
		}
		return nil
	}
	props := `<D:prop><D:getetag/><C:calendar-data/><C:schedule-tag/></D:prop>`
	for _, c := range []struct{ method, url, body, depth string }{
		{"REPORT", cal, `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` + props + `<D:href>` + cal + `once.ics</D:href></C:calendar-multiget>`, "1"},
		{"PROPFIND", cal + "once.ics", `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` + props + `</D:propfind>`, "0"},
	} {
		reads = 0
		fb.set(count)
		r := e.do("alice", c.method, c.url, c.body, "Depth", c.depth).must(t, http.StatusMultiStatus)
		fb.set(nil)
		if !strings.Contains(r.body, "<C:schedule-tag>") || !strings.Contains(r.body, "BEGIN:VCALENDAR") {
			t.Fatalf("%s: no schedule-tag or calendar-data:\n%s", c.method, r.body)
		}
		if reads != 1 {
			t.Errorf("%s read the object %d times", c.method, reads)
		}
	}
}

// TestScheduleTagLiberal: an object the server reads with liberties
// (ical.Normalize) has one Schedule-Tag, whether it comes from the PUT
// or from reading the stored object, so If-Schedule-Tag-Match with what
// the PUT answered succeeds.
func TestScheduleTagLiberal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	// An invitation from outside, stored by alice's client as received:
	// nothing is scheduled, so the stored object is the client's.
	inv := event("lib-1", "20240110T100000Z", "20240110T110000Z",
		"ORGANIZER:mailto:ext@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:alice@acme.test\r\n"+
			"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-P1DT\r\nEND:VALARM\r\n")
	put := e.do("alice", "PUT", cal+"lib.ics", inv).must(t, http.StatusCreated).hdr.Get("Schedule-Tag")
	get := e.do("alice", "GET", cal+"lib.ics", "").must(t, http.StatusOK).hdr.Get("Schedule-Tag")
	if put == "" || put != get {
		t.Fatalf("Schedule-Tag: PUT %q, GET %q", put, get)
	}
	moved := strings.Replace(inv, "SUMMARY:Event lib-1", "SUMMARY:Mine", 1)
	e.do("alice", "PUT", cal+"lib.ics", moved, "If-Schedule-Tag-Match", put).must(t, http.StatusNoContent)
}

// TestGetLargeCalendarObject: a calendar object larger than the PUT
// limit (imported, or stored before the limit was lowered) is served
// whole by GET, not cut at the limit.
func TestGetLargeCalendarObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *davserver.Options) { o.MaxBodyBytes = 2048 })
	big := event("big", "20240110T100000Z", "20240110T110000Z", "DESCRIPTION:"+strings.Repeat("x", 60)+"\r\n"+strings.Repeat(" "+strings.Repeat("y", 70)+"\r\n", 60))
	if len(big) <= 2048 {
		t.Fatalf("test object of %d bytes is not over the limit", len(big))
	}
	f := e.folder("alice", "Calendar")
	if _, err := e.db.AppendItem(e.as("alice"), f.ID, store.NewItem{Content: strings.NewReader(big), Name: "big.ics", ObjectUID: "big"}); err != nil {
		t.Fatal(err)
	}
	r := e.do("alice", "GET", e.calURL("alice")+"big.ics", "").must(t, http.StatusOK)
	if r.body != big {
		t.Errorf("GET returned %d of %d bytes", len(r.body), len(big))
	}
}
