package jscalendar

import (
	"encoding/json"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
)

// RecurrenceKey is the recurrenceOverrides key of the instance of cal's
// series whose original start is the instant rid (ical.Occurrence's
// RecurrenceID and Date): a LocalDateTime in the master's time zone.
func RecurrenceKey(cal *ical.Component, rid time.Time, date bool) string {
	if date {
		return rid.UTC().Format("2006-01-02") + "T00:00:00"
	}
	zones := ical.NewZones(cal)
	for _, s := range ical.SeriesOf(cal, zones) {
		m := s.Master
		if m == nil {
			break
		}
		if st, ok, err := m.DateTime("DTSTART"); ok && err == nil && st.TZID != "" && !st.UTC {
			return wallIn(rid, st.TZID, zones).Format(LocalLayout)
		}
		break
	}
	return rid.UTC().Format(LocalLayout)
}

// Instance returns the instance of a recurring Event or Task at
// recurrence id key (a LocalDateTime): the master with the key's
// override applied and its recurrence properties replaced by
// recurrenceId (RFC 8984 §4.3.5 and §1.4.9). ok is false for an excluded
// instance or an override that does not apply.
func Instance(master Object, key string) (Object, bool) {
	b, err := json.Marshal(master)
	if err != nil {
		return nil, false
	}
	var inst Object
	if json.Unmarshal(b, &inst) != nil {
		return nil, false
	}
	ovs, _ := inst["recurrenceOverrides"].(map[string]any)
	for _, k := range []string{"recurrenceRules", "excludedRecurrenceRules", "recurrenceOverrides"} {
		delete(inst, k)
	}
	inst["start"] = key
	inst["recurrenceId"] = key
	if tz, ok := inst["timeZone"]; ok && tz != nil {
		inst["recurrenceIdTimeZone"] = tz
	}
	if p, ok := ovs[key].(map[string]any); ok {
		if ex, _ := p["excluded"].(bool); ex {
			return nil, false
		}
		for _, k := range sortedKeys(p) {
			if ApplyPatch(inst, k, p[k]) != nil {
				return nil, false
			}
		}
	}
	return inst, true
}

// Span returns the instants an Event or Task occupies (its start, and
// its start plus duration), resolving its time zone through zones (the
// stored calendar's VTIMEZONEs, then the IANA database); ok is false
// when it has no start.
func Span(o Object, zones *ical.Zones) (start, end time.Time, ok bool) {
	s, _ := o["start"].(string)
	if s == "" {
		s, _ = o["due"].(string)
	}
	w, err := time.Parse(LocalLayout, s)
	if err != nil {
		return start, end, false
	}
	tz, _ := o["timeZone"].(string)
	d := ical.DateTime{Wall: w}
	switch {
	case tz == "Etc/UTC" || tz == "UTC":
		d.UTC = true
	case tz != "":
		d.TZID = tz
	}
	start = zones.Instant(d)
	end = start
	dur, _ := o["duration"].(string)
	if dur == "" {
		dur, _ = o["estimatedDuration"].(string)
	}
	if dur != "" {
		if du, err := ical.ParseDuration(dur); err == nil && !du.Neg {
			end = zones.Instant(ical.DateTime{Wall: w.AddDate(0, 0, du.Weeks*7+du.Days), UTC: d.UTC, TZID: d.TZID}).Add(du.Time)
		}
	}
	return start, end, true
}
