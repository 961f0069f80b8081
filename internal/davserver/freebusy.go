package davserver

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// maxFreeBusySpan bounds the window of one free/busy request.
const maxFreeBusySpan = 2 * 366 * 24 * time.Hour

// busyIn computes the busy periods of one folder. It runs as the system:
// free/busy needs only the lookup right, which the caller checked
// (Kopano: the Everyone group sees free/busy by default). truncated says
// a recurring event had more instances in the window than
// Options.MaxInstances, so the answer may miss busy times.
//
// floating is the zone of floating times (nil: UTC): the calendar's
// calendar-timezone for a free-busy-query (RFC 4791 §5.2.2, §9.9).
func (s *Server) busyIn(ctx context.Context, folderID int64, start, end time.Time, floating *time.Location) (_ []groupware.Period, truncated bool, _ error) {
	sys := store.SystemContext(ctx)
	its, err := s.o.Store.ListObjects(sys, folderID, store.ObjectQuery{Start: start, End: end, Limit: s.o.MaxResults})
	if err != nil {
		return nil, false, err
	}
	lim := groupware.BusyLimits
	lim.MaxInstances = s.o.MaxInstances
	var out []groupware.Period
	for _, it := range its {
		b, err := s.readItem(sys, it)
		if err != nil {
			return nil, false, err
		}
		cal, err := ical.Decode(b, ical.Limits{})
		if err != nil {
			continue
		}
		zones := s.zones.Zones(cal)
		zones.Floating = floating
		ps, cut := groupware.BusyPeriodsLimited(cal, zones, start, end, lim)
		if cut {
			s.log.InfoContext(ctx, "DAV free/busy: recurrence cut at the instance limit", "folder", folderID, "item", it.Name, "max_instances", s.o.MaxInstances)
			truncated = true
		}
		out = append(out, ps...)
	}
	return out, truncated, nil
}

