package jscalendar

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
)

// PropError is a JSCalendar object that cannot be converted: Prop names
// the offending property (a JMAP invalidProperties error).
type PropError struct {
	Prop string
	Msg  string
}

func (e *PropError) Error() string { return "jscalendar: " + e.Prop + ": " + e.Msg }

func perr(prop, format string, args ...any) *PropError {
	return &PropError{Prop: prop, Msg: fmt.Sprintf(format, args...)}
}

// maxTotalProps bounds the properties of all components ToICal writes
// for one object, so that a small JSON object with many overrides of a
// large master cannot make it build a huge calendar.
const maxTotalProps = 50000

// Limits bound the collections of one object ToICal converts.
type Limits struct {
	MaxOverrides    int // recurrenceOverrides; default 1000
	MaxParticipants int // default 1000
	MaxEntries      int // any other map or list; default 1000
	// Zones resolves the time zones the object names: a TZID must be
	// known to it. nil: the IANA database only (there is no VTIMEZONE
	// to define another). An update passes the stored calendar's zones
	// (ical.NewZones), whose VTIMEZONEs Merge carries over, so an
	// Outlook "W. Europe Standard Time" stays writable.
	Zones *ical.Zones
}

func (l Limits) withDefaults() Limits {
	if l.MaxOverrides <= 0 {
		l.MaxOverrides = 1000
	}
	if l.MaxParticipants <= 0 {
		l.MaxParticipants = 1000
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 1000
	}
	if l.Zones == nil {
		l.Zones = &ical.Zones{}
	}
	return l
}

// ToICal converts an Event or a Task to a VCALENDAR holding its master
// component and one component per overridden instance. now is the
// DTSTAMP when the object has no "updated". The result is not validated
// as a calendar object resource: callers run their own checks.
func ToICal(o Object, now time.Time, lim Limits) (*ical.Component, error) {
	lim = lim.withDefaults()
	if path, ok := cleanStrings(o, "", 0); !ok {
		return nil, perr(path, "control characters, or nested too deep")
	}
	cal, err := toICal(o, now, lim)
	if err != nil {
		return nil, err
	}
	b, err := ical.Marshal(cal)
	if err != nil {
		return nil, perr("", "%v", err)
	}
	// What is written must read back with the parser's limits (CalDAV
	// serves it, Merge reads it).
	if _, err := ical.Decode(b, ical.Limits{}); err != nil {
		return nil, perr("", "too large: %v", err)
	}
	return cal, nil
}

// cleanStrings reports whether every string in v is free of control
// characters but tab and newline, and v nested at most 32 deep; else the
// path of the first offender.
func cleanStrings(v any, path string, depth int) (string, bool) {
	if depth > 32 {
		return path, false
	}
	switch x := v.(type) {
	case string:
		for _, r := range x {
			if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
				return path, false
			}
		}
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "/" + k
			}
			if q, ok := cleanStrings(k, p, depth+1); !ok {
				return q, false
			}
			if q, ok := cleanStrings(e, p, depth+1); !ok {
				return q, false
			}
		}
	case []any:
		for i, e := range x {
			if q, ok := cleanStrings(e, path+"/"+strconv.Itoa(i), depth+1); !ok {
				return q, false
			}
		}
	}
	return path, true
}

