package ical

import (
	"strings"
	"testing"
	"time"
)

// nyTZ is America/New_York as a VTIMEZONE, with the US rules of 1987-2006
// and from 2007 on (RFC 5545 §3.6.5 example, extended).
const nyTZ = `BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:STANDARD
DTSTART:19671029T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19870405T020000
RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
END:DAYLIGHT
BEGIN:DAYLIGHT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
END:STANDARD
END:VTIMEZONE
`

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// calendar wraps components (given with LF line ends) into a VCALENDAR
// with the New York zone.
func calendar(t testing.TB, body string) *Component {
	t.Helper()
	src := "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//roost//test//EN\n" + nyTZ + body + "END:VCALENDAR\n"
	c, err := Decode(crlf(src), Limits{})
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, src)
	}
	return c
}

// nyWalls formats instants as New York wall times, "20060102T150405".
func nyWalls(t testing.TB, zones *Zones, occ []Occurrence) []string {
	t.Helper()
	var out []string
	for _, o := range occ {
		out = append(out, localWall(t, zones, o.Start))
	}
	return out
}

// localWall finds the NY wall time of an instant by inverting
// Zones.Instant (offsets are -4h or -5h).
func localWall(t testing.TB, zones *Zones, inst time.Time) string {
	t.Helper()
	for _, off := range []time.Duration{-4 * time.Hour, -5 * time.Hour} {
		w := inst.UTC().Add(off)
		if zones.Instant(DateTime{Wall: w, TZID: "America/New_York"}).Equal(inst) {
			return w.Format("20060102T150405")
		}
	}
	t.Fatalf("no NY wall time for %v", inst)
	return ""
}

// expandWant expands short forms: "19970902" means 09:00 that day,
// "19970902T1530" 15:30.
func expandWant(ws []string) []string {
	var out []string
	for _, w := range ws {
		switch len(w) {
		case 8:
			w += "T090000"
		case 13:
			w += "00"
		}
		out = append(out, w)
	}
	return out
}
