package davserver_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// fillCalendar puts n events (one in twenty weekly-recurring) into alice's
// calendar through the store, indexed as PUT indexes them.
func fillCalendar(b testing.TB, e *env, n int) {
	f := e.folder("alice", store.SpecialCalendar)
	ctx := e.as("alice")
	base := time.Date(2020, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		st := base.Add(time.Duration(i) * 5 * time.Hour)
		extra := ""
		if i%20 == 0 {
			extra = "RRULE:FREQ=WEEKLY;COUNT=52\r\n"
		}
		body := event(fmt.Sprint("ev", i), st.Format("20060102T150405Z"), st.Add(time.Hour).Format("20060102T150405Z"), extra)
		c, err := ical.Decode([]byte(body), ical.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		ix, err := groupware.IndexCalendar(c, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.db.AppendItem(ctx, f.ID, store.NewItem{Content: strings.NewReader(body), Name: fmt.Sprintf("ev%d.ics", i),
			ObjectUID: ix.UID, Start: ix.Start, End: ix.End}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCalendarQuery10k: a one-week time-range calendar-query over a
// 10,000-event calendar, asking for etags and data.
func BenchmarkCalendarQuery10k(b *testing.B) {
	e := newEnv(b)
	fillCalendar(b, e, 10000)
	cal := e.calURL("alice")
	q := calQuery("20210301T000000Z", "20210308T000000Z", "", "<D:getetag/><C:calendar-data/>")
	r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(b, http.StatusMultiStatus)
	b.Logf("%d results", strings.Count(r.body, "<D:response>"))
	b.ResetTimer()
	for b.Loop() {
		e.do("alice", "REPORT", cal, q, "Depth", "1").must(b, http.StatusMultiStatus)
	}
}

// BenchmarkPropfindDepth1_10k lists the etags of a 10,000-event calendar.
func BenchmarkPropfindDepth1_10k(b *testing.B) {
	e := newEnv(b)
	fillCalendar(b, e, 10000)
	cal := e.calURL("alice")
	q := `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/></D:prop></D:propfind>`
	b.ResetTimer()
	for b.Loop() {
		e.do("alice", "PROPFIND", cal, q, "Depth", "1").must(b, http.StatusMultiStatus)
	}
}

// BenchmarkMultiget500 fetches 500 events by href.
func BenchmarkMultiget500(b *testing.B) {
	e := newEnv(b)
	fillCalendar(b, e, 2000)
	cal := e.calURL("alice")
	var hs strings.Builder
	for i := range 500 {
		fmt.Fprintf(&hs, "<D:href>%sev%d.ics</D:href>", cal, i*3)
	}
	q := `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` + hs.String() + `</C:calendar-multiget>`
	b.ResetTimer()
	for b.Loop() {
		r := e.do("alice", "REPORT", cal, q, "Depth", "1").must(b, http.StatusMultiStatus)
		if n := strings.Count(r.body, "BEGIN:VEVENT"); n != 500 {
			b.Fatalf("%d events", n)
		}
	}
}
