package groupware

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
)

// Free/busy types (RFC 5545 §3.2.9).
const (
	Busy            = "BUSY"
	BusyTentative   = "BUSY-TENTATIVE"
	BusyUnavailable = "BUSY-UNAVAILABLE"
)

// Period is a busy time.
type Period struct {
	Start, End time.Time
	Type       string
}

// BusyLimits bound the expansion of one object for free/busy.
var BusyLimits = ical.ExpandLimits{MaxInstances: 2000, MaxIterations: 200000}

// BusyPeriods returns the busy times of the events of cal within
// [start, end), clipped to it (RFC 4791 §7.10: transparent and cancelled
// events are free, tentative ones BUSY-TENTATIVE).
func BusyPeriods(cal *ical.Component, zones *ical.Zones, start, end time.Time) []Period {
	ps, _ := BusyPeriodsLimited(cal, zones, start, end, BusyLimits)
	return ps
}

// BusyPeriodsLimited is BusyPeriods expanding with lim; truncated says a
// series had more instances in [start, end) than lim allows, so the
// busy times may be incomplete.
func BusyPeriodsLimited(cal *ical.Component, zones *ical.Zones, start, end time.Time, lim ical.ExpandLimits) (out []Period, truncated bool) {
	for _, s := range ical.SeriesOf(cal, zones) {
		occ, err := ical.Expand(s, start, end, lim)
		if le := (*ical.LimitError)(nil); errors.As(err, &le) {
			truncated = true
		}
		for _, o := range occ {
			c := o.Component
			if c.Name != ical.VEvent {
				continue
			}
			if strings.EqualFold(c.Text("TRANSP"), "TRANSPARENT") {
				continue
			}
			typ := Busy
			switch strings.ToUpper(c.Text("STATUS")) {
			case "CANCELLED":
				continue
			case "TENTATIVE":
				typ = BusyTentative
			}
			st, en := o.Start, o.End
			if !en.After(st) {
				continue // RFC 4791 §7.10: no duration, not busy
			}
			if !start.IsZero() && st.Before(start) {
				st = start
			}
			if !end.IsZero() && en.After(end) {
				en = end
			}
			if en.After(st) {
				out = append(out, Period{Start: st, End: en, Type: typ})
			}
		}
	}
	return out, truncated
}

// ClippedStatus is the REQUEST-STATUS of a free/busy answer computed from
// a truncated expansion (RFC 5546 §3.6.14: 2.11 "Success, unbounded RRULE
// clipped at some finite number of instances").
const ClippedStatus = "2.11;Success, recurrence clipped at a finite number of instances"

// MarkClipped adds ClippedStatus to the VFREEBUSY of a calendar FreeBusy
// built.
func MarkClipped(cal *ical.Component) {
	for _, fb := range cal.Sub(ical.VFreeBusy) {
		fb.Props = append(fb.Props, &ical.Property{Name: "REQUEST-STATUS", Value: strings.ReplaceAll(ClippedStatus, ",", `\,`)})
	}
}

// MergePeriods sorts periods and merges overlapping ones of one type.
func MergePeriods(ps []Period) []Period {
	slices.SortFunc(ps, func(a, b Period) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
	var out []Period
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Type == p.Type && !p.Start.After(out[n-1].End) {
			if p.End.After(out[n-1].End) {
				out[n-1].End = p.End
			}
			continue
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Period) int { return a.Start.Compare(b.Start) })
	return out
}

func utc(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// FreeBusy builds a VCALENDAR with one VFREEBUSY for [start, end)
// (RFC 4791 §7.10). method, organizer, attendee and uid are optional
// (the schedule outbox reply sets them, RFC 6638 §5).
func FreeBusy(periods []Period, start, end, now time.Time, method, organizer, attendee, uid string) *ical.Component {
	cal := &ical.Component{Name: ical.VCalendar}
	cal.Props = append(cal.Props, &ical.Property{Name: "VERSION", Value: "2.0"}, &ical.Property{Name: "PRODID", Value: "-//Roost//CalDAV//EN"})
	if method != "" {
		cal.Props = append(cal.Props, &ical.Property{Name: "METHOD", Value: method})
	}
	fb := &ical.Component{Name: ical.VFreeBusy}
	fb.Props = append(fb.Props, &ical.Property{Name: "DTSTAMP", Value: utc(now)})
	if uid != "" {
		fb.Props = append(fb.Props, &ical.Property{Name: "UID", Value: uid})
	}
	if organizer != "" {
		fb.Props = append(fb.Props, &ical.Property{Name: "ORGANIZER", Value: organizer})
	}
	if attendee != "" {
		fb.Props = append(fb.Props, &ical.Property{Name: "ATTENDEE", Value: attendee})
	}
	fb.Props = append(fb.Props, &ical.Property{Name: "DTSTART", Value: utc(start)}, &ical.Property{Name: "DTEND", Value: utc(end)})
	for _, p := range MergePeriods(periods) {
		prop := &ical.Property{Name: "FREEBUSY", Value: utc(p.Start) + "/" + utc(p.End)}
		if p.Type != Busy {
			prop.Params = []ical.Param{{Name: "FBTYPE", Values: []string{p.Type}}}
		}
		fb.Props = append(fb.Props, prop)
	}
	cal.Children = append(cal.Children, fb)
	return cal
}
