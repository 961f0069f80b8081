package jscalendar

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/contentline"
	"github.com/roost-mail/roost/internal/proto/ical"
)

// Merge returns updated (ToICal's conversion of an edited object) with
// the original's form kept wherever the meaning did not change: for each
// property, and for the alarms of each component, when what orig
// converts to equals what updated holds, orig's own lines are used (so
// X- parameters, ALTREP, a DURATION instead of a DTEND, a UTC
// RECURRENCE-ID survive); orig's VTIMEZONE and other non-event
// components are carried over. now must be the time passed to ToICal.
func Merge(orig, updated *ical.Component, now time.Time) *ical.Component {
	o, err := FromICal(orig)
	if err != nil {
		return updated
	}
	canon, err := ToICal(o, now, Limits{Zones: ical.NewZones(orig)})
	if err != nil {
		return updated
	}
	out := &ical.Component{Name: updated.Name}
	out.Props = mergeProps(orig.Props, canon.Props, updated.Props)
	origZones := ical.NewZones(orig)
	key := func(cal *ical.Component, zones *ical.Zones, c *ical.Component) string {
		var master *ical.Component
		for _, x := range cal.Children {
			if (x.Name == ical.VEvent || x.Name == ical.VTodo) && x.Prop("RECURRENCE-ID") == nil {
				master = x
				break
			}
		}
		if c.Prop("RECURRENCE-ID") == nil {
			return c.Name
		}
		if master == nil {
			master = c
		}
		k, err := ridKey(c, master, zones)
		if err != nil {
			return c.Name + " ?"
		}
		return c.Name + " " + k
	}
	byKey := func(cal *ical.Component, zones *ical.Zones) map[string]*ical.Component {
		m := map[string]*ical.Component{}
		for _, c := range cal.Children {
			if c.Name == ical.VEvent || c.Name == ical.VTodo {
				k := key(cal, zones, c)
				if _, dup := m[k]; !dup {
					m[k] = c
				}
			}
		}
		return m
	}
	origBy := byKey(orig, origZones)
	canonBy := byKey(canon, ical.NewZones(canon))
	updZones := ical.NewZones(updated)
	for _, c := range orig.Children {
		if c.Name != ical.VEvent && c.Name != ical.VTodo {
			out.Children = append(out.Children, c) // VTIMEZONE and the like
		}
	}
	for _, c := range updated.Children {
		if c.Name != ical.VEvent && c.Name != ical.VTodo {
			if !slices.ContainsFunc(out.Children, func(x *ical.Component) bool {
				return x.Name == c.Name && x.Text("TZID") == c.Text("TZID")
			}) {
				out.Children = append(out.Children, c)
			}
			continue
		}
		k := key(updated, updZones, c)
		oc, cc := origBy[k], canonBy[k]
		if oc == nil || cc == nil {
			out.Children = append(out.Children, c)
			continue
		}
		m := &ical.Component{Name: c.Name, Props: mergeProps(oc.Props, cc.Props, c.Props)}
		oa, ca, ua := alarmsOf(oc), alarmsOf(cc), alarmsOf(c)
		var keepAlarms []*ical.Component
		if sameComponents(ca, ua) {
			keepAlarms = oa
		} else {
			keepAlarms = ua
		}
		var rest []*ical.Component
		for _, ch := range c.Children {
			if ch.Name != ical.VAlarm {
				rest = append(rest, ch)
			}
		}
		m.Children = append(keepAlarms, rest...)
		out.Children = append(out.Children, m)
	}
	return out
}

func alarmsOf(c *ical.Component) []*ical.Component {
	var out []*ical.Component
	for _, ch := range c.Children {
		if ch.Name == ical.VAlarm {
			out = append(out, ch)
		}
	}
	return out
}

func sameComponents(a, b []*ical.Component) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, _ := ical.Marshal(a[i])
		y, _ := ical.Marshal(b[i])
		if string(x) != string(y) {
			return false
		}
	}
	return true
}

// groups are properties that carry one meaning together.
var groups = map[string]string{"DTEND": "END", "DURATION": "END", "LOCATION": "LOC", "GEO": "LOC"}

func groupOf(name string) string {
	name = strings.ToUpper(name)
	if g, ok := groups[name]; ok {
		return g
	}
	return name
}

// mergeProps keeps orig's lines of each property group whose canonical
// form (canon) equals the updated one.
func mergeProps(orig, canon, upd contentline.Props) contentline.Props {
	return contentline.MergeProps(orig, canon, upd, groupOf)
}

func propString(p *ical.Property) string { return contentline.PropString(p) }

// ApplyPatch sets the value at path (a PatchObject key, RFC 8984 §1.4.9:
// a JSON pointer without the leading slash) in o; a nil value removes
// it. Every object on the way but the last must exist.
func ApplyPatch(o map[string]any, path string, v any) error {
	if path == "" {
		return fmt.Errorf("empty path")
	}
	parts := strings.Split(path, "/")
	if len(parts) > 16 {
		return fmt.Errorf("path too deep")
	}
	cur := o
	for i, raw := range parts {
		k := strings.ReplaceAll(strings.ReplaceAll(raw, "~1", "/"), "~0", "~")
		if i == len(parts)-1 {
			if v == nil {
				delete(cur, k)
			} else {
				cur[k] = v
			}
			return nil
		}
		next, ok := cur[k].(map[string]any)
		if !ok {
			return fmt.Errorf("%s does not name an object", strings.Join(parts[:i+1], "/"))
		}
		cur = next
	}
	return nil
}
