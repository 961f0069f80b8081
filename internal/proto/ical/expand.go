package ical

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ExpandLimits bound Expand. A zero or negative field takes its default.
type ExpandLimits struct {
	// MaxInstances bounds the occurrences returned. Default 10000.
	MaxInstances int
	// MaxIterations bounds the candidate instances examined, across all
	// rules of the series. Default 1000000.
	MaxIterations int
}

func (l ExpandLimits) withDefaults() ExpandLimits {
	if l.MaxInstances <= 0 {
		l.MaxInstances = 10000
	}
	if l.MaxIterations <= 0 {
		l.MaxIterations = 1000000
	}
	return l
}

// Series is a recurring component and its overrides, as one calendar
// object resource holds them (RFC 4791 §4.1): components of one kind that
// share a UID.
type Series struct {
	Master    *Component   // the component without RECURRENCE-ID; may be nil
	Overrides []*Component // components with RECURRENCE-ID
	Zones     *Zones
}

// SeriesOf groups the VEVENT, VTODO and VJOURNAL components of cal by
// kind and UID, in order of first appearance. zones may be nil; then
// NewZones(cal) is used.
func SeriesOf(cal *Component, zones *Zones) []*Series {
	if zones == nil {
		zones = NewZones(cal)
	}
	type key struct{ kind, uid string }
	idx := map[key]*Series{}
	var out []*Series
	for _, c := range cal.Children {
		if c.Name != VEvent && c.Name != VTodo && c.Name != VJournal {
			continue
		}
		k := key{c.Name, c.UID()}
		s := idx[k]
		if s == nil {
			s = &Series{Zones: zones}
			idx[k] = s
			out = append(out, s)
		}
		if c.Prop("RECURRENCE-ID") != nil {
			s.Overrides = append(s.Overrides, c)
		} else if s.Master == nil {
			s.Master = c
		}
	}
	return out
}

// Occurrence is one instance of a series.
type Occurrence struct {
	// Start and End are instants; End == Start for an instance without
	// duration. Both are zero for a VTODO without DTSTART and DUE.
	Start, End time.Time
	// RecurrenceID is the instance's original start (its RECURRENCE-ID),
	// Date whether that is a DATE.
	RecurrenceID time.Time
	Date         bool
	// Component is the master, or the override for this instance.
	Component *Component
	Override  bool
}

// span is how an instance's end follows from its start.
type span struct {
	days  int           // nominal part: calendar days
	exact time.Duration // exact part
}

func spanOf(c *Component, st DateTime, zones *Zones) (span, error) {
	endName := "DTEND"
	if c.Name == VTodo {
		endName = "DUE"
	}
	if e, ok, err := c.DateTime(endName); err != nil {
		return span{}, err
	} else if ok {
		// Mixed DATE and DATE-TIME (a liberty Validate allows) are
		// compared by their instants; an end before the start is read as
		// no length.
		if st.Date && e.Date {
			return span{days: max(int(e.Wall.Sub(st.Wall).Hours()/24), 0)}, nil
		}
		return span{exact: max(zones.Instant(e).Sub(zones.Instant(st)), 0)}, nil
	}
	if d, ok, err := c.Duration("DURATION"); err != nil {
		return span{}, err
	} else if ok {
		if d.Neg {
			return span{}, nil // an end before the start: no length
		}
		return span{days: d.Weeks*7 + d.Days, exact: d.Time}, nil
	}
	if st.Date && (c.Name == VEvent || c.Name == VJournal) {
		return span{days: 1}, nil // RFC 5545 §3.6.1; RFC 4791 §9.9
	}
	return span{}, nil
}

func (sp span) end(start DateTime, startInst time.Time, zones *Zones) time.Time {
	if sp.days == 0 {
		return startInst.Add(sp.exact)
	}
	e := start
	e.Wall = e.Wall.AddDate(0, 0, sp.days)
	return zones.Instant(e).Add(sp.exact)
}

