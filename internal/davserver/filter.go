package davserver

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/ical"
)

// Filters of calendar-query (RFC 4791 §9.7) and addressbook-query
// (RFC 6352 §10.5).

type timeRange struct{ start, end time.Time } // zero: open

type textMatch struct {
	value     string
	collation string // i;ascii-casemap, i;octet, i;unicode-casemap
	negate    bool
	matchType string // contains (default), equals, starts-with, ends-with
}

type paramFilter struct {
	name       string
	notDefined bool
	text       *textMatch
}

type propFilter struct {
	name       string
	notDefined bool
	tr         *timeRange
	text       []*textMatch
	params     []paramFilter
	allOf      bool // CardDAV test="allof"
}

type compFilter struct {
	name       string
	notDefined bool
	tr         *timeRange
	props      []propFilter
	comps      []compFilter
}

func badFilter(cond, msg string) error { return precondition(http.StatusForbidden, cond, msg) }

// parseTime reads a CalDAV UTC date-time (RFC 4791 §9.9).
func parseTime(v string) (time.Time, error) {
	return time.Parse("20060102T150405Z", strings.TrimSpace(v))
}

func parseTimeRange(n *node) (*timeRange, error) {
	tr := &timeRange{}
	var err error
	if v := n.attr("start"); v != "" {
		if tr.start, err = parseTime(v); err != nil {
			return nil, badFilter("<C:valid-filter/>", "bad time-range start")
		}
	}
	if v := n.attr("end"); v != "" {
		if tr.end, err = parseTime(v); err != nil {
			return nil, badFilter("<C:valid-filter/>", "bad time-range end")
		}
	}
	if tr.start.IsZero() && tr.end.IsZero() {
		return nil, badFilter("<C:valid-filter/>", "time-range without start and end")
	}
	if !tr.start.IsZero() && !tr.end.IsZero() && !tr.end.After(tr.start) {
		return nil, badFilter("<C:valid-filter/>", "time-range end before start")
	}
	return tr, nil
}

func parseTextMatch(n *node, defColl string) (*textMatch, error) {
	tm := &textMatch{value: n.Text, collation: n.attr("collation"), matchType: n.attr("match-type")}
	if tm.collation == "" {
		tm.collation = defColl
	}
	switch tm.collation {
	case "i;ascii-casemap", "i;octet", "i;unicode-casemap":
	default:
		if n.Name.Space == nsCardDAV {
			return nil, badFilter("<CR:supported-collation/>", "unsupported collation")
		}
		return nil, badFilter("<C:supported-collation/>", "unsupported collation")
	}
	switch tm.matchType {
	case "", "contains", "equals", "starts-with", "ends-with":
	default:
		return nil, badFilter("<CR:supported-filter/>", "unsupported match-type")
	}
	neg := n.attr("negate-condition")
	tm.negate = neg == "yes"
	return tm, nil
}

func (tm *textMatch) match(s string) bool {
	v := tm.value
	if tm.collation != "i;octet" {
		s, v = fold(s, tm.collation), fold(v, tm.collation)
	}
	var ok bool
	switch tm.matchType {
	case "equals":
		ok = s == v
	case "starts-with":
		ok = strings.HasPrefix(s, v)
	case "ends-with":
		ok = strings.HasSuffix(s, v)
	default:
		ok = strings.Contains(s, v)
	}
	return ok != tm.negate
}

func fold(s, coll string) string {
	if coll == "i;ascii-casemap" {
		b := []byte(s)
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 32
			}
		}
		return string(b)
	}
	if !utf8.ValidString(s) {
		return strings.ToLower(strings.ToValidUTF8(s, "\uFFFD"))
	}
	return strings.ToLower(s)
}

