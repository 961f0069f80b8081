package davserver_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/davserver"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// inboxItems lists the members of login's schedule inbox with their
// calendar data.
func inboxItems(t *testing.T, e *env, login string) (members []string, datas []string) {
	t.Helper()
	inbox := "/dav/calendars/" + login + "/inbox/"
	r := e.do(login, "PROPFIND", inbox, `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, "Depth", "1").must(t, http.StatusMultiStatus)
	for _, h := range hrefs(r.body) {
		if h == inbox {
			continue
		}
		members = append(members, h)
		datas = append(datas, e.do(login, "GET", h, "").must(t, http.StatusOK).body)
	}
	return members, datas
}

// TestScheduleInbox: issue 9.7. iTIP messages are also placed in the
// recipient's schedule inbox (RFC 6638 §2.2, §4.1), kept in step with
// the calendar, while delivery into the calendar stays as it was.
func TestScheduleInbox(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, func(o *davserver.Options) { o.Now = clock.now })
	aliceCal, bobCal := e.calURL("alice"), e.calURL("bob")
	unfold := func(s string) string { return strings.ReplaceAll(s, "\r\n ", "") }

	// Empty before anything arrives.
	if hs, _ := inboxItems(t, e, "bob"); len(hs) != 0 {
		t.Fatalf("bob's inbox before any invitation: %v", hs)
	}
	inv := meeting("ib-1", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test")
	e.do("alice", "PUT", aliceCal+"ib.ics", inv).must(t, http.StatusCreated)
	bob := e.do("bob", "GET", bobCal+"ib-1.ics", "").must(t, http.StatusOK).body // in the calendar as before
	hs, ds := inboxItems(t, e, "bob")
	if len(hs) != 1 || !strings.Contains(ds[0], "METHOD:REQUEST") || !strings.Contains(ds[0], "UID:ib-1") || strings.Contains(ds[0], "SCHEDULE-STATUS") {
		t.Fatalf("bob's inbox after the invitation: %v\n%v", hs, ds)
	}
	// The inbox folder is not one of bob's calendars.
	r := e.do("bob", "PROPFIND", "/dav/calendars/bob/", propfindDiscovery, "Depth", "1").must(t, http.StatusMultiStatus)
	for _, h := range hrefs(r.body) {
		if strings.Contains(h, "~") {
			t.Errorf("calendar home lists the inbox folder: %s", h)
		}
	}
	// Clients read it with multiget and watch its ctag.
	mg := `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>` + hs[0] + `</D:href></C:calendar-multiget>`
	if r := e.do("bob", "REPORT", "/dav/calendars/bob/inbox/", mg, "Depth", "1").must(t, http.StatusMultiStatus); !strings.Contains(r.body, "METHOD:REQUEST") {
		t.Errorf("multiget on the inbox:\n%s", r.body)
	}
	ctag := `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>`
	if r := e.do("bob", "PROPFIND", "/dav/calendars/bob/inbox/", ctag, "Depth", "0").must(t, http.StatusMultiStatus); !strings.Contains(r.body, "getctag>") || strings.Contains(r.body, "404") {
		t.Errorf("inbox ctag:\n%s", r.body)
	}
	// Only the server writes there.
	e.do("bob", "PUT", hs[0], inv).must(t, http.StatusForbidden)
	e.do("bob", "COPY", bobCal+"ib-1.ics", "", "Destination", e.url+"/dav/calendars/bob/inbox/x.ics").must(t, http.StatusForbidden)

	// An update replaces the message for the UID: still one.
	upd := strings.Replace(inv, "SUMMARY:Event ib-1", "SUMMARY:Moved", 1)
	e.do("alice", "PUT", aliceCal+"ib.ics", upd).must(t, http.StatusNoContent)
	if hs, ds := inboxItems(t, e, "bob"); len(hs) != 1 || !strings.Contains(ds[0], "SUMMARY:Moved") {
		t.Fatalf("bob's inbox after the update: %v\n%v", hs, ds)
	}
	// Bob answers: the invitation is processed, and alice's inbox has the REPLY.
	bob = e.do("bob", "GET", bobCal+"ib-1.ics", "").must(t, http.StatusOK).body
	acc := strings.NewReplacer("PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@acme.test", "PARTSTAT=ACCEPTED:mailto:bob@acme.test",
		"RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:bob@acme.test", "PARTSTAT=ACCEPTED:mailto:bob@acme.test").Replace(unfold(bob))
	if acc == unfold(bob) {
		t.Fatalf("no NEEDS-ACTION in bob's copy:\n%s", bob)
	}
	e.do("bob", "PUT", bobCal+"ib-1.ics", acc).must(t, http.StatusNoContent)
	if hs, _ := inboxItems(t, e, "bob"); len(hs) != 0 {
		t.Errorf("bob's inbox after he answered: %v", hs)
	}
	hs, ds = inboxItems(t, e, "alice")
	if len(hs) != 1 || !strings.Contains(ds[0], "METHOD:REPLY") || partstatOf(ds[0], "bob@acme.test") != "ACCEPTED" {
		t.Fatalf("alice's inbox after bob's answer: %v\n%v", hs, ds)
	}
	// A client deleting a processed message schedules nothing.
	e.do("alice", "DELETE", hs[0], "").must(t, http.StatusNoContent)
	if got := partstatOf(e.do("alice", "GET", aliceCal+"ib.ics", "").must(t, http.StatusOK).body, "bob@acme.test"); got != "ACCEPTED" {
		t.Errorf("deleting the inbox message changed the meeting: bob %s", got)
	}
	// The organizer cancels: bob's inbox has the CANCEL.
	e.do("alice", "DELETE", aliceCal+"ib.ics", "").must(t, http.StatusNoContent)
	if hs, ds := inboxItems(t, e, "bob"); len(hs) != 1 || !strings.Contains(ds[0], "METHOD:CANCEL") {
		t.Fatalf("bob's inbox after the cancellation: %v\n%v", hs, ds)
	}

	// Messages older than the TTL (30 days by default) go when the inbox
	// is next written.
	e.do("alice", "PUT", aliceCal+"ib2.ics", meeting("ib-2", "alice@acme.test", "20240210T100000Z", "20240210T110000Z", "", "carol@acme.test")).must(t, http.StatusCreated)
	clock.add(31 * 24 * time.Hour)
	e.do("alice", "PUT", aliceCal+"ib3.ics", meeting("ib-3", "alice@acme.test", "20240310T100000Z", "20240310T110000Z", "", "carol@acme.test")).must(t, http.StatusCreated)
	hs, ds = inboxItems(t, e, "carol")
	if len(hs) != 1 || !strings.Contains(ds[0], "UID:ib-3") {
		t.Fatalf("carol's inbox after 31 days: %v\n%v", hs, ds)
	}
	// Both invitations are in carol's calendar regardless.
	for _, uid := range []string{"ib-2", "ib-3"} {
		e.do("carol", "GET", e.calURL("carol")+uid+".ics", "").must(t, http.StatusOK)
	}
}

// TestScheduleInboxOff: a negative TTL (dav_schedule_inbox_days = 0)
// keeps no copies; delivery into the calendar is unchanged.
func TestScheduleInboxOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *davserver.Options) { o.ScheduleInboxTTL = -1 })
	e.do("alice", "PUT", e.calURL("alice")+"x.ics", meeting("off-1", "alice@acme.test", "20240110T100000Z", "20240110T110000Z", "", "bob@acme.test")).must(t, http.StatusCreated)
	e.do("bob", "GET", e.calURL("bob")+"off-1.ics", "").must(t, http.StatusOK)
	if hs, _ := inboxItems(t, e, "bob"); len(hs) != 0 {
		t.Fatalf("inbox copies although turned off: %v", hs)
	}
}