// overlaps applies the time-range test of RFC 4791 §9.9; a zero start or
// end is open.
func overlaps(kind string, hasStart, hasEnd bool, s, e, qs, qe time.Time) bool {
	if kind == VTodo && !hasStart && !hasEnd {
		return true
	}
	if kind == VTodo && !hasStart {
		// DUE only: (start < DUE) AND (end >= DUE)
		return (qs.IsZero() || qs.Before(e)) && (qe.IsZero() || !qe.Before(e))
	}
	if kind == VTodo && e.After(s) {
		// ((start < DUE) OR (start <= DTSTART)) AND
		// ((end > DTSTART) OR (end >= DUE))
		return (qs.IsZero() || qs.Before(e) || !qs.After(s)) && (qe.IsZero() || qe.After(s) || !qe.Before(e))
	}
	if e.After(s) {
		return (qs.IsZero() || qs.Before(e)) && (qe.IsZero() || qe.After(s))
	}
	return (qs.IsZero() || !qs.After(s)) && (qe.IsZero() || qe.After(s))
}

// Expand returns the occurrences of s that overlap [start, end) in the
// sense of RFC 4791 §9.9, sorted by start. A zero start or end leaves
// that side open. The recurrence set is DTSTART, the RRULE instances
// (RFC 5545 §3.3.10) and the RDATEs, less the EXDATEs; an override
// (RECURRENCE-ID, RFC 5545 §3.8.4.4) replaces the instance it names.
//
// When a limit is hit, Expand returns the occurrences found so far (at
// most MaxInstances) with a *LimitError.
func Expand(s *Series, start, end time.Time, lim ExpandLimits) ([]Occurrence, error) {
	lim = lim.withDefaults()
	zones := s.Zones
	if zones == nil {
		zones = &Zones{}
	}
	x := &expander{s: s, zones: zones, qs: start, qe: end, lim: lim, budget: lim.MaxIterations,
		overrides: map[time.Time]*Component{}, used: map[*Component]bool{}, seen: map[time.Time]bool{}}
	for _, o := range s.Overrides {
		rid, ok, err := o.DateTime("RECURRENCE-ID")
		if err != nil || !ok {
			continue
		}
		ridInst := zones.Instant(x.alignRID(rid))
		x.overrides[ridInst] = o
		if p := o.Prop("RECURRENCE-ID"); equalFold(p.Param("RANGE"), "THISANDFUTURE") {
			if st, end, ok, err := zones.Span(o); ok && err == nil {
				x.future = append(x.future, futureOverride{rid: ridInst, c: o, shift: st.Sub(ridInst), length: end.Sub(st)})
			}
		}
	}
	slices.SortFunc(x.future, func(a, b futureOverride) int { return a.rid.Compare(b.rid) })
	err := x.run()
	if err == nil || isLimit(err) {
		for _, o := range s.Overrides {
			if !x.used[o] {
				if err2 := x.single(o, true); err2 != nil && err == nil {
					err = err2
				}
			}
		}
	}
	slices.SortStableFunc(x.out, func(a, b Occurrence) int { return a.Start.Compare(b.Start) })
	if len(x.out) > lim.MaxInstances {
		x.out = x.out[:lim.MaxInstances]
		if err == nil {
			err = &LimitError{Limit: LimitInstances, Max: lim.MaxInstances}
		}
	}
	return x.out, err
}

func isLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

type expander struct {
	future    []futureOverride // RANGE=THISANDFUTURE, by RID
	s         *Series
	zones     *Zones
	qs, qe    time.Time
	lim       ExpandLimits
	budget    int
	overrides map[time.Time]*Component
	used      map[*Component]bool
	seen      map[time.Time]bool
	out       []Occurrence
}

func (x *expander) add(o Occurrence) error {
	if len(x.out) >= x.lim.MaxInstances {
		return &LimitError{Limit: LimitInstances, Max: x.lim.MaxInstances}
	}
	x.out = append(x.out, o)
	return nil
}

// single adds a component that does not recur (or an override on its own).
func (x *expander) single(c *Component, override bool) error {
	st, ok, err := c.DateTime("DTSTART")
	if err != nil {
		return err
	}
	rid := st
	if r, rok, _ := c.DateTime("RECURRENCE-ID"); rok {
		rid = x.alignRID(r)
	}
	if !ok {
		if c.Name != VTodo {
			return nil
		}
		due, dok, err := c.DateTime("DUE")
		if err != nil {
			return err
		}
		if dok {
			d := x.zones.Instant(due)
			if overlaps(VTodo, false, true, d, d, x.qs, x.qe) {
				return x.add(Occurrence{Start: d, End: d, Component: c, Override: override})
			}
			return nil
		}
		if todoUndatedOverlaps(c, x.zones, x.qs, x.qe) {
			return x.add(Occurrence{Component: c, Override: override})
		}
		return nil
	}
	sp, err := spanOf(c, st, x.zones)
	if err != nil {
		return err
	}
	s := x.zones.Instant(st)
	e := sp.end(st, s, x.zones)
	if overlaps(c.Name, true, true, s, e, x.qs, x.qe) {
		return x.add(Occurrence{Start: s, End: e, RecurrenceID: x.zones.Instant(rid), Date: rid.Date, Component: c, Override: override})
	}
	return nil
}

