package jscalendar

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/contentline"
	"github.com/roost-mail/roost/internal/proto/ical"
)

// Object is a JSCalendar object in its JSON form.
type Object = map[string]any

// Layouts of RFC 8984 §1.4.3-4.
const (
	LocalLayout = "2006-01-02T15:04:05"
	UTCLayout   = "2006-01-02T15:04:05Z"
)

// ErrNoObject: the calendar holds no VEVENT or VTODO.
var ErrNoObject = errors.New("jscalendar: no VEVENT or VTODO")

// FromICal converts the first VEVENT or VTODO series of cal (a VCALENDAR:
// the master and its RECURRENCE-ID overrides) into an Event or a Task.
func FromICal(cal *ical.Component) (Object, error) {
	zones := ical.NewZones(cal)
	var series *ical.Series
	for _, s := range ical.SeriesOf(cal, zones) {
		c := s.Master
		if c == nil && len(s.Overrides) > 0 {
			c = s.Overrides[0]
		}
		if c != nil && (c.Name == ical.VEvent || c.Name == ical.VTodo) {
			series = s
			break
		}
	}
	if series == nil {
		return nil, ErrNoObject
	}
	master := series.Master
	orphan := master == nil
	if orphan {
		// Only instances (an invitation to one occurrence): the first is
		// the base, the others override it.
		master = series.Overrides[0]
	}
	o := componentObject(master, zones)
	for _, name := range []string{"PRODID", "METHOD"} {
		if p := cal.Prop(name); p != nil {
			if name == "PRODID" {
				o["prodId"] = p.Text()
			} else {
				o["method"] = strings.ToLower(p.Value)
			}
		}
	}
	if extra := unknownProps(cal.Props, calendarMapped); len(extra) > 0 {
		o["iCalCalendarProps"] = extra
	}
	if orphan {
		delete(o, "recurrenceId")
		if rid, err := ridKey(master, master, zones); err == nil {
			o["recurrenceId"] = rid
			if tz, ok := o["timeZone"]; ok {
				o["recurrenceIdTimeZone"] = tz
			}
		}
	}
	overrides := Object{}
	if !orphan {
		for _, name := range []string{"RDATE", "EXDATE"} {
			for _, p := range master.All(name) {
				if strings.EqualFold(p.Param("VALUE"), "PERIOD") || strings.Contains(p.Value, "/") {
					continue // kept in iCalProps
				}
				starts, _, err := ical.PropertyDateTimes(p)
				if err != nil {
					continue
				}
				for _, d := range starts {
					k := keyOf(d, master, zones)
					if name == "EXDATE" {
						overrides[k] = Object{"excluded": true}
					} else if _, ok := overrides[k]; !ok {
						overrides[k] = Object{}
					}
				}
			}
		}
	}
	rest := series.Overrides
	if orphan {
		rest = rest[1:]
	}
	for _, ov := range rest {
		k, err := ridKey(ov, master, zones)
		if err != nil {
			continue
		}
		base := instanceBase(o, k)
		overrides[k] = diff(base, componentObject(ov, zones))
	}
	if len(overrides) > 0 {
		o["recurrenceOverrides"] = overrides
	}
	return o, nil
}

// calendarMapped are the VCALENDAR properties FromICal maps (VERSION and
// CALSCALE are implied).
var calendarMapped = []string{"PRODID", "METHOD", "VERSION", "CALSCALE"}

// instanceBase is the master as it would be at recurrence id k, without
// its recurrence properties: what an override patches.
func instanceBase(master Object, k string) Object {
	b := Object{}
	for key, v := range master {
		switch key {
		case "recurrenceRules", "excludedRecurrenceRules", "recurrenceOverrides", "iCalCalendarProps", "prodId", "method",
			"recurrenceId", "recurrenceIdTimeZone":
			continue
		}
		b[key] = v
	}
	b["start"] = k
	return b
}

