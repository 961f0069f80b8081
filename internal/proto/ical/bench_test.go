package ical

import (
	"fmt"
	"testing"
	"time"
)

func benchObject(i int) []byte {
	return crlf(fmt.Sprintf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//roost//bench//EN\n%sBEGIN:VEVENT\nUID:ev%d@example.com\nDTSTAMP:20240101T000000Z\nDTSTART;TZID=America/New_York:2024%02d%02dT%02d0000\nDURATION:PT1H\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR\nSUMMARY:Event %d\nEND:VEVENT\nEND:VCALENDAR\n",
		nyTZ, i, i%12+1, i%28+1, i%10+8, i))
}

func BenchmarkDecode(b *testing.B) {
	src := benchObject(1)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Decode(src, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCalendarQuery is the work of a calendar-query time-range REPORT
// per calendar object: decode, resolve zones, expand over one month.
func BenchmarkCalendarQuery(b *testing.B) {
	objs := make([][]byte, 100)
	for i := range objs {
		objs[i] = benchObject(i)
	}
	qs := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	qe := qs.AddDate(0, 1, 0)
	var cache ZoneCache
	i := 0
	for b.Loop() {
		cal, err := Decode(objs[i%len(objs)], Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range SeriesOf(cal, cache.Zones(cal)) {
			if _, err := Expand(s, qs, qe, ExpandLimits{}); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
}

func BenchmarkExpandYearOfDaily(b *testing.B) {
	cal := calendar(b, "BEGIN:VEVENT\nUID:x\nDTSTART;TZID=America/New_York:20200101T090000\nDURATION:PT30M\nRRULE:FREQ=DAILY\nEND:VEVENT\n")
	s := SeriesOf(cal, nil)[0]
	qs := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		occ, err := Expand(s, qs, qs.AddDate(1, 0, 0), ExpandLimits{})
		if err != nil || len(occ) < 365 {
			b.Fatal(len(occ), err)
		}
	}
}
