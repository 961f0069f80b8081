package groupware

import (
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
)

func cal(t *testing.T, body string) *ical.Component {
	t.Helper()
	src := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + strings.ReplaceAll(strings.TrimSpace(body), "\n", "\r\n") + "\r\nEND:VCALENDAR\r\n"
	c, err := ical.Decode([]byte(src), ical.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ts(s string) time.Time {
	t, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestIndexCalendar(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		start, end string // "" = zero (unbounded)
		recurring  bool
	}{
		{"single", "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nEND:VEVENT", "20240101T100000Z", "20240101T110000Z", false},
		{"count", "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT", "20240101T100000Z", "20240103T110000Z", true},
		{"until", "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nRRULE:FREQ=WEEKLY;UNTIL=20240115T100000Z\nEND:VEVENT", "20240101T100000Z", "20240115T110000Z", true},
		{"unbounded", "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nRRULE:FREQ=DAILY\nEND:VEVENT", "20240101T100000Z", "", true},
		{"count bomb", "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nRRULE:FREQ=SECONDLY;COUNT=1000000000\nEND:VEVENT", "20240101T100000Z", "", true},
		{"override moves earlier", "BEGIN:VEVENT\nUID:a\nDTSTART:20240108T100000Z\nDTEND:20240108T110000Z\nRRULE:FREQ=WEEKLY;COUNT=2\nEND:VEVENT\nBEGIN:VEVENT\nUID:a\nRECURRENCE-ID:20240115T100000Z\nDTSTART:20240102T100000Z\nDTEND:20240102T110000Z\nEND:VEVENT", "20240102T100000Z", "20240108T110000Z", true},
		{"floating widened", "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000\nDTEND:20240101T110000\nEND:VEVENT", "20231231T200000Z", "20240102T010000Z", false},
		{"all day", "BEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20240101\nEND:VEVENT", "20231231T100000Z", "20240102T140000Z", false},
		{"undated todo", "BEGIN:VTODO\nUID:a\nSUMMARY:x\nEND:VTODO", "", "", false},
		{"due todo", "BEGIN:VTODO\nUID:a\nDUE:20240105T000000Z\nEND:VTODO", "20240105T000000Z", "20240105T000001Z", false},
	} {
		ix, err := IndexCalendar(cal(t, tc.body), nil)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var ws, we time.Time
		if tc.start != "" {
			ws = ts(tc.start)
		}
		if tc.end != "" {
			we = ts(tc.end)
		}
		if !ix.Start.Equal(ws) || !ix.End.Equal(we) || ix.Recurring != tc.recurring || ix.UID != "a" {
			t.Errorf("%s: got %v..%v recurring %v uid %q, want %v..%v %v", tc.name, ix.Start, ix.End, ix.Recurring, ix.UID, ws, we, tc.recurring)
		}
	}
}

func TestValidateCalendar(t *testing.T) {
	t.Parallel()
	if err := ValidateCalendar(cal(t, "METHOD:REQUEST\nBEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEND:VEVENT")); err == nil {
		t.Error("METHOD accepted")
	}
	if err := ValidateCalendar(cal(t, "BEGIN:VTIMEZONE\nTZID:x\nEND:VTIMEZONE")); err == nil {
		t.Error("no component accepted")
	}
	if err := ValidateCalendar(cal(t, "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEND:VEVENT")); err != nil {
		t.Error(err)
	}
}

func TestBusyPeriods(t *testing.T) {
	t.Parallel()
	c := cal(t, `BEGIN:VEVENT
UID:a
DTSTART:20240101T090000Z
DTEND:20240101T100000Z
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT`)
	ps := BusyPeriods(c, nil, ts("20240101T093000Z"), ts("20240102T120000Z"))
	if len(ps) != 2 || !ps[0].Start.Equal(ts("20240101T093000Z")) || !ps[1].Start.Equal(ts("20240102T090000Z")) || ps[0].Type != Busy {
		t.Errorf("busy %+v", ps)
	}
	tr := cal(t, "BEGIN:VEVENT\nUID:b\nDTSTART:20240101T090000Z\nDTEND:20240101T100000Z\nTRANSP:TRANSPARENT\nEND:VEVENT")
	if ps := BusyPeriods(tr, nil, time.Time{}, time.Time{}); len(ps) != 0 {
		t.Errorf("transparent busy %+v", ps)
	}
	m := MergePeriods([]Period{
		{ts("20240101T100000Z"), ts("20240101T110000Z"), Busy},
		{ts("20240101T103000Z"), ts("20240101T120000Z"), Busy},
		{ts("20240101T130000Z"), ts("20240101T140000Z"), Busy},
		{ts("20240101T100000Z"), ts("20240101T110000Z"), BusyTentative},
	})
	if len(m) != 3 || !m[0].End.Equal(ts("20240101T120000Z")) {
		t.Errorf("merged %+v", m)
	}
	fb, err := ical.Marshal(FreeBusy(m, ts("20240101T000000Z"), ts("20240102T000000Z"), ts("20240101T000000Z"), "", "", "", ""))
	if err != nil || !strings.Contains(string(fb), "FREEBUSY:20240101T100000Z/20240101T120000Z") || !strings.Contains(string(fb), "FBTYPE=BUSY-TENTATIVE") {
		t.Errorf("%v\n%s", err, fb)
	}
}

func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	p := func(a, b string) Period { return Period{Start: ts(a), End: ts(b), Type: Busy} }
	ps := []Period{p("20240101T100000Z", "20240101T110000Z"), p("20240101T110000Z", "20240101T120000Z"), p("20240101T103000Z", "20240101T113000Z")}
	if n := maxConcurrent(ps, ts("20240101T090000Z"), ts("20240101T130000Z")); n != 2 {
		t.Errorf("got %d, want 2", n)
	}
	if n := maxConcurrent(ps[:2], ts("20240101T090000Z"), ts("20240101T130000Z")); n != 1 {
		t.Errorf("back to back: got %d, want 1", n)
	}
	if n := maxConcurrent(ps, ts("20240101T120000Z"), ts("20240101T130000Z")); n != 0 {
		t.Errorf("outside: got %d", n)
	}
}

func TestAddr(t *testing.T) {
	t.Parallel()
	if a := Addr(" MAILTO:Bob@Acme.Test "); a != "bob@acme.test" {
		t.Errorf("%q", a)
	}
}

func TestIndexNoInstances(t *testing.T) {
	t.Parallel()
	ix, err := IndexCalendar(cal(t, "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nRRULE:FREQ=DAILY;COUNT=1\nEXDATE:20240101T100000Z\nEND:VEVENT"), nil)
	if err != nil || !ix.Start.IsZero() || !ix.End.IsZero() {
		t.Errorf("all instances excluded: %+v %v", ix, err)
	}
}
