package davserver_test

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

func meeting(uid, organizer, start, end, extra string, attendees ...string) string {
	var b strings.Builder
	b.WriteString("ORGANIZER;CN=Org:mailto:" + organizer + "\r\n")
	b.WriteString("ATTENDEE;PARTSTAT=ACCEPTED:mailto:" + organizer + "\r\n")
	for _, a := range attendees {
		b.WriteString("ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:" + a + "\r\n")
	}
	return event(uid, start, end, b.String()+extra)
}

// partstatOf returns the PARTSTAT of addr in an iCalendar text.
func partstatOf(ics, addr string) string {
	unfolded := strings.ReplaceAll(ics, "\r\n ", "")
	for _, line := range strings.Split(unfolded, "\r\n") {
		if strings.HasPrefix(line, "ATTENDEE") && strings.HasSuffix(strings.ToLower(line), "mailto:"+addr) {
			if m := regexp.MustCompile(`PARTSTAT=([A-Z-]+)`).FindStringSubmatch(line); m != nil {
				return m[1]
			}
			return "NEEDS-ACTION"
		}
	}
	return ""
}

func TestSchedulingInternal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceCal, bobCal, carolCal := e.calURL("alice"), e.calURL("bob"), e.calURL("carol")
	inv := meeting("meet-1", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "",
		"bob@acme.test", "carol@acme.test", "ext@example.com", "eve@globex.test")
	e.do("alice", "PUT", aliceCal+"meet.ics", inv).must(t, http.StatusCreated)
	// Internal attendees have it in their calendars.
	bobCopy := e.do("bob", "GET", bobCal+"meet-1.ics", "").must(t, http.StatusOK).body
	if !strings.Contains(bobCopy, "UID:meet-1") || partstatOf(bobCopy, "bob@acme.test") != "NEEDS-ACTION" {
		t.Fatalf("bob's copy:\n%s", bobCopy)
	}
	e.do("carol", "GET", carolCal+"meet-1.ics", "").must(t, http.StatusOK)
	// External ones (another tenant too) go to Outbound.
	sent := e.out.all()
	if len(sent) != 1 || sent[0].method != "REQUEST" || strings.Join(sent[0].to, ",") != "ext@example.com,eve@globex.test" ||
		!strings.Contains(sent[0].ics, "METHOD:REQUEST") || sent[0].from != "alice@acme.test" {
		t.Fatalf("outbound: %+v", sent)
	}
	// Bob accepts: the organizer's copy shows it.
	accepted := strings.Replace(bobCopy, "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@acme.test", "PARTSTAT=ACCEPTED:mailto:bob@acme.test", 1)
	if accepted == bobCopy {
		t.Fatalf("could not edit bob's copy:\n%s", bobCopy)
	}
	e.do("bob", "PUT", bobCal+"meet-1.ics", accepted).must(t, http.StatusNoContent)
	orgCopy := e.do("alice", "GET", aliceCal+"meet.ics", "").must(t, http.StatusOK).body
	if got := partstatOf(orgCopy, "bob@acme.test"); got != "ACCEPTED" {
		t.Fatalf("organizer sees bob %q:\n%s", got, orgCopy)
	}
	if got := partstatOf(orgCopy, "carol@acme.test"); got != "NEEDS-ACTION" {
		t.Errorf("organizer sees carol %q", got)
	}
	// Carol deletes the invitation: that declines it.
	e.do("carol", "DELETE", carolCal+"meet-1.ics", "").must(t, http.StatusNoContent)
	orgCopy = e.do("alice", "GET", aliceCal+"meet.ics", "").must(t, http.StatusOK).body
	if got := partstatOf(orgCopy, "carol@acme.test"); got != "DECLINED" {
		t.Errorf("organizer sees carol %q after her delete", got)
	}
	// A new version from the organizer keeps bob's answer.
	upd := strings.Replace(orgCopy, "SUMMARY:Event meet-1", "SUMMARY:Moved", 1)
	e.do("alice", "PUT", aliceCal+"meet.ics", upd).must(t, http.StatusNoContent)
	bobCopy = e.do("bob", "GET", bobCal+"meet-1.ics", "").must(t, http.StatusOK).body
	if !strings.Contains(bobCopy, "SUMMARY:Moved") || partstatOf(bobCopy, "bob@acme.test") != "ACCEPTED" {
		t.Errorf("bob's updated copy:\n%s", bobCopy)
	}
	// Taking ext@example.com off the meeting cancels it for that attendee
	// only: the CANCEL lists just the removed attendee (RFC 5546 §3.2.5).
	orgCopy = e.do("alice", "GET", aliceCal+"meet.ics", "").must(t, http.StatusOK).body
	var kept []string
	for _, l := range strings.Split(strings.ReplaceAll(orgCopy, "\r\n ", ""), "\r\n") {
		if !strings.Contains(l, "mailto:ext@example.com") {
			kept = append(kept, l)
		}
	}
	e.do("alice", "PUT", aliceCal+"meet.ics", strings.Join(kept, "\r\n")).must(t, http.StatusNoContent)
	sent = e.out.all()
	uninvite := sent[len(sent)-1]
	if uninvite.method != "CANCEL" || strings.Join(uninvite.to, ",") != "ext@example.com" ||
		!strings.Contains(uninvite.ics, "mailto:ext@example.com") || strings.Contains(uninvite.ics, "mailto:eve@globex.test") ||
		strings.Contains(uninvite.ics, "STATUS:CANCELLED") {
		t.Errorf("uninvite CANCEL: %+v", uninvite)
	}
	// The organizer cancels by deleting.
	e.do("alice", "DELETE", aliceCal+"meet.ics", "").must(t, http.StatusNoContent)
	bobCopy = e.do("bob", "GET", bobCal+"meet-1.ics", "").must(t, http.StatusOK).body
	if !strings.Contains(bobCopy, "STATUS:CANCELLED") {
		t.Errorf("bob's copy after cancel:\n%s", bobCopy)
	}
	sent = e.out.all()
	last := sent[len(sent)-1]
	if last.method != "CANCEL" || !strings.Contains(last.ics, "METHOD:CANCEL") || !strings.Contains(last.ics, "STATUS:CANCELLED") ||
		!strings.Contains(last.ics, "SEQUENCE:1") || strings.Contains(last.ics, "DTSTAMP:20240101") {
		t.Errorf("whole-event CANCEL (needs STATUS:CANCELLED, the next SEQUENCE, a fresh DTSTAMP): %+v", last)
	}
}

func TestSchedulingExternalOrganizerReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bobCal := e.calURL("bob")
	inv := meeting("ext-1", "boss@example.com", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test")
	e.do("bob", "PUT", bobCal+"ext.ics", inv).must(t, http.StatusCreated)
	if n := len(e.out.all()); n != 0 {
		t.Fatalf("storing an invitation sent %d messages", n)
	}
	acc := strings.Replace(inv, "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@acme.test", "PARTSTAT=ACCEPTED:mailto:bob@acme.test", 1)
	e.do("bob", "PUT", bobCal+"ext.ics", acc).must(t, http.StatusNoContent)
	sent := e.out.all()
	if len(sent) != 1 || sent[0].method != "REPLY" || sent[0].to[0] != "boss@example.com" || partstatOf(sent[0].ics, "bob@acme.test") != "ACCEPTED" {
		t.Fatalf("reply: %+v", sent)
	}
}

func TestResourceBooking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	book := func(login, uid, start, end, extra, resource string) string {
		t.Helper()
		u := e.calURL(login) + uid + ".ics"
		r := e.do(login, "PUT", u, meeting(uid, login+"@acme.test", start, end, extra, resource))
		if r.code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", uid, r.code, r.body)
		}
		if r.hdr.Get("ETag") != "" {
			t.Errorf("%s: ETag returned although the server changed the resource", uid)
		}
		return partstatOf(e.do(login, "GET", u, "").must(t, http.StatusOK).body, resource)
	}
	// Room: capacity 1, declines conflicts and recurring meetings.
	if got := book("alice", "r1", "20240110T100000Z", "20240110T110000Z", "", "room1@acme.test"); got != "ACCEPTED" {
		t.Errorf("first room booking: %s", got)
	}
	if got := book("bob", "r2", "20240110T103000Z", "20240110T113000Z", "", "room1@acme.test"); got != "DECLINED" {
		t.Errorf("conflicting room booking: %s", got)
	}
	if got := book("bob", "r3", "20240110T110000Z", "20240110T120000Z", "", "room1@acme.test"); got != "ACCEPTED" {
		t.Errorf("adjacent room booking: %s", got)
	}
	if got := book("carol", "r4", "20240201T100000Z", "20240201T110000Z", "RRULE:FREQ=WEEKLY;COUNT=4\r\n", "room1@acme.test"); got != "DECLINED" {
		t.Errorf("recurring room booking: %s", got)
	}
	// The room's calendar holds the accepted bookings only.
	roomItems, err := e.db.ListObjects(sys, e.folder("room1", "calendar").ID, store.ObjectQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, it := range roomItems {
		uids = append(uids, it.ObjectUID)
	}
	if strings.Join(uids, ",") != "r1,r3" {
		t.Errorf("room calendar holds %v", uids)
	}
	// Equipment of capacity 2: two overlapping bookings, the third declined.
	for i, want := range []string{"ACCEPTED", "ACCEPTED", "DECLINED"} {
		uid := fmt.Sprintf("b%d", i)
		if got := book("alice", uid, "20240110T100000Z", "20240110T110000Z", "", "beamer@acme.test"); got != want {
			t.Errorf("beamer booking %d: %s, want %s", i, got, want)
		}
	}
	// Recurring equipment booking that collides once with the two above.
	if got := book("bob", "b3", "20240103T100000Z", "20240103T110000Z", "RRULE:FREQ=WEEKLY;COUNT=3\r\n", "beamer@acme.test"); got != "DECLINED" {
		t.Errorf("recurring beamer booking over a full slot: %s", got)
	}
	if got := book("bob", "b4", "20240104T100000Z", "20240104T110000Z", "RRULE:FREQ=WEEKLY;COUNT=3\r\n", "beamer@acme.test"); got != "ACCEPTED" {
		t.Errorf("recurring beamer booking on free days: %s", got)
	}
	// Two bookings one after the other use one unit: a third across both
	// still fits in capacity 2.
	book("carol", "c1", "20240201T100000Z", "20240201T110000Z", "", "beamer@acme.test")
	book("carol", "c2", "20240201T110000Z", "20240201T120000Z", "", "beamer@acme.test")
	if got := book("carol", "c3", "20240201T100000Z", "20240201T120000Z", "", "beamer@acme.test"); got != "ACCEPTED" {
		t.Errorf("booking across two sequential ones: %s", got)
	}
	if got := book("carol", "c4", "20240201T103000Z", "20240201T104500Z", "", "beamer@acme.test"); got != "DECLINED" {
		t.Errorf("booking into a full slot: %s", got)
	}
}

func TestFreeBusyOutbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("bob", "PUT", e.calURL("bob")+"busy.ics", event("busy", "20240110T100000Z", "20240110T110000Z", "SUMMARY:private\r\n")).must(t, http.StatusCreated)
	e.do("bob", "PUT", e.calURL("bob")+"free.ics", event("free", "20240110T130000Z", "20240110T140000Z", "TRANSP:TRANSPARENT\r\n")).must(t, http.StatusCreated)
	e.do("bob", "PUT", e.calURL("bob")+"maybe.ics", event("maybe", "20240110T150000Z", "20240110T160000Z", "STATUS:TENTATIVE\r\n")).must(t, http.StatusCreated)
	req := crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
METHOD:REQUEST
BEGIN:VFREEBUSY
UID:fb1
DTSTAMP:20240101T000000Z
DTSTART:20240110T000000Z
DTEND:20240111T000000Z
ORGANIZER:mailto:alice@acme.test
ATTENDEE:mailto:bob@acme.test
ATTENDEE:mailto:eve@globex.test
END:VFREEBUSY
END:VCALENDAR
`)
	r := e.do("alice", "POST", "/dav/calendars/alice/outbox/", req).must(t, http.StatusOK)
	if !strings.Contains(r.body, "FREEBUSY:20240110T100000Z/20240110T110000Z") ||
		!strings.Contains(r.body, "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240110T150000Z/20240110T160000Z") ||
		strings.Contains(r.body, "20240110T130000Z/") || strings.Contains(r.body, "private") {
		t.Errorf("schedule response:\n%s", r.body)
	}
	if !strings.Contains(r.body, "3.7;Invalid calendar user") {
		t.Errorf("other tenant's user not refused:\n%s", r.body)
	}
	e.do("alice", "POST", "/dav/calendars/bob/outbox/", req).must(t, http.StatusNotFound)
	// free-busy-query on a calendar alice can look up but not read.
	e.do("alice", "REPORT", e.calURL("bob"), `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20240110T000000Z" end="20240111T000000Z"/></C:free-busy-query>`).must(t, http.StatusNotFound)
}

