package eas

import (
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

// Tasks between a VTODO (RFC 5545 §3.6.2) and the EAS task class
// ([MS-ASTASK] §2.2.2): subject, note, start and due dates, completion,
// importance, sensitivity, categories and the reminder. Recurring tasks
// are sent without their recurrence.

// taskTime is how the task class writes dates.
const taskTime = "2006-01-02T15:04:05.000Z"

func task(name, v string) *wbxml.Node { return wbxml.Str(Tasks, name, v) }

// TaskData renders the first VTODO of obj; ok is false when it has none.
func TaskData(obj *ical.Component) (fields []*wbxml.Node, note string, ok bool) {
	todos := obj.Sub(ical.VTodo)
	if len(todos) == 0 {
		return nil, "", false
	}
	td := todos[0]
	zones := ical.NewZones(obj)
	fields = append(fields, task("Subject", td.Text("SUMMARY")))
	imp := "1"
	if p, err := strconv.Atoi(strings.TrimSpace(td.Text("PRIORITY"))); err == nil && p > 0 {
		switch {
		case p < 5:
			imp = "2"
		case p > 5:
			imp = "0"
		}
	}
	fields = append(fields, task("Importance", imp))
	for _, d := range []struct{ prop, local, utc string }{{"DTSTART", "StartDate", "UtcStartDate"}, {"DUE", "DueDate", "UtcDueDate"}} {
		if v, ok, err := td.DateTime(d.prop); ok && err == nil {
			at := zones.Instant(v)
			fields = append(fields, task(d.utc, at.UTC().Format(taskTime)), task(d.local, v.Wall.Format(taskTime)))
		}
	}
	done := strings.EqualFold(td.Text("STATUS"), "COMPLETED") || td.Prop("COMPLETED") != nil
	fields = append(fields, task("Complete", b01(done)))
	if done {
		at := time.Now().UTC()
		if v, ok, err := td.DateTime("COMPLETED"); ok && err == nil {
			at = zones.Instant(v)
		}
		fields = append(fields, task("DateCompleted", at.UTC().Format(taskTime)))
	}
	sens := "0"
	switch strings.ToUpper(td.Text("CLASS")) {
	case "PRIVATE":
		sens = "2"
	case "CONFIDENTIAL":
		sens = "3"
	}
	fields = append(fields, task("Sensitivity", sens))
	rem := false
	for _, a := range td.Sub(ical.VAlarm) {
		tr := a.Prop("TRIGGER")
		if tr == nil {
			continue
		}
		var at time.Time
		if strings.EqualFold(tr.Param("VALUE"), "DATE-TIME") {
			if v, err := ical.PropertyDateTime(tr); err == nil {
				at = zones.Instant(v)
			}
		} else if d, err := ical.ParseDuration(tr.Value); err == nil {
			base := "DUE"
			if strings.EqualFold(tr.Param("RELATED"), "START") || td.Prop("DUE") == nil {
				base = "DTSTART"
			}
			if v, ok, err := td.DateTime(base); ok && err == nil {
				at = d.AddTo(zones.Instant(v))
			}
		}
		if !at.IsZero() {
			fields = append(fields, task("ReminderSet", "1"), task("ReminderTime", at.UTC().Format(taskTime)))
			rem = true
			break
		}
	}
	if !rem {
		fields = append(fields, task("ReminderSet", "0"))
	}
	if cats := td.Prop("CATEGORIES"); cats != nil {
		cn := wbxml.El(Tasks, "Categories")
		for _, v := range cats.TextList() {
			if v = strings.TrimSpace(v); v != "" && len(cn.Children) < 50 {
				cn.Add(task("Category", v))
			}
		}
		if len(cn.Children) > 0 {
			fields = append(fields, cn)
		}
	}
	return fields, td.Text("DESCRIPTION"), true
}

// taskProps are the VTODO properties ApplyTask owns.
var taskProps = []string{"SUMMARY", "PRIORITY", "DTSTART", "DUE", "STATUS", "COMPLETED", "PERCENT-COMPLETE", "CLASS", "CATEGORIES"}

// ApplyTask writes task-class ApplicationData into obj's VTODO (a new
// one with uid when obj has none), keeping what EAS has no field for.
func ApplyTask(obj *ical.Component, ad *wbxml.Node, note string, hasNote bool, uid string) {
	get := func(n string) string { return strings.TrimSpace(ad.ChildText(n)) }
	var td *ical.Component
	if ts := obj.Sub(ical.VTodo); len(ts) > 0 {
		td = ts[0]
	} else {
		td = &ical.Component{Name: ical.VTodo}
		td.Props = append(td.Props, textProp("UID", uid))
		obj.Children = append(obj.Children, td)
	}
	for _, p := range taskProps {
		td.Del(p)
	}
	if v := get("Subject"); v != "" {
		td.Props = append(td.Props, textProp("SUMMARY", v))
	}
	switch get("Importance") {
	case "0":
		td.Props = append(td.Props, &ical.Property{Name: "PRIORITY", Value: "9"})
	case "2":
		td.Props = append(td.Props, &ical.Property{Name: "PRIORITY", Value: "1"})
	}
	for _, d := range []struct{ utc, prop string }{{"UtcStartDate", "DTSTART"}, {"UtcDueDate", "DUE"}} {
		if t, err := time.Parse(time.RFC3339, get(d.utc)); err == nil {
			td.Props = append(td.Props, &ical.Property{Name: d.prop, Value: t.UTC().Format(calTime)})
		}
	}
	if get("Complete") == "1" {
		td.Props = append(td.Props, &ical.Property{Name: "STATUS", Value: "COMPLETED"})
		at := time.Now().UTC()
		if t, err := time.Parse(time.RFC3339, get("DateCompleted")); err == nil {
			at = t
		}
		td.Props = append(td.Props, &ical.Property{Name: "COMPLETED", Value: at.UTC().Format(calTime)})
	} else {
		td.Props = append(td.Props, &ical.Property{Name: "STATUS", Value: "NEEDS-ACTION"})
	}
	switch get("Sensitivity") {
	case "2":
		td.Props = append(td.Props, &ical.Property{Name: "CLASS", Value: "PRIVATE"})
	case "3":
		td.Props = append(td.Props, &ical.Property{Name: "CLASS", Value: "CONFIDENTIAL"})
	}
	if cats := ad.Child("Categories"); cats != nil {
		var vs []string
		for _, v := range cats.All("Category") {
			if s := strings.TrimSpace(v.Content()); s != "" {
				vs = append(vs, strings.NewReplacer(",", "\\,", ";", "\\;").Replace(s))
			}
		}
		if len(vs) > 0 {
			td.Props = append(td.Props, &ical.Property{Name: "CATEGORIES", Value: strings.Join(vs, ",")})
		}
	}
	if hasNote {
		td.Del("DESCRIPTION")
		if note != "" {
			td.Props = append(td.Props, textProp("DESCRIPTION", note))
		}
	}
	if rs := ad.Child("ReminderSet"); rs != nil {
		var kept []*ical.Component
		for _, c := range td.Children {
			if c.Name != ical.VAlarm {
				kept = append(kept, c)
			}
		}
		td.Children = kept
		if t, err := time.Parse(time.RFC3339, get("ReminderTime")); rs.Content() == "1" && err == nil {
			al := &ical.Component{Name: ical.VAlarm}
			trig := &ical.Property{Name: "TRIGGER", Value: t.UTC().Format(calTime)}
			trig.SetParam("VALUE", "DATE-TIME")
			al.Props = append(al.Props, &ical.Property{Name: "ACTION", Value: "DISPLAY"}, textProp("DESCRIPTION", "Reminder"), trig)
			td.Children = append(td.Children, al)
		}
	}
	td.Del("DTSTAMP")
	td.Props = append(td.Props, &ical.Property{Name: "DTSTAMP", Value: time.Now().UTC().Format(calTime)})
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