func toICal(o Object, now time.Time, lim Limits) (*ical.Component, error) {
	cal := &ical.Component{Name: ical.VCalendar}
	prodID := "-//Roost//JMAP//EN"
	if v, ok := o["prodId"].(string); ok && v != "" {
		prodID = v
	}
	addText(cal, "PRODID", prodID)
	cal.Props = append(cal.Props, &ical.Property{Name: "VERSION", Value: "2.0"})
	if v, ok := o["method"].(string); ok && v != "" {
		cal.Props = append(cal.Props, &ical.Property{Name: "METHOD", Value: strings.ToUpper(v)})
	}
	if err := addEntries(cal, o["iCalCalendarProps"], "iCalCalendarProps", lim); err != nil {
		return nil, err
	}
	master, err := component(o, now, lim, "")
	if err != nil {
		return nil, err
	}
	if rid, ok, err := optString(o, "recurrenceId", ""); err != nil {
		return nil, err
	} else if ok {
		at, err := parseLocal(rid, "recurrenceId")
		if err != nil {
			return nil, err
		}
		rtz, _ := o["recurrenceIdTimeZone"].(string)
		if rtz == "" {
			rtz, _ = o["timeZone"].(string)
		}
		if rtz != "" && !validZone(rtz, lim.Zones) {
			return nil, perr("recurrenceIdTimeZone", "not a known time zone")
		}
		date, _ := o["showWithoutTime"].(bool)
		p := &ical.Property{Name: "RECURRENCE-ID"}
		setDT(p, at, rtz, date)
		master.Props = append(master.Props, p)
	}
	cal.Children = append(cal.Children, master)
	ovs, err := optMap(o, "recurrenceOverrides", lim.MaxOverrides)
	if err != nil {
		return nil, err
	}
	if len(ovs) > 0 {
		if _, ok := o["start"].(string); !ok {
			return nil, perr("recurrenceOverrides", "overrides need a start")
		}
	}
	tz, _ := o["timeZone"].(string)
	date, _ := o["showWithoutTime"].(bool)
	var rdates, exdates []string
	props := len(master.Props)
	for _, k := range sortedKeys(ovs) {
		at, err := time.Parse(LocalLayout, k)
		if err != nil {
			return nil, perr("recurrenceOverrides", "key %q is not a LocalDateTime", k)
		}
		patch, ok := ovs[k].(map[string]any)
		if !ok {
			return nil, perr("recurrenceOverrides/"+k, "not a PatchObject")
		}
		if ex, _ := patch["excluded"].(bool); ex {
			exdates = append(exdates, k)
			continue
		}
		if len(patch) == 0 {
			rdates = append(rdates, k)
			continue
		}
		inst := instanceBase(o, k)
		inst["@type"] = o["@type"]
		for _, pk := range sortedKeys(patch) {
			if strings.HasPrefix(pk, "recurrence") || pk == "excludedRecurrenceRules" || pk == "uid" || pk == "@type" ||
				pk == "excluded" && patch[pk] == false {
				if pk == "excluded" {
					continue
				}
				return nil, perr("recurrenceOverrides/"+k+"/"+pk, "cannot be overridden")
			}
			if err := ApplyPatch(inst, pk, patch[pk]); err != nil {
				return nil, perr("recurrenceOverrides/"+k+"/"+pk, "%v", err)
			}
		}
		c, err := component(inst, now, lim, "recurrenceOverrides/"+k+"/")
		if err != nil {
			return nil, err
		}
		if props += len(c.Props); props > maxTotalProps {
			return nil, perr("recurrenceOverrides", "too large: more than %d properties in all", maxTotalProps)
		}
		rid := &ical.Property{Name: "RECURRENCE-ID"}
		setDT(rid, at, tz, date)
		c.Props = append(c.Props, rid)
		cal.Children = append(cal.Children, c)
	}
	if len(rdates) > 0 || len(exdates) > 0 {
		for _, l := range []struct {
			name string
			keys []string
		}{{"RDATE", rdates}, {"EXDATE", exdates}} {
			for _, k := range l.keys {
				at, _ := time.Parse(LocalLayout, k)
				p := &ical.Property{Name: l.name}
				setDT(p, at, tz, date)
				master.Props = append(master.Props, p)
			}
		}
	}
	return cal, nil
}

// setDT writes a wall time in the zone tz ("" floating, "Etc/UTC" UTC)
// as the value of p.
func setDT(p *ical.Property, w time.Time, tz string, date bool) {
	d := ical.DateTime{Wall: w.UTC()}
	switch {
	case date:
		d.Date = true
		d.Wall = time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
		p.SetParam("VALUE", "DATE")
	case tz == "Etc/UTC" || tz == "UTC":
		d.UTC = true
	case tz != "":
		p.SetParam("TZID", tz)
	}
	p.Value = d.String()
}

func addText(c *ical.Component, name, text string) {
	p := &ical.Property{Name: name}
	p.SetText(text)
	c.Props = append(c.Props, p)
}

func optString(o Object, key, prefix string) (string, bool, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, perr(prefix+key, "not a string")
	}
	return s, true, nil
}

func optInt(o Object, key, prefix string, lo, hi int) (int, bool, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	var n float64
	switch x := v.(type) {
	case float64:
		n = x
	case int:
		n = float64(x)
	default:
		return 0, false, perr(prefix+key, "not a number")
	}
	if n != math.Trunc(n) || n < float64(lo) || n > float64(hi) {
		return 0, false, perr(prefix+key, "not an integer in %d..%d", lo, hi)
	}
	return int(n), true, nil
}

func optMap(o Object, key string, max int) (map[string]any, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, perr(key, "not an object")
	}
	if len(m) > max {
		return nil, perr(key, "more than %d entries", max)
	}
	return m, nil
}

func optList(o Object, key string, max int) ([]any, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, perr(key, "not a list")
	}
	if len(l) > max {
		return nil, perr(key, "more than %d entries", max)
	}
	return l, nil
}

func parseLocal(s, prop string) (time.Time, error) {
	t, err := time.Parse(LocalLayout, s)
	if err != nil {
		return t, perr(prop, "not a LocalDateTime (YYYY-MM-DDThh:mm:ss)")
	}
	return t, nil
}

func parseUTC(s, prop string) (string, error) {
	t, err := time.Parse(UTCLayout, s)
	if err != nil {
		if t2, err2 := time.Parse(time.RFC3339, s); err2 == nil && strings.HasSuffix(s, "Z") {
			t = t2
		} else {
			return "", perr(prop, "not a UTCDateTime")
		}
	}
	return t.UTC().Format("20060102T150405Z"), nil
}

func parseDuration(s, prop string, signed bool) (ical.Duration, error) {
	d, err := ical.ParseDuration(s)
	if err != nil || d.Neg && !signed || strings.HasSuffix(strings.ToUpper(s), "T") {
		return d, perr(prop, "not a Duration")
	}
	return d, nil
}

// validZone: a time zone ToICal writes as TZID must be one zones knows
// (a VTIMEZONE of the stored calendar, or the IANA database).
func validZone(tz string, zones *ical.Zones) bool {
	if tz == "Etc/UTC" || tz == "UTC" {
		return true
	}
	if tz == "" || tz == "Local" || strings.ContainsAny(tz, "\x00\r\n\"") || len(tz) > 256 {
		return false
	}
	_, ok := zones.Zone(tz)
	return ok
}

