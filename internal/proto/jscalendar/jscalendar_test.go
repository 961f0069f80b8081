package jscalendar

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const rich = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example//Test//EN
X-WR-CALNAME:Work
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:rich-1
DTSTAMP:20260101T120000Z
CREATED:20251201T080000Z
LAST-MODIFIED:20260101T120000Z
SEQUENCE:3
SUMMARY:Planning\, weekly
DESCRIPTION:Line one\nLine two
LOCATION:Room 1
GEO:52.52;13.40
DTSTART;TZID=Europe/Berlin:20260105T100000
DTEND;TZID=Europe/Berlin:20260105T113000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260301T090000Z
EXDATE;TZID=Europe/Berlin:20260112T100000
RDATE;TZID=Europe/Berlin:20260110T100000
CLASS:PRIVATE
TRANSP:OPAQUE
STATUS:CONFIRMED
PRIORITY:5
CATEGORIES:work,planning
URL:https://example.test/meet
ORGANIZER;CN=Alice:mailto:alice@example.test
ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:alice@example.test
ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;X-CUSTOM=keep:mailto:bob@example.test
ATTENDEE;CUTYPE=ROOM;ROLE=NON-PARTICIPANT:mailto:room@example.test
X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Soon
TRIGGER:-PT15M
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:rich-1
DTSTAMP:20260101T120000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260107T100000
SUMMARY:Planning (moved)
DTSTART;TZID=Europe/Berlin:20260107T140000
DTEND;TZID=Europe/Berlin:20260107T153000
LOCATION:Room 1
GEO:52.52;13.40
CLASS:PRIVATE
TRANSP:OPAQUE
STATUS:CONFIRMED
PRIORITY:5
SEQUENCE:3
CREATED:20251201T080000Z
DESCRIPTION:Line one\nLine two
CATEGORIES:work,planning
URL:https://example.test/meet
ORGANIZER;CN=Alice:mailto:alice@example.test
ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:alice@example.test
ATTENDEE;CN=Bob;PARTSTAT=DECLINED:mailto:bob@example.test
END:VEVENT
END:VCALENDAR
`

func decode(t testing.TB, s string) *ical.Component {
	t.Helper()
	c, err := ical.Decode(crlf(s), ical.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func roundJSON(t testing.TB, o Object) Object {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var out Object
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFromICalRich(t *testing.T) {
	o, err := FromICal(decode(t, rich))
	if err != nil {
		t.Fatal(err)
	}
	o = roundJSON(t, o)
	want := map[string]any{
		"@type":          "Event",
		"uid":            "rich-1",
		"title":          "Planning, weekly",
		"description":    "Line one\nLine two",
		"start":          "2026-01-05T10:00:00",
		"timeZone":       "Europe/Berlin",
		"duration":       "PT1H30M",
		"sequence":       float64(3),
		"priority":       float64(5),
		"privacy":        "private",
		"freeBusyStatus": "busy",
		"status":         "confirmed",
		"updated":        "2026-01-01T12:00:00Z",
		"created":        "2025-12-01T08:00:00Z",
		"prodId":         "-//Example//Test//EN",
		"keywords":       map[string]any{"work": true, "planning": true},
		"replyTo":        map[string]any{"imip": "mailto:alice@example.test"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(o[k], v) {
			t.Errorf("%s = %#v, want %#v", k, o[k], v)
		}
	}
	rules := o["recurrenceRules"].([]any)
	r := rules[0].(map[string]any)
	if r["frequency"] != "weekly" || r["until"] != "2026-03-01T10:00:00" || len(r["byDay"].([]any)) != 2 {
		t.Errorf("rule %v", r)
	}
	ov := o["recurrenceOverrides"].(map[string]any)
	if !reflect.DeepEqual(ov["2026-01-12T10:00:00"], map[string]any{"excluded": true}) {
		t.Errorf("exdate override %v", ov["2026-01-12T10:00:00"])
	}
	if !reflect.DeepEqual(ov["2026-01-10T10:00:00"], map[string]any{}) {
		t.Errorf("rdate override %v", ov["2026-01-10T10:00:00"])
	}
	moved := ov["2026-01-07T10:00:00"].(map[string]any)
	if moved["title"] != "Planning (moved)" || moved["start"] != "2026-01-07T14:00:00" {
		t.Errorf("moved override %v", moved)
	}
	if _, ok := moved["participants"]; !ok {
		t.Errorf("override lost the attendee change: %v", moved)
	}
	ps := o["participants"].(map[string]any)
	bob := ps[ParticipantID("mailto:bob@example.test")].(map[string]any)
	if bob["participationStatus"] != "needs-action" || bob["expectReply"] != true || bob["name"] != "Bob" {
		t.Errorf("bob %v", bob)
	}
	alice := ps[ParticipantID("mailto:alice@example.test")].(map[string]any)
	if !reflect.DeepEqual(alice["roles"], map[string]any{"owner": true, "attendee": true, "chair": true}) {
		t.Errorf("alice roles %v", alice["roles"])
	}
	room := ps[ParticipantID("mailto:room@example.test")].(map[string]any)
	if room["kind"] != "room" || !reflect.DeepEqual(room["roles"], map[string]any{"informational": true}) {
		t.Errorf("room %v", room)
	}
	alarms := o["alarms"].(map[string]any)
	if len(alarms) != 1 {
		t.Fatalf("alarms %v", alarms)
	}
	for _, a := range alarms {
		tr := a.(map[string]any)["trigger"].(map[string]any)
		if tr["offset"] != "-PT15M" {
			t.Errorf("trigger %v", tr)
		}
	}
	extra, _ := json.Marshal(o["iCalProps"])
	if !strings.Contains(string(extra), "x-apple-travel-advisory-behavior") || !strings.Contains(string(extra), "last-modified") {
		t.Errorf("unknown properties not kept: %s", extra)
	}
	cp, _ := json.Marshal(o["iCalCalendarProps"])
	if !strings.Contains(string(cp), "x-wr-calname") {
		t.Errorf("calendar properties not kept: %s", cp)
	}
	loc := o["locations"].(map[string]any)["1"].(map[string]any)
	if loc["name"] != "Room 1" || loc["coordinates"] != "geo:52.52,13.40" {
		t.Errorf("location %v", loc)
	}
}

// TestRoundTrip: iCalendar → JSCalendar → iCalendar → JSCalendar gives
// the same object, and the iCalendar written expands to the same
// instances.
func TestRoundTrip(t *testing.T) {
	for name, src := range map[string]string{"rich": rich, "allday": allDay, "task": task, "utc": utcEvent, "orphan": orphan, "outlook": outlook} {
		t.Run(name, func(t *testing.T) {
			cal := decode(t, src)
			o1, err := FromICal(cal)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ToICal(roundJSON(t, o1), now, Limits{Zones: ical.NewZones(cal)})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := ical.Marshal(back)
			if _, err := ical.Decode(b, ical.Limits{}); err != nil {
				t.Fatalf("written calendar does not parse: %v\n%s", err, b)
			}
			// The VTIMEZONEs of the original (Merge carries them over).
			for _, tz := range cal.Sub(ical.VTimezone) {
				back.Children = append([]*ical.Component{tz}, back.Children...)
			}
			o2, err := FromICal(back)
			if err != nil {
				t.Fatal(err)
			}
			j1, j2 := roundJSON(t, o1), roundJSON(t, o2)
			if !reflect.DeepEqual(j1, j2) {
				a, _ := json.MarshalIndent(j1, "", " ")
				c, _ := json.MarshalIndent(j2, "", " ")
				t.Fatalf("round trip differs:\n%s\n---\n%s\n%s", a, c, b)
			}
			if got, want := instances(t, back), instances(t, cal); !reflect.DeepEqual(got, want) {
				t.Errorf("instances %v, want %v", got, want)
			}
		})
	}
}

func instances(t *testing.T, cal *ical.Component) []string {
	var out []string
	for _, s := range ical.SeriesOf(cal, nil) {
		occ, err := ical.Expand(s, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), ical.ExpandLimits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range occ {
			out = append(out, o.Start.UTC().Format(time.RFC3339)+" "+o.End.UTC().Format(time.RFC3339)+" "+o.Component.Text("SUMMARY"))
		}
	}
	return out
}

// TestMergeKeepsOriginal: an unchanged object written back through
// JSCalendar is the original, byte for byte; a changed title changes
// only SUMMARY.
func TestMergeKeepsOriginal(t *testing.T) {
	orig := decode(t, rich)
	o, err := FromICal(orig)
	if err != nil {
		t.Fatal(err)
	}
	o = roundJSON(t, o)
	back, err := ToICal(o, now, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m := Merge(orig, back, now)
	if got, want := sortedLines(m), sortedLines(orig); got != want {
		t.Fatalf("merge of an unchanged object:\n%s\nwant\n%s", got, want)
	}
	if err := ApplyPatch(o, "title", "Renamed"); err != nil {
		t.Fatal(err)
	}
	if err := ApplyPatch(o, "participants/"+ParticipantID("mailto:bob@example.test")+"/participationStatus", "accepted"); err != nil {
		t.Fatal(err)
	}
	back, err = ToICal(o, now, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	merged := Merge(orig, back, now)
	got, _ := ical.Marshal(merged)
	s := string(got)
	for _, w := range []string{"SUMMARY:Renamed", "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC", "BEGIN:VTIMEZONE",
		"LAST-MODIFIED:20260101T120000Z", "DESCRIPTION:Soon"} {
		if !strings.Contains(s, w) {
			t.Errorf("merged object lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "SUMMARY:Planning\\, weekly") {
		t.Errorf("old title kept:\n%s", s)
	}
	var bob *ical.Property
	for _, p := range merged.Sub(ical.VEvent)[0].All("ATTENDEE") {
		if strings.Contains(p.Value, "bob@") {
			bob = p
		}
	}
	if bob == nil || bob.Param("PARTSTAT") != "ACCEPTED" || bob.Param("X-CUSTOM") != "keep" || bob.Param("RSVP") != "TRUE" {
		t.Errorf("bob's answer not written with his other parameters: %+v", bob)
	}
}

// sortedLines is a component with the lines of each component sorted:
// the same content whatever the order of properties.
func sortedLines(c *ical.Component) string {
	var lines []string
	for _, p := range c.Props {
		lines = append(lines, propString(p))
	}
	slices.Sort(lines)
	var subs []string
	for _, ch := range c.Children {
		subs = append(subs, sortedLines(ch))
	}
	slices.Sort(subs)
	return "BEGIN:" + c.Name + "\n" + strings.Join(lines, "\n") + "\n" + strings.Join(subs, "") + "END:" + c.Name + "\n"
}

func TestToICalRejects(t *testing.T) {
	base := func() Object {
		return Object{"@type": "Event", "uid": "x", "start": "2026-01-01T10:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H"}
	}
	if _, err := ToICal(base(), now, Limits{}); err != nil {
		t.Fatalf("base: %v", err)
	}
	for prop, bad := range map[string]any{
		"@type":               "Meeting",
		"uid":                 "",
		"start":               "2026-01-01 10:00",
		"timeZone":            "Mars/Olympus",
		"duration":            "-PT1H",
		"priority":            12,
		"privacy":             "open",
		"recurrenceRules":     []any{map[string]any{"frequency": "fortnightly"}},
		"recurrenceOverrides": map[string]any{"yesterday": map[string]any{}},
		"participants":        map[string]any{"p": map[string]any{"roles": map[string]any{"attendee": true}}},
		"alarms":              map[string]any{"a": map[string]any{"trigger": map[string]any{"offset": "soon"}}},
		"iCalProps":           []any{[]any{"x-a", map[string]any{}, "unknown", "line\r\nBEGIN:VEVENT"}},
		"keywords":            []any{"a"},
	} {
		o := base()
		o[prop] = bad
		_, err := ToICal(o, now, Limits{})
		var pe *PropError
		if err == nil || !asPropError(err, &pe) {
			t.Errorf("%s = %v: err %v, want a PropError", prop, bad, err)
		}
	}
}

func asPropError(err error, pe **PropError) bool {
	p, ok := err.(*PropError)
	*pe = p
	return ok
}

const allDay = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:x
BEGIN:VEVENT
UID:allday
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260210
DTEND;VALUE=DATE:20260212
SUMMARY:Trip
RRULE:FREQ=YEARLY;COUNT=3
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:x
TRIGGER;VALUE=DATE-TIME:20260209T080000Z
END:VALARM
END:VEVENT
END:VCALENDAR
`