// TestProcessITIP covers incoming iMIP (what the mail pipeline calls).
func TestProcessITIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sc := &groupware.Scheduler{Store: e.db, Zones: &ical.ZoneCache{}}
	bob, err := e.db.GetUser(sys, "bob")
	if err != nil {
		t.Fatal(err)
	}
	req := strings.Replace(meeting("mail-1", "boss@example.com", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test"),
		"VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST", 1)
	if _, err := sc.ProcessITIP(sys, bob, "mallory@example.com", []byte(req)); !errors.Is(err, groupware.ErrNotAuthorized) {
		t.Errorf("forged REQUEST: %v", err)
	}
	if _, err := sc.ProcessITIP(sys, bob, "boss@example.com", []byte(req)); err != nil {
		t.Fatal(err)
	}
	copyBody := e.do("bob", "GET", e.calURL("bob")+"mail-1.ics", "").must(t, http.StatusOK).body
	if strings.Contains(copyBody, "METHOD:") || partstatOf(copyBody, "bob@acme.test") != "NEEDS-ACTION" {
		t.Errorf("stored invitation:\n%s", copyBody)
	}
	cancel := strings.Replace(req, "METHOD:REQUEST", "METHOD:CANCEL", 1)
	if _, err := sc.ProcessITIP(sys, bob, "boss@example.com", []byte(cancel)); err != nil {
		t.Fatal(err)
	}
	if b := e.do("bob", "GET", e.calURL("bob")+"mail-1.ics", "").must(t, http.StatusOK).body; !strings.Contains(b, "STATUS:CANCELLED") {
		t.Errorf("after CANCEL:\n%s", b)
	}
	// A reply to alice's meeting from an external attendee.
	e.do("alice", "PUT", e.calURL("alice")+"m.ics", meeting("m2", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "ext@example.com")).must(t, http.StatusCreated)
	alice, _ := e.db.GetUser(sys, "alice")
	reply := strings.Replace(strings.Replace(meeting("m2", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "ext@example.com"),
		"VERSION:2.0", "VERSION:2.0\r\nMETHOD:REPLY", 1), "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@acme.test\r\n", "", 1)
	reply = strings.Replace(reply, "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:ext", "PARTSTAT=TENTATIVE:mailto:ext", 1)
	if _, err := sc.ProcessITIP(sys, alice, "someone@else.test", []byte(reply)); !errors.Is(err, groupware.ErrNotAuthorized) {
		t.Errorf("forged REPLY: %v", err)
	}
	if _, err := sc.ProcessITIP(sys, alice, "ext@example.com", []byte(reply)); err != nil {
		t.Fatal(err)
	}
	if b := e.do("alice", "GET", e.calURL("alice")+"m.ics", "").must(t, http.StatusOK).body; partstatOf(b, "ext@example.com") != "TENTATIVE" {
		t.Errorf("after REPLY:\n%s", b)
	}
	// A room invited by mail answers.
	room, _ := e.db.GetUser(sys, "room1")
	rreq := strings.Replace(meeting("mail-room", "boss@example.com", "20240110T100000Z", "20240110T110000Z", "", "room1@acme.test"),
		"VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST", 1)
	out, err := sc.ProcessITIP(sys, room, "boss@example.com", []byte(rreq))
	if err != nil || !strings.Contains(string(out), "METHOD:REPLY") || partstatOf(string(out), "room1@acme.test") != "ACCEPTED" || strings.Contains(string(out), "ATTENDEE;PARTSTAT=ACCEPTED:mailto:boss") {
		t.Errorf("room reply %v:\n%s", err, out)
	}
}

func TestImportExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.folder("alice", store.SpecialCalendar)
	ics := crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//export//EN