// component converts the properties of one Event or Task (a master, or
// an instance with its override applied) to a VEVENT or VTODO.
func component(o Object, now time.Time, lim Limits, prefix string) (*ical.Component, error) {
	typ, _ := o["@type"].(string)
	c := &ical.Component{}
	switch typ {
	case "Event":
		c.Name = ical.VEvent
	case "Task":
		c.Name = ical.VTodo
	default:
		return nil, perr(prefix+"@type", "must be Event or Task")
	}
	task := c.Name == ical.VTodo
	uid, ok := o["uid"].(string)
	if !ok || uid == "" || len(uid) > 1024 || strings.ContainsAny(uid, "\r\n") {
		return nil, perr("uid", "a non-empty string is required")
	}
	addText(c, "UID", uid)
	updated := now.UTC().Format("20060102T150405Z")
	if s, ok, err := optString(o, "updated", prefix); err != nil {
		return nil, err
	} else if ok {
		if updated, err = parseUTC(s, prefix+"updated"); err != nil {
			return nil, err
		}
	}
	c.Props = append(c.Props, &ical.Property{Name: "DTSTAMP", Value: updated})
	if s, ok, err := optString(o, "created", prefix); err != nil {
		return nil, err
	} else if ok {
		v, err := parseUTC(s, prefix+"created")
		if err != nil {
			return nil, err
		}
		c.Props = append(c.Props, &ical.Property{Name: "CREATED", Value: v})
	}
	for _, f := range []struct{ key, name string }{{"title", "SUMMARY"}, {"description", "DESCRIPTION"}, {"color", "COLOR"}} {
		s, ok, err := optString(o, f.key, prefix)
		if err != nil {
			return nil, err
		}
		if ok && (s != "" || f.key != "title") {
			addText(c, f.name, s)
		}
	}
	if n, ok, err := optInt(o, "sequence", prefix, 0, math.MaxInt32); err != nil {
		return nil, err
	} else if ok && n > 0 {
		c.Props = append(c.Props, &ical.Property{Name: "SEQUENCE", Value: strconv.Itoa(n)})
	}
	if n, ok, err := optInt(o, "priority", prefix, 0, 9); err != nil {
		return nil, err
	} else if ok && n > 0 {
		c.Props = append(c.Props, &ical.Property{Name: "PRIORITY", Value: strconv.Itoa(n)})
	}
	enum := func(key, name string, m map[string]string) error {
		s, ok, err := optString(o, key, prefix)
		if err != nil || !ok {
			return err
		}
		v, known := m[s]
		if !known {
			return perr(prefix+key, "unknown value %q", s)
		}
		if v != "" {
			c.Props = append(c.Props, &ical.Property{Name: name, Value: v})
		}
		return nil
	}
	if err := enum("privacy", "CLASS", map[string]string{"public": "PUBLIC", "private": "PRIVATE", "secret": "CONFIDENTIAL"}); err != nil {
		return nil, err
	}
	if err := enum("freeBusyStatus", "TRANSP", map[string]string{"free": "TRANSPARENT", "busy": "OPAQUE"}); err != nil {
		return nil, err
	}
	if task {
		if err := enum("progress", "STATUS", map[string]string{"needs-action": "NEEDS-ACTION", "in-process": "IN-PROCESS",
			"completed": "COMPLETED", "failed": "CANCELLED", "cancelled": "CANCELLED"}); err != nil {
			return nil, err
		}
		if n, ok, err := optInt(o, "percentComplete", prefix, 0, 100); err != nil {
			return nil, err
		} else if ok {
			c.Props = append(c.Props, &ical.Property{Name: "PERCENT-COMPLETE", Value: strconv.Itoa(n)})
		}
		if s, ok, err := optString(o, "progressUpdated", prefix); err != nil {
			return nil, err
		} else if ok {
			v, err := parseUTC(s, prefix+"progressUpdated")
			if err != nil {
				return nil, err
			}
			c.Props = append(c.Props, &ical.Property{Name: "COMPLETED", Value: v})
		}
	} else if err := enum("status", "STATUS", map[string]string{"confirmed": "CONFIRMED", "tentative": "TENTATIVE", "cancelled": "CANCELLED"}); err != nil {
		return nil, err
	}
	kw, err := optMap(o, "keywords", lim.MaxEntries)
	if err != nil {
		return nil, perr(prefix+"keywords", "%v", err)
	}
	if len(kw) > 0 {
		p := &ical.Property{Name: "CATEGORIES"}
		var esc []string
		for _, k := range sortedKeys(kw) {
			if kw[k] != true {
				return nil, perr(prefix+"keywords/"+k, "must be true")
			}
			q := &ical.Property{}
			q.SetText(k)
			esc = append(esc, q.Value)
		}
		p.Value = strings.Join(esc, ",")
		c.Props = append(c.Props, p)
	}
	// Time.
	tz := ""
	if v, ok := o["timeZone"]; ok && v != nil {
		s, ok := v.(string)
		if !ok || !validZone(s, lim.Zones) {
			return nil, perr(prefix+"timeZone", "not a known time zone")
		}
		tz = s
	}
	date := false
	if v, ok := o["showWithoutTime"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, perr(prefix+"showWithoutTime", "not a boolean")
		}
		date = b
	}
	startS, hasStart, err := optString(o, "start", prefix)
	if err != nil {
		return nil, err
	}
	var start time.Time
	if hasStart {
		if start, err = parseLocal(startS, prefix+"start"); err != nil {
			return nil, err
		}
		p := &ical.Property{Name: "DTSTART"}
		setDT(p, start, tz, date)
		c.Props = append(c.Props, p)
	} else if !task {
		return nil, perr(prefix+"start", "an Event needs a start")
	}
	durKey := "duration"
	if task {
		durKey = "estimatedDuration"
	}
	locs, err := optMap(o, "locations", lim.MaxEntries)
	if err != nil {
		return nil, err
	}
	if s, ok, err := optString(o, durKey, prefix); err != nil {
		return nil, err
	} else if ok {
		d, err := parseDuration(s, prefix+durKey, false)
		if err != nil {
			return nil, err
		}
		endTZ := ""
		for _, k := range sortedKeys(locs) {
			if l, ok := locs[k].(map[string]any); ok && l["relativeTo"] == "end" {
				endTZ, _ = l["timeZone"].(string)
			}
		}
		zs := lim.Zones
		instOf := func(w time.Time, zone string) time.Time {
			if z, ok := zs.Zone(zone); ok && zone != "" && zone != "Etc/UTC" && zone != "UTC" {
				return z.Instant(w)
			}
			return w
		}
		switch {
		case task:
			c.Props = append(c.Props, &ical.Property{Name: "DURATION", Value: d.String()})
		case date:
			if d.Time != 0 {
				return nil, perr(prefix+durKey, "an event without time lasts whole days")
			}
			p := &ical.Property{Name: "DTEND"}
			setDT(p, start.AddDate(0, 0, d.Weeks*7+d.Days), tz, true)
			c.Props = append(c.Props, p)
		default:
			// DTEND in the start's zone, or in its own (mapping draft: a
			// Location relativeTo end with a timeZone). Days are nominal,
			// the time part exact (RFC 8984 §1.4.6).
			zone := tz
			if endTZ != "" && tz != "" && validZone(endTZ, lim.Zones) {
				zone = endTZ
			}
			endInst := instOf(start.AddDate(0, 0, d.Weeks*7+d.Days), tz).Add(d.Time)
			w := endInst
			switch {
			case zone == "":
				w = start.AddDate(0, 0, d.Weeks*7+d.Days).Add(d.Time)
			case zone == "Etc/UTC" || zone == "UTC":
				w = endInst.UTC()
			default:
				w = wallIn(endInst, zone, zs)
			}
			p := &ical.Property{Name: "DTEND"}
			setDT(p, w, zone, false)
			c.Props = append(c.Props, p)
		}
	}
	if task {
		if s, ok, err := optString(o, "due", prefix); err != nil {
			return nil, err
		} else if ok {
			due, err := parseLocal(s, prefix+"due")
			if err != nil {
				return nil, err
			}
			p := &ical.Property{Name: "DUE"}
			setDT(p, due, tz, date)
			c.Props = append(c.Props, p)
		}
	}
	// Locations.
	for _, k := range sortedKeys(locs) {
		l, ok := locs[k].(map[string]any)
		if !ok {
			return nil, perr(prefix+"locations/"+k, "not a Location")
		}
		if l["relativeTo"] == "end" && l["name"] == nil {
			continue
		}
		if name, ok := l["name"].(string); ok && c.Prop("LOCATION") == nil {
			addText(c, "LOCATION", name)
		}
		if g, ok := l["coordinates"].(string); ok && c.Prop("GEO") == nil {
			if lat, lon, ok := strings.Cut(strings.TrimPrefix(g, "geo:"), ","); ok {
				if _, e1 := strconv.ParseFloat(lat, 64); e1 == nil {
					lon, _, _ = strings.Cut(lon, ";")
					if _, e2 := strconv.ParseFloat(lon, 64); e2 == nil {
						c.Props = append(c.Props, &ical.Property{Name: "GEO", Value: lat + ";" + lon})
					}
				}
			}
		}
	}
	// Links.
	links, err := optMap(o, "links", lim.MaxEntries)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(links) {
		l, ok := links[k].(map[string]any)
		href, ok2 := l["href"].(string)
		if !ok || !ok2 || href == "" || strings.ContainsAny(href, "\r\n") {
			return nil, perr(prefix+"links/"+k, "a Link needs an href")
		}
		if l["rel"] == "enclosure" {
			p := &ical.Property{Name: "ATTACH", Value: href}
			if ct, ok := l["contentType"].(string); ok && ct != "" {
				p.SetParam("FMTTYPE", ct)
			}
			if sz, ok := l["size"].(float64); ok && sz >= 0 && sz == math.Trunc(sz) {
				p.SetParam("SIZE", strconv.FormatInt(int64(sz), 10))
			}
			c.Props = append(c.Props, p)
		} else {
			c.Props = append(c.Props, &ical.Property{Name: "URL", Value: href})
		}
	}
	rel, err := optMap(o, "relatedTo", lim.MaxEntries)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(rel) {
		r, ok := rel[k].(map[string]any)
		if !ok {
			return nil, perr(prefix+"relatedTo/"+k, "not a Relation")
		}
		types, _ := r["relation"].(map[string]any)
		if len(types) == 0 {
			types = map[string]any{"parent": true}
		}
		for _, t := range sortedKeys(types) {
			p := &ical.Property{Name: "RELATED-TO"}
			p.SetText(k)
			if t != "parent" {
				p.SetParam("RELTYPE", strings.ToUpper(t))
			}
			c.Props = append(c.Props, p)
		}
	}
	// Recurrence.
	for _, rk := range []struct{ key, name string }{{"recurrenceRules", "RRULE"}, {"excludedRecurrenceRules", "EXRULE"}} {
		rules, err := optList(o, rk.key, lim.MaxEntries)
		if err != nil {
			return nil, err
		}
		for i, r := range rules {
			m, ok := r.(map[string]any)
			if !ok {
				return nil, perr(fmt.Sprintf("%s%s/%d", prefix, rk.key, i), "not a RecurrenceRule")
			}
			v, err := ruleValue(m, tz, date, lim.Zones)
			if err != nil {
				return nil, perr(fmt.Sprintf("%s%s/%d", prefix, rk.key, i), "%v", err)
			}
			if !hasStart {
				return nil, perr(prefix+rk.key, "recurrence needs a start")
			}
			c.Props = append(c.Props, &ical.Property{Name: rk.name, Value: v})
		}
	}
	if err := participantProps(c, o, lim, prefix); err != nil {
		return nil, err
	}
	alarms, err := optMap(o, "alarms", lim.MaxEntries)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(alarms) {
		a, ok := alarms[k].(map[string]any)
		if !ok {
			return nil, perr(prefix+"alarms/"+k, "not an Alarm")
		}
		ac, err := alarmComponent(a, k, lim, prefix+"alarms/"+k+"/")
		if err != nil {
			return nil, err
		}
		c.Children = append(c.Children, ac)
	}
	if err := addEntries(c, o["iCalProps"], prefix+"iCalProps", lim); err != nil {
		return nil, err
	}
	// Properties with no iCalendar form (vendor properties, locale,
	// virtualLocations…) travel as JSPROP (mapping draft): a JMAP
	// client's data survives the way through iCalendar too.
	for _, k := range sortedKeys(o) {
		if handled[k] || o[k] == nil {
			continue
		}
		if !validJSName(k) {
			return nil, perr(prefix+k, "not a property name")
		}
		b, err := json.Marshal(o[k])
		if err != nil {
			return nil, perr(prefix+k, "%v", err)
		}
		p := &ical.Property{Name: "JSPROP"}
		p.SetParam("JSPTR", k)
		p.SetText(string(b))
		c.Props = append(c.Props, p)
	}
	comps, err := optList(o, "iCalComponents", lim.MaxEntries)
	if err != nil {
		return nil, err
	}
	for i, s := range comps {
		txt, ok := s.(string)
		if !ok {
			return nil, perr(fmt.Sprintf("%siCalComponents/%d", prefix, i), "not a string")
		}
		sub, err := ical.Decode([]byte(txt), ical.Limits{MaxBytes: 1 << 20})
		if err != nil || sub.Name == ical.VCalendar || sub.Name == ical.VEvent || sub.Name == ical.VTodo {
			return nil, perr(fmt.Sprintf("%siCalComponents/%d", prefix, i), "not a subcomponent")
		}
		c.Children = append(c.Children, sub)
	}
	return c, nil
}

