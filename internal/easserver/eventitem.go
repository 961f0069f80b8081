package easserver

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// pimData renders a contact or an event as ApplicationData; nil (no
// error) when the stored object cannot be read.
func (c *call) pimData(f *store.Folder, itemID int64, o bodyOptions) (*wbxml.Node, error) {
	if f.Type == store.FolderContacts {
		card, err := c.readCard(itemID)
		if err != nil || card == nil {
			return nil, err
		}
		return c.contactData(card, o), nil
	}
	obj, err := c.readEvent(itemID)
	if err != nil || obj == nil {
		return nil, err
	}
	if f.Type == store.FolderTasks || f.Type == store.FolderNotes {
		data := eas.TaskData
		if f.Type == store.FolderNotes {
			data = eas.NoteData
		}
		fields, note, ok := data(obj)
		if !ok {
			return nil, nil
		}
		return noteBody(wbxml.El(eas.AirSync, "ApplicationData").Add(fields...), note, o), nil
	}
	self, err := c.selfAddresses()
	if err != nil {
		return nil, err
	}
	fields, note, ok := eas.EventData(obj, self)
	if !ok {
		return nil, nil
	}
	return noteBody(wbxml.El(eas.AirSync, "ApplicationData").Add(fields...), note, o), nil
}

// noteBody adds a text as the airsyncbase:Body.
func noteBody(ad *wbxml.Node, note string, o bodyOptions) *wbxml.Node {
	p := o.choose()
	if p.typ != 2 {
		p.typ = 1
	}
	data := note
	if p.typ == 2 && note != "" {
		data = "<html><body><pre>" + html.EscapeString(note) + "</pre></body></html>"
	}
	b := wbxml.El(eas.AirSyncBase, "Body", asb("Type", fmt.Sprint(p.typ)), asb("EstimatedDataSize", fmt.Sprint(len(data))))
	if p.truncate > 0 && len(data) > p.truncate {
		b.Add(asb("Truncated", "1"))
		data = cut(data, p.truncate)
	}
	if data != "" {
		b.Add(asb("Data", strings.ReplaceAll(data, "\x00", "")))
	}
	return ad.Add(b)
}

// selfAddresses tells whether an address is the user's (memoised per
// request).
func (c *call) selfAddresses() (func(string) bool, error) {
	if c.self == nil {
		u, err := c.s.o.Store.GetUser(store.SystemContext(c.ctx), c.p.Login)
		if err != nil {
			return nil, err
		}
		addrs := append([]string{u.Email}, u.Aliases...)
		c.self = func(a string) bool {
			for _, x := range addrs {
				if strings.EqualFold(x, a) {
					return true
				}
			}
			return false
		}
	}
	return c.self, nil
}

func (c *call) readEvent(itemID int64) (*ical.Component, error) {
	rc, err := c.s.o.Store.OpenItem(c.ctx, itemID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxCard))
	if err != nil {
		return nil, fmt.Errorf("read event %d: %w", itemID, err)
	}
	obj, err := ical.Decode(b, ical.Limits{})
	if err != nil {
		return nil, nil
	}
	return obj, nil
}

// putEvent validates and indexes a calendar object and stores it: a new
// item, or in place of item old.
func (c *call) putEvent(f *store.Folder, obj *ical.Component, old *store.Item, name string) (*store.Item, error) {
	if err := groupware.ValidateCalendar(obj); err != nil {
		return nil, err
	}
	ix, err := groupware.IndexCalendar(obj, ical.NewZones(obj))
	if err != nil {
		return nil, err
	}
	b, err := ical.Marshal(obj)
	if err != nil {
		return nil, err
	}
	ni := store.NewItem{Content: bytes.NewReader(b), ObjectUID: ix.UID, Start: ix.Start, End: ix.End}
	// Implicit scheduling as for CalDAV: planned (directory lookups)
	// before the write, so that a store failure fails the request, run
	// after it.
	pe := groupware.PutEvent{Owner: c.st, Folder: f, Name: name, New: obj}
	if old != nil {
		pe.Name = old.Name
		if pe.Old, err = c.readRaw(old.ID); err != nil {
			return nil, err
		}
	}
	plan, err := c.s.o.Scheduler.PlanPut(c.ctx, pe)
	if err != nil {
		return nil, err
	}
	var it *store.Item
	if old != nil {
		it, err = c.s.o.Store.ReplaceItem(c.ctx, old.ID, ni)
	} else {
		ni.Name = name
		it, err = c.s.o.Store.AppendItem(c.ctx, f.ID, ni)
	}
	if err != nil {
		return nil, err
	}
	if plan != nil {
		plan.Run(c.ctx)
	}
	return it, nil
}

