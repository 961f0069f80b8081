package eas

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

// Events between iCalendar (RFC 5545) and the EAS calendar class
// ([MS-ASCAL] §2.2.2): times, the TIMEZONE blob, recurrence with
// exceptions, attendees, reminder, what both can express.

// calTime is the compact form the calendar class writes times in.
const calTime = "20060102T150405Z"

// TimeZoneBlob is the 172-byte TIME_ZONE_INFORMATION of [MS-ASDTYPE]
// §2.6.4 for loc in year, base64-encoded: the standard bias and, for a
// zone with daylight saving time, the two yearly transitions as
// "n-th weekday of month at hour" rules.
func TimeZoneBlob(loc *time.Location, year int) string {
	var b bytes.Buffer
	std, dst, toDST, toSTD := zoneRules(loc, year)
	put32 := func(v int32) { binary.Write(&b, binary.LittleEndian, v) }
	name := func(s string) {
		u := utf16.Encode([]rune(s))
		if len(u) > 31 {
			u = u[:31]
		}
		var buf [32]uint16
		copy(buf[:], u)
		binary.Write(&b, binary.LittleEndian, buf)
	}
	sysTime := func(t time.Time) {
		var st [8]uint16
		if !t.IsZero() {
			week := (t.Day()-1)/7 + 1
			if t.Day()+7 > daysIn(t.Month(), t.Year()) {
				week = 5 // the last such weekday
			}
			st = [8]uint16{0, uint16(t.Month()), uint16(t.Weekday()), uint16(week), uint16(t.Hour()), uint16(t.Minute()), 0, 0}
		}
		binary.Write(&b, binary.LittleEndian, st)
	}
	put32(int32(-std / 60))
	stdName, _ := time.Date(year, 1, 1, 0, 0, 0, 0, loc).Zone()
	name(stdName)
	sysTime(toSTD)
	put32(0)
	dstName := ""
	if !toDST.IsZero() {
		dstName, _ = time.Date(year, 7, 1, 0, 0, 0, 0, loc).Zone()
	}
	name(dstName)
	sysTime(toDST)
	put32(int32(-(dst - std) / 60))
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func daysIn(m time.Month, y int) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// zoneRules finds a zone's standard and daylight offsets (seconds) in
// year and the local wall times (in the offset before the change) at
// which it enters and leaves daylight time; zero times without DST.
func zoneRules(loc *time.Location, year int) (std, dst int, toDST, toSTD time.Time) {
	t := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	_, prev := t.In(loc).Zone()
	std, dst = prev, prev
	for d := 1; d <= 366; d++ {
		next := t.Add(24 * time.Hour)
		_, off := next.In(loc).Zone()
		if off != prev {
			// Find the minute of the change.
			lo, hi := t, next
			for hi.Sub(lo) > time.Minute {
				mid := lo.Add(hi.Sub(lo) / 2)
				if _, o := mid.In(loc).Zone(); o == prev {
					lo = mid
				} else {
					hi = mid
				}
			}
			wall := hi.Add(time.Duration(prev) * time.Second).UTC() // local time before the change
			if off > prev {
				toDST, dst = wall, off
			} else {
				toSTD, std = wall, off
			}
			prev = off
		}
		t = next
	}
	if toDST.IsZero() || toSTD.IsZero() {
		return prev, prev, time.Time{}, time.Time{}
	}
	return std, dst, toDST, toSTD
}

// sameZoneBlob compares two TIMEZONE blobs by their rules, ignoring the
// names.
func sameZoneBlob(a, b string) bool {
	x, err1 := base64.StdEncoding.DecodeString(a)
	y, err2 := base64.StdEncoding.DecodeString(b)
	if err1 != nil || err2 != nil || len(x) != 172 || len(y) != 172 {
		return false
	}
	return bytes.Equal(x[0:4], y[0:4]) && bytes.Equal(x[68:88], y[68:88]) && bytes.Equal(x[152:172], y[152:172])
}

func cal(name, v string) *wbxml.Node { return wbxml.Str(Calendar, name, v) }

// EventData renders a calendar object (its master VEVENT, overrides as
// exceptions) as calendar-class ApplicationData, without the body; the
// note is the DESCRIPTION. self tells whether an address is the user's
// (MeetingStatus: organised by the user or received).
func EventData(obj *ical.Component, self func(addr string) bool) (fields []*wbxml.Node, note string, ok bool) {
	zones := ical.NewZones(obj)
	var master *ical.Component
	var overrides []*ical.Component
	for _, c := range obj.Sub(ical.VEvent) {
		if c.Prop("RECURRENCE-ID") != nil {
			overrides = append(overrides, c)
		} else if master == nil {
			master = c
		}
	}
	if master == nil {
		return nil, "", false
	}
	start, okS, err := master.DateTime("DTSTART")
	if !okS || err != nil {
		return nil, "", false
	}
	loc := time.UTC
	if start.TZID != "" {
		if z, ok := zones.Zone(start.TZID); ok {
			if l := zoneLocation(z); l != nil {
				loc = l
			}
		}
	}
	startT := zones.Instant(start)
	endT := eventEnd(master, zones, start, startT)
	year := startT.In(loc).Year()
	fields = append(fields, cal("TimeZone", TimeZoneBlob(loc, year)))
	if start.Date {
		fields = append(fields, cal("AllDayEvent", "1"))
		// An all-day event runs from midnight to midnight in its zone.
		startT = time.Date(start.Wall.Year(), start.Wall.Month(), start.Wall.Day(), 0, 0, 0, 0, loc)
		if e, ok, _ := master.DateTime("DTEND"); ok && e.Date {
			endT = time.Date(e.Wall.Year(), e.Wall.Month(), e.Wall.Day(), 0, 0, 0, 0, loc)
		} else {
			endT = startT.AddDate(0, 0, 1)
		}
	} else {
		fields = append(fields, cal("AllDayEvent", "0"))
	}
	busy := "2"
	if strings.EqualFold(master.Text("TRANSP"), "TRANSPARENT") {
		busy = "0"
	}
	fields = append(fields, cal("BusyStatus", busy))
	org := master.Prop("ORGANIZER")
	if org != nil {
		fields = append(fields, cal("OrganizerName", org.Param("CN")), cal("OrganizerEmail", mailto(org.Value)))
	}
	stamp := time.Now().UTC()
	if d, ok, _ := master.DateTime("DTSTAMP"); ok {
		stamp = zones.Instant(d)
	}
	fields = append(fields, cal("DTStamp", stamp.UTC().Format(calTime)), cal("EndTime", endT.UTC().Format(calTime)))
	if l := master.Text("LOCATION"); l != "" {
		fields = append(fields, cal("Location", l))
	}
	if m, ok := reminder(master); ok {
		fields = append(fields, cal("Reminder", strconv.Itoa(m)))
	}
	sens := "0"
	switch strings.ToUpper(master.Text("CLASS")) {
	case "PRIVATE":
		sens = "2"
	case "CONFIDENTIAL":
		sens = "3"
	}
	fields = append(fields, cal("Sensitivity", sens), cal("Subject", master.Text("SUMMARY")),
		cal("StartTime", startT.UTC().Format(calTime)), cal("UID", master.UID()))
	atts := master.All("ATTENDEE")
	status := "0"
	if len(atts) > 0 {
		status = "1"
		if org != nil && self != nil && !self(mailto(org.Value)) {
			status = "3"
		}
	}
	fields = append(fields, cal("MeetingStatus", status))
	if len(atts) > 0 {
		an := wbxml.El(Calendar, "Attendees")
		for i, a := range atts {
			if i >= 300 {
				break
			}
			e := wbxml.El(Calendar, "Attendee", cal("Email", mailto(a.Value)))
			if cn := a.Param("CN"); cn != "" {
				e.Add(cal("Name", cn))
			} else {
				e.Add(cal("Name", mailto(a.Value)))
			}
			st := map[string]string{"ACCEPTED": "3", "TENTATIVE": "2", "DECLINED": "4", "NEEDS-ACTION": "5"}[strings.ToUpper(a.Param("PARTSTAT"))]
			if st == "" {
				st = "0"
			}
			typ := "1"
			switch strings.ToUpper(a.Param("ROLE")) {
			case "OPT-PARTICIPANT", "NON-PARTICIPANT":
				typ = "2"
			}
			if strings.EqualFold(a.Param("CUTYPE"), "RESOURCE") || strings.EqualFold(a.Param("CUTYPE"), "ROOM") {
				typ = "3"
			}
			an.Add(e.Add(cal("AttendeeStatus", st), cal("AttendeeType", typ)))
		}
		fields = append(fields, an)
	}
	if cats := master.Prop("CATEGORIES"); cats != nil {
		cn := wbxml.El(Calendar, "Categories")
		for _, v := range cats.TextList() {
			if v = strings.TrimSpace(v); v != "" && len(cn.Children) < 50 {
				cn.Add(cal("Category", v))
			}
		}
		if len(cn.Children) > 0 {
			fields = append(fields, cn)
		}
	}
	if rr := master.Prop("RRULE"); rr != nil {
		if r, err := ical.ParseRecur(rr.Value); err == nil {
			if rec := recurrence(r, startT.In(loc), zones); rec != nil {
				fields = append(fields, rec)
				if ex := exceptions(master, overrides, zones, loc, start.Date); ex != nil {
					fields = append(fields, ex)
				}
			}
		}
	}
	return fields, master.Text("DESCRIPTION"), true
}

// zoneLocation returns the IANA location behind a zone, when it has one.
func zoneLocation(z ical.Zone) *time.Location {
	if l, ok := z.(interface{ Location() *time.Location }); ok {
		return l.Location()
	}
	return nil
}

func eventEnd(ev *ical.Component, zones *ical.Zones, start ical.DateTime, startT time.Time) time.Time {
	if e, ok, err := ev.DateTime("DTEND"); ok && err == nil {
		return zones.Instant(e)
	}
	if d, ok, err := ev.Duration("DURATION"); ok && err == nil {
		return d.AddTo(startT)
	}
	if start.Date {
		return startT.AddDate(0, 0, 1)
	}
	return startT
}

func mailto(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	return v
}

// reminder is the minutes before the start of the first display alarm.
func reminder(ev *ical.Component) (int, bool) {
	for _, a := range ev.Sub(ical.VAlarm) {
		tr := a.Prop("TRIGGER")
		if tr == nil || strings.EqualFold(tr.Param("VALUE"), "DATE-TIME") || strings.EqualFold(tr.Param("RELATED"), "END") {
			continue
		}
		d, err := ical.ParseDuration(tr.Value)
		if err != nil {
			continue
		}
		m := int(-d.Approx() / time.Minute)
		if m >= 0 {
			return m, true
		}
	}
	return 0, false
}

// recurrence maps an RRULE to the EAS Recurrence element; nil for a rule
// EAS cannot express.
func recurrence(r *ical.Recur, start time.Time, zones *ical.Zones) *wbxml.Node {
	if len(r.BySetPos) > 0 || len(r.ByYearDay) > 0 || len(r.ByWeekNo) > 0 || len(r.ByHour) > 0 || len(r.ByMinute) > 0 {
		return nil
	}
	dow := func() string {
		m := 0
		for _, d := range r.ByDay {
			m |= 1 << uint(d.Day)
		}
		if m == 0 {
			m = 1 << uint(start.Weekday())
		}
		return strconv.Itoa(m)
	}
	rec := wbxml.El(Calendar, "Recurrence")
	nth := 0
	if len(r.ByDay) == 1 && r.ByDay[0].N != 0 {
		nth = r.ByDay[0].N
		if nth < 0 {
			nth = 5
		}
	}
	switch r.Freq {
	case ical.Daily:
		rec.Add(cal("Type", "0"))
	case ical.Weekly:
		rec.Add(cal("Type", "1"), cal("DayOfWeek", dow()))
	case ical.Monthly:
		if nth != 0 {
			rec.Add(cal("Type", "3"), cal("DayOfWeek", dow()), cal("WeekOfMonth", strconv.Itoa(nth)))
		} else {
			day := start.Day()
			if len(r.ByMonthDay) == 1 && r.ByMonthDay[0] > 0 {
				day = r.ByMonthDay[0]
			}
			rec.Add(cal("Type", "2"), cal("DayOfMonth", strconv.Itoa(day)))
		}
	case ical.Yearly:
		month := int(start.Month())
		if len(r.ByMonth) == 1 {
			month = r.ByMonth[0]
		}
		if nth != 0 {
			rec.Add(cal("Type", "6"), cal("DayOfWeek", dow()), cal("WeekOfMonth", strconv.Itoa(nth)), cal("MonthOfYear", strconv.Itoa(month)))
		} else {
			day := start.Day()
			if len(r.ByMonthDay) == 1 && r.ByMonthDay[0] > 0 {
				day = r.ByMonthDay[0]
			}
			rec.Add(cal("Type", "5"), cal("DayOfMonth", strconv.Itoa(day)), cal("MonthOfYear", strconv.Itoa(month)))
		}
	default:
		return nil
	}
	if r.Interval > 1 {
		rec.Add(cal("Interval", strconv.Itoa(r.Interval)))
	}
	if r.Until != nil {
		rec.Add(cal("Until", zones.Instant(*r.Until).UTC().Format(calTime)))
	}
	if r.Count > 0 {
		rec.Add(cal("Occurrences", strconv.Itoa(r.Count)))
	}
	return rec
}

// exceptions are EXDATEs (deleted instances) and overridden instances.
func exceptions(master *ical.Component, overrides []*ical.Component, zones *ical.Zones, loc *time.Location, allDay bool) *wbxml.Node {
	ex := wbxml.El(Calendar, "Exceptions")
	for _, p := range master.All("EXDATE") {
		starts, _, err := ical.PropertyDateTimes(p)
		if err != nil {
			continue
		}
		for _, d := range starts {
			t := zones.Instant(d)
			if d.Date {
				t = time.Date(d.Wall.Year(), d.Wall.Month(), d.Wall.Day(), 0, 0, 0, 0, loc)
			}
			ex.Add(wbxml.El(Calendar, "Exception", cal("Deleted", "1"), cal("ExceptionStartTime", t.UTC().Format(calTime))))
		}
	}
	for _, o := range overrides {
		rid, ok, err := o.DateTime("RECURRENCE-ID")
		if !ok || err != nil {
			continue
		}
		ridT := zones.Instant(rid)
		e := wbxml.El(Calendar, "Exception", cal("ExceptionStartTime", ridT.UTC().Format(calTime)))
		if s, ok, err := o.DateTime("DTSTART"); ok && err == nil {
			st := zones.Instant(s)
			e.Add(cal("StartTime", st.UTC().Format(calTime)), cal("EndTime", eventEnd(o, zones, s, st).UTC().Format(calTime)))
		}
		if v := o.Text("SUMMARY"); v != "" {
			e.Add(cal("Subject", v))
		}
		if v := o.Text("LOCATION"); v != "" {
			e.Add(cal("Location", v))
		}
		ex.Add(e)
		if len(ex.Children) >= 500 {
			break
		}
	}
	if len(ex.Children) == 0 {
		return nil
	}
	_ = allDay
	return ex
}

// eventProps are the VEVENT properties ApplyEvent owns.
var eventProps = []string{"DTSTART", "DTEND", "DURATION", "SUMMARY", "LOCATION", "CLASS", "TRANSP", "RRULE", "EXDATE", "CATEGORIES"}

// ApplyEvent writes calendar-class ApplicationData into obj (a VCALENDAR
// holding one event; a new one when obj has none): times, subject,
// location, busy status, sensitivity, categories, reminder, recurrence
// and deleted instances, and the note when hasNote. Times are written in
// the event's existing zone when the device's TIMEZONE blob has the same
// rules, else in UTC. Organizer and attendees are left as they are
// (replies go through MeetingResponse).
func ApplyEvent(obj *ical.Component, ad *wbxml.Node, note string, hasNote bool, uid string) error {
	get := func(n string) string { return strings.TrimSpace(ad.ChildText(n)) }
	parseT := func(s string) (time.Time, error) { return time.Parse(calTime, s) }
	st, err := parseT(get("StartTime"))
	if err != nil {
		return fmt.Errorf("%w: StartTime %q", ErrBadEvent, get("StartTime"))
	}
	et, err := parseT(get("EndTime"))
	if err != nil || et.Before(st) {
		et = st
	}
	var ev *ical.Component
	for _, c := range obj.Sub(ical.VEvent) {
		if c.Prop("RECURRENCE-ID") == nil {
			ev = c
			break
		}
	}
	if ev == nil {
		ev = &ical.Component{Name: ical.VEvent}
		ev.Props = append(ev.Props, textProp("UID", uid))
		obj.Children = append(obj.Children, ev)
	}
	// The zone: keep the event's own when the device's rules are the same.
	var loc *time.Location
	tzid := ""
	zones := ical.NewZones(obj)
	if d, ok, _ := ev.DateTime("DTSTART"); ok && d.TZID != "" {
		if z, ok := zones.Zone(d.TZID); ok {
			if l := zoneLocation(z); l != nil && sameZoneBlob(TimeZoneBlob(l, st.Year()), get("TimeZone")) {
				loc, tzid = l, d.TZID
			}
		}
	}
	for _, p := range eventProps {
		ev.Del(p)
	}
	allDay := get("AllDayEvent") == "1"
	dt := func(name string, t time.Time) *ical.Property {
		p := &ical.Property{Name: name}
		switch {
		case allDay:
			if loc != nil {
				t = t.In(loc)
			} else {
				// Local midnight is within 12 hours of UTC midnight: the
				// nearest UTC midnight names the day, DST or not.
				t = t.UTC().Add(12 * time.Hour)
			}
			p.Value = t.Format("20060102")
			p.SetParam("VALUE", "DATE")
		case loc != nil:
			p.Value = t.In(loc).Format("20060102T150405")
			p.SetParam("TZID", tzid)
		default:
			p.Value = t.UTC().Format(calTime)
		}
		return p
	}
	ev.Props = append(ev.Props, dt("DTSTART", st), dt("DTEND", et))
	if v := get("Subject"); v != "" {
		ev.Props = append(ev.Props, textProp("SUMMARY", v))
	}
	loc2 := get("Location")
	if l := ad.Child("Location"); l != nil && l.Page == AirSyncBase {
		loc2 = strings.TrimSpace(l.ChildText("DisplayName"))
	}
	if loc2 != "" {
		ev.Props = append(ev.Props, textProp("LOCATION", loc2))
	}
	switch get("Sensitivity") {
	case "2":
		ev.Props = append(ev.Props, &ical.Property{Name: "CLASS", Value: "PRIVATE"})
	case "3":
		ev.Props = append(ev.Props, &ical.Property{Name: "CLASS", Value: "CONFIDENTIAL"})
	}
	if get("BusyStatus") == "0" {
		ev.Props = append(ev.Props, &ical.Property{Name: "TRANSP", Value: "TRANSPARENT"})
	}
	if cats := ad.Child("Categories"); cats != nil {
		var vs []string
		for _, v := range cats.All("Category") {
			if s := strings.TrimSpace(v.Content()); s != "" {
				vs = append(vs, strings.NewReplacer(",", "\\,", ";", "\\;").Replace(s))
			}
		}
		if len(vs) > 0 {
			ev.Props = append(ev.Props, &ical.Property{Name: "CATEGORIES", Value: strings.Join(vs, ",")})
		}
	}
	if hasNote {
		ev.Del("DESCRIPTION")
		if note != "" {
			ev.Props = append(ev.Props, textProp("DESCRIPTION", note))
		}
	}
	if m := get("Reminder"); m != "" {
		if n, err := strconv.Atoi(m); err == nil && n >= 0 {
			var kept []*ical.Component
			for _, c := range ev.Children {
				if c.Name != ical.VAlarm {
					kept = append(kept, c)
				}
			}
			al := &ical.Component{Name: ical.VAlarm}
			al.Props = append(al.Props, &ical.Property{Name: "ACTION", Value: "DISPLAY"}, textProp("DESCRIPTION", "Reminder"),
				&ical.Property{Name: "TRIGGER", Value: "-PT" + strconv.Itoa(n) + "M"})
			ev.Children = append(kept, al)
		}
	}
	if rec := ad.Child("Recurrence"); rec != nil {
		if rr := recurToRRULE(rec); rr != "" {
			ev.Props = append(ev.Props, &ical.Property{Name: "RRULE", Value: rr})
		}
		if ex := ad.Child("Exceptions"); ex != nil {
			for _, e := range ex.All("Exception") {
				if e.ChildText("Deleted") != "1" {
					continue
				}
				if t, err := parseT(e.ChildText("ExceptionStartTime")); err == nil {
					ev.Props = append(ev.Props, dt("EXDATE", t))
				}
			}
		}
	}
	ev.Del("DTSTAMP")
	ev.Props = append(ev.Props, &ical.Property{Name: "DTSTAMP", Value: time.Now().UTC().Format(calTime)})
	return nil
}

// ErrBadEvent marks calendar data that cannot become an event.
var ErrBadEvent = fmt.Errorf("bad calendar data")

func textProp(name, v string) *ical.Property {
	p := &ical.Property{Name: name}
	p.SetText(v)
	return p
}

// recurToRRULE is the inverse of recurrence.
func recurToRRULE(rec *wbxml.Node) string {
	get := func(n string) string { return strings.TrimSpace(rec.ChildText(n)) }
	days := func() string {
		m, _ := strconv.Atoi(get("DayOfWeek"))
		var out []string
		for i, n := range []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"} {
			if m&(1<<uint(i)) != 0 {
				out = append(out, n)
			}
		}
		return strings.Join(out, ",")
	}
	week := func() string {
		if get("WeekOfMonth") == "5" {
			return "-1"
		}
		return get("WeekOfMonth")
	}
	var parts []string
	switch get("Type") {
	case "0":
		parts = append(parts, "FREQ=DAILY")
		if d := days(); d != "" {
			parts = append(parts, "BYDAY="+d)
		}
	case "1":
		parts = append(parts, "FREQ=WEEKLY")
		if d := days(); d != "" {
			parts = append(parts, "BYDAY="+d)
		}
	case "2":
		parts = append(parts, "FREQ=MONTHLY", "BYMONTHDAY="+get("DayOfMonth"))
	case "3":
		parts = append(parts, "FREQ=MONTHLY", "BYDAY="+week()+days())
	case "5":
		parts = append(parts, "FREQ=YEARLY", "BYMONTH="+get("MonthOfYear"), "BYMONTHDAY="+get("DayOfMonth"))
	case "6":
		parts = append(parts, "FREQ=YEARLY", "BYMONTH="+get("MonthOfYear"), "BYDAY="+week()+days())
	default:
		return ""
	}
	if n, err := strconv.Atoi(get("Interval")); err == nil && n > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(n))
	}
	if u := get("Until"); u != "" {
		if t, err := time.Parse(calTime, u); err == nil {
			parts = append(parts, "UNTIL="+t.UTC().Format(calTime))
		}
	} else if n, err := strconv.Atoi(get("Occurrences")); err == nil && n > 0 {
		parts = append(parts, "COUNT="+strconv.Itoa(n))
	}
	rr := strings.Join(parts, ";")
	if _, err := ical.ParseRecur(rr); err != nil {
		return ""
	}
	return rr
}