// diff returns the top-level patch that turns base into ov.
func diff(base, ov Object) Object {
	p := Object{}
	for k, v := range ov {
		if k == "uid" || k == "@type" || k == "recurrenceRules" || k == "excludedRecurrenceRules" {
			continue
		}
		if bv, ok := base[k]; !ok || !reflect.DeepEqual(normalize(bv), normalize(v)) {
			p[k] = v
		}
	}
	for k := range base {
		if k == "uid" || k == "@type" {
			continue
		}
		if _, ok := ov[k]; !ok {
			p[k] = nil
		}
	}
	return p
}

// wallIn returns the wall time of instant t in the zone of tzid.
func wallIn(t time.Time, tzid string, zones *ical.Zones) time.Time {
	z, ok := zones.Zone(tzid)
	if !ok {
		return t.UTC()
	}
	// Solve z.Instant(w) == t: start from the offset at t.
	w := t.UTC()
	for i := 0; i < 3; i++ {
		inst := z.Instant(w)
		if inst.Equal(t) {
			break
		}
		w = w.Add(t.Sub(inst))
	}
	return w
}

// keyOf is the recurrence id key (a LocalDateTime in the master's time
// zone, RFC 8984 §4.3.5) of a RECURRENCE-ID, RDATE or EXDATE value.
func keyOf(d ical.DateTime, master *ical.Component, zones *ical.Zones) string {
	ms, ok, _ := master.DateTime("DTSTART")
	w := d.Wall
	switch {
	case !ok || d.Date || ms.Date:
	case d.UTC && ms.TZID != "":
		w = wallIn(d.Wall, ms.TZID, zones)
	case d.TZID != "" && ms.UTC:
		w = zones.Instant(d).UTC()
	case d.TZID != "" && ms.TZID != "" && d.TZID != ms.TZID:
		w = wallIn(zones.Instant(d), ms.TZID, zones)
	}
	return w.Format(LocalLayout)
}

func ridKey(ov, master *ical.Component, zones *ical.Zones) (string, error) {
	d, ok, err := ov.DateTime("RECURRENCE-ID")
	if err != nil || !ok {
		return "", fmt.Errorf("RECURRENCE-ID: %v", err)
	}
	return keyOf(d, master, zones), nil
}

// componentMapped are the properties of a VEVENT/VTODO that
// componentObject maps; everything else goes to iCalProps.
var componentMapped = []string{"UID", "SUMMARY", "DESCRIPTION", "SEQUENCE", "CREATED", "DTSTAMP", "PRIORITY",
	"CLASS", "TRANSP", "STATUS", "CATEGORIES", "COLOR", "LOCATION", "GEO", "URL", "RELATED-TO", "DTSTART",
	"DTEND", "DURATION", "DUE", "RRULE", "EXRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "ORGANIZER", "ATTENDEE",
	"PERCENT-COMPLETE", "COMPLETED", "ATTACH", "JSPROP", AttendeeComment}

// AttendeeComment is the property that holds an attendee's comment on
// their answer (JSCalendar's participationComment), as Apple's calendar
// server writes it: one per attendee, named by the AttendeeCommentRef
// parameter. iCalendar has no per-attendee comment of its own.
const (
	AttendeeComment    = "X-CALENDARSERVER-ATTENDEE-COMMENT"
	AttendeeCommentRef = "X-CALENDARSERVER-ATTENDEE-REF"
)