// handled are the Event and Task properties ToICal maps (the rest is
// written as JSPROP).
var handled = map[string]bool{}

func init() {
	for _, k := range []string{"@type", "uid", "prodId", "method", "iCalCalendarProps", "recurrenceOverrides", "recurrenceId",
		"recurrenceIdTimeZone", "updated", "created", "title", "description", "color", "sequence", "priority", "privacy",
		"freeBusyStatus", "progress", "percentComplete", "progressUpdated", "status", "keywords", "timeZone", "showWithoutTime",
		"start", "duration", "estimatedDuration", "due", "locations", "links", "relatedTo", "recurrenceRules",
		"excludedRecurrenceRules", "participants", "replyTo", "alarms", "iCalProps", "iCalComponents", "excluded"} {
		handled[k] = true
	}
}

// validJSName: a property name JSPTR can carry (no control characters,
// no quote, not too long).
func validJSName(k string) bool {
	return k != "" && len(k) <= 256 && !strings.ContainsAny(k, "\"/~\x00\r\n")
}

// ruleValue writes a RecurrenceRule as a RECUR value.
func ruleValue(m map[string]any, tz string, date bool, zones *ical.Zones) (string, error) {
	var b []string
	f, _ := m["frequency"].(string)
	if !contains(frequencies, f) {
		return "", fmt.Errorf("bad frequency")
	}
	b = append(b, "FREQ="+strings.ToUpper(f))
	if s, ok := m["rscale"].(string); ok && s != "" && s != "gregorian" {
		b = append(b, "RSCALE="+strings.ToUpper(s))
	}
	if s, ok := m["skip"].(string); ok && s != "" && s != "omit" {
		b = append(b, "SKIP="+strings.ToUpper(s))
	}
	if s, ok := m["until"].(string); ok {
		u, err := time.Parse(LocalLayout, s)
		if err != nil {
			return "", fmt.Errorf("until is not a LocalDateTime")
		}
		p := &ical.Property{}
		switch {
		case date:
			setDT(p, u, "", true)
		case tz == "":
			setDT(p, u, "", false)
		default:
			// RFC 5545 §3.3.10: UNTIL in UTC when DTSTART has a zone.
			inst := u
			if zone, ok := zones.Zone(tz); ok && tz != "Etc/UTC" && tz != "UTC" {
				inst = zone.Instant(u)
			}
			setDT(p, inst.UTC(), "Etc/UTC", false)
		}
		b = append(b, "UNTIL="+p.Value)
	} else if m["until"] != nil {
		return "", fmt.Errorf("until is not a LocalDateTime")
	}
	num := func(key string, lo, hi int) (int, bool, error) {
		v, ok := m[key]
		if !ok || v == nil {
			return 0, false, nil
		}
		n, ok := v.(float64)
		if x, isInt := v.(int); isInt {
			n, ok = float64(x), true
		}
		if !ok || n != math.Trunc(n) || n < float64(lo) || n > float64(hi) {
			return 0, false, fmt.Errorf("bad %s", key)
		}
		return int(n), true, nil
	}
	if n, ok, err := num("count", 1, 1e9); err != nil {
		return "", err
	} else if ok {
		if m["until"] != nil {
			return "", fmt.Errorf("count and until together")
		}
		b = append(b, "COUNT="+strconv.Itoa(n))
	}
	if n, ok, err := num("interval", 1, 1e6); err != nil {
		return "", err
	} else if ok && n > 1 {
		b = append(b, "INTERVAL="+strconv.Itoa(n))
	}
	ints := func(key, name string, lo, hi int, neg bool) error {
		v, ok := m[key]
		if !ok || v == nil {
			return nil
		}
		l, ok := v.([]any)
		if !ok || len(l) == 0 || len(l) > 400 {
			return fmt.Errorf("bad %s", key)
		}
		var out []string
		for _, e := range l {
			n, ok := e.(float64)
			if x, isInt := e.(int); isInt {
				n, ok = float64(x), true
			}
			a := math.Abs(n)
			if !ok || n != math.Trunc(n) || a < float64(lo) || a > float64(hi) || n < 0 && !neg {
				return fmt.Errorf("bad %s", key)
			}
			out = append(out, strconv.Itoa(int(n)))
		}
		b = append(b, name+"="+strings.Join(out, ","))
		return nil
	}
	if err := ints("bySecond", "BYSECOND", 0, 60, false); err != nil {
		return "", err
	}
	if err := ints("byMinute", "BYMINUTE", 0, 59, false); err != nil {
		return "", err
	}
	if err := ints("byHour", "BYHOUR", 0, 23, false); err != nil {
		return "", err
	}
	if v, ok := m["byDay"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok || len(l) == 0 || len(l) > 400 {
			return "", fmt.Errorf("bad byDay")
		}
		var out []string
		for _, e := range l {
			nd, ok := e.(map[string]any)
			day, _ := nd["day"].(string)
			if !ok || dayCodes[strings.ToUpper(day)] != day {
				return "", fmt.Errorf("bad byDay")
			}
			s := strings.ToUpper(day)
			if n, ok, err := num2(nd["nthOfPeriod"]); err != nil {
				return "", fmt.Errorf("bad byDay")
			} else if ok {
				s = strconv.Itoa(n) + s
			}
			out = append(out, s)
		}
		b = append(b, "BYDAY="+strings.Join(out, ","))
	}
	if err := ints("byMonthDay", "BYMONTHDAY", 1, 31, true); err != nil {
		return "", err
	}
	if err := ints("byYearDay", "BYYEARDAY", 1, 366, true); err != nil {
		return "", err
	}
	if err := ints("byWeekNo", "BYWEEKNO", 1, 53, true); err != nil {
		return "", err
	}
	if v, ok := m["byMonth"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok || len(l) == 0 || len(l) > 100 {
			return "", fmt.Errorf("bad byMonth")
		}
		var out []string
		for _, e := range l {
			s, ok := e.(string)
			n, err := strconv.Atoi(strings.TrimSuffix(s, "L"))
			if !ok || err != nil || n < 1 || n > 13 {
				return "", fmt.Errorf("bad byMonth")
			}
			out = append(out, s)
		}
		b = append(b, "BYMONTH="+strings.Join(out, ","))
	}
	if err := ints("bySetPosition", "BYSETPOS", 1, 366, true); err != nil {
		return "", err
	}
	if s, ok := m["firstDayOfWeek"].(string); ok && s != "mo" {
		if dayCodes[strings.ToUpper(s)] != s {
			return "", fmt.Errorf("bad firstDayOfWeek")
		}
		b = append(b, "WKST="+strings.ToUpper(s))
	}
	return strings.Join(b, ";"), nil
}

