package eas

import (
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

// Notes between a VJOURNAL (RFC 5545 §3.6.3, how CalDAV clients keep
// notes) and the EAS notes class ([MS-ASNOTE] §2.2.2): subject, text,
// categories and the time of the last change.

func notep(name, v string) *wbxml.Node { return wbxml.Str(Notes, name, v) }

// NoteData renders the first VJOURNAL of obj; ok is false when it has
// none.
func NoteData(obj *ical.Component) (fields []*wbxml.Node, text string, ok bool) {
	js := obj.Sub(ical.VJournal)
	if len(js) == 0 {
		return nil, "", false
	}
	j := js[0]
	fields = append(fields, notep("Subject", j.Text("SUMMARY")), notep("MessageClass", "IPM.StickyNote"))
	mod := time.Now().UTC()
	for _, p := range []string{"LAST-MODIFIED", "DTSTAMP"} {
		if v, ok, err := j.DateTime(p); ok && err == nil {
			mod = ical.NewZones(obj).Instant(v)
			break
		}
	}
	fields = append(fields, notep("LastModifiedDate", mod.UTC().Format(taskTime)))
	if cats := j.Prop("CATEGORIES"); cats != nil {
		cn := wbxml.El(Notes, "Categories")
		for _, v := range cats.TextList() {
			if v = strings.TrimSpace(v); v != "" && len(cn.Children) < 50 {
				cn.Add(notep("Category", v))
			}
		}
		if len(cn.Children) > 0 {
			fields = append(fields, cn)
		}
	}
	return fields, j.Text("DESCRIPTION"), true
}

// ApplyNote writes notes-class ApplicationData into obj's VJOURNAL (a
// new one with uid when obj has none), keeping other properties.
func ApplyNote(obj *ical.Component, ad *wbxml.Node, text string, hasText bool, uid string) {
	var j *ical.Component
	if js := obj.Sub(ical.VJournal); len(js) > 0 {
		j = js[0]
	} else {
		j = &ical.Component{Name: ical.VJournal}
		j.Props = append(j.Props, textProp("UID", uid))
		obj.Children = append(obj.Children, j)
	}
	now := time.Now().UTC().Format(calTime)
	for _, p := range []string{"SUMMARY", "CATEGORIES", "LAST-MODIFIED", "DTSTAMP"} {
		j.Del(p)
	}
	if v := strings.TrimSpace(ad.ChildText("Subject")); v != "" {
		j.Props = append(j.Props, textProp("SUMMARY", v))
	}
	if cats := ad.Child("Categories"); cats != nil {
		var vs []string
		for _, v := range cats.All("Category") {
			if s := strings.TrimSpace(v.Content()); s != "" {
				vs = append(vs, strings.NewReplacer(",", "\\,", ";", "\\;").Replace(s))
			}
		}
		if len(vs) > 0 {
			j.Props = append(j.Props, &ical.Property{Name: "CATEGORIES", Value: strings.Join(vs, ",")})
		}
	}
	if hasText {
		j.Del("DESCRIPTION")
		if text != "" {
			j.Props = append(j.Props, textProp("DESCRIPTION", text))
		}
	}
	j.Props = append(j.Props, &ical.Property{Name: "LAST-MODIFIED", Value: now}, &ical.Property{Name: "DTSTAMP", Value: now})
}