// componentObject converts one VEVENT or VTODO, without the RDATE/EXDATE
// and RECURRENCE-ID overrides that FromICal adds.
func componentObject(c *ical.Component, zones *ical.Zones) Object {
	o := Object{"@type": "Event"}
	task := c.Name == ical.VTodo
	if task {
		o["@type"] = "Task"
	}
	var unmapped []*ical.Property
	keep := func(p *ical.Property) { unmapped = append(unmapped, p) }
	// Parameters of mapped properties that are not read (ALTREP,
	// LANGUAGE, X- parameters) are kept by Merge on an update.
	text := func(name, key string) {
		if p := c.Prop(name); p != nil {
			o[key] = p.Text()
		}
	}
	o["uid"] = c.UID()
	text("SUMMARY", "title")
	text("DESCRIPTION", "description")
	if n, err := strconv.Atoi(strings.TrimSpace(c.Text("SEQUENCE"))); err == nil {
		o["sequence"] = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(c.Text("PRIORITY"))); err == nil && n >= 0 && n <= 9 {
		o["priority"] = n
	}
	for name, key := range map[string]string{"CREATED": "created", "DTSTAMP": "updated"} {
		if d, ok, err := c.DateTime(name); ok && err == nil {
			o[key] = zones.Instant(d).UTC().Format(UTCLayout)
		}
	}
	switch strings.ToUpper(c.Text("CLASS")) {
	case "":
	case "PUBLIC":
		o["privacy"] = "public"
	case "PRIVATE":
		o["privacy"] = "private"
	case "CONFIDENTIAL":
		o["privacy"] = "secret"
	default:
		keep(c.Prop("CLASS"))
	}
	switch strings.ToUpper(c.Text("TRANSP")) {
	case "":
	case "TRANSPARENT":
		o["freeBusyStatus"] = "free"
	case "OPAQUE":
		o["freeBusyStatus"] = "busy"
	}
	if st := strings.ToUpper(c.Text("STATUS")); st != "" {
		if task {
			o["progress"] = strings.ToLower(st)
		} else {
			o["status"] = strings.ToLower(st)
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(c.Text("PERCENT-COMPLETE"))); err == nil {
		o["percentComplete"] = n
	}
	if d, ok, err := c.DateTime("COMPLETED"); ok && err == nil {
		o["progressUpdated"] = zones.Instant(d).UTC().Format(UTCLayout)
	}
	kw := Object{}
	for _, p := range c.All("CATEGORIES") {
		for _, v := range p.TextList() {
			if v = strings.TrimSpace(v); v != "" {
				kw[v] = true
			}
		}
	}
	if len(kw) > 0 {
		o["keywords"] = kw
	}
	if p := c.Prop("COLOR"); p != nil {
		o["color"] = p.Text()
	}
	locs := Object{}
	if p := c.Prop("LOCATION"); p != nil {
		l := Object{"@type": "Location", "name": p.Text()}
		if g := c.Prop("GEO"); g != nil {
			if lat, lon, ok := strings.Cut(g.Value, ";"); ok {
				l["coordinates"] = "geo:" + strings.TrimSpace(lat) + "," + strings.TrimSpace(lon)
			}
		}
		locs["1"] = l
	} else if g := c.Prop("GEO"); g != nil {
		if lat, lon, ok := strings.Cut(g.Value, ";"); ok {
			locs["1"] = Object{"@type": "Location", "coordinates": "geo:" + strings.TrimSpace(lat) + "," + strings.TrimSpace(lon)}
		}
	}
	links := Object{}
	for i, p := range c.All("URL") {
		links["url"+strconv.Itoa(i+1)] = Object{"@type": "Link", "href": p.Value}
	}
	for i, p := range c.All("ATTACH") {
		if strings.EqualFold(p.Param("VALUE"), "BINARY") || p.Param("ENCODING") != "" {
			keep(p)
			continue
		}
		l := Object{"@type": "Link", "href": p.Value, "rel": "enclosure"}
		if ft := p.Param("FMTTYPE"); ft != "" {
			l["contentType"] = ft
		}
		if sz, err := strconv.Atoi(p.Param("SIZE")); err == nil {
			l["size"] = sz
		}
		links["attach"+strconv.Itoa(i+1)] = l
	}
	if len(links) > 0 {
		o["links"] = links
	}
	rel := Object{}
	for _, p := range c.All("RELATED-TO") {
		t := strings.ToLower(p.Param("RELTYPE"))
		if t == "" {
			t = "parent"
		}
		r, _ := rel[p.Text()].(Object)
		if r == nil {
			r = Object{"@type": "Relation", "relation": Object{}}
			rel[p.Text()] = r
		}
		r["relation"].(Object)[t] = true
	}
	if len(rel) > 0 {
		o["relatedTo"] = rel
	}
	// Time.
	st, hasStart, _ := c.DateTime("DTSTART")
	if hasStart {
		o["start"] = st.Wall.Format(LocalLayout)
		switch {
		case st.UTC:
			o["timeZone"] = "Etc/UTC"
		case st.TZID != "":
			o["timeZone"] = st.TZID
		default:
			o["timeZone"] = nil
		}
		if st.Date {
			o["showWithoutTime"] = true
		}
	}
	if d, ok, err := c.Duration("DURATION"); ok && err == nil {
		if task {
			o["estimatedDuration"] = d.String()
		} else {
			o["duration"] = d.String()
		}
	} else if en, ok, err := c.DateTime("DTEND"); ok && err == nil && hasStart && !task {
		o["duration"] = between(st, en, zones).String()
		if en.TZID != st.TZID && !en.Date && !st.Date {
			tz := en.TZID
			if en.UTC {
				tz = "Etc/UTC"
			}
			if tz != "" {
				locs["end"] = Object{"@type": "Location", "relativeTo": "end", "timeZone": tz}
			}
		}
	}
	if task {
		if due, ok, err := c.DateTime("DUE"); ok && err == nil {
			w := due.Wall
			if hasStart && st.TZID != "" && due.TZID != st.TZID && !due.Date {
				w = wallIn(zones.Instant(due), st.TZID, zones)
			} else if !hasStart {
				switch {
				case due.UTC:
					o["timeZone"] = "Etc/UTC"
				case due.TZID != "":
					o["timeZone"] = due.TZID
				}
				if due.Date {
					o["showWithoutTime"] = true
				}
			}
			o["due"] = w.Format(LocalLayout)
		}
	}
	if len(locs) > 0 {
		o["locations"] = locs
	}
	var rules, exrules []any
	for _, p := range c.All("RRULE") {
		if r, ok := ruleObject(p.Value, st, hasStart, zones); ok {
			rules = append(rules, r)
		} else {
			keep(p)
		}
	}
	for _, p := range c.All("EXRULE") {
		if r, ok := ruleObject(p.Value, st, hasStart, zones); ok {
			exrules = append(exrules, r)
		} else {
			keep(p)
		}
	}
	if rules != nil {
		o["recurrenceRules"] = rules
	}
	if exrules != nil {
		o["excludedRecurrenceRules"] = exrules
	}
	for _, name := range []string{"RDATE", "EXDATE"} {
		for _, p := range c.All(name) {
			if strings.EqualFold(p.Param("VALUE"), "PERIOD") || strings.Contains(p.Value, "/") {
				keep(p)
			}
		}
	}
	for _, x := range participants(c, o) {
		keep(x)
	}
	for _, p := range c.All("JSPROP") {
		var v any
		k := p.Param("JSPTR")
		if !validJSName(k) || handled[k] || json.Unmarshal([]byte(p.Text()), &v) != nil {
			keep(p)
			continue
		}
		o[k] = v
	}
	alarms := Object{}
	var comps []any
	for i, a := range c.Children {
		if a.Name == ical.VAlarm {
			id := a.Text("UID")
			if id == "" || !validID(id) {
				id = "a" + strconv.Itoa(i+1)
			}
			alarms[id] = alarmObject(a, zones)
			continue
		}
		if b, err := ical.Marshal(a); err == nil {
			comps = append(comps, string(b))
		}
	}
	if len(alarms) > 0 {
		o["alarms"] = alarms
	}
	if len(comps) > 0 {
		o["iCalComponents"] = comps
	}
	// Unknown properties, and mapped ones whose value has no JSCalendar
	// form (a binary ATTACH, an unreadable RRULE, PERIOD RDATEs, an
	// X- CLASS).
	extra := unknownProps(c.Props, componentMapped)
	for _, p := range unmapped {
		extra = append(extra, propEntry(p))
	}
	if len(extra) > 0 {
		o["iCalProps"] = extra
	}
	return o
}

// between is the JSCalendar duration from st to en: days for dates, the
// exact time otherwise.
func between(st, en ical.DateTime, zones *ical.Zones) ical.Duration {
	if st.Date && en.Date {
		days := int(en.Wall.Sub(st.Wall).Hours() / 24)
		if days < 0 {
			days = 0
		}
		return ical.Duration{Days: days}
	}
	d := zones.Instant(en).Sub(zones.Instant(st))
	if d < 0 {
		d = 0
	}
	return ical.Duration{Time: d.Truncate(time.Second)}
}

var dayCodes = map[string]string{"MO": "mo", "TU": "tu", "WE": "we", "TH": "th", "FR": "fr", "SA": "sa", "SU": "su"}

// ruleObject converts a RECUR value (RFC 5545 §3.3.10) to a
// RecurrenceRule (RFC 8984 §4.3.3); ok is false for one it cannot read.
func ruleObject(v string, st ical.DateTime, hasStart bool, zones *ical.Zones) (Object, bool) {
	r := Object{"@type": "RecurrenceRule"}
	for _, part := range strings.Split(strings.TrimSpace(v), ";") {
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, false
		}
		k = strings.ToUpper(k)
		ints := func(key string) bool {
			var out []any
			for _, s := range strings.Split(val, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil {
					return false
				}
				out = append(out, n)
			}
			r[key] = out
			return true
		}
		switch k {
		case "FREQ":
			f := strings.ToLower(val)
			if !contains(frequencies, f) {
				return nil, false
			}
			r["frequency"] = f
		case "INTERVAL":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return nil, false
			}
			r["interval"] = n
		case "COUNT":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return nil, false
			}
			r["count"] = n
		case "UNTIL":
			d, err := ical.ParseDateTime(val, "")
			if err != nil {
				return nil, false
			}
			w := d.Wall
			if d.UTC && hasStart && st.TZID != "" {
				w = wallIn(d.Wall, st.TZID, zones)
			}
			r["until"] = w.Format(LocalLayout)
		case "RSCALE":
			r["rscale"] = strings.ToLower(val)
		case "SKIP":
			r["skip"] = strings.ToLower(val)
		case "WKST":
			d, ok := dayCodes[strings.ToUpper(val)]
			if !ok {
				return nil, false
			}
			r["firstDayOfWeek"] = d
		case "BYDAY":
			var days []any
			for _, s := range strings.Split(val, ",") {
				s = strings.ToUpper(strings.TrimSpace(s))
				if len(s) < 2 {
					return nil, false
				}
				d, ok := dayCodes[s[len(s)-2:]]
				if !ok {
					return nil, false
				}
				nd := Object{"@type": "NDay", "day": d}
				if n := s[:len(s)-2]; n != "" {
					i, err := strconv.Atoi(n)
					if err != nil || i == 0 {
						return nil, false
					}
					nd["nthOfPeriod"] = i
				}
				days = append(days, nd)
			}
			r["byDay"] = days
		case "BYMONTH":
			var ms []any
			for _, s := range strings.Split(val, ",") {
				ms = append(ms, strings.TrimSpace(s))
			}
			r["byMonth"] = ms
		case "BYMONTHDAY":
			if !ints("byMonthDay") {
				return nil, false
			}
		case "BYYEARDAY":
			if !ints("byYearDay") {
				return nil, false
			}
		case "BYWEEKNO":
			if !ints("byWeekNo") {
				return nil, false
			}
		case "BYHOUR":
			if !ints("byHour") {
				return nil, false
			}
		case "BYMINUTE":
			if !ints("byMinute") {
				return nil, false
			}
		case "BYSECOND":
			if !ints("bySecond") {
				return nil, false
			}
		case "BYSETPOS":
			if !ints("bySetPosition") {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if _, ok := r["frequency"]; !ok {
		return nil, false
	}
	return r, true
}

var frequencies = []string{"yearly", "monthly", "weekly", "daily", "hourly", "minutely", "secondly"}

// ParticipantID is the id a participant with the calendar address addr
// gets: stable across conversions, so that a patch such as
// "participants/<id>/participationStatus" keeps naming the same person.
func ParticipantID(addr string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(addr))))
	return hex.EncodeToString(sum[:6])
}