// freeBusyQuery answers the free-busy-query REPORT (RFC 4791 §7.10).
func (s *Server) freeBusyQuery(w http.ResponseWriter, r *http.Request, res *resource, root *node) error {
	ctx := r.Context()
	if res.kind != resFolder || !isCalendar(res.folder) {
		return precondition(http.StatusForbidden, "<C:calendar-collection-location-ok/>", "not a calendar")
	}
	trn := root.child(nsCalDAV, "time-range")
	if trn == nil {
		return errStatus(http.StatusBadRequest, "free-busy-query needs a time-range")
	}
	tr, err := parseTimeRange(trn)
	if err != nil {
		return err
	}
	if tr.start.IsZero() || tr.end.IsZero() || tr.end.Sub(tr.start) > maxFreeBusySpan {
		return errStatus(http.StatusBadRequest, "free-busy-query needs a bounded time-range of at most two years")
	}
	ps, cut, err := s.busyIn(ctx, res.folder.ID, tr.start, tr.end, s.floatingZone(ctx, res, root))
	if err != nil {
		return err
	}
	fb := groupware.FreeBusy(ps, tr.start, tr.end, s.o.Now(), "", "", "", "")
	if cut {
		groupware.MarkClipped(fb)
	}
	b, err := ical.Marshal(fb)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// post handles POST to the schedule outbox: a VFREEBUSY request (RFC 6638
// §5) answered for every internal attendee.
func (s *Server) post(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	res, err := s.resolve(ctx, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	if res.kind != resOutbox {
		return errStatus(http.StatusMethodNotAllowed, "POST only to the schedule outbox")
	}
	p := store.PrincipalFrom(ctx)
	if res.st.OwnerID != p.UserID {
		return errStatus(http.StatusForbidden, "not your outbox")
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	cal, err := ical.Decode(body, ical.Limits{MaxBytes: int(s.o.MaxBodyBytes)})
	if err != nil {
		return precondition(http.StatusBadRequest, "<C:valid-calendar-data/>", err.Error())
	}
	fbs := cal.Sub(ical.VFreeBusy)
	if !strings.EqualFold(cal.Text("METHOD"), "REQUEST") || len(fbs) != 1 {
		return precondition(http.StatusForbidden, "<C:valid-calendar-data/>", "only VFREEBUSY requests are accepted")
	}
	fb := fbs[0]
	zones := s.zones.Zones(cal)
	st, ok1, err1 := fb.DateTime("DTSTART")
	en, ok2, err2 := fb.DateTime("DTEND")
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return precondition(http.StatusForbidden, "<C:valid-calendar-data/>", "VFREEBUSY needs DTSTART and DTEND")
	}
	start, end := zones.Instant(st), zones.Instant(en)
	if !end.After(start) || end.Sub(start) > maxFreeBusySpan {
		return precondition(http.StatusForbidden, "<C:valid-calendar-data/>", "bad free/busy window")
	}
	me, err := s.o.Store.GetUser(ctx, p.Login)
	if err != nil {
		return err
	}
	var orgVal string
	if op := fb.Prop("ORGANIZER"); op != nil {
		orgVal = op.Value
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<C:schedule-response xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">`)
	attendees := fb.All("ATTENDEE")
	if len(attendees) > 100 {
		attendees = attendees[:100]
	}
	sys := store.SystemContext(ctx)
	for _, a := range attendees {
		addr := groupware.Addr(a.Value)
		b.WriteString("<C:response><C:recipient><D:href>" + escapeString(a.Value) + "</D:href></C:recipient>")
		u, err := s.o.Store.UserByAddress(sys, addr)
		if err != nil || u.TenantID != me.TenantID {
			b.WriteString("<C:request-status>3.7;Invalid calendar user</C:request-status></C:response>")
			continue
		}
		var ps []groupware.Period
		cut := false
		if ust, err := s.o.Store.UserStore(sys, u.Login); err == nil {
			if fs, err := s.o.Store.ListFolders(sys, ust.ID); err == nil {
				for _, f := range fs {
					if f.Type == store.FolderCalendar {
						more, c, err := s.busyIn(ctx, f.ID, start, end, nil)
						if err == nil {
							ps = append(ps, more...)
							cut = cut || c
						}
					}
				}
			}
		}
		reply := groupware.FreeBusy(ps, start, end, s.o.Now(), "REPLY", orgVal, a.Value, fb.UID())
		status := "2.0;Success"
		if cut {
			groupware.MarkClipped(reply)
			status = groupware.ClippedStatus
		}
		data, err := ical.Marshal(reply)
		if err != nil {
			return err
		}
		b.WriteString("<C:request-status>" + escapeString(status) + "</C:request-status><C:calendar-data>")
		b.WriteString(escapeString(string(data)))
		b.WriteString("</C:calendar-data></C:response>")
	}
	b.WriteString("</C:schedule-response>")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
	return nil
}

// principalReport answers the principal reports some clients send during
// discovery with the caller's own principal (RFC 3744 §9.4, §9.5; RFC
// 3253 expand-property is answered without expansion).
func (s *Server) principalReport(w http.ResponseWriter, r *http.Request, res *resource, root *node) error {
	ctx := r.Context()
	p := store.PrincipalFrom(ctx)
	if root.is(nsDAV, "principal-search-property-set") {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<D:principal-search-property-set xmlns:D="DAV:"><D:principal-search-property><D:prop><D:displayname/></D:prop><D:description xml:lang="en">Display name</D:description></D:principal-search-property></D:principal-search-property-set>`))
		return nil
	}
	u, err := s.o.Store.GetUser(ctx, p.Login)
	if err != nil {
		return err
	}
	t := &target{res: res, kind: resPrincipal, user: u, href: s.principalHref(u.Login)}
	pr := propRequestOf(root)
	if root.is(nsDAV, "expand-property") {
		pr = &propRequest{}
		for _, c := range root.Children {
			if c.is(nsDAV, "property") {
				pr.names = append(pr.names, propName{Space: orDefault(c.attr("namespace"), nsDAV), Local: c.attr("name")})
			}
		}
	}
	ms := newMultistatus(r)
	ms.response(t.href, s.propstats(ctx, t, pr))
	writeMultistatus(w, ms)
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