// parseCompFilter reads a CALDAV:comp-filter.
func parseCompFilter(n *node, depth int) (compFilter, error) {
	cf := compFilter{name: strings.ToUpper(n.attr("name"))}
	if cf.name == "" || depth > 8 {
		return cf, badFilter("<C:valid-filter/>", "comp-filter without name")
	}
	for _, c := range n.Children {
		switch {
		case c.is(nsCalDAV, "is-not-defined"):
			cf.notDefined = true
		case c.is(nsCalDAV, "time-range"):
			tr, err := parseTimeRange(c)
			if err != nil {
				return cf, err
			}
			cf.tr = tr
		case c.is(nsCalDAV, "prop-filter"):
			pf, err := parseCalPropFilter(c)
			if err != nil {
				return cf, err
			}
			cf.props = append(cf.props, pf)
		case c.is(nsCalDAV, "comp-filter"):
			sub, err := parseCompFilter(c, depth+1)
			if err != nil {
				return cf, err
			}
			cf.comps = append(cf.comps, sub)
		}
	}
	return cf, nil
}

func parseCalPropFilter(n *node) (propFilter, error) {
	pf := propFilter{name: strings.ToUpper(n.attr("name")), allOf: true}
	if pf.name == "" {
		return pf, badFilter("<C:valid-filter/>", "prop-filter without name")
	}
	for _, c := range n.Children {
		switch {
		case c.is(nsCalDAV, "is-not-defined"):
			pf.notDefined = true
		case c.is(nsCalDAV, "time-range"):
			tr, err := parseTimeRange(c)
			if err != nil {
				return pf, err
			}
			pf.tr = tr
		case c.is(nsCalDAV, "text-match"):
			tm, err := parseTextMatch(c, "i;ascii-casemap")
			if err != nil {
				return pf, err
			}
			pf.text = append(pf.text, tm)
		case c.is(nsCalDAV, "param-filter"):
			pa, err := parseParamFilter(c, nsCalDAV, "i;ascii-casemap")
			if err != nil {
				return pf, err
			}
			pf.params = append(pf.params, pa)
		}
	}
	return pf, nil
}

func parseParamFilter(n *node, ns, defColl string) (paramFilter, error) {
	pa := paramFilter{name: strings.ToUpper(n.attr("name"))}
	for _, c := range n.Children {
		switch {
		case c.is(ns, "is-not-defined"):
			pa.notDefined = true
		case c.is(ns, "text-match"):
			tm, err := parseTextMatch(c, defColl)
			if err != nil {
				return pa, err
			}
			pa.text = tm
		}
	}
	return pa, nil
}

// calMatcher evaluates a calendar-query filter on one object.
type calMatcher struct {
	zones *ical.Zones
	lim   ical.ExpandLimits
	// truncated is set when an expansion was cut at lim, so that a
	// "no match" may be incomplete.
	truncated bool
}

// expand is ical.Expand noting a cut.
func (m *calMatcher) expand(s *ical.Series, start, end time.Time) []ical.Occurrence {
	occ, err := ical.Expand(s, start, end, m.lim)
	if isLimit(err) {
		m.truncated = true
	}
	return occ
}

// matchCal tests the top-level comp-filter (VCALENDAR) on cal.
func (m *calMatcher) matchCal(cal *ical.Component, f compFilter) bool {
	if cal.Name != f.name {
		return f.notDefined
	}
	if f.notDefined {
		return false
	}
	for _, pf := range f.props {
		if !m.matchProp(cal, pf, nil) {
			return false
		}
	}
	for _, cf := range f.comps {
		if !m.matchChildren(cal, cf) {
			return false
		}
	}
	return true
}

