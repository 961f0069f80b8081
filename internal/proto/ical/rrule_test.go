package ical

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// d lists days of one month at 09:00, "YYYYMMDD".
func d(y, m int, days ...int) []string {
	var out []string
	for _, x := range days {
		out = append(out, fmt.Sprintf("%04d%02d%02d", y, m, x))
	}
	return out
}

func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func rng(a, b int) []int {
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

// RFC 5545 §3.8.5.3 examples, all with TZID=America/New_York. When
// exact is false only the first len(want) instances are compared.
var rfcExamples = []struct {
	name    string
	dtstart string
	rule    string
	extra   string
	want    []string
	exact   bool
}{
	{"daily 10", "19970902T090000", "FREQ=DAILY;COUNT=10", "", d(1997, 9, rng(2, 11)...), true},
	{"daily until", "19970902T090000", "FREQ=DAILY;UNTIL=19971224T000000Z", "",
		cat(d(1997, 9, rng(2, 30)...), d(1997, 10, rng(1, 31)...), d(1997, 11, rng(1, 30)...), d(1997, 12, rng(1, 23)...)), true},
	{"every other day", "19970902T090000", "FREQ=DAILY;INTERVAL=2", "",
		cat(d(1997, 9, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), d(1997, 10, 2, 4)), false},
	{"every 10 days 5", "19970902T090000", "FREQ=DAILY;INTERVAL=10;COUNT=5", "",
		cat(d(1997, 9, 2, 12, 22), d(1997, 10, 2, 12)), true},
	{"january yearly", "19980101T090000", "FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA", "",
		cat(d(1998, 1, rng(1, 31)...), d(1999, 1, rng(1, 31)...), d(2000, 1, rng(1, 31)...)), true},
	{"january daily", "19980101T090000", "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1", "",
		cat(d(1998, 1, rng(1, 31)...), d(1999, 1, rng(1, 31)...), d(2000, 1, rng(1, 31)...)), true},
	{"weekly 10", "19970902T090000", "FREQ=WEEKLY;COUNT=10", "",
		cat(d(1997, 9, 2, 9, 16, 23, 30), d(1997, 10, 7, 14, 21, 28), d(1997, 11, 4)), true},
	{"weekly until", "19970902T090000", "FREQ=WEEKLY;UNTIL=19971224T000000Z", "",
		cat(d(1997, 9, 2, 9, 16, 23, 30), d(1997, 10, 7, 14, 21, 28), d(1997, 11, 4, 11, 18, 25), d(1997, 12, 2, 9, 16, 23)), true},
	{"every other week", "19970902T090000", "FREQ=WEEKLY;INTERVAL=2;WKST=SU", "",
		cat(d(1997, 9, 2, 16, 30), d(1997, 10, 14, 28), d(1997, 11, 11, 25), d(1997, 12, 9, 23), d(1998, 1, 6, 20), d(1998, 2, 3, 17)), false},
	{"tu th five weeks until", "19970902T090000", "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH", "",
		cat(d(1997, 9, 2, 4, 9, 11, 16, 18, 23, 25, 30), d(1997, 10, 2)), true},
	{"tu th five weeks count", "19970902T090000", "FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH", "",
		cat(d(1997, 9, 2, 4, 9, 11, 16, 18, 23, 25, 30), d(1997, 10, 2)), true},
	{"mo we fr other week", "19970901T090000", "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR", "",
		cat(d(1997, 9, 1, 3, 5, 15, 17, 19, 29), d(1997, 10, 1, 3, 13, 15, 17, 27, 29, 31), d(1997, 11, 10, 12, 14, 24, 26, 28), d(1997, 12, 8, 10, 12, 22)), true},
	{"tu th other week 8", "19970902T090000", "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH", "",
		cat(d(1997, 9, 2, 4, 16, 18, 30), d(1997, 10, 2, 14, 16)), true},
	{"first friday 10", "19970905T090000", "FREQ=MONTHLY;COUNT=10;BYDAY=1FR", "",
		cat(d(1997, 9, 5), d(1997, 10, 3), d(1997, 11, 7), d(1997, 12, 5), d(1998, 1, 2), d(1998, 2, 6), d(1998, 3, 6), d(1998, 4, 3), d(1998, 5, 1), d(1998, 6, 5)), true},
	{"first friday until", "19970905T090000", "FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR", "",
		cat(d(1997, 9, 5), d(1997, 10, 3), d(1997, 11, 7), d(1997, 12, 5)), true},
	{"first and last sunday", "19970907T090000", "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU", "",
		cat(d(1997, 9, 7, 28), d(1997, 11, 2, 30), d(1998, 1, 4, 25), d(1998, 3, 1, 29), d(1998, 5, 3, 31)), true},
	{"second to last monday", "19970922T090000", "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO", "",
		cat(d(1997, 9, 22), d(1997, 10, 20), d(1997, 11, 17), d(1997, 12, 22), d(1998, 1, 19), d(1998, 2, 16)), true},
	{"third to last day", "19970928T090000", "FREQ=MONTHLY;BYMONTHDAY=-3", "",
		cat(d(1997, 9, 28), d(1997, 10, 29), d(1997, 11, 28), d(1997, 12, 29), d(1998, 1, 29), d(1998, 2, 26)), false},
	{"2nd and 15th", "19970902T090000", "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15", "",
		cat(d(1997, 9, 2, 15), d(1997, 10, 2, 15), d(1997, 11, 2, 15), d(1997, 12, 2, 15), d(1998, 1, 2, 15)), true},
	{"first and last day", "19970930T090000", "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1", "",
		cat(d(1997, 9, 30), d(1997, 10, 1, 31), d(1997, 11, 1, 30), d(1997, 12, 1, 31), d(1998, 1, 1, 31), d(1998, 2, 1)), true},
	{"every 18 months", "19970910T090000", "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15", "",
		cat(d(1997, 9, rng(10, 15)...), d(1999, 3, 10, 11, 12, 13)), true},
	{"tuesdays every other month", "19970902T090000", "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU", "",
		cat(d(1997, 9, 2, 9, 16, 23, 30), d(1997, 11, 4, 11, 18, 25), d(1998, 1, 6, 13, 20, 27), d(1998, 3, 3, 10, 17, 24, 31)), false},
	{"june july", "19970610T090000", "FREQ=YEARLY;COUNT=10;BYMONTH=6,7", "",
		cat(d(1997, 6, 10), d(1997, 7, 10), d(1998, 6, 10), d(1998, 7, 10), d(1999, 6, 10), d(1999, 7, 10), d(2000, 6, 10), d(2000, 7, 10), d(2001, 6, 10), d(2001, 7, 10)), true},
	{"jan feb mar other year", "19970310T090000", "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3", "",
		cat(d(1997, 3, 10), d(1999, 1, 10), d(1999, 2, 10), d(1999, 3, 10), d(2001, 1, 10), d(2001, 2, 10), d(2001, 3, 10), d(2003, 1, 10), d(2003, 2, 10), d(2003, 3, 10)), true},
	{"yeardays every third year", "19970101T090000", "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200", "",
		cat(d(1997, 1, 1), d(1997, 4, 10), d(1997, 7, 19), d(2000, 1, 1), d(2000, 4, 9), d(2000, 7, 18), d(2003, 1, 1), d(2003, 4, 10), d(2003, 7, 19), d(2006, 1, 1)), true},
	{"20th monday", "19970519T090000", "FREQ=YEARLY;BYDAY=20MO", "",
		cat(d(1997, 5, 19), d(1998, 5, 18), d(1999, 5, 17)), false},
	{"monday of week 20", "19970512T090000", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "",
		cat(d(1997, 5, 12), d(1998, 5, 11), d(1999, 5, 17)), false},
	{"thursdays in march", "19970313T090000", "FREQ=YEARLY;BYMONTH=3;BYDAY=TH", "",
		cat(d(1997, 3, 13, 20, 27), d(1998, 3, 5, 12, 19, 26), d(1999, 3, 4, 11, 18, 25)), false},
	{"thursdays in summer", "19970605T090000", "FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8", "",
		cat(d(1997, 6, 5, 12, 19, 26), d(1997, 7, 3, 10, 17, 24, 31), d(1997, 8, 7, 14, 21, 28),
			d(1998, 6, 4, 11, 18, 25), d(1998, 7, 2, 9, 16, 23, 30), d(1998, 8, 6, 13, 20, 27),
			d(1999, 6, 3, 10, 17, 24), d(1999, 7, 1, 8, 15, 22, 29), d(1999, 8, 5, 12, 19, 26)), false},
	{"friday 13th", "19970902T090000", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "EXDATE;TZID=America/New_York:19970902T090000\n",
		cat(d(1998, 2, 13), d(1998, 3, 13), d(1998, 11, 13), d(1999, 8, 13), d(2000, 10, 13)), false},
	{"saturday after first sunday", "19970913T090000", "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13", "",
		cat(d(1997, 9, 13), d(1997, 10, 11), d(1997, 11, 8), d(1997, 12, 13), d(1998, 1, 10), d(1998, 2, 7), d(1998, 3, 7), d(1998, 4, 11), d(1998, 5, 9), d(1998, 6, 13)), false},
	{"election day", "19961105T090000", "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8", "",
		cat(d(1996, 11, 5), d(2000, 11, 7), d(2004, 11, 2)), false},
	{"third tu we th", "19970904T090000", "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", "",
		cat(d(1997, 9, 4), d(1997, 10, 7), d(1997, 11, 6)), true},
	{"second to last weekday", "19970929T090000", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2", "",
		cat(d(1997, 9, 29), d(1997, 10, 30), d(1997, 11, 27), d(1997, 12, 30), d(1998, 1, 29), d(1998, 2, 26), d(1998, 3, 30)), false},
	{"every 3 hours", "19970902T090000", "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T210000Z", "",
		[]string{"19970902T0900", "19970902T1200", "19970902T1500"}, true},
	{"every 15 minutes", "19970902T090000", "FREQ=MINUTELY;INTERVAL=15;COUNT=6", "",
		[]string{"19970902T0900", "19970902T0915", "19970902T0930", "19970902T0945", "19970902T1000", "19970902T1015"}, true},
	{"every 90 minutes", "19970902T090000", "FREQ=MINUTELY;INTERVAL=90;COUNT=4", "",
		[]string{"19970902T0900", "19970902T1030", "19970902T1200", "19970902T1330"}, true},
	{"every 20 minutes daily", "19970902T090000", "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40", "",
		append(twentyMinutes("19970902"), twentyMinutes("19970903")...), false},
	{"every 20 minutes minutely", "19970902T090000", "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16", "",
		append(twentyMinutes("19970902"), twentyMinutes("19970903")...), false},
	{"wkst mo", "19970805T090000", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", "",
		d(1997, 8, 5, 10, 19, 24), true},
	{"wkst su", "19970805T090000", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", "",
		d(1997, 8, 5, 17, 19, 31), true},
	{"invalid dates skipped", "20070115T090000", "FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5", "",
		cat(d(2007, 1, 15, 30), d(2007, 2, 15), d(2007, 3, 15, 30)), true},
	// RFC 5545 §3.3.10 (the closing example of the RECUR definition).
	{"sundays in january every other year", "19970105T083000", "FREQ=YEARLY;INTERVAL=2;BYMONTH=1;BYDAY=SU;BYHOUR=8,9;BYMINUTE=30", "",
		[]string{"19970105T0830", "19970105T0930", "19970112T0830", "19970112T0930", "19970119T0830", "19970119T0930", "19970126T0830", "19970126T0930", "19990103T0830"}, false},
	{"last workday of month", "20240131T170000", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4", "",
		[]string{"20240131T1700", "20240229T1700", "20240329T1700", "20240430T1700"}, true},
	{"yearly by yearday and month", "20240101T090000", "FREQ=YEARLY;BYYEARDAY=1,60;BYMONTH=2,3;COUNT=3", "",
		cat(d(2024, 1, 1), d(2024, 2, 29), d(2025, 3, 1)), true},
	// Beyond the RFC: the DST change of 2007 moves the offset, not the wall time.
	{"weekly across DST", "20070304T090000", "FREQ=WEEKLY;COUNT=3", "",
		d(2007, 3, 4, 11, 18), true},
	{"last day of february", "20000229T090000", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1;COUNT=3", "",
		cat(d(2000, 2, 29), d(2001, 2, 28), d(2002, 2, 28)), true},
	{"leap day only", "20000229T090000", "FREQ=YEARLY;COUNT=3", "",
		cat(d(2000, 2, 29), d(2004, 2, 29), d(2008, 2, 29)), true},
	{"week 1 across year end", "20241230T090000", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO;COUNT=3", "",
		cat(d(2024, 12, 30), d(2025, 12, 29), d(2027, 1, 4)), true},
	{"last week", "20201228T090000", "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=MO;COUNT=2", "",
		cat(d(2020, 12, 28), d(2021, 12, 27)), true},
	// DTSTART counts towards COUNT even when the rule does not match it.
	{"yearday negative", "20210101T090000", "FREQ=YEARLY;BYYEARDAY=-1;COUNT=2", "",
		cat(d(2021, 1, 1), d(2021, 12, 31)), true},
	{"count 1 off-rule", "20210101T090000", "FREQ=YEARLY;BYYEARDAY=-1;COUNT=1", "",
		d(2021, 1, 1), true},
	{"secondly bysecond", "20210101T090000", "FREQ=SECONDLY;BYSECOND=0,30;COUNT=3", "",
		[]string{"20210101T090000", "20210101T090030", "20210101T090100"}, true},
}

func twentyMinutes(day string) []string {
	var out []string
	for h := 9; h <= 16; h++ {
		for _, m := range []int{0, 20, 40} {
			out = append(out, fmt.Sprintf("%sT%02d%02d00", day, h, m))
		}
	}
	return out
}

func TestRFC5545Examples(t *testing.T) {
	t.Parallel()
	for _, tc := range rfcExamples {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cal := calendar(t, "BEGIN:VEVENT\nUID:x\nDTSTAMP:19970901T000000Z\nDTSTART;TZID=America/New_York:"+tc.dtstart+"\nRRULE:"+tc.rule+"\n"+tc.extra+"END:VEVENT\n")
			ss := SeriesOf(cal, nil)
			if len(ss) != 1 {
				t.Fatalf("series: %d", len(ss))
			}
			end := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
			lim := ExpandLimits{}
			if !tc.exact {
				lim.MaxInstances = len(tc.want)
			}
			occ, err := Expand(ss[0], time.Time{}, end, lim)
			if err != nil && (tc.exact || !isLimit(err)) {
				t.Fatalf("expand: %v", err)
			}
			got := nyWalls(t, ss[0].Zones, occ)
			want := expandWant(tc.want)
			if !tc.exact && len(got) > len(want) {
				got = got[:len(want)]
			}
			if !slices.Equal(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func TestRecurRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range rfcExamples {
		r, err := ParseRecur(tc.rule)
		if err != nil {
			t.Fatalf("%s: %v", tc.rule, err)
		}
		r2, err := ParseRecur(r.String())
		if err != nil || r2.String() != r.String() {
			t.Errorf("%s: %q → %v %q", tc.rule, r.String(), err, r2)
		}
	}
}

func TestParseRecurErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "COUNT=3", "FREQ=WEEKLY;FREQ=DAILY", "FREQ=FORTNIGHTLY", "FREQ=DAILY;INTERVAL=0",
		"FREQ=DAILY;COUNT=3;UNTIL=20000101", "FREQ=DAILY;BYHOUR=24", "FREQ=DAILY;BYMONTHDAY=0",
		"FREQ=DAILY;BYDAY=XX", "FREQ=MONTHLY;BYDAY=0MO", "FREQ=DAILY;BYMONTH=13", "FREQ=DAILY;FOO=1",
		"FREQ=DAILY;BYSETPOS=367", "FREQ=DAILY;UNTIL=2000",
	} {
		if _, err := ParseRecur(s); err == nil {
			t.Errorf("ParseRecur(%q): no error", s)
		}
	}
}

// TestExpandBombs checks that hostile rules end quickly with a limit.
func TestExpandBombs(t *testing.T) {
	t.Parallel()
	for _, rule := range []string{
		"FREQ=SECONDLY",
		"FREQ=SECONDLY;COUNT=1000000000",
		"FREQ=YEARLY;COUNT=1000000000;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=MINUTELY;BYDAY=MO;BYMONTHDAY=31;BYMONTH=2",
		"FREQ=YEARLY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=" + strings.Join(strings.Fields(strings.Trim(fmt.Sprint(rng(0, 59)), "[]")), ",") + ";BYSECOND=" + strings.Join(strings.Fields(strings.Trim(fmt.Sprint(rng(0, 59)), "[]")), ",") + ";BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=" + strings.Join(strings.Fields(strings.Trim(fmt.Sprint(rng(1, 31)), "[]")), ","),
		"FREQ=DAILY;INTERVAL=1;COUNT=1000000000;BYSETPOS=2",
	} {
		t.Run(rule[:min(len(rule), 40)], func(t *testing.T) {
			t.Parallel()
			cal := calendar(t, "BEGIN:VEVENT\nUID:x\nDTSTART;TZID=America/New_York:20200101T090000\nRRULE:"+rule+"\nEND:VEVENT\n")
			start := time.Now()
			for _, w := range [][2]time.Time{
				{{}, {}},
				{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)},
			} {
				occ, err := Expand(SeriesOf(cal, nil)[0], w[0], w[1], ExpandLimits{MaxInstances: 1000, MaxIterations: 200000})
				if len(occ) > 1000 {
					t.Errorf("%d occurrences", len(occ))
				}
				if err != nil && !isLimit(err) {
					t.Errorf("error %v", err)
				}
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestExpandSkipsAhead(t *testing.T) {
	t.Parallel()
	// A minutely rule from 2000 asked about 2030: no COUNT, so Expand can
	// jump ahead instead of walking 30 years of minutes.
	cal := calendar(t, "BEGIN:VEVENT\nUID:x\nDTSTART:20000101T000000Z\nRRULE:FREQ=MINUTELY;INTERVAL=7\nEND:VEVENT\n")
	s := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	occ, err := Expand(SeriesOf(cal, nil)[0], s, s.Add(time.Hour), ExpandLimits{MaxIterations: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(occ) < 8 || len(occ) > 9 {
		t.Fatalf("%d occurrences", len(occ))
	}
	for _, o := range occ {
		if o.Start.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))%(7*time.Minute) != 0 {
			t.Errorf("misaligned %v", o.Start)
		}
	}
}

func TestLimitErrorType(t *testing.T) {
	t.Parallel()
	cal := calendar(t, "BEGIN:VEVENT\nUID:x\nDTSTART:20000101T000000Z\nRRULE:FREQ=SECONDLY\nEND:VEVENT\n")
	occ, err := Expand(SeriesOf(cal, nil)[0], time.Time{}, time.Time{}, ExpandLimits{MaxInstances: 50})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitInstances || len(occ) != 50 {
		t.Fatalf("err %v, %d occurrences", err, len(occ))
	}
}
