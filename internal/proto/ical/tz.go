package ical

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Zone turns wall-clock times of one time zone into instants.
type Zone interface {
	// Instant returns the instant at which the clocks of the zone show
	// wall (whose own location is ignored). A wall time in a DST gap is
	// read with the offset in force before the gap, an ambiguous one as
	// its first occurrence (RFC 5545 §3.3.5).
	Instant(wall time.Time) time.Time
}

type locZone struct{ loc *time.Location }

func (z locZone) Instant(w time.Time) time.Time {
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	t := time.Date(y, mo, d, h, mi, s, w.Nanosecond(), z.loc)
	if !sameWall(t, w) {
		// A gap: RFC 5545 §3.3.5 reads it with the offset before the gap.
		_, off := t.Add(-6 * time.Hour).Zone()
		return time.Date(y, mo, d, h, mi, s, w.Nanosecond(), time.UTC).Add(-time.Duration(off) * time.Second)
	}
	// Prefer the first of two ambiguous readings, like vzone does.
	if e := t.Add(-time.Hour); sameWall(e, w) {
		return e
	}
	return t
}

func sameWall(t, w time.Time) bool {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	y2, mo2, d2 := w.Date()
	h2, mi2, s2 := w.Clock()
	return y == y2 && mo == mo2 && d == d2 && h == h2 && mi == mi2 && s == s2
}

// Location is the IANA location of the zone (ActiveSync writes its
// rules as a TIME_ZONE_INFORMATION blob).
func (z locZone) Location() *time.Location { return z.loc }

// LocationZone adapts a *time.Location.
func LocationZone(loc *time.Location) Zone { return locZone{loc} }

// Zones resolves the TZIDs of one calendar object: first through its
// VTIMEZONE components, then through the IANA database. Safe for
// concurrent use.
type Zones struct {
	// Floating is the zone of floating times and dates; nil means UTC.
	Floating *time.Location

	vtz  map[string]*vzone
	mu   sync.Mutex
	iana map[string]*time.Location
}

// NewZones collects the VTIMEZONE components of cal (a VCALENDAR). Zones
// that cannot be read are left out, so their TZIDs fall back to the IANA
// database.
func NewZones(cal *Component) *Zones {
	z := &Zones{vtz: map[string]*vzone{}}
	if cal == nil {
		return z
	}
	for _, tz := range cal.Sub(VTimezone) {
		id := tz.Text("TZID")
		if id == "" {
			continue
		}
		if v := newVZone(tz); v != nil {
			z.vtz[id] = v
		}
	}
	return z
}

func (z *Zones) floating() *time.Location {
	if z == nil || z.Floating == nil {
		return time.UTC
	}
	return z.Floating
}