// matchChildren tests a comp-filter against the children of parent.
func (m *calMatcher) matchChildren(parent *ical.Component, f compFilter) bool {
	kids := parent.Sub(f.name)
	if f.notDefined {
		return len(kids) == 0
	}
	if len(kids) == 0 {
		return false
	}
	recurring := f.name == ical.VEvent || f.name == ical.VTodo || f.name == ical.VJournal
	if recurring && parent.Name == ical.VCalendar {
		// Instances of the series: the time range selects them, the other
		// tests apply to the component each instance comes from.
		for _, s := range ical.SeriesOf(parent, m.zones) {
			comp := s.Master
			if comp == nil && len(s.Overrides) > 0 {
				comp = s.Overrides[0]
			}
			if comp == nil || comp.Name != f.name {
				continue
			}
			if f.tr == nil {
				// A VALARM time range alone still selects instances: the
				// alarms of every instance count (RFC 4791 §9.9), so the
				// series is expanded around the alarm range.
				if qs, qe, ok := alarmWindow(f, s); ok {
					occ := m.expand(s, qs, qe)
					for _, o := range occ {
						if !o.Start.IsZero() && m.matchInside(o.Component, f, o.Start, o.End) {
							return true
						}
					}
				}
				// Absolute triggers and undated to-dos: the components.
				for _, c := range append([]*ical.Component{s.Master}, s.Overrides...) {
					if c != nil && m.matchInside(c, f, time.Time{}, time.Time{}) {
						return true
					}
				}
				continue
			}
			occ := m.expand(s, f.tr.start, f.tr.end)
			for _, o := range occ {
				if m.matchInside(o.Component, f, o.Start, o.End) {
					return true
				}
			}
		}
		return false
	}
	for _, k := range kids {
		if f.tr != nil && !m.alarmOrSpanIn(parent, k, f.tr) {
			continue
		}
		if m.matchInside(k, f, time.Time{}, time.Time{}) {
			return true
		}
	}
	return false
}

// matchInside applies a comp-filter's prop and comp filters to c.
func (m *calMatcher) matchInside(c *ical.Component, f compFilter, occStart, occEnd time.Time) bool {
	for _, pf := range f.props {
		if !m.matchProp(c, pf, nil) {
			return false
		}
	}
	for _, cf := range f.comps {
		if cf.name == ical.VAlarm && cf.tr != nil && !occStart.IsZero() {
			if !m.alarmMatch(c, cf, occStart, occEnd) {
				return false
			}
			continue
		}
		if !m.matchChildren(c, cf) {
			return false
		}
	}
	return true
}

// alarmMatch tests VALARM time ranges for one occurrence (RFC 4791 §9.9:
// the trigger time, and repetitions).
func (m *calMatcher) alarmMatch(c *ical.Component, f compFilter, occStart, occEnd time.Time) bool {
	for _, a := range c.Sub(ical.VAlarm) {
		if f.notDefined {
			return false
		}
		for _, t := range m.triggers(a, occStart, occEnd) {
			if (f.tr.start.IsZero() || !t.Before(f.tr.start)) && (f.tr.end.IsZero() || t.Before(f.tr.end)) {
				if m.matchInside(a, compFilter{props: f.props}, time.Time{}, time.Time{}) {
					return true
				}
			}
		}
	}
	return f.notDefined
}

func (m *calMatcher) triggers(a *ical.Component, start, end time.Time) []time.Time {
	p := a.Prop("TRIGGER")
	if p == nil {
		return nil
	}
	var base time.Time
	if strings.EqualFold(p.Param("VALUE"), "DATE-TIME") {
		d, err := ical.PropertyDateTime(p)
		if err != nil {
			return nil
		}
		base = m.zones.Instant(d)
	} else {
		d, err := ical.ParseDuration(p.Value)
		if err != nil {
			return nil
		}
		ref := start
		if strings.EqualFold(p.Param("RELATED"), "END") {
			ref = end
		}
		base = ref.Add(d.Approx())
	}
	out := []time.Time{base}
	if rp := a.Prop("REPEAT"); rp != nil {
		if d, ok, _ := a.Duration("DURATION"); ok {
			n := 0
			for _, ch := range rp.Value {
				if ch < '0' || ch > '9' || n > 1000 {
					break
				}
				n = n*10 + int(ch-'0')
			}
			for i := 1; i <= n && i <= 100; i++ {
				out = append(out, base.Add(time.Duration(i)*d.Approx()))
			}
		}
	}
	return out
}

