package ical

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	good := "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n"
	if err := Validate(calendar(t, good)); err != nil {
		t.Errorf("good: %v", err)
	}
	for _, body := range []string{
		"BEGIN:VEVENT\nDTSTART:20240101T100000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:2024\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nRRULE:FREQ=NEVER\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nRRULE:FREQ=DAILY\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:b\nDTSTART:20240101T100000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEND:VEVENT\nBEGIN:VTODO\nUID:a\nEND:VTODO\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDURATION:1H\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nEXDATE:x\nEND:VEVENT\n",
	} {
		if err := Validate(calendar(t, body)); err == nil {
			t.Errorf("no error for %q", strings.ReplaceAll(body, "\n", " "))
		}
	}
	if err := Validate(&Component{Name: VEvent}); err == nil {
		t.Error("non-VCALENDAR root accepted")
	}
}

// Issue 9.5, 9.6: what real clients send and can be understood is stored.
func TestValidateLiberal(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"duration P1DT":         "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDURATION:P1DT\nEND:VEVENT\n",
		"end before start":      "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20230101T100000Z\nEND:VEVENT\n",
		"due before start":      "BEGIN:VTODO\nUID:a\nDTSTART:20240101T100000Z\nDUE:20231231T100000Z\nEND:VTODO\n",
		"date start, timed end": "BEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20240101\nDTEND:20240102T100000Z\nEND:VEVENT\n",
		"timed start, date end": "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND;VALUE=DATE:20240102\nEND:VEVENT\n",
		"date recurrence-id": "BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n" +
			"BEGIN:VEVENT\nUID:a\nRECURRENCE-ID;VALUE=DATE:20240103\nDTSTART:20240103T120000Z\nEND:VEVENT\n",
		"recurring todo without DTSTART": "BEGIN:VTODO\nUID:a\nDUE:20240101T100000Z\nRRULE:FREQ=DAILY\nEND:VTODO\n",
		"recurring undated todo":         "BEGIN:VTODO\nUID:a\nRRULE:FREQ=WEEKLY\nEND:VTODO\n",
	} {
		if err := Validate(calendar(t, body)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	cal := calendar(t, `BEGIN:VEVENT
UID:a
DTSTART;TZID=America/New_York:20240101T100000
DURATION:P1DT
RRULE:FREQ=DAILY
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-P1DT
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:a
RECURRENCE-ID;VALUE=DATE:20240103
DTSTART;TZID=America/New_York:20240103T120000
DTEND;TZID=America/New_York:20240103T110000
END:VEVENT
`)
	notes := Normalize(cal)
	if len(notes) != 4 {
		t.Errorf("notes: %q", notes)
	}
	ev := cal.Sub(VEvent)
	if v := ev[0].Prop("DURATION").Value; v != "P1D" {
		t.Errorf("DURATION %q", v)
	}
	if v := ev[0].Sub(VAlarm)[0].Prop("TRIGGER").Value; v != "-P1D" {
		t.Errorf("TRIGGER %q", v)
	}
	rid := ev[1].Prop("RECURRENCE-ID")
	if rid.Value != "20240103T100000" || rid.Param("TZID") != "America/New_York" || rid.Param("VALUE") != "" {
		t.Errorf("RECURRENCE-ID %+v", rid)
	}
	if err := Validate(cal); err != nil {
		t.Error(err)
	}
	if again := Normalize(cal); len(again) != 1 { // the end before the start stays
		t.Errorf("second pass: %q", again)
	}
}

// Issue 9.6: the liberties are read as documented by Expand.
func TestExpandLiberal(t *testing.T) {
	t.Parallel()
	one := func(body, qs, qe string) []Occurrence {
		t.Helper()
		occ, err := Expand(SeriesOf(calendar(t, body), nil)[0], utc(qs), utc(qe), ExpandLimits{})
		if err != nil {
			t.Fatal(err)
		}
		return occ
	}
	// P1DT is a day.
	occ := one("BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDURATION:P1DT\nEND:VEVENT\n", "20240102T090000Z", "20240102T093000Z")
	if len(occ) != 1 || !occ[0].End.Equal(utc("20240102T100000Z")) {
		t.Errorf("P1DT: %+v", occ)
	}
	// A DATE start with a timed end runs to that instant.
	occ = one("BEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20240101\nDTEND:20240102T100000Z\nEND:VEVENT\n", "20240102T090000Z", "20240102T093000Z")
	if len(occ) != 1 || !occ[0].End.Equal(utc("20240102T100000Z")) {
		t.Errorf("mixed: %+v", occ)
	}
	// An end before the start is no length.
	occ = one("BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20230101T100000Z\nEND:VEVENT\n", "20240101T100000Z", "20240101T100001Z")
	if len(occ) != 1 || !occ[0].End.Equal(occ[0].Start) {
		t.Errorf("end before start: %+v", occ)
	}
	if occ = one("BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20230101T100000Z\nEND:VEVENT\n", "20230601T000000Z", "20231231T000000Z"); len(occ) != 0 {
		t.Errorf("end before start matched before its start: %+v", occ)
	}
	// A DATE RECURRENCE-ID names that day's instance of a timed series.
	occ = one("BEGIN:VEVENT\nUID:a\nDTSTART:20240101T100000Z\nDTEND:20240101T110000Z\nRRULE:FREQ=DAILY;COUNT=5\nEND:VEVENT\n"+
		"BEGIN:VEVENT\nUID:a\nRECURRENCE-ID;VALUE=DATE:20240103\nDTSTART:20240103T150000Z\nDTEND:20240103T160000Z\nEND:VEVENT\n",
		"20240101T000000Z", "20240110T000000Z")
	var starts []string
	for _, o := range occ {
		starts = append(starts, o.Start.Format("02T15"))
	}
	if strings.Join(starts, " ") != "01T10 02T10 03T15 04T10 05T10" {
		t.Errorf("date RECURRENCE-ID: %v", starts)
	}
	if !occ[2].Override || !occ[2].RecurrenceID.Equal(utc("20240103T100000Z")) {
		t.Errorf("override: %+v", occ[2])
	}
	// And a DATE-TIME RECURRENCE-ID names that day of an all-day series.
	occ = one("BEGIN:VEVENT\nUID:b\nDTSTART;VALUE=DATE:20240101\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n"+
		"BEGIN:VEVENT\nUID:b\nRECURRENCE-ID:20240102T120000Z\nDTSTART;VALUE=DATE:20240105\nSUMMARY:moved\nEND:VEVENT\n",
		"20231201T000000Z", "20240201T000000Z")
	starts = nil
	for _, o := range occ {
		starts = append(starts, o.Start.Format("02"))
	}
	if strings.Join(starts, " ") != "01 03 05" {
		t.Errorf("date-time RECURRENCE-ID in an all-day series: %v", starts)
	}
}

// Issue 9.5: a recurring VTODO without DTSTART recurs from its DUE; each
// instance is matched by the DUE-only row of RFC 4791 §9.9.
func TestRecurringTodoWithoutStart(t *testing.T) {
	t.Parallel()
	s := SeriesOf(calendar(t, "BEGIN:VTODO\nUID:t\nDUE:20240101T170000Z\nRRULE:FREQ=DAILY\nEND:VTODO\n"), nil)[0]
	occ, err := Expand(s, utc("20240310T000000Z"), utc("20240311T000000Z"), ExpandLimits{})
	if err != nil || len(occ) != 1 || !occ[0].Start.Equal(utc("20240310T170000Z")) || !occ[0].End.Equal(occ[0].Start) {
		t.Errorf("daily todo on 10 Mar: %+v %v", occ, err)
	}
	// (start < DUE) AND (end >= DUE): a range ending at the due time matches.
	if occ, _ := Expand(s, utc("20240310T120000Z"), utc("20240310T170000Z"), ExpandLimits{}); len(occ) != 1 {
		t.Errorf("range ending at DUE: %d", len(occ))
	}
	if occ, _ := Expand(s, utc("20240310T170000Z"), utc("20240310T180000Z"), ExpandLimits{}); len(occ) != 0 {
		t.Errorf("range starting at DUE: %d", len(occ))
	}
	// Without DTSTART and DUE it does not recur: it matches every range once.
	s = SeriesOf(calendar(t, "BEGIN:VTODO\nUID:u\nRRULE:FREQ=DAILY\nEND:VTODO\n"), nil)[0]
	if occ, _ := Expand(s, utc("20240310T000000Z"), utc("20240311T000000Z"), ExpandLimits{}); len(occ) != 1 {
		t.Errorf("undated recurring todo: %d", len(occ))
	}
}