// readRaw reads an item's content (bounded).
func (c *call) readRaw(itemID int64) ([]byte, error) { return c.readRawAs(c.ctx, itemID) }

// readRawAs reads an item's content as the principal of ctx.
func (c *call) readRawAs(ctx context.Context, itemID int64) ([]byte, error) {
	rc, err := c.s.o.Store.OpenItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxCard))
}

// addObject stores a contact or an event the device created; its UID.
func (c *call) addObject(f *store.Folder, ad *wbxml.Node) (uint32, error) {
	if f.Type == store.FolderContacts {
		return c.addContact(f, ad)
	}
	uid, name := newContactName()
	name = strings.TrimSuffix(name, ".vcf") + ".ics"
	if u := strings.TrimSpace(ad.ChildText("UID")); u != "" && len(u) < 200 {
		uid = u
	}
	obj := &ical.Component{Name: ical.VCalendar}
	obj.Props = append(obj.Props, &ical.Property{Name: "VERSION", Value: "2.0"}, &ical.Property{Name: "PRODID", Value: "-//Roost//ActiveSync//EN"})
	note, has := noteOf(ad)
	if f.Type == store.FolderTasks {
		eas.ApplyTask(obj, ad, note, has, uid)
	} else if f.Type == store.FolderNotes {
		eas.ApplyNote(obj, ad, note, has, uid)
	} else if err := eas.ApplyEvent(obj, ad, note, has, uid); err != nil {
		return 0, err
	}
	it, err := c.putEvent(f, obj, nil, name)
	if err != nil {
		return 0, err
	}
	return it.UID, nil
}

// changeObject writes the device's fields into a stored contact or event.
func (c *call) changeObject(f *store.Folder, uid uint32, ad *wbxml.Node) error {
	if f.Type == store.FolderContacts {
		return c.changeContact(f, uid, ad)
	}
	it, err := c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
	if err != nil {
		return err
	}
	obj, err := c.readEvent(it.ID)
	if err != nil {
		return err
	}
	if obj == nil {
		return groupware.ErrInvalidObject
	}
	note, has := noteOf(ad)
	if f.Type == store.FolderTasks {
		eas.ApplyTask(obj, ad, note, has, "")
	} else if f.Type == store.FolderNotes {
		eas.ApplyNote(obj, ad, note, has, "")
	} else if err := eas.ApplyEvent(obj, ad, note, has, ""); err != nil {
		return err
	}
	_, err = c.putEvent(f, obj, it, "")
	return err
}

// deleteObject deletes a contact or an event the device deleted; an
// event's deletion is scheduled like CalDAV's (an organizer cancels, an
// attendee declines).
func (c *call) deleteObject(f *store.Folder, uid uint32) error {
	var plan *groupware.Change
	if f.Type == store.FolderCalendar && c.s.o.Scheduler != nil { // tasks are not scheduled
		it, err := c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		raw, err := c.readRaw(it.ID)
		if err != nil {
			return err
		}
		if plan, err = c.s.o.Scheduler.PlanDelete(c.ctx, groupware.DeleteEvent{Owner: c.st, Folder: f, Old: raw}); err != nil {
			return err
		}
	}
	if _, err := c.s.o.Store.DeleteItems(c.ctx, f.ID, []uint32{uid}); err != nil && !notFound(err) {
		return err
	}
	if plan != nil {
		plan.Run(c.ctx)
	}
	return nil
}