// alarmWindow returns the range over which to expand s so that every
// instance with a relative alarm trigger in a VALARM time range of f is
// found: the hull of those ranges, widened by the largest trigger offset
// (with repetitions) of the series' alarms. ok is false when f has no
// VALARM time range or the series no alarm relative to its instances.
func alarmWindow(f compFilter, s *ical.Series) (qs, qe time.Time, ok bool) {
	openStart, openEnd := false, false
	for _, cf := range f.comps {
		if cf.name != ical.VAlarm || cf.tr == nil || cf.notDefined {
			continue
		}
		if cf.tr.start.IsZero() {
			openStart = true
		} else if qs.IsZero() || cf.tr.start.Before(qs) {
			qs = cf.tr.start
		}
		if cf.tr.end.IsZero() {
			openEnd = true
		} else if cf.tr.end.After(qe) {
			qe = cf.tr.end
		}
		ok = true
	}
	if !ok {
		return qs, qe, false
	}
	widen := time.Second
	relative := false
	for _, c := range append([]*ical.Component{s.Master}, s.Overrides...) {
		if c == nil {
			continue
		}
		for _, a := range c.Sub(ical.VAlarm) {
			var off time.Duration
			if p := a.Prop("TRIGGER"); p != nil && !strings.EqualFold(p.Param("VALUE"), "DATE-TIME") {
				if d, err := ical.ParseDuration(p.Value); err == nil {
					off = d.Approx().Abs()
					relative = true
				}
			}
			if d, ok, _ := a.Duration("DURATION"); ok {
				n, _ := strconv.Atoi(a.Text("REPEAT"))
				off += time.Duration(min(max(n, 0), 100)) * d.Approx().Abs()
			}
			widen = max(widen, off+time.Second)
		}
	}
	if !relative {
		// No instance has an alarm of its own to match: expanding the
		// series (unbounded when the range is open) would find nothing.
		return qs, qe, false
	}
	if openStart {
		qs = time.Time{}
	} else {
		qs = qs.Add(-widen)
	}
	if openEnd {
		qe = time.Time{}
	} else {
		qe = qe.Add(widen)
	}
	return qs, qe, true
}

// alarmOrSpanIn tests a time range on a component that is not a series
// instance (VALARM of a non-expanded parent, VFREEBUSY, VAVAILABILITY):
// by its own span.
func (m *calMatcher) alarmOrSpanIn(parent, c *ical.Component, tr *timeRange) bool {
	if c.Name == ical.VAlarm {
		if st, en, ok, err := m.zones.Span(parent); ok && err == nil {
			for _, t := range m.triggers(c, st, en) {
				if (tr.start.IsZero() || !t.Before(tr.start)) && (tr.end.IsZero() || t.Before(tr.end)) {
					return true
				}
			}
		}
		return false
	}
	st, en, ok, err := m.zones.Span(c)
	if !ok || err != nil {
		return false
	}
	if !en.After(st) {
		en = st.Add(time.Nanosecond)
	}
	return (tr.start.IsZero() || en.After(tr.start)) && (tr.end.IsZero() || st.Before(tr.end))
}

