package ical

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidData is wrapped by the errors of Validate that make the data
// invalid iCalendar (RFC 4791 CALDAV:valid-calendar-data), as opposed to
// valid iCalendar that breaks a rule of calendar object resources (one
// component type, one UID: CALDAV:valid-calendar-object-resource).
var ErrInvalidData = errors.New("invalid iCalendar data")

// Validate checks what a CalDAV server must refuse to store (RFC 4791
// §5.3.2.1 valid-calendar-data and valid-calendar-object-resource): the
// root is a VCALENDAR; every VEVENT, VTODO and VJOURNAL has a UID, all
// share one UID, are of one kind and have parseable date, duration and
// recurrence values; and a recurring VEVENT has a DTSTART.
//
// It is liberal in what it accepts (RFC 1122 §1.2.2): what real clients
// send and can still be understood is stored, and read as Expand and
// Normalize describe. That covers a DURATION with a trailing "T"
// ("P1DT"), DTSTART, DTEND, DUE and RECURRENCE-ID of mixed DATE and
// DATE-TIME types, an end before the start (read as no length), and a
// recurring VTODO or VJOURNAL without DTSTART (RFC 5545 §3.6.2, §3.6.3
// do not require one; see Expand for how a VTODO recurs then).
func Validate(cal *Component) error {
	if cal.Name != VCalendar {
		return fmt.Errorf("ical: root is %s, not VCALENDAR: %w", cal.Name, ErrInvalidData)
	}
	var kind, uid string
	for _, c := range cal.Children {
		switch c.Name {
		case VEvent, VTodo, VJournal, VFreeBusy:
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
			return fmt.Errorf("%w: %w", ErrInvalidData, err)
		}
	}
	return nil
}

func validateComponent(c *Component) error {
	var hasStart bool
	for _, p := range c.Props {
		var err error
		switch strings.ToUpper(p.Name) {
		case "DTSTART":
			_, err = PropertyDateTime(p)
			hasStart = err == nil
		case "DTEND", "DUE", "RECURRENCE-ID", "DTSTAMP", "CREATED", "LAST-MODIFIED", "COMPLETED":
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
	if c.Prop("RRULE") != nil && !hasStart && c.Name == VEvent {
		// RFC 5545 §3.6.1: DTSTART is required in a VEVENT of a
		// calendar without METHOD, and a rule needs it as its anchor.
		return fmt.Errorf("ical: %s: RRULE without DTSTART", c.Name)
	}
	return nil
}