func (x *expander) run() error {
	m := x.s.Master
	if m == nil {
		return nil
	}
	st, ok, err := m.DateTime("DTSTART")
	if err != nil {
		return err
	}
	recurs := m.Prop("RRULE") != nil || m.Prop("RDATE") != nil
	// hasStart is false for a VTODO recurring from its DUE: RFC 5545
	// anchors a recurrence set on DTSTART, which a VTODO may lack; the
	// rule is then anchored on DUE (as libical and Thunderbird do) and
	// each instance is a due date alone, matched by the DUE-only row of
	// RFC 4791 §9.9.
	hasStart := ok
	if !ok && recurs && m.Name == VTodo {
		due, dok, err := m.DateTime("DUE")
		if err != nil {
			return err
		}
		st, ok = due, dok
	}
	if !ok || !recurs {
		return x.single(m, false)
	}
	sp, err := spanOf(m, st, x.zones)
	if err != nil {
		return err
	}
	var exWall []DateTime
	exInst := map[time.Time]bool{}
	for _, p := range m.All("EXDATE") {
		ds, _, err := PropertyDateTimes(p)
		if err != nil {
			return err
		}
		for _, d := range ds {
			exInst[x.zones.Instant(d)] = true
			if d.Date {
				exWall = append(exWall, d)
			}
		}
	}
	// instance handles one member of the recurrence set; end is set for
	// an RDATE PERIOD.
	instance := func(d DateTime, endDT *DateTime) error {
		inst := x.zones.Instant(d)
		if exInst[inst] || x.seen[inst] {
			return nil
		}
		for _, e := range exWall {
			if e.Wall.Equal(d.Wall.Truncate(24 * time.Hour)) {
				return nil
			}
		}
		if o := x.overrides[inst]; o != nil {
			x.seen[inst] = true
			x.used[o] = true
			return x.single(o, true)
		}
		for i := len(x.future) - 1; i >= 0; i-- {
			// RFC 5545 §3.8.4.4: RANGE=THISANDFUTURE moves this and every
			// later instance by the same shift and gives them its length.
			if f := x.future[i]; f.rid.Before(inst) {
				s := inst.Add(f.shift)
				e := s.Add(f.length)
				if !overlaps(m.Name, hasStart, true, s, e, x.qs, x.qe) {
					return nil
				}
				x.seen[inst] = true
				return x.add(Occurrence{Start: s, End: e, RecurrenceID: inst, Date: d.Date, Component: f.c, Override: true})
			}
		}
		var e time.Time
		if endDT != nil {
			e = x.zones.Instant(*endDT)
		} else {
			e = sp.end(d, inst, x.zones)
		}
		if !overlaps(m.Name, hasStart, true, inst, e, x.qs, x.qe) {
			return nil
		}
		x.seen[inst] = true
		return x.add(Occurrence{Start: inst, End: e, RecurrenceID: inst, Date: d.Date, Component: m})
	}
	if err := instance(st, nil); err != nil {
		return err
	}
	for _, p := range m.All("RDATE") {
		ds, ends, err := PropertyDateTimes(p)
		if err != nil {
			return err
		}
		for i, d := range ds {
			if x.budget--; x.budget < 0 {
				return &LimitError{Limit: LimitIterations, Max: x.lim.MaxIterations}
			}
			var e *DateTime
			if !ends[i].Wall.IsZero() {
				e = &ends[i]
			}
			if err := instance(d, e); err != nil {
				return err
			}
		}
	}
	// Wall-clock bounds for the rule iteration, with slack for zone
	// offsets (at most ±26h) and the instance length.
	slack := 2*24*time.Hour + time.Duration(sp.days)*24*time.Hour + max(sp.exact, 0)
	for _, p := range m.All("RRULE") {
		r, err := ParseRecur(p.Value)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		var past func(time.Time) bool
		if u := r.Until; u != nil {
			switch {
			case u.UTC && !st.Floating():
				past = func(w time.Time) bool {
					d := st
					d.Wall = w
					return x.zones.Instant(d).After(u.Wall)
				}
			case u.Date && !st.Date:
				past = func(w time.Time) bool { return !w.Before(u.Wall.AddDate(0, 0, 1)) }
			default:
				past = func(w time.Time) bool { return w.After(u.Wall) }
			}
		}
		it := newRecurIter(r, st.Wall, &x.budget, past)
		if !x.qs.IsZero() {
			q := x.qs.UTC().Add(-slack)
			it.skipTo(time.Date(q.Year(), q.Month(), q.Day(), q.Hour(), q.Minute(), q.Second(), 0, time.UTC))
		}
		var stopAt time.Time
		if !x.qe.IsZero() {
			stopAt = x.qe.UTC().Add(2 * 24 * time.Hour)
		}
		for {
			w, ok, err := it.next()
			if err != nil {
				return err
			}
			if !ok || !stopAt.IsZero() && w.After(stopAt) {
				break
			}
			d := st
			d.Wall = w
			if err := instance(d, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// anchorOf returns what the recurrence set of m is anchored on: DTSTART,
// or DUE for a VTODO without DTSTART (see run).
func anchorOf(m *Component) (DateTime, bool) {
	if st, ok, err := m.DateTime("DTSTART"); ok && err == nil {
		return st, true
	}
	if m.Name == VTodo {
		if due, ok, err := m.DateTime("DUE"); ok && err == nil {
			return due, true
		}
	}
	return DateTime{}, false
}

// alignRID reads a RECURRENCE-ID of another value type than the series'
// start as naming the instance of its date: RFC 5545 §3.8.4.4 wants the
// same type, and some clients write a DATE for a timed series or the
// reverse.
func (x *expander) alignRID(rid DateTime) DateTime {
	if x.s.Master == nil {
		return rid
	}
	a, ok := anchorOf(x.s.Master)
	if !ok || a.Date == rid.Date {
		return rid
	}
	return AlignDateTime(rid, a)
}

// AlignDateTime returns d in the value type of like: a DATE becomes that
// day at like's time of day and zone; a DATE-TIME becomes its date.
func AlignDateTime(d, like DateTime) DateTime {
	y, m, day := d.Wall.Date()
	if like.Date {
		return DateTime{Wall: time.Date(y, m, day, 0, 0, 0, 0, time.UTC), Date: true}
	}
	w := like.Wall
	return DateTime{Wall: time.Date(y, m, day, w.Hour(), w.Minute(), w.Second(), 0, time.UTC), UTC: like.UTC, TZID: like.TZID}
}

type futureOverride struct {
	rid    time.Time
	c      *Component
	shift  time.Duration
	length time.Duration
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// Span returns the start and end instants of c taken on its own (not
// expanded), as Expand computes them for one instance: DTEND, DUE or
// DURATION, a day for an all-day VEVENT, else no length. ok is false
// without DTSTART.
func (z *Zones) Span(c *Component) (start, end time.Time, ok bool, err error) {
	st, ok, err := c.DateTime("DTSTART")
	if !ok || err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	sp, err := spanOf(c, st, z)
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	start = z.Instant(st)
	return start, sp.end(st, start, z), true, nil
}

// todoUndatedOverlaps is the time-range test of RFC 4791 §9.9 for a
// VTODO without DTSTART and DUE: by COMPLETED and CREATED, else always.
func todoUndatedOverlaps(c *Component, zones *Zones, qs, qe time.Time) bool {
	get := func(name string) (time.Time, bool) {
		d, ok, err := c.DateTime(name)
		if !ok || err != nil {
			return time.Time{}, false
		}
		return zones.Instant(d), true
	}
	le := func(a, b time.Time) bool { return a.IsZero() || !a.After(b) }  // query start <= t
	ge := func(a, b time.Time) bool { return a.IsZero() || !a.Before(b) } // query end >= t
	completed, hasCompleted := get("COMPLETED")
	created, hasCreated := get("CREATED")
	switch {
	case hasCompleted && hasCreated:
		return (le(qs, created) || le(qs, completed)) && (ge(qe, created) || ge(qe, completed))
	case hasCompleted:
		return le(qs, completed) && ge(qe, completed)
	case hasCreated:
		return qe.IsZero() || qe.After(created)
	}
	return true
}