func mailtoOf(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return "mailto:" + v[7:]
	}
	return v
}

// participants maps ORGANIZER and ATTENDEE (RFC 8984 §4.4.5-6) and
// the attendees' comments; it returns the comments that name no
// participant.
func participants(c *ical.Component, o Object) []*ical.Property {
	ps := Object{}
	get := func(addr string) Object {
		id := ParticipantID(addr)
		p, _ := ps[id].(Object)
		if p == nil {
			p = Object{"@type": "Participant", "roles": Object{}}
			if strings.HasPrefix(strings.ToLower(addr), "mailto:") {
				p["email"] = addr[7:]
				p["sendTo"] = Object{"imip": addr}
			} else {
				p["sendTo"] = Object{"other": addr}
			}
			ps[id] = p
		}
		return p
	}
	common := func(p Object, prop *ical.Property) {
		if cn := prop.Param("CN"); cn != "" {
			p["name"] = cn
		}
		if v := prop.Param("SENT-BY"); v != "" {
			p["sentBy"] = strings.TrimPrefix(mailtoOf(v), "mailto:")
		}
		if v := prop.Param("LANGUAGE"); v != "" {
			p["language"] = v
		}
		if v := prop.Param("SCHEDULE-AGENT"); v != "" {
			p["scheduleAgent"] = strings.ToLower(v)
		}
		if v := prop.Param("SCHEDULE-FORCE-SEND"); v != "" {
			p["scheduleForceSend"] = true
		}
		if vs := prop.ParamValues("SCHEDULE-STATUS"); len(vs) > 0 {
			var l []any
			for _, v := range vs {
				l = append(l, v)
			}
			p["scheduleStatus"] = l
		}
	}
	if org := c.Prop("ORGANIZER"); org != nil {
		addr := mailtoOf(org.Value)
		p := get(addr)
		p["roles"].(Object)["owner"] = true
		common(p, org)
		o["replyTo"] = Object{"imip": addr}
		if !strings.HasPrefix(strings.ToLower(addr), "mailto:") {
			o["replyTo"] = Object{"other": addr}
		}
	}
	for _, a := range c.All("ATTENDEE") {
		addr := mailtoOf(a.Value)
		p := get(addr)
		roles := p["roles"].(Object)
		common(p, a)
		switch strings.ToUpper(a.Param("ROLE")) {
		case "CHAIR":
			roles["attendee"] = true
			roles["chair"] = true
		case "OPT-PARTICIPANT":
			roles["attendee"] = true
			roles["optional"] = true
		case "NON-PARTICIPANT":
			roles["informational"] = true
		default:
			roles["attendee"] = true
		}
		ps := strings.ToLower(a.Param("PARTSTAT"))
		if ps == "" {
			ps = "needs-action"
		}
		p["participationStatus"] = ps
		if strings.EqualFold(a.Param("RSVP"), "TRUE") {
			p["expectReply"] = true
		}
		switch k := strings.ToLower(a.Param("CUTYPE")); k {
		case "individual", "group", "resource", "room":
			p["kind"] = k
		}
		idSet := func(param, key string) {
			vs := a.ParamValues(param)
			if len(vs) == 0 {
				return
			}
			m := Object{}
			for _, v := range vs {
				m[ParticipantID(mailtoOf(v))] = true
			}
			p[key] = m
		}
		idSet("DELEGATED-TO", "delegatedTo")
		idSet("DELEGATED-FROM", "delegatedFrom")
		idSet("MEMBER", "memberOf")
	}
	// Comments go to the participants they name; one naming nobody is
	// kept as it was (returned).
	var unmatched []*ical.Property
	for _, x := range c.All(AttendeeComment) {
		p, _ := ps[ParticipantID(mailtoOf(x.Param(AttendeeCommentRef)))].(Object)
		if p == nil || x.Param(AttendeeCommentRef) == "" {
			unmatched = append(unmatched, x)
			continue
		}
		p["participationComment"] = x.Text()
	}
	if len(ps) > 0 {
		o["participants"] = ps
	}
	return unmatched
}