METHOD:PUBLISH
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:imp-1
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240110T090000
DTEND;TZID=Europe/Berlin:20240110T100000
RRULE:FREQ=DAILY;COUNT=3
SUMMARY:Imported series
END:VEVENT
BEGIN:VEVENT
UID:imp-2
DTSTAMP:20240101T000000Z
DTSTART:20240301T090000Z
SUMMARY:Imported single
END:VEVENT
BEGIN:VEVENT
UID:imp-1
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20240111T090000
DTSTART;TZID=Europe/Berlin:20240111T110000
DTEND;TZID=Europe/Berlin:20240111T120000
SUMMARY:Imported override
END:VEVENT
END:VCALENDAR
`)
	for range 2 { // the second import replaces
		n, err := groupware.ImportCalendar(e.as("alice"), e.db, f.ID, []byte(ics), nil)
		if err != nil || n != 2 {
			t.Fatalf("import: %d %v", n, err)
		}
	}
	cal := e.calURL("alice")
	body := e.do("alice", "GET", cal+"imp-1.ics", "").must(t, http.StatusOK).body
	if strings.Contains(body, "METHOD") || !strings.Contains(body, "TZID:Europe/Berlin") || strings.Count(body, "BEGIN:VEVENT") != 2 {
		t.Errorf("imported object:\n%s", body)
	}
	r := e.do("alice", "REPORT", cal, calQuery("20240111T095000Z", "20240111T101000Z", "", ""), "Depth", "1").must(t, http.StatusMultiStatus)
	if got := names(r.body, cal); len(got) != 1 || got[0] != "imp-1.ics" {
		t.Errorf("override not indexed: %v", got)
	}
	r = e.do("alice", "GET", cal, "", "Accept", "text/calendar").must(t, http.StatusOK)
	if strings.Count(r.body, "BEGIN:VEVENT") != 3 || strings.Count(r.body, "BEGIN:VTIMEZONE") != 1 {
		t.Errorf("export:\n%s", r.body)
	}
	ab := e.folder("alice", store.SpecialContacts)
	vcf := card("v1", "Vee One", "v1@x.test") + strings.Replace(card("", "No Uid", "n@x.test"), "UID:\r\n", "", 1)
	for range 2 {
		if n, err := groupware.ImportContacts(e.as("alice"), e.db, ab.ID, []byte(vcf)); err != nil || n != 2 {
			t.Fatalf("import contacts: %d %v", n, err)
		}
	}
	its, err := e.db.ListObjects(e.as("alice"), ab.ID, store.ObjectQuery{})
	if err != nil || len(its) != 2 {
		t.Errorf("address book after two imports: %d items, %v", len(its), err)
	}
	// Bad input is an error, not a partial import of garbage.
	if _, err := groupware.ImportCalendar(e.as("alice"), e.db, f.ID, []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"), nil); err == nil {
		t.Error("broken import accepted")
	}
}

// TestTooManyAttendees: an organizer's event naming more attendees than
// the scheduler delivers to is refused (RFC 4791 §5.3.2.1
// max-attendees-per-instance) before any lookup or message; one at the
// limit is scheduled. A component holds at most ical's MaxProps
// properties, so the attendees are spread over a series' instances.
func TestTooManyAttendees(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cal := e.calURL("alice")
	// crowd returns a daily series of two with n attendees in all: alice,
	// bob and guests, half of them on the moved second instance.
	crowd := func(n int) string {
		var master, moved strings.Builder
		master.WriteString("ATTENDEE:mailto:alice@acme.test\r\nATTENDEE:mailto:bob@acme.test\r\n")
		for i := 2; i < n; i++ {
			b := &master
			if i%2 == 1 {
				b = &moved
			}
			fmt.Fprintf(b, "ATTENDEE:mailto:guest%d@example.com\r\n", i)
		}
		return crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:crowd
DTSTAMP:20240101T000000Z
DTSTART:20240110T100000Z
DTEND:20240110T110000Z
RRULE:FREQ=DAILY;COUNT=2
ORGANIZER:mailto:alice@acme.test
`) + master.String() + crlf(`END:VEVENT
BEGIN:VEVENT
UID:crowd
DTSTAMP:20240101T000000Z
RECURRENCE-ID:20240111T100000Z
DTSTART:20240111T120000Z
DTEND:20240111T130000Z
ORGANIZER:mailto:alice@acme.test
`) + moved.String() + crlf(`END:VEVENT
END:VCALENDAR
`)
	}
	r := e.do("alice", "PUT", cal+"crowd.ics", crowd(groupware.DefaultMaxAttendees+1))
	r.must(t, http.StatusForbidden)
	if !strings.Contains(r.body, "max-attendees-per-instance") {
		t.Errorf("refusal without the precondition:\n%s", r.body)
	}
	if got := e.out.all(); len(got) != 0 {
		t.Errorf("%d iTIP messages for a refused event", len(got))
	}
	e.do("bob", "GET", e.calURL("bob")+"crowd.ics", "").must(t, http.StatusNotFound)
	e.do("alice", "PUT", cal+"crowd.ics", crowd(groupware.DefaultMaxAttendees)).must(t, http.StatusCreated)
	e.do("bob", "GET", e.calURL("bob")+"crowd.ics", "").must(t, http.StatusOK)
}
