package ical

import (
	"reflect"
	"runtime"
	"testing"
	"time"
)

func FuzzDecode(f *testing.F) {
	f.Add(crlf(rfcEvent))
	f.Add(crlf("BEGIN:VCALENDAR\n" + nyTZ + "BEGIN:VEVENT\nUID:a\nDTSTART;TZID=America/New_York:20240101T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE\nEND:VEVENT\nEND:VCALENDAR\n"))
	f.Add([]byte("BEGIN:X\r\nA;B=\"c,d\";E=f,g:h\r\n i\r\nEND:X\r\n"))
	f.Add([]byte("BEGIN:X\nA;B=^^^n^':v\nEND:x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxBytes: 1 << 16, MaxDepth: 8, MaxComponents: 200, MaxProps: 200}
		cs, err := DecodeAll(b, lim)
		if err != nil {
			return
		}
		var out []byte
		for _, c := range cs {
			e, err := Marshal(c)
			if err != nil {
				t.Fatalf("marshal of decoded tree: %v", err)
			}
			out = append(out, e...)
			// Accessors must not panic on anything Decode accepts.
			for _, s := range SeriesOf(c, nil) {
				_, _ = Expand(s, time.Time{}, time.Time{}, ExpandLimits{MaxInstances: 20, MaxIterations: 2000})
			}
		}
		cs2, err := DecodeAll(out, Limits{})
		if err != nil {
			t.Fatalf("re-decode: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(cs, cs2) {
			t.Fatalf("not stable:\n%q", out)
		}
	})
}

func FuzzExpand(f *testing.F) {
	for _, tc := range rfcExamples {
		f.Add(tc.rule, tc.dtstart, int64(0), int64(0))
	}
	f.Add("FREQ=SECONDLY", "20200101T000000", int64(1e9), int64(1e9+3600))
	f.Add("FREQ=SECONDLY;COUNT=1000000000", "20200101T000000", int64(0), int64(0))
	f.Add("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "20200101", int64(0), int64(4e9))
	f.Fuzz(func(t *testing.T, rule, dtstart string, qs, qe int64) {
		r, err := ParseRecur(rule)
		if err != nil {
			return
		}
		if _, err := ParseRecur(r.String()); err != nil {
			t.Fatalf("String() not parseable: %q: %v", r.String(), err)
		}
		if _, err := ParseDateTime(dtstart, ""); err != nil {
			return
		}
		ev := &Component{Name: VEvent, Props: []*Property{
			{Name: "UID", Value: "f"},
			{Name: "DTSTART", Value: dtstart},
			{Name: "RRULE", Value: rule},
		}}
		var start, end time.Time
		if qs != 0 {
			start = time.Unix(qs%(1<<36), 0)
		}
		if qe != 0 {
			end = time.Unix(qe%(1<<36), 0)
		}
		const maxInst = 100
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		t0 := time.Now()
		occ, err := Expand(&Series{Master: ev}, start, end, ExpandLimits{MaxInstances: maxInst, MaxIterations: 20000})
		if d := time.Since(t0); d > 10*time.Second {
			t.Fatalf("%q took %v", rule, d)
		}
		runtime.ReadMemStats(&m1)
		if a := m1.TotalAlloc - m0.TotalAlloc; a > 64<<20 {
			t.Fatalf("%q allocated %d bytes", rule, a)
		}
		if err != nil && !isLimit(err) {
			t.Fatalf("%q: %v", rule, err)
		}
		if len(occ) > maxInst {
			t.Fatalf("%d occurrences", len(occ))
		}
		for i := 1; i < len(occ); i++ {
			if occ[i].Start.Before(occ[i-1].Start) {
				t.Fatalf("unsorted at %d", i)
			}
		}
	})
}
