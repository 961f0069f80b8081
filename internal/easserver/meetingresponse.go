package easserver

import (
	"bytes"
	"io"
	"strings"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

func mr(name, v string) *wbxml.Node { return wbxml.Str(eas.MeetingResponse, name, v) }

// MeetingResponse statuses ([MS-ASCMD] §2.2.3.177.9).
const (
	mrOK      = "1"
	mrInvalid = "2"
)

// meetingResponse is MeetingResponse ([MS-ASCMD] §2.2.1.11): the user
// accepts, tentatively accepts or declines a meeting, named by its
// calendar item or by the invitation in a mail folder. The user's
// PARTSTAT is set in its copy of the event, which is stored through the
// same iTIP scheduler as a CalDAV client's change, so the organizer gets
// the reply (written into an internal organizer's copy, iMIP for an
// external one).
func meetingResponse(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.MeetingResponse, "MeetingResponse")
	reqs := req.All("Request")
	if len(reqs) == 0 || len(reqs) > 100 {
		return nil, errStatus(eas.StatusInvalidContent, 400)
	}
	for _, r := range reqs {
		rid := r.ChildText("RequestId")
		res := wbxml.El(eas.MeetingResponse, "Result", mr("RequestId", rid))
		resp.Add(res)
		ps := map[string]string{"1": "ACCEPTED", "2": "TENTATIVE", "3": "DECLINED"}[r.ChildText("UserResponse")]
		f, err := c.folder(r.ChildText("CollectionId"))
		if err != nil {
			return nil, err
		}
		if ps == "" || f == nil || !served(f) {
			res.Add(mr("Status", mrInvalid))
			continue
		}
		uid, ok := parseServerID(rid, f.ID)
		if !ok {
			res.Add(mr("Status", mrInvalid))
			continue
		}
		calF, it, err := c.meetingItem(f, uid)
		if err != nil {
			return nil, err
		}
		if it == nil {
			res.Add(mr("Status", mrInvalid))
			continue
		}
		obj, err := c.readEvent(it.ID)
		if err != nil {
			return nil, err
		}
		self, err := c.selfAddresses()
		if err != nil {
			return nil, err
		}
		if obj == nil || !setPartstat(obj, self, ps) {
			res.Add(mr("Status", mrInvalid)) // not an attendee
			continue
		}
		nit, err := c.putEvent(calF, obj, it, "")
		if notFound(err) {
			res.Add(mr("Status", mrInvalid))
			continue
		}
		if err != nil {
			return nil, err
		}
		res.Add(mr("Status", mrOK))
		if ps != "DECLINED" {
			res.Add(mr("CalendarId", serverID(calF.ID, nit.UID)))
		}
	}
	return resp, nil
}

// meetingItem finds the calendar item a meeting response is about: the
// item itself in a calendar, or, for an invitation in a mail folder, the
// event with the invitation's UID in one of the user's calendars.
func (c *call) meetingItem(f *store.Folder, uid uint32) (*store.Folder, *store.Item, error) {
	it, err := c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
	if notFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if f.Type == store.FolderCalendar {
		return f, it, nil
	}
	if f.Type != store.FolderMail {
		return nil, nil, nil
	}
	m, err := c.readMessage(c.ctx, it.ID)
	if err != nil {
		return nil, nil, err
	}
	var ics []byte
	m.root.Walk(func(p *mime.Part) bool {
		if p.MediaType == "text" && p.SubType == "calendar" {
			ics, _ = io.ReadAll(io.LimitReader(p.DecodedBody(bytes.NewReader(m.raw)), maxCard))
			return false
		}
		return true
	})
	inv, err := ical.Decode(ics, ical.Limits{})
	if err != nil {
		return nil, nil, nil
	}
	var objUID string
	for _, ev := range inv.Sub(ical.VEvent) {
		objUID = ev.UID()
	}
	if objUID == "" {
		return nil, nil, nil
	}
	fs, err := c.s.o.Store.ListFolders(c.ctx, c.st.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, cf := range fs {
		if cf.Type != store.FolderCalendar || cf.Deleted {
			continue
		}
		its, err := c.s.o.Store.ListObjects(c.ctx, cf.ID, store.ObjectQuery{ObjectUID: objUID, Limit: 1})
		if err != nil {
			return nil, nil, err
		}
		if len(its) > 0 {
			return cf, its[0], nil
		}
	}
	return nil, nil, nil
}

// setPartstat sets the user's PARTSTAT on every component of the event
// that names it as an attendee; false when none does.
func setPartstat(obj *ical.Component, self func(string) bool, ps string) bool {
	found := false
	for _, ev := range obj.Sub(ical.VEvent) {
		for _, a := range ev.All("ATTENDEE") {
			addr := a.Value
			if len(addr) > 7 && strings.EqualFold(addr[:7], "mailto:") {
				addr = addr[7:]
			}
			if self(addr) {
				a.SetParam("PARTSTAT", ps)
				var kept []ical.Param
				for _, p := range a.Params {
					if !strings.EqualFold(p.Name, "RSVP") {
						kept = append(kept, p)
					}
				}
				a.Params = kept
				found = true
			}
		}
	}
	return found
}