const task = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:x
BEGIN:VTODO
UID:task-1
DTSTAMP:20260101T000000Z
DTSTART;TZID=America/New_York:20260301T090000
DUE;TZID=America/New_York:20260305T170000
SUMMARY:Report
STATUS:IN-PROCESS
PERCENT-COMPLETE:40
PRIORITY:1
RELATED-TO:parent-task
END:VTODO
END:VCALENDAR
`

const utcEvent = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:x
BEGIN:VEVENT
UID:utc-1
DTSTAMP:20260101T000000Z
DTSTART:20260401T100000Z
DURATION:PT45M
SUMMARY:Call
RRULE:FREQ=DAILY;INTERVAL=2;COUNT=5
EXDATE:20260403T100000Z
END:VEVENT
BEGIN:VEVENT
UID:utc-1
DTSTAMP:20260101T000000Z
RECURRENCE-ID:20260405T100000Z
DTSTART:20260405T120000Z
DURATION:PT45M
SUMMARY:Call (later)
END:VEVENT
END:VCALENDAR
`

const orphan = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:x
METHOD:REQUEST
BEGIN:VEVENT
UID:orphan-1
DTSTAMP:20260101T000000Z
RECURRENCE-ID:20260405T100000Z
DTSTART:20260405T120000Z
DTEND:20260405T130000Z
SUMMARY:One instance
ORGANIZER:mailto:o@example.test
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:me@example.test
END:VEVENT
END:VCALENDAR
`

// TestToICalBounded: many overrides of a master with many participants
// would multiply into a huge calendar; ToICal refuses it.
func TestToICalBounded(t *testing.T) {
	ps := map[string]any{}
	for i := 0; i < 300; i++ {
		ps[fmt.Sprintf("p%d", i)] = map[string]any{"roles": map[string]any{"attendee": true},
			"sendTo": map[string]any{"imip": fmt.Sprintf("mailto:u%d@example.test", i)}}
	}
	ovs := map[string]any{}
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 200; i++ {
		ovs[start.AddDate(0, 0, i).Format(LocalLayout)] = map[string]any{"title": "changed"}
	}
	o := Object{"@type": "Event", "uid": "big", "start": start.Format(LocalLayout), "timeZone": "Etc/UTC",
		"replyTo": map[string]any{"imip": "mailto:o@example.test"}, "participants": ps,
		"recurrenceRules": []any{map[string]any{"frequency": "daily"}}, "recurrenceOverrides": ovs}
	_, err := ToICal(o, now, Limits{})
	if pe, ok := err.(*PropError); !ok || pe.Prop != "recurrenceOverrides" {
		t.Fatalf("err %v, want a PropError on recurrenceOverrides", err)
	}
}

// outlook: a Windows time zone name, defined only by its VTIMEZONE.
const outlook = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:outlook-1
DTSTAMP:20260101T000000Z
DTSTART;TZID=W. Europe Standard Time:20260601T090000
DTEND;TZID=W. Europe Standard Time:20260601T093000
RRULE:FREQ=DAILY;UNTIL=20260605T070000Z
SUMMARY:Stand-up
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
END:VEVENT
END:VCALENDAR
`