var alarmMapped = []string{"ACTION", "TRIGGER", "ACKNOWLEDGED", "UID", "RELATED-TO"}

func alarmObject(a *ical.Component, zones *ical.Zones) Object {
	o := Object{"@type": "Alarm"}
	switch act := strings.ToLower(a.Text("ACTION")); act {
	case "display", "email":
		o["action"] = act
	case "":
		o["action"] = "display"
	default:
		o["action"] = "display"
	}
	var keep []*ical.Property
	if t := a.Prop("TRIGGER"); t != nil {
		if strings.EqualFold(t.Param("VALUE"), "DATE-TIME") {
			if d, err := ical.PropertyDateTime(t); err == nil {
				o["trigger"] = Object{"@type": "AbsoluteTrigger", "when": zones.Instant(d).UTC().Format(UTCLayout)}
			}
		} else if d, err := ical.ParseDuration(t.Value); err == nil {
			tr := Object{"@type": "OffsetTrigger", "offset": d.String()}
			if strings.EqualFold(t.Param("RELATED"), "END") {
				tr["relativeTo"] = "end"
			}
			o["trigger"] = tr
		} else {
			keep = append(keep, t)
		}
	}
	if d, ok, err := a.DateTime("ACKNOWLEDGED"); ok && err == nil {
		o["acknowledged"] = zones.Instant(d).UTC().Format(UTCLayout)
	}
	if r := a.Prop("RELATED-TO"); r != nil {
		o["relatedTo"] = Object{r.Text(): Object{"@type": "Relation", "relation": Object{"parent": true}}}
	}
	if !strings.EqualFold(a.Text("ACTION"), "display") && !strings.EqualFold(a.Text("ACTION"), "email") && a.Prop("ACTION") != nil {
		keep = append(keep, a.Prop("ACTION"))
	}
	extra := unknownProps(a.Props, alarmMapped)
	for _, p := range keep {
		extra = append(extra, propEntry(p))
	}
	if len(extra) > 0 {
		o["iCalProps"] = extra
	}
	return o
}

