package ical

import (
	"fmt"
	"strings"
)

// Validate checks what a CalDAV server must refuse to store (RFC 4791
// §5.3.2.1 valid-calendar-data and valid-calendar-object-resource): the
// root is a VCALENDAR; every VEVENT, VTODO and VJOURNAL has a UID, all
// share one UID, are of one kind and have parseable date, duration and
// recurrence values; and DTEND (or DUE) is not before DTSTART.
func Validate(cal *Component) error {
	if cal.Name != VCalendar {
		return fmt.Errorf("ical: root is %s, not VCALENDAR", cal.Name)
	}
	var kind, uid string
	for _, c := range cal.Children {
		switch c.Name {
		case VEvent, VTodo, VJournal:
		default:
			continue
		}
		if kind == "" {
			kind, uid = c.Name, c.UID()
		}
		if c.Name != kind {
			return fmt.Errorf("ical: both %s and %s in one object", kind, c.Name)
		}
		if c.UID() == "" {
			return fmt.Errorf("ical: %s without UID", c.Name)
		}
		if c.UID() != uid {
			return fmt.Errorf("ical: more than one UID in one object")
		}
		if err := validateComponent(c); err != nil {
			return err
		}
	}
	return nil
}

func validateComponent(c *Component) error {
	var start, end DateTime
	var hasStart, hasEnd bool
	for _, p := range c.Props {
		var err error
		switch strings.ToUpper(p.Name) {
		case "DTSTART":
			start, err = PropertyDateTime(p)
			hasStart = err == nil
		case "DTEND", "DUE":
			end, err = PropertyDateTime(p)
			hasEnd = err == nil
		case "RECURRENCE-ID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "COMPLETED":
			_, err = PropertyDateTime(p)
		case "EXDATE", "RDATE":
			_, _, err = PropertyDateTimes(p)
		case "DURATION":
			_, err = ParseDuration(p.Value)
		case "RRULE", "EXRULE":
			_, err = ParseRecur(p.Value)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	if c.Prop("RRULE") != nil && !hasStart {
		return fmt.Errorf("ical: %s: RRULE without DTSTART", c.Name)
	}
	if hasStart && hasEnd {
		if start.Date != end.Date {
			return fmt.Errorf("ical: %s: DTSTART and end differ in value type", c.Name)
		}
		if start.TZID == end.TZID && start.UTC == end.UTC && end.Wall.Before(start.Wall) {
			return fmt.Errorf("ical: %s: ends before it starts", c.Name)
		}
	}
	return nil
}
