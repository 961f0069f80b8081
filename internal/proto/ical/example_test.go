package ical_test

import (
	"fmt"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
)

func ExampleExpand() {
	src := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:standup\r\n" +
		"DTSTART:20240101T090000Z\r\nDURATION:PT15M\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"
	cal, err := ical.Decode([]byte(src), ical.Limits{})
	if err != nil {
		panic(err)
	}
	for _, s := range ical.SeriesOf(cal, nil) {
		occ, err := ical.Expand(s, time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), time.Time{}, ical.ExpandLimits{})
		if err != nil {
			panic(err)
		}
		for _, o := range occ {
			fmt.Println(o.Start.Format(time.DateTime), o.End.Sub(o.Start))
		}
	}
	// Output:
	// 2024-01-04 09:00:00 15m0s
	// 2024-01-08 09:00:00 15m0s
	// 2024-01-11 09:00:00 15m0s
}