func (m *calMatcher) matchProp(c *ical.Component, pf propFilter, _ *timeRange) bool {
	ps := c.All(pf.name)
	if pf.notDefined {
		return len(ps) == 0
	}
	for _, p := range ps {
		if pf.tr != nil {
			d, err := ical.PropertyDateTime(p)
			if err != nil {
				continue
			}
			t := m.zones.Instant(d)
			if !pf.tr.start.IsZero() && t.Before(pf.tr.start) || !pf.tr.end.IsZero() && !t.Before(pf.tr.end) {
				continue
			}
		}
		ok := true
		for _, tm := range pf.text {
			if !tm.match(p.Text()) {
				ok = false
			}
		}
		for _, pa := range pf.params {
			if !matchParam(p.Params, pa) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func matchParam(params []ical.Param, pa paramFilter) bool {
	var vals []string
	found := false
	for _, p := range params {
		if strings.EqualFold(p.Name, pa.name) {
			found = true
			vals = append(vals, p.Values...)
		}
	}
	if pa.notDefined {
		return !found
	}
	if !found {
		return false
	}
	if pa.text == nil {
		return true
	}
	for _, v := range vals {
		if pa.text.match(v) {
			return true
		}
	}
	return false
}

// simpleRange reports the time range of a filter that only selects a
// component kind by time (VCALENDAR > kind + time-range), which the
// object index can decide alone for single-kind calendars.
func simpleRange(f compFilter) (kind string, tr *timeRange, simple bool) {
	if f.name != ical.VCalendar || f.notDefined || len(f.props) > 0 || len(f.comps) != 1 {
		return "", nil, false
	}
	c := f.comps[0]
	return c.name, c.tr, !c.notDefined && len(c.props) == 0 && len(c.comps) == 0
}

// rangeOf returns the time range of the kind-level comp-filter, used to
// prefilter by the object index.
func rangeOf(f compFilter) *timeRange {
	if f.name != ical.VCalendar {
		return nil
	}
	for _, c := range f.comps {
		if c.tr != nil && !c.notDefined {
			return c.tr
		}
	}
	return nil
}

// Component nesting a calendar-query may name (RFC 5545 §3.6, RFC 7953
// for VAVAILABILITY): a known component may appear in a comp-filter only
// under a parent it can be a child of. Names not listed (X- and later
// IANA components) may appear anywhere.
var filterChildren = map[string][]string{
	"VCALENDAR":     {"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "VAVAILABILITY"},
	"VEVENT":        {"VALARM"},
	"VTODO":         {"VALARM"},
	"VTIMEZONE":     {"STANDARD", "DAYLIGHT"},
	"VAVAILABILITY": {"AVAILABLE"},
}

var filterKnownComps = map[string]bool{
	"VCALENDAR": true, "VEVENT": true, "VTODO": true, "VJOURNAL": true, "VFREEBUSY": true,
	"VTIMEZONE": true, "STANDARD": true, "DAYLIGHT": true, "VALARM": true,
	"VAVAILABILITY": true, "AVAILABLE": true,
}

// Components a time-range applies to (RFC 4791 §9.9; RFC 7953 §7.2.1).
var filterTimedComps = map[string]bool{
	"VEVENT": true, "VTODO": true, "VJOURNAL": true, "VFREEBUSY": true, "VALARM": true,
	"VAVAILABILITY": true, "AVAILABLE": true,
}

// RFC 5545 properties whose value is never a DATE or DATE-TIME: a
// time-range on them is meaningless (RFC 4791 §7.8 names SUMMARY as the
// example of an invalid filter). Other names (dates, X- properties) may
// carry one.
var filterUntimedProps = map[string]bool{
	"CALSCALE": true, "METHOD": true, "PRODID": true, "VERSION": true,
	"ATTACH": true, "CATEGORIES": true, "CLASS": true, "COMMENT": true, "DESCRIPTION": true,
	"GEO": true, "LOCATION": true, "PERCENT-COMPLETE": true, "PRIORITY": true, "RESOURCES": true,
	"STATUS": true, "SUMMARY": true, "DURATION": true, "FREEBUSY": true, "TRANSP": true,
	"TZID": true, "TZNAME": true, "TZOFFSETFROM": true, "TZOFFSETTO": true, "TZURL": true,
	"ATTENDEE": true, "CONTACT": true, "ORGANIZER": true, "RELATED-TO": true, "URL": true,
	"UID": true, "RRULE": true, "ACTION": true, "REPEAT": true, "SEQUENCE": true,
	"REQUEST-STATUS": true,
}

// validateCalFilter checks the structure of a calendar-query filter
// (RFC 4791 §7.8 CALDAV:valid-filter, §9.7.1, §9.9): the top-level
// comp-filter names VCALENDAR, components nest as iCalendar nests them,
// and a time-range appears only on components and properties that have
// a time.
func validateCalFilter(f compFilter) error {
	if f.name != "VCALENDAR" {
		return badFilter("<C:valid-filter/>", "the top-level comp-filter must be VCALENDAR")
	}
	return validateCompFilter(f)
}

func validateCompFilter(f compFilter) error {
	if f.tr != nil && !filterTimedComps[f.name] {
		return badFilter("<C:valid-filter/>", "time-range on "+f.name)
	}
	for _, pf := range f.props {
		if pf.tr != nil && filterUntimedProps[pf.name] {
			return badFilter("<C:valid-filter/>", "time-range on property "+pf.name)
		}
	}
	for _, c := range f.comps {
		if c.name == "VCALENDAR" || filterKnownComps[c.name] && !slices.Contains(filterChildren[f.name], c.name) {
			return badFilter("<C:valid-filter/>", c.name+" inside "+f.name)
		}
		if err := validateCompFilter(c); err != nil {
			return err
		}
	}
	return nil
}