func num2(v any) (int, bool, error) {
	if v == nil {
		return 0, false, nil
	}
	n, ok := v.(float64)
	if x, isInt := v.(int); isInt {
		n, ok = float64(x), true
	}
	if !ok || n != math.Trunc(n) || n == 0 || math.Abs(n) > 53 {
		return 0, false, fmt.Errorf("bad number")
	}
	return int(n), true, nil
}

var roleOf = []struct{ role, value string }{{"chair", "CHAIR"}, {"optional", "OPT-PARTICIPANT"}, {"informational", "NON-PARTICIPANT"}}

// participantProps writes ORGANIZER and ATTENDEE.
func participantProps(c *ical.Component, o Object, lim Limits, prefix string) error {
	ps, err := optMap(o, "participants", lim.MaxParticipants)
	if err != nil {
		return err
	}
	addrOf := func(p map[string]any) string {
		if st, ok := p["sendTo"].(map[string]any); ok {
			if v, ok := st["imip"].(string); ok && v != "" {
				return mailtoOf(v)
			}
			for _, k := range sortedKeys(st) {
				if v, ok := st[k].(string); ok && v != "" {
					return v
				}
			}
		}
		if e, ok := p["email"].(string); ok && e != "" {
			return "mailto:" + e
		}
		return ""
	}
	ids := map[string]string{}
	for id, v := range ps {
		if p, ok := v.(map[string]any); ok {
			ids[id] = addrOf(p)
		}
	}
	orgAddr := ""
	if rt, ok := o["replyTo"].(map[string]any); ok {
		if v, ok := rt["imip"].(string); ok {
			orgAddr = mailtoOf(v)
		} else if v, ok := rt["other"].(string); ok {
			orgAddr = v
		}
	} else if o["replyTo"] != nil {
		return perr(prefix+"replyTo", "not an object")
	}
	var orgP map[string]any
	for _, id := range sortedKeys(ps) {
		p, ok := ps[id].(map[string]any)
		if !ok {
			return perr(prefix+"participants/"+id, "not a Participant")
		}
		roles, _ := p["roles"].(map[string]any)
		if roles["owner"] == true && (orgAddr == "" || strings.EqualFold(ids[id], orgAddr)) && orgP == nil {
			orgP = p
			if orgAddr == "" {
				orgAddr = ids[id]
			}
		}
	}
	if orgAddr != "" && len(ps) > 0 {
		if strings.ContainsAny(orgAddr, "\r\n") {
			return perr(prefix+"replyTo", "bad address")
		}
		org := &ical.Property{Name: "ORGANIZER", Value: orgAddr}
		if orgP != nil {
			commonParams(org, orgP, ids)
		}
		c.Props = append(c.Props, org)
	}
	for _, id := range sortedKeys(ps) {
		p := ps[id].(map[string]any)
		roles, _ := p["roles"].(map[string]any)
		addr := ids[id]
		if addr == "" || strings.ContainsAny(addr, "\r\n") {
			return perr(prefix+"participants/"+id+"/sendTo", "a participant needs an address")
		}
		onlyOwner := roles["owner"] == true && len(roles) == 1
		if onlyOwner || len(roles) == 0 && strings.EqualFold(addr, orgAddr) {
			continue
		}
		a := &ical.Property{Name: "ATTENDEE", Value: addr}
		commonParams(a, p, ids)
		for _, r := range roleOf {
			if roles[r.role] == true {
				a.SetParam("ROLE", r.value)
				break
			}
		}
		if ps, ok := p["participationStatus"].(string); ok && ps != "" {
			switch ps {
			case "needs-action", "accepted", "declined", "tentative", "delegated", "completed", "in-process":
			default:
				return perr(prefix+"participants/"+id+"/participationStatus", "unknown value %q", ps)
			}
			a.SetParam("PARTSTAT", strings.ToUpper(ps))
		}
		if p["expectReply"] == true {
			a.SetParam("RSVP", "TRUE")
		}
		if k, ok := p["kind"].(string); ok && k != "" {
			switch k {
			case "individual", "group", "resource", "room", "unknown":
				a.SetParam("CUTYPE", strings.ToUpper(k))
			default:
				a.SetParam("CUTYPE", "X-"+strings.ToUpper(safeToken(k)))
			}
		}
		for _, f := range []struct{ key, param string }{{"delegatedTo", "DELEGATED-TO"}, {"delegatedFrom", "DELEGATED-FROM"}, {"memberOf", "MEMBER"}} {
			m, _ := p[f.key].(map[string]any)
			var vs []string
			for _, k := range sortedKeys(m) {
				if ids[k] != "" {
					vs = append(vs, ids[k])
				}
			}
			if len(vs) > 0 {
				a.SetParam(f.param, vs...)
			}
		}
		c.Props = append(c.Props, a)
		if pc, ok := p["participationComment"].(string); ok && pc != "" {
			x := &ical.Property{Name: AttendeeComment}
			x.SetParam(AttendeeCommentRef, addr)
			x.SetText(pc)
			c.Props = append(c.Props, x)
		} else if p["participationComment"] != nil && !ok {
			return perr(prefix+"participants/"+id+"/participationComment", "not a string")
		}
	}
	return nil
}

