package ical

import (
	"testing"
	"time"
)

// Sub-daily rules far from DTSTART: skipping must land within one period
// of the query, not a day before it, or a SECONDLY rule exhausts the
// iteration budget and matches nothing.
func TestExpandSubDailyFarAway(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rule string
		want int
	}{
		{"FREQ=SECONDLY", 60},
		{"FREQ=SECONDLY;INTERVAL=7", 9},
		{"FREQ=MINUTELY", 1},
		{"FREQ=HOURLY;INTERVAL=5", 1},
	} {
		src := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20240101T000000Z\r\nDTEND:20240101T000001Z\r\nRRULE:" + tc.rule + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		cal, err := Decode([]byte(src), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		qs := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
		if tc.rule == "FREQ=HOURLY;INTERVAL=5" {
			qs = time.Date(2099, 1, 1, 4, 0, 0, 0, time.UTC) // 657,460 h after DTSTART, a multiple of 5
		}
		occ, err := Expand(SeriesOf(cal, nil)[0], qs, qs.Add(time.Minute), ExpandLimits{})
		if err != nil || len(occ) != tc.want {
			t.Errorf("%s: %d instances, %v; want %d", tc.rule, len(occ), err, tc.want)
		}
		for _, o := range occ {
			if o.Start.Before(qs.Add(-time.Second)) || !o.Start.Before(qs.Add(time.Minute)) {
				t.Errorf("%s: instance %v outside the query", tc.rule, o.Start)
			}
		}
	}
}