// unknownProps lists the properties not in mapped as iCalProps entries.
func unknownProps(ps contentline.Props, mapped []string) []any {
	var out []any
	for _, p := range ps {
		if !contains(mapped, p.Name) {
			out = append(out, propEntry(p))
		}
	}
	return out
}

// propEntry is a property as a jCal-style entry: name (lower case),
// parameters, "unknown", the value as written (escapes included).
func propEntry(p *ical.Property) []any {
	params := Object{}
	for _, pa := range p.Params {
		name := strings.ToLower(pa.Name)
		var vals []any
		if prev, ok := params[name]; ok {
			switch pv := prev.(type) {
			case string:
				vals = []any{pv}
			case []any:
				vals = pv
			}
		}
		for _, v := range pa.Values {
			vals = append(vals, v)
		}
		if len(vals) == 1 {
			params[name] = vals[0]
		} else {
			params[name] = vals
		}
	}
	name := strings.ToLower(p.Name)
	if p.Group != "" {
		params["group"] = p.Group
	}
	return []any{name, params, "unknown", p.Value}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func validID(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// normalize makes values built here and values decoded from JSON
// comparable (ints become float64, typed maps plain ones).
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalize(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalize(e)
		}
		return l
	}
	return v
}

// Normalize returns o with the number and container types encoding/json
// produces, so that objects built by FromICal compare equal to decoded
// ones.
func Normalize(o Object) Object { return normalize(o).(map[string]any) }

func sortedKeys(m Object) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
