package ical

import (
	"slices"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestVTimezoneMatchesIANA compares the zone built from nyTZ with the
// IANA database, hour by hour around the DST changes of several years.
func TestVTimezoneMatchesIANA(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no IANA database:", err)
	}
	zones := NewZones(calendar(t, ""))
	vz, ok := zones.Zone("America/New_York")
	if !ok {
		t.Fatal("zone missing")
	}
	if _, isV := vz.(*vzone); !isV {
		t.Fatal("VTIMEZONE not preferred over IANA")
	}
	iz := LocationZone(loc)
	for _, y := range []int{1997, 2006, 2007, 2024, 2035} {
		for w := time.Date(y, 1, 1, 0, 30, 0, 0, time.UTC); w.Year() == y; w = w.Add(time.Hour) {
			if a, b := vz.Instant(w), iz.Instant(w); !a.Equal(b) {
				t.Fatalf("%v: VTIMEZONE %v, IANA %v", w, a, b)
			}
		}
	}
}

func TestDSTGapAndOverlap(t *testing.T) {
	t.Parallel()
	zones := NewZones(calendar(t, ""))
	z, _ := zones.Zone("America/New_York")
	// 2024-03-10 02:30 does not exist: read with the offset before the gap (EST).
	if got := z.Instant(time.Date(2024, 3, 10, 2, 30, 0, 0, time.UTC)); !got.Equal(utc("20240310T073000Z")) {
		t.Errorf("gap: %v", got)
	}
	// 2024-11-03 01:30 happens twice: the first (EDT) is meant.
	if got := z.Instant(time.Date(2024, 11, 3, 1, 30, 0, 0, time.UTC)); !got.Equal(utc("20241103T053000Z")) {
		t.Errorf("overlap: %v", got)
	}
}

func TestExpandDailyAcrossDST(t *testing.T) {
	t.Parallel()
	cal := calendar(t, `BEGIN:VEVENT
UID:dst
DTSTART;TZID=America/New_York:20240309T013000
DTEND;TZID=America/New_York:20240309T033000
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT
`)
	occ, err := Expand(SeriesOf(cal, nil)[0], time.Time{}, time.Time{}, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{"20240309T063000Z", "20240309T083000Z"},
		{"20240310T063000Z", "20240310T083000Z"}, // same length (exact), crosses 02:00→03:00
		{"20240311T053000Z", "20240311T073000Z"},
	}
	if len(occ) != 3 {
		t.Fatalf("%d occurrences", len(occ))
	}
	for i, w := range want {
		if !occ[i].Start.Equal(utc(w[0])) || !occ[i].End.Equal(utc(w[1])) {
			t.Errorf("%d: %v–%v, want %v", i, occ[i].Start, occ[i].End, w)
		}
	}
}