func safeToken(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func commonParams(prop *ical.Property, p map[string]any, ids map[string]string) {
	if n, ok := p["name"].(string); ok && n != "" {
		prop.SetParam("CN", n)
	}
	if v, ok := p["sentBy"].(string); ok && v != "" {
		prop.SetParam("SENT-BY", "mailto:"+v)
	}
	if v, ok := p["language"].(string); ok && v != "" {
		prop.SetParam("LANGUAGE", v)
	}
	if v, ok := p["scheduleAgent"].(string); ok && v != "" && v != "server" {
		prop.SetParam("SCHEDULE-AGENT", strings.ToUpper(safeToken(v)))
	}
	if p["scheduleForceSend"] == true {
		prop.SetParam("SCHEDULE-FORCE-SEND", "REQUEST")
	}
	if l, ok := p["scheduleStatus"].([]any); ok {
		var vs []string
		for _, e := range l {
			if s, ok := e.(string); ok {
				vs = append(vs, s)
			}
		}
		if len(vs) > 0 {
			prop.SetParam("SCHEDULE-STATUS", vs...)
		}
	}
}

func alarmComponent(a map[string]any, id string, lim Limits, prefix string) (*ical.Component, error) {
	c := &ical.Component{Name: ical.VAlarm}
	act, _ := a["action"].(string)
	switch act {
	case "", "display":
		act = "DISPLAY"
	case "email":
		act = "EMAIL"
	default:
		return nil, perr(prefix+"action", "unknown value %q", act)
	}
	entries, _ := a["iCalProps"].([]any)
	keptAction := false
	for _, e := range entries {
		if l, ok := e.([]any); ok && len(l) > 0 && strings.EqualFold(fmt.Sprint(l[0]), "ACTION") {
			keptAction = true
		}
	}
	if !keptAction {
		c.Props = append(c.Props, &ical.Property{Name: "ACTION", Value: act})
	}
	tr, ok := a["trigger"].(map[string]any)
	if !ok {
		return nil, perr(prefix+"trigger", "an Alarm needs a trigger")
	}
	switch tr["@type"] {
	case "OffsetTrigger", nil:
		s, _ := tr["offset"].(string)
		d, err := parseDuration(s, prefix+"trigger/offset", true)
		if err != nil {
			return nil, err
		}
		p := &ical.Property{Name: "TRIGGER", Value: d.String()}
		if tr["relativeTo"] == "end" {
			p.SetParam("RELATED", "END")
		}
		c.Props = append(c.Props, p)
	case "AbsoluteTrigger":
		s, _ := tr["when"].(string)
		v, err := parseUTC(s, prefix+"trigger/when")
		if err != nil {
			return nil, err
		}
		p := &ical.Property{Name: "TRIGGER", Value: v}
		p.SetParam("VALUE", "DATE-TIME")
		c.Props = append(c.Props, p)
	default:
		return nil, perr(prefix+"trigger", "unknown trigger type")
	}
	if s, ok := a["acknowledged"].(string); ok {
		v, err := parseUTC(s, prefix+"acknowledged")
		if err != nil {
			return nil, err
		}
		c.Props = append(c.Props, &ical.Property{Name: "ACKNOWLEDGED", Value: v})
	}
	if validID(id) && !(len(id) > 1 && id[0] == 'a' && isDigits(id[1:])) {
		c.Props = append(c.Props, &ical.Property{Name: "UID", Value: id})
	}
	if err := addEntries(c, a["iCalProps"], prefix+"iCalProps", lim); err != nil {
		return nil, err
	}
	if act == "DISPLAY" && c.Prop("DESCRIPTION") == nil {
		addText(c, "DESCRIPTION", "Reminder") // RFC 5545 §3.6.6: DISPLAY needs one
	}
	return c, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// addEntries appends the properties of an iCalProps list.
func addEntries(c *ical.Component, v any, prop string, lim Limits) error {
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok || len(l) > lim.MaxEntries {
		return perr(prop, "not a list of at most %d entries", lim.MaxEntries)
	}
	for i, e := range l {
		p, err := entryProp(e)
		if err != nil {
			return perr(fmt.Sprintf("%s/%d", prop, i), "%v", err)
		}
		c.Props = append(c.Props, p)
	}
	return nil
}

// entryProp reads one [name, params, type, value] entry.
func entryProp(e any) (*ical.Property, error) {
	l, ok := e.([]any)
	if !ok || len(l) != 4 {
		return nil, fmt.Errorf("not a [name, parameters, type, value] entry")
	}
	name, _ := l[0].(string)
	val, ok2 := l[3].(string)
	params, ok3 := l[1].(map[string]any)
	if !validName(name) || !ok2 || !ok3 || strings.ContainsAny(val, "\r\n\x00") || len(params) > 100 {
		return nil, fmt.Errorf("bad entry")
	}
	p := &ical.Property{Name: strings.ToUpper(name), Value: val}
	for _, k := range sortedKeys(params) {
		if k == "group" {
			if g, ok := params[k].(string); ok && validName(g) {
				p.Group = g
				continue
			}
			return nil, fmt.Errorf("bad group")
		}
		if !validName(k) {
			return nil, fmt.Errorf("bad parameter name")
		}
		var vals []string
		switch pv := params[k].(type) {
		case string:
			vals = []string{pv}
		case []any:
			for _, x := range pv {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("bad parameter value")
				}
				vals = append(vals, s)
			}
		default:
			return nil, fmt.Errorf("bad parameter value")
		}
		for _, s := range vals {
			if strings.ContainsAny(s, "\r\n\x00\"") {
				return nil, fmt.Errorf("bad parameter value")
			}
		}
		p.Params = append(p.Params, ical.Param{Name: strings.ToUpper(k), Values: vals})
	}
	return p, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
