package groupware

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/store"
)

// Import and export of whole calendars (.ics) and address books (.vcf),
// for `roost admin calendar import|export` and the iCal feed. Imported
// objects become one resource per UID, named "<uid>.ics" / "<uid>.vcf"
// (made safe), indexed like a CalDAV PUT; an object whose UID is already
// in the folder replaces it.

// maxExportObjects bounds one export.
const maxExportObjects = 100000

// SplitCalendar splits an iCalendar stream (one or more VCALENDARs) into
// calendar object resources: one VCALENDAR per UID with the VTIMEZONEs
// its components use, without METHOD.
func SplitCalendar(data []byte) ([]*ical.Component, error) {
	cals, err := ical.DecodeAll(data, ical.Limits{MaxBytes: 256 << 20, MaxComponents: 1 << 20, MaxLines: 1 << 24})
	if err != nil {
		return nil, err
	}
	var out []*ical.Component
	byUID := map[string]*ical.Component{}
	for _, cal := range cals {
		if cal.Name != ical.VCalendar {
			return nil, fmt.Errorf("%w: top-level %s", ErrInvalidObject, cal.Name)
		}
		tzs := map[string]*ical.Component{}
		for _, c := range cal.Sub(ical.VTimezone) {
			tzs[c.Text("TZID")] = c
		}
		for _, c := range cal.Children {
			if c.Name != ical.VEvent && c.Name != ical.VTodo && c.Name != ical.VJournal {
				continue
			}
			uid := c.UID()
			if uid == "" {
				return nil, fmt.Errorf("%w: %s without UID", ErrInvalidObject, c.Name)
			}
			obj := byUID[c.Name+"\x00"+uid]
			if obj == nil {
				obj = &ical.Component{Name: ical.VCalendar}
				for _, p := range cal.Props {
					if !strings.EqualFold(p.Name, "METHOD") {
						obj.Props = append(obj.Props, p)
					}
				}
				byUID[c.Name+"\x00"+uid] = obj
				out = append(out, obj)
			}
			for _, p := range c.Props {
				if id := p.Param("TZID"); id != "" {
					if tz := tzs[id]; tz != nil && !hasTZ(obj, id) {
						obj.Children = append([]*ical.Component{tz}, obj.Children...)
					}
				}
			}
			obj.Children = append(obj.Children, c)
		}
	}
	return out, nil
}

func hasTZ(cal *ical.Component, id string) bool {
	for _, c := range cal.Sub(ical.VTimezone) {
		if c.Text("TZID") == id {
			return true
		}
	}
	return false
}

// ImportCalendar stores the objects of an iCalendar stream in a calendar
// folder and returns how many it stored. zones may be nil.
func ImportCalendar(ctx context.Context, st store.Mail, folderID int64, data []byte, zones *ical.ZoneCache) (int, error) {
	objs, err := SplitCalendar(data)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, obj := range objs {
		if err := ValidateCalendar(obj); err != nil {
			return n, err
		}
		ix, err := IndexCalendar(obj, zones.Zones(obj))
		if err != nil {
			return n, err
		}
		b, err := ical.Marshal(obj)
		if err != nil {
			return n, err
		}
		if err := putObject(ctx, st, folderID, ix.UID, safeName(ix.UID)+".ics", b, ix); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ImportContacts stores the vCards of a .vcf stream in an address book
// and returns how many it stored. A card without UID gets one derived
// from its content, so that importing the same file twice replaces.
func ImportContacts(ctx context.Context, st store.Mail, folderID int64, data []byte) (int, error) {
	cards, err := vcard.Decode(data, vcard.Limits{MaxBytes: 256 << 20, MaxCards: 1 << 20, MaxLines: 1 << 24})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cards {
		if c.UID() == "" {
			b, err := vcard.Marshal(c)
			if err != nil {
				return n, err
			}
			sum := sha256.Sum256(b)
			c.SetText("UID", "urn:roost:"+hex.EncodeToString(sum[:16]))
		}
		b, err := vcard.Marshal(c)
		if err != nil {
			return n, err
		}
		if err := putObject(ctx, st, folderID, c.UID(), safeName(c.UID())+".vcf", b, Index{UID: c.UID()}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// putObject appends an object, or replaces the one with the same UID.
func putObject(ctx context.Context, st store.Mail, folderID int64, uid, name string, b []byte, ix Index) error {
	ni := store.NewItem{Content: bytes.NewReader(b), ObjectUID: uid, Start: ix.Start, End: ix.End}
	old, err := st.ListObjects(ctx, folderID, store.ObjectQuery{ObjectUID: uid, Limit: 1})
	if err != nil {
		return err
	}
	if len(old) > 0 {
		_, err = st.ReplaceItem(ctx, old[0].ID, ni)
		return err
	}
	ni.Name = name
	_, err = st.AppendItem(ctx, folderID, ni)
	if errors.Is(err, store.ErrConflict) {
		// The name is taken by an object with another UID.
		sum := sha256.Sum256([]byte(uid))
		ni.Name = hex.EncodeToString(sum[:8]) + "-" + name
		ni.Content = bytes.NewReader(b)
		_, err = st.AppendItem(ctx, folderID, ni)
	}
	return err
}

// ExportCalendar writes every object of a calendar folder as one
// VCALENDAR (each VTIMEZONE once).
func ExportCalendar(ctx context.Context, st store.Mail, f *store.Folder, w io.Writer) error {
	its, err := st.ListObjects(ctx, f.ID, store.ObjectQuery{Limit: maxExportObjects})
	if err != nil {
		return err
	}
	cal := &ical.Component{Name: ical.VCalendar}
	cal.Props = append(cal.Props, &ical.Property{Name: "VERSION", Value: "2.0"},
		&ical.Property{Name: "PRODID", Value: "-//Roost//CalDAV//EN"})
	dn := &ical.Property{Name: "X-WR-CALNAME"}
	dn.SetText(f.Name)
	cal.Props = append(cal.Props, dn)
	seenTZ := map[string]bool{}
	var comps []*ical.Component
	for _, it := range its {
		b, err := readAll(ctx, st, it)
		if err != nil {
			return err
		}
		c, err := ical.Decode(b, ical.Limits{})
		if err != nil {
			continue // stored by another protocol in a form we cannot read
		}
		for _, ch := range c.Children {
			if ch.Name == ical.VTimezone {
				if id := ch.Text("TZID"); !seenTZ[id] {
					seenTZ[id] = true
					cal.Children = append(cal.Children, ch)
				}
				continue
			}
			comps = append(comps, ch)
		}
	}
	cal.Children = append(cal.Children, comps...)
	return ical.Encode(w, cal)
}

// ExportContacts writes every vCard of an address book, one after the
// other.
func ExportContacts(ctx context.Context, st store.Mail, f *store.Folder, w io.Writer) error {
	its, err := st.ListObjects(ctx, f.ID, store.ObjectQuery{Limit: maxExportObjects})
	if err != nil {
		return err
	}
	for _, it := range its {
		b, err := readAll(ctx, st, it)
		if err != nil {
			return err
		}
		cards, err := vcard.Decode(b, vcard.Limits{})
		if err != nil {
			continue
		}
		if err := vcard.Encode(w, cards...); err != nil {
			return err
		}
	}
	return nil
}

func readAll(ctx context.Context, st store.Mail, it *store.Item) ([]byte, error) {
	rc, err := st.OpenItem(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