func TestExpandAllDay(t *testing.T) {
	t.Parallel()
	cal := calendar(t, `BEGIN:VEVENT
UID:allday
DTSTART;VALUE=DATE:20240101
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;VALUE=DATE:20240108
END:VEVENT
`)
	zones := NewZones(cal)
	zones.Floating, _ = time.LoadLocation("Europe/Berlin")
	if zones.Floating == nil {
		zones.Floating = time.FixedZone("CET", 3600)
	}
	s := SeriesOf(cal, zones)[0]
	occ, err := Expand(s, time.Time{}, time.Time{}, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range occ {
		got = append(got, o.Start.UTC().Format("20060102T1504")+"/"+o.End.Sub(o.Start).String())
		if !o.Date {
			t.Error("Date not set")
		}
	}
	want := []string{"20231231T2300/24h0m0s", "20240114T2300/24h0m0s", "20240121T2300/24h0m0s"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	// A query for the morning of Jan 15 in UTC finds only that day.
	occ, _ = Expand(s, utc("20240115T000000Z"), utc("20240115T120000Z"), ExpandLimits{})
	if len(occ) != 1 {
		t.Errorf("range query: %d", len(occ))
	}
}

func TestExpandOverrides(t *testing.T) {
	t.Parallel()
	cal := calendar(t, `BEGIN:VEVENT
UID:weekly
DTSTART;TZID=America/New_York:20240102T100000
DURATION:PT1H
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=America/New_York:20240116T100000
RDATE;TZID=America/New_York:20240120T150000
RDATE;VALUE=PERIOD:20240125T120000Z/PT3H
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:weekly
RECURRENCE-ID;TZID=America/New_York:20240109T100000
DTSTART;TZID=America/New_York:20240109T140000
DTEND;TZID=America/New_York:20240109T160000
SUMMARY:Moved
END:VEVENT
BEGIN:VEVENT
UID:weekly
RECURRENCE-ID;TZID=America/New_York:20240301T100000
DTSTART;TZID=America/New_York:20240301T100000
DURATION:PT30M
SUMMARY:Orphan override
END:VEVENT
`)
	ss := SeriesOf(cal, nil)
	if len(ss) != 1 || len(ss[0].Overrides) != 2 {
		t.Fatalf("series %+v", ss)
	}
	occ, err := Expand(ss[0], time.Time{}, time.Time{}, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		start, end, summary string
		override            bool
	}
	var got []row
	for _, o := range occ {
		got = append(got, row{o.Start.UTC().Format("0102T1504"), o.End.UTC().Format("0102T1504"), o.Component.Text("SUMMARY"), o.Override})
	}
	want := []row{
		{"0102T1500", "0102T1600", "Standup", false},
		{"0109T1900", "0109T2100", "Moved", true},
		{"0120T2000", "0120T2100", "Standup", false},
		{"0123T1500", "0123T1600", "Standup", false},
		{"0125T1200", "0125T1500", "Standup", false},
		{"0130T1500", "0130T1600", "Standup", false},
		{"0301T1500", "0301T1530", "Orphan override", true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	// The moved instance is found at its new time only.
	occ, _ = Expand(ss[0], utc("20240109T150000Z"), utc("20240109T160000Z"), ExpandLimits{})
	if len(occ) != 0 {
		t.Errorf("old slot still busy: %+v", occ)
	}
	occ, _ = Expand(ss[0], utc("20240109T200000Z"), utc("20240109T203000Z"), ExpandLimits{})
	if len(occ) != 1 || !occ[0].Override {
		t.Errorf("new slot: %+v", occ)
	}
}

// TestTimeRange follows the VEVENT rows of RFC 4791 §9.9.
func TestTimeRange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body   string
		qs, qe string
		want   bool
	}{
		{"DTSTART:20240101T100000Z\nDTEND:20240101T110000Z\n", "20240101T110000Z", "20240101T120000Z", false},
		{"DTSTART:20240101T100000Z\nDTEND:20240101T110000Z\n", "20240101T105959Z", "20240101T120000Z", true},
		{"DTSTART:20240101T100000Z\nDTEND:20240101T110000Z\n", "20240101T090000Z", "20240101T100000Z", false},
		{"DTSTART:20240101T100000Z\n", "20240101T100000Z", "20240101T100001Z", true},
		{"DTSTART:20240101T100000Z\n", "20240101T090000Z", "20240101T100000Z", false},
		{"DTSTART:20240101T100000Z\nDURATION:PT0S\n", "20240101T100000Z", "20240101T110000Z", true},
		{"DTSTART;VALUE=DATE:20240101\n", "20240101T230000Z", "20240102T000000Z", true},
		{"DTSTART;VALUE=DATE:20240101\n", "20240102T000000Z", "20240102T010000Z", false},
		{"DTSTART:20240101T100000\n", "20240101T100000Z", "20240101T100001Z", true}, // floating, UTC viewer
	}
	for i, tc := range cases {
		cal := calendar(t, "BEGIN:VEVENT\nUID:r\n"+tc.body+"END:VEVENT\n")
		occ, err := Expand(SeriesOf(cal, nil)[0], utc(tc.qs), utc(tc.qe), ExpandLimits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(occ) == 1; got != tc.want {
			t.Errorf("%d: got %v want %v", i, got, tc.want)
		}
	}
}

func TestTodoWithoutDates(t *testing.T) {
	t.Parallel()
	cal := calendar(t, "BEGIN:VTODO\nUID:t1\nSUMMARY:any time\nEND:VTODO\nBEGIN:VTODO\nUID:t2\nDUE:20240105T100000Z\nEND:VTODO\n")
	ss := SeriesOf(cal, nil)
	occ, _ := Expand(ss[0], utc("20300101T000000Z"), utc("20300102T000000Z"), ExpandLimits{})
	if len(occ) != 1 {
		t.Errorf("undated todo: %d", len(occ))
	}
	occ, _ = Expand(ss[1], utc("20240105T000000Z"), utc("20240106T000000Z"), ExpandLimits{})
	if len(occ) != 1 || !occ[0].Start.Equal(utc("20240105T100000Z")) {
		t.Errorf("due todo: %+v", occ)
	}
	// RFC 4791 §9.9 VTODO rows.
	for i, tc := range []struct {
		body   string
		qs, qe string
		want   bool
	}{
		{"DTSTART:20240101T100000Z\nDUE:20240101T120000Z\n", "20240101T090000Z", "20240101T100000Z", false},
		{"DTSTART:20240101T100000Z\nDUE:20240101T120000Z\n", "20240101T120000Z", "20240101T130000Z", false},
		{"DTSTART:20240101T100000Z\nDUE:20240101T120000Z\n", "20240101T110000Z", "20240101T113000Z", true},
		{"COMPLETED:20240101T100000Z\n", "20240101T100000Z", "20240101T100000Z", true},
		{"COMPLETED:20240101T100000Z\n", "20240101T100001Z", "20240101T110000Z", false},
		{"CREATED:20240101T100000Z\n", "20230101T000000Z", "20240101T100000Z", false},
		{"CREATED:20240101T100000Z\n", "20230101T000000Z", "20240101T100001Z", true},
	} {
		cal := calendar(t, "BEGIN:VTODO\nUID:r\n"+tc.body+"END:VTODO\n")
		occ, _ := Expand(SeriesOf(cal, nil)[0], utc(tc.qs), utc(tc.qe), ExpandLimits{})
		if got := len(occ) == 1; got != tc.want {
			t.Errorf("todo %d: got %v want %v", i, got, tc.want)
		}
	}
}

func TestDateTimeAndDuration(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"20240101", "20240101T120000", "20240101T120000Z"} {
		d, err := ParseDateTime(v, "")
		if err != nil || d.String() != v {
			t.Errorf("%s: %v %q", v, err, d.String())
		}
	}
	for _, v := range []string{"2024010", "20241301", "20240230", "20240101T250000", "20240101X120000", "2024010aT000000"} {
		if _, err := ParseDateTime(v, ""); err == nil {
			t.Errorf("%s: no error", v)
		}
	}
	for v, want := range map[string]string{"P1W": "P1W", "-PT15M": "-PT15M", "P1DT2H3M4S": "P1DT2H3M4S", "+P2D": "P2D", "PT0S": "PT0S",
		"P1DT": "P1D", "-P2WT": "-P2W"} { // a trailing T is read liberally (issue 9.6)
		d, err := ParseDuration(v)
		if err != nil || d.String() != want {
			t.Errorf("%s: %v %q", v, err, d.String())
		}
	}
	for _, v := range []string{"P", "PT", "1D", "P1H", "PT1D", "P1DTT", "PTT1H", "P1DT1"} {
		if _, err := ParseDuration(v); err == nil {
			t.Errorf("%s: no error", v)
		}
	}
}

func TestZoneCache(t *testing.T) {
	t.Parallel()
	var zc ZoneCache
	a := zc.Zones(calendar(t, ""))
	b := zc.Zones(calendar(t, ""))
	za, _ := a.Zone("America/New_York")
	zb, _ := b.Zone("America/New_York")
	if za != zb {
		t.Error("zone not shared")
	}
	w := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	if !za.Instant(w).Equal(utc("20240701T160000Z")) {
		t.Errorf("got %v", za.Instant(w))
	}
}

func TestThisAndFuture(t *testing.T) {
	t.Parallel()
	cal := calendar(t, `BEGIN:VEVENT
UID:taf
DTSTART:20240101T100000Z
DURATION:PT1H
RRULE:FREQ=DAILY;COUNT=5
END:VEVENT
BEGIN:VEVENT
UID:taf
RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z
DTSTART:20240103T120000Z
DURATION:PT30M
SUMMARY:later and shorter
END:VEVENT
`)
	occ, err := Expand(SeriesOf(cal, nil)[0], time.Time{}, time.Time{}, ExpandLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range occ {
		got = append(got, o.Start.Format("02T1504")+"-"+o.End.Format("1504"))
	}
	want := []string{"01T1000-1100", "02T1000-1100", "03T1200-1230", "04T1200-1230", "05T1200-1230"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	s, e, ok, err := SeriesOf(cal, nil)[0].Zones.Span(cal.Sub(VEvent)[1])
	if !ok || err != nil || !s.Equal(utc("20240103T120000Z")) || e.Sub(s) != 30*time.Minute {
		t.Errorf("Span %v %v %v %v", s, e, ok, err)
	}
}

func TestIANAAndUnknownTZID(t *testing.T) {
	t.Parallel()
	cal, err := Decode(crlf("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=Europe/Berlin:20240701T120000\nEND:VEVENT\nBEGIN:VEVENT\nUID:b\nDTSTART;TZID=Mars/Olympus_Mons:20240701T120000\nEND:VEVENT\nEND:VCALENDAR\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	zones := NewZones(cal)
	ss := SeriesOf(cal, zones)
	if _, err := time.LoadLocation("Europe/Berlin"); err == nil {
		s, _, _, _ := zones.Span(ss[0].Master)
		if !s.Equal(utc("20240701T100000Z")) {
			t.Errorf("IANA: %v", s)
		}
	}
	if _, ok := zones.Zone("Mars/Olympus_Mons"); ok {
		t.Error("unknown zone resolved")
	}
	zones.Floating = time.FixedZone("X", 3600)
	s, _, _, _ := zones.Span(ss[1].Master)
	if !s.Equal(utc("20240701T110000Z")) {
		t.Errorf("unknown TZID not read as floating: %v", s)
	}
}
