package groupware

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// floatSlack widens the index range of floating times and dates: their
// instants depend on the viewer's zone, at most 14 hours from UTC.
const floatSlack = 14 * time.Hour

// indexLimits bound the expansion done to find the end of a series. A
// series that needs more is indexed as unbounded.
var indexLimits = ical.ExpandLimits{MaxInstances: 5000, MaxIterations: 200000}

// ErrInvalidObject is wrapped by every validation failure of a calendar or
// contact resource (RFC 4791 §5.3.2.1 valid-calendar-data and friends).
var ErrInvalidObject = errors.New("invalid calendar object")

// Index is what the store keeps about a calendar object resource.
type Index struct {
	UID   string
	Kind  string    // ical.VEvent, ical.VTodo or ical.VJournal
	Start time.Time // zero: unbounded
	End   time.Time // zero: unbounded
	// Recurring says whether the object has RRULE, RDATE or overrides.
	Recurring bool
}

// ValidateCalendar checks that cal may be stored as one calendar object
// resource (RFC 4791 §4.1): a VCALENDAR without METHOD holding components
// of one kind with one UID.
func ValidateCalendar(cal *ical.Component) error {
	if err := ical.Validate(cal); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidObject, err)
	}
	if cal.Prop("METHOD") != nil {
		// RFC 4791 §4.1: calendar object resources carry no METHOD.
		return fmt.Errorf("%w: METHOD in a calendar object resource", ErrInvalidObject)
	}
	n := 0
	for _, c := range cal.Children {
		switch c.Name {
		case ical.VEvent, ical.VTodo, ical.VJournal:
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: no VEVENT, VTODO or VJOURNAL", ErrInvalidObject)
	}
	return nil
}

// IndexCalendar computes the index of a validated calendar object. zones
// may be nil.
func IndexCalendar(cal *ical.Component, zones *ical.Zones) (Index, error) {
	series := ical.SeriesOf(cal, zones)
	if len(series) != 1 {
		return Index{}, fmt.Errorf("%w: %d series in one object", ErrInvalidObject, len(series))
	}
	s := series[0]
	var ix Index
	first := s.Master
	if first == nil {
		first = s.Overrides[0]
	}
	ix.UID, ix.Kind = first.UID(), first.Name
	ix.Recurring = len(s.Overrides) > 0 || s.Master != nil && (s.Master.Prop("RRULE") != nil || s.Master.Prop("RDATE") != nil)
	floating := false
	for _, c := range append([]*ical.Component{s.Master}, s.Overrides...) {
		if c == nil {
			continue
		}
		for _, name := range []string{"DTSTART", "DTEND", "DUE", "RECURRENCE-ID"} {
			if d, ok, _ := c.DateTime(name); ok && d.Floating() {
				floating = true
			}
		}
	}
	unboundedEnd := false
	if s.Master != nil {
		for _, p := range s.Master.All("RRULE") {
			r, err := ical.ParseRecur(p.Value)
			if err != nil {
				return Index{}, fmt.Errorf("%w: %v", ErrInvalidObject, err)
			}
			if r.Count == 0 && r.Until == nil {
				unboundedEnd = true
			}
		}
	}
	lim := indexLimits
	if unboundedEnd {
		// Only the start is needed: the first instances suffice.
		lim = ical.ExpandLimits{MaxInstances: 50, MaxIterations: 20000}
	}
	occ, err := ical.Expand(s, time.Time{}, time.Time{}, lim)
	var le *ical.LimitError
	switch {
	case errors.As(err, &le):
		unboundedEnd = true
	case err != nil:
		return Index{}, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	if len(occ) == 0 {
		if ix.Kind == ical.VTodo {
			return ix, nil // undated task: matches every range
		}
		// Nothing to place in time (every instance excluded, no DTSTART):
		// unbounded, so that only the exact test decides, never the index.
		return ix, nil
	} else {
		ix.Start = occ[0].Start
		for _, o := range occ {
			if o.Start.Before(ix.Start) {
				ix.Start = o.Start
			}
			e := o.End
			if e.Before(o.Start) {
				e = o.Start
			}
			if e.After(ix.End) {
				ix.End = e
			}
		}
		if ix.Kind == ical.VTodo && occ[0].Start.IsZero() {
			// A task without dates: unbounded both ways.
			ix.Start, ix.End = time.Time{}, time.Time{}
			return ix, nil
		}
	}
	if ix.Kind == ical.VTodo {
		// RFC 4791 §9.9 matches tasks by COMPLETED and CREATED too; keep
		// tasks unbounded on the side those may extend.
		if first.Prop("COMPLETED") != nil || first.Prop("CREATED") != nil {
			ix.Start, ix.End = time.Time{}, time.Time{}
			return ix, nil
		}
	}
	if unboundedEnd {
		ix.End = time.Time{}
	}
	if floating {
		if !ix.Start.IsZero() {
			ix.Start = ix.Start.Add(-floatSlack)
		}
		if !ix.End.IsZero() {
			ix.End = ix.End.Add(floatSlack)
		}
	}
	if !ix.End.IsZero() && !ix.End.After(ix.Start) {
		// The store's range test is half-open: give instants a second.
		ix.End = ix.Start.Add(time.Second)
	}
	return ix, nil
}

// Kind returns the component kind of a calendar object (VEVENT, VTODO,
// VJOURNAL), or "".
func Kind(cal *ical.Component) string {
	for _, c := range cal.Children {
		switch c.Name {
		case ical.VEvent, ical.VTodo, ical.VJournal:
			return c.Name
		}
	}
	return ""
}

// Addr normalises a calendar user address ("mailto:a@b" → "a@b").
func Addr(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	return strings.ToLower(v)
}

// PropComponents is the folder property holding a calendar's
// supported-calendar-component-set (RFC 4791 §5.2.3) as a
// comma-separated list, as MKCALENDAR set it.
const PropComponents = "roost/components"

// Components is the component set a calendar folder accepts, given its
// properties: the one set at creation, else VTODO for task folders,
// VEVENT for the default calendar, VEVENT, VTODO and VJOURNAL for
// others. CalDAV and JMAP enforce the same set.
func Components(f *store.Folder, props map[string]string) []string {
	if v := props[PropComponents]; v != "" {
		return strings.Split(v, ",")
	}
	switch {
	case f.Type == store.FolderTasks:
		return []string{ical.VTodo}
	case f.Special == store.SpecialCalendar:
		return []string{ical.VEvent}
	}
	return []string{ical.VEvent, ical.VTodo, ical.VJournal}
}
