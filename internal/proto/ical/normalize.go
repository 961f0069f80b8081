package ical

import (
	"fmt"
	"strings"
)

// Normalize rewrites in place what Validate accepts but RFC 5545 writes
// otherwise, where the rewrite keeps the meaning, and returns one note per
// liberty taken, for the log. Expand reads the unrewritten forms the same
// way, so an object stored as the client sent it answers queries alike.
//
//   - DURATION (and a VALARM's relative TRIGGER) with a trailing "T"
//     ("P1DT", RFC 5545 §3.3.6 wants a time after it) becomes "P1D".
//   - A RECURRENCE-ID of another value type than the master's DTSTART
//     (RFC 5545 §3.8.4.4 wants the same) becomes the instance of its date.
//   - Left as written, only noted: DTSTART and DTEND/DUE of mixed DATE
//     and DATE-TIME types (compared by their instants), and an end before
//     the start (read as no length).
func Normalize(cal *Component) []string {
	var notes []string
	note := func(c *Component, format string, args ...any) {
		notes = append(notes, fmt.Sprintf("%s %s: ", c.Name, c.UID())+fmt.Sprintf(format, args...))
	}
	zones := NewZones(cal)
	for _, s := range SeriesOf(cal, zones) {
		var anchor DateTime
		hasAnchor := false
		if s.Master != nil {
			anchor, hasAnchor = anchorOf(s.Master)
		}
		for _, c := range append([]*Component{s.Master}, s.Overrides...) {
			if c == nil {
				continue
			}
			normalizeDurations(c, func(from, to string) { note(c, "%s read as %s", from, to) })
			for _, a := range c.Sub(VAlarm) {
				normalizeDurations(a, func(from, to string) { note(c, "VALARM %s read as %s", from, to) })
			}
			if p := c.Prop("RECURRENCE-ID"); p != nil && hasAnchor {
				if rid, err := PropertyDateTime(p); err == nil && rid.Date != anchor.Date {
					a := AlignDateTime(rid, anchor)
					from := p.Value
					setDateTime(p, a)
					note(c, "RECURRENCE-ID %s read as %s, the type of DTSTART", from, p.Value)
				}
			}
			st, sok, _ := c.DateTime("DTSTART")
			endName := "DTEND"
			if c.Name == VTodo {
				endName = "DUE"
			}
			en, eok, _ := c.DateTime(endName)
			if !sok || !eok {
				continue
			}
			if st.Date != en.Date {
				note(c, "DTSTART and %s of different value types, compared by their instants", endName)
			}
			if zones.Instant(en).Before(zones.Instant(st)) {
				note(c, "%s before DTSTART, read as no length", endName)
			}
		}
	}
	return notes
}

// normalizeDurations rewrites DURATION and relative TRIGGER values that
// end in a bare "T".
func normalizeDurations(c *Component, noted func(from, to string)) {
	for _, p := range c.Props {
		name := strings.ToUpper(p.Name)
		if name != "DURATION" && (name != "TRIGGER" || strings.EqualFold(p.Param("VALUE"), "DATE-TIME")) {
			continue
		}
		v := strings.ToUpper(strings.TrimSpace(p.Value))
		if !strings.HasSuffix(v, "T") {
			continue
		}
		d, err := ParseDuration(v)
		if err != nil {
			continue
		}
		from := p.Value
		p.Value = d.String()
		noted(name+" "+from, p.Value)
	}
}

// setDateTime writes d into p with the matching VALUE and TZID parameters.
func setDateTime(p *Property, d DateTime) {
	p.Value = d.String()
	if d.Date {
		p.SetParam("VALUE", "DATE")
	} else {
		p.SetParam("VALUE")
	}
	if d.TZID != "" {
		p.SetParam("TZID", d.TZID)
	} else {
		p.SetParam("TZID")
	}
}