// TestJSProp: what a JMAP client sets that iCalendar has no property for
// (vendor properties, locale, virtual locations) comes back unchanged,
// in the master and in an override.
func TestJSProp(t *testing.T) {
	o := roundJSON(t, Object{"@type": "Event", "uid": "js-1", "start": "2026-04-01T10:00:00", "timeZone": "Europe/Vienna",
		"duration": "PT1H", "title": "Call", "locale": "de-AT",
		"virtualLocations":  map[string]any{"v": map[string]any{"@type": "VirtualLocation", "uri": "https://meet.example/x"}},
		"example.com:flags": map[string]any{"pinned": true, "n": 3},
		"recurrenceRules":   []any{map[string]any{"@type": "RecurrenceRule", "frequency": "daily", "count": 3}},
		"recurrenceOverrides": map[string]any{"2026-04-02T10:00:00": map[string]any{"locale": "en",
			"example.com:flags": map[string]any{"pinned": false}}},
	})
	cal, err := ToICal(o, now, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromICal(cal)
	if err != nil {
		t.Fatal(err)
	}
	got := roundJSON(t, back)
	for _, k := range []string{"locale", "virtualLocations", "example.com:flags", "recurrenceOverrides", "recurrenceRules", "title"} {
		if !reflect.DeepEqual(got[k], o[k]) {
			t.Errorf("%s = %v, want %v", k, got[k], o[k])
		}
	}
}

// TestParticipationComment: an attendee's participationComment is the
// X-CALENDARSERVER-ATTENDEE-COMMENT naming them (escaped as TEXT), and
// reads back; a comment naming nobody stays in iCalProps.
func TestParticipationComment(t *testing.T) {
	bobID := ParticipantID("mailto:bob@example.test")
	o := roundJSON(t, Object{"@type": "Event", "uid": "pc-1", "start": "2026-04-01T10:00:00", "timeZone": "Europe/Vienna",
		"duration": "PT1H", "title": "Call", "replyTo": map[string]any{"imip": "mailto:alice@example.test"},
		"participants": map[string]any{
			ParticipantID("mailto:alice@example.test"): map[string]any{"@type": "Participant", "roles": map[string]any{"owner": true},
				"sendTo": map[string]any{"imip": "mailto:alice@example.test"}},
			bobID: map[string]any{"@type": "Participant", "roles": map[string]any{"attendee": true},
				"sendTo": map[string]any{"imip": "mailto:bob@example.test"}, "participationStatus": "declined",
				"participationComment": "On leave; back Monday, sorry"},
		}})
	cal, err := ToICal(o, now, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ical.Marshal(cal)
	if !strings.Contains(strings.ReplaceAll(string(b), "\r\n ", ""), `X-CALENDARSERVER-ATTENDEE-COMMENT;X-CALENDARSERVER-ATTENDEE-REF="mailto:bob@example.test":On leave\; back Monday\, sorry`) {
		t.Fatalf("no attendee comment:\n%s", b)
	}
	back, err := FromICal(cal)
	if err != nil {
		t.Fatal(err)
	}
	got := roundJSON(t, back)
	if c := got["participants"].(map[string]any)[bobID].(map[string]any)["participationComment"]; c != "On leave; back Monday, sorry" {
		t.Errorf("comment read back: %v", c)
	}
	if got["iCalProps"] != nil {
		t.Errorf("the comment is also in iCalProps: %v", got["iCalProps"])
	}
	stray, err := ical.Decode(crlf("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:pc-2\nDTSTART:20260401T100000Z\n"+
		"X-CALENDARSERVER-ATTENDEE-COMMENT;X-CALENDARSERVER-ATTENDEE-REF=mailto:nobody@example.test:hi\nEND:VEVENT\nEND:VCALENDAR\n"), ical.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	so, err := FromICal(stray)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(so["iCalProps"]) == "<nil>" || !strings.Contains(fmt.Sprint(so["iCalProps"]), "nobody@example.test") {
		t.Errorf("a comment naming nobody is lost: %v", so)
	}
	if _, err := ToICal(Object{"@type": "Event", "uid": "pc-3", "start": "2026-04-01T10:00:00", "duration": "PT1H",
		"participants": map[string]any{bobID: map[string]any{"sendTo": map[string]any{"imip": "mailto:bob@example.test"},
			"roles": map[string]any{"attendee": true}, "participationComment": 3}}}, now, Limits{}); err == nil {
		t.Error("a participationComment that is not a string is taken")
	}
}