// Zone returns the zone for tzid; ok is false when neither a VTIMEZONE nor
// the IANA database knows it.
func (z *Zones) Zone(tzid string) (Zone, bool) {
	if z == nil {
		z = &Zones{}
	}
	if v, ok := z.vtz[tzid]; ok {
		return v, true
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if loc, ok := z.iana[tzid]; ok {
		return locZone{loc}, loc != nil
	}
	name := strings.TrimPrefix(tzid, "/") // RFC 5545 §3.2.19 globally unique prefix
	var loc *time.Location
	if name != "" && name != "Local" {
		loc, _ = time.LoadLocation(name)
	}
	if z.iana == nil {
		z.iana = map[string]*time.Location{}
	}
	z.iana[tzid] = loc
	return locZone{loc}, loc != nil
}

// Instant resolves d. UTC times are what they say; dates and floating
// times are read in z.Floating; a TZID nobody knows is read as floating.
func (z *Zones) Instant(d DateTime) time.Time {
	switch {
	case d.UTC:
		return d.Wall
	case d.TZID != "":
		if zone, ok := z.Zone(d.TZID); ok {
			return zone.Instant(d.Wall)
		}
	}
	return locZone{z.floating()}.Instant(d.Wall)
}

// vzone is a zone built from a VTIMEZONE (RFC 5545 §3.6.5): each STANDARD
// or DAYLIGHT observance contributes onsets from its DTSTART, RRULE and
// RDATE; transitions are generated lazily, year by year, as far as asked.
type vzone struct {
	mu      sync.Mutex
	obs     []*observance
	initial int // offset before the first onset, in seconds
	trans   []transition
	upTo    int // transitions are complete up to the end of this year
}

type transition struct {
	at     int64 // instant, Unix seconds
	offset int
}

type observance struct {
	from, to int
	iters    []*recurIter
	budget   int
	pending  []time.Time // generated onsets (wall) not yet merged
}

// Bounds on the work one VTIMEZONE can cause: real zones change offset
// at most a few times a year.
const (
	maxZoneYear    = 2500
	maxPending     = 4096
	maxTransitions = 20000
)

func parseOffset(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if len(v) != 5 && len(v) != 7 || v[0] != '+' && v[0] != '-' {
		return 0, false
	}
	n := 0
	for i, part := range []string{v[1:3], v[3:5], v[5:]} {
		if part == "" {
			continue
		}
		x, err := strconv.Atoi(part)
		if err != nil || x < 0 || x > 59 && i > 0 {
			return 0, false
		}
		n += x * []int{3600, 60, 1}[i]
	}
	if v[0] == '-' {
		n = -n
	}
	return n, true
}

func newVZone(tz *Component) *vzone {
	v := &vzone{upTo: -1 << 31}
	var first time.Time
	for _, c := range tz.Children {
		if c.Name != Standard && c.Name != Daylight {
			continue
		}
		fp, tp := c.Prop("TZOFFSETFROM"), c.Prop("TZOFFSETTO")
		if fp == nil || tp == nil {
			continue
		}
		from, ok1 := parseOffset(fp.Value)
		to, ok2 := parseOffset(tp.Value)
		st, ok3, _ := c.DateTime("DTSTART")
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		o := &observance{from: from, to: to, budget: 100000}
		o.pending = append(o.pending, st.Wall)
		for _, rp := range c.All("RRULE") {
			r, err := ParseRecur(rp.Value)
			if err != nil {
				continue
			}
			var past func(time.Time) bool
			if r.Until != nil {
				u := *r.Until
				past = func(w time.Time) bool {
					if u.UTC {
						return w.Add(-time.Duration(from) * time.Second).After(u.Wall)
					}
					return w.After(u.Wall)
				}
			}
			o.iters = append(o.iters, newRecurIter(r, st.Wall, &o.budget, past))
		}
		for _, rp := range c.All("RDATE") {
			ds, _, err := PropertyDateTimes(rp)
			if err != nil {
				continue
			}
			for _, d := range ds {
				if d.UTC {
					d.Wall = d.Wall.Add(time.Duration(from) * time.Second)
				}
				o.pending = append(o.pending, d.Wall)
			}
		}
		if first.IsZero() || st.Wall.Before(first) {
			first = st.Wall
			v.initial = from
		}
		v.obs = append(v.obs, o)
	}
	if len(v.obs) == 0 {
		return nil
	}
	return v
}

// extend generates transitions up to the end of year y.
func (v *vzone) extend(y int) {
	if y <= v.upTo {
		return
	}
	y = min(max(y+1, v.upTo+1), maxZoneYear)
	for _, o := range v.obs {
		for _, it := range o.iters {
			for len(o.pending) < maxPending {
				t, ok, err := it.next()
				if !ok || err != nil {
					break
				}
				o.pending = append(o.pending, t)
				if t.Year() > y {
					break
				}
			}
		}
		keep := o.pending[:0]
		for _, w := range o.pending {
			if w.Year() > y {
				keep = append(keep, w)
				continue
			}
			if len(v.trans) < maxTransitions {
				v.trans = append(v.trans, transition{at: w.Unix() - int64(o.from), offset: o.to})
			}
		}
		o.pending = keep
	}
	slices.SortStableFunc(v.trans, func(a, b transition) int { return cmp.Compare(a.at, b.at) })
	v.upTo = y
}

// offsetAt returns the offset in force at instant t (Unix seconds).
func (v *vzone) offsetAt(t int64) int {
	lo, hi := 0, len(v.trans)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v.trans[m].at <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return v.initial
	}
	return v.trans[lo-1].offset
}

func (v *vzone) Instant(w time.Time) time.Time {
	w = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.extend(w.Year())
	ws := w.Unix()
	before := v.offsetAt(ws - 36*3600)
	after := v.offsetAt(ws + 36*3600)
	ta, tb := ws-int64(before), ws-int64(after)
	okA, okB := v.offsetAt(ta) == before, v.offsetAt(tb) == after
	t := ta // valid, or a gap: the offset before the gap
	if okB && (!okA || tb < ta) {
		t = tb
	}
	return time.Unix(t, int64(w.Nanosecond())).UTC()
}

// ZoneCache shares the zones built from identical VTIMEZONE components
// across calendar objects: a calendar-query over thousands of objects
// that all carry the same VTIMEZONE builds its transitions once. Safe for
// concurrent use; it holds at most Max zones (default 1000) and stops
// adding when full.
type ZoneCache struct {
	Max int

	mu sync.Mutex
	m  map[string]*vzone
}

// Zones is NewZones(cal) with zones taken from, or added to, the cache.
func (zc *ZoneCache) Zones(cal *Component) *Zones {
	if zc == nil {
		return NewZones(cal)
	}
	z := &Zones{vtz: map[string]*vzone{}}
	if cal == nil {
		return z
	}
	for _, tz := range cal.Sub(VTimezone) {
		id := tz.Text("TZID")
		if id == "" {
			continue
		}
		b, err := Marshal(tz)
		if err != nil {
			continue
		}
		key := string(b)
		zc.mu.Lock()
		v, ok := zc.m[key]
		zc.mu.Unlock()
		if !ok {
			v = newVZone(tz)
			zc.mu.Lock()
			if zc.m == nil {
				zc.m = map[string]*vzone{}
			}
			if max := zc.Max; len(zc.m) < max || max <= 0 && len(zc.m) < 1000 {
				zc.m[key] = v
			}
			zc.mu.Unlock()
		}
		if v != nil {
			z.vtz[id] = v
		}
	}
	return z
}
