package easserver

import (
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

func rr(name, v string) *wbxml.Node { return wbxml.Str(eas.ResolveRecipients, name, v) }

// ResolveRecipients bounds.
const (
	maxResolveTo        = 100
	maxAvailabilitySpan = 42 * 24 * time.Hour // six weeks of half hours
	maxBusyObjects      = 5000
)

// resolveRecipients is ResolveRecipients ([MS-ASCMD] §2.2.1.15): names
// or addresses resolved against the user's tenant's address book (the
// GAL: users and visible contacts, galMatches), with the
// merged free/busy of each user found when asked (Availability). Free/busy
// is computed like CalDAV's from the user's calendars; it is what the
// Everyone group may see in Kopano, so within the tenant.
func resolveRecipients(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.ResolveRecipients, "ResolveRecipients")
	tos := req.All("To")
	if len(tos) == 0 || len(tos) > maxResolveTo {
		return resp.Add(rr("Status", "5")), nil // protocol error
	}
	opts := req.Child("Options")
	maxAmb := 19
	if v, err := strconv.Atoi(opts.ChildText("MaxAmbiguousRecipients")); err == nil && v >= 0 && v < 100 {
		maxAmb = v
	}
	var start, end time.Time
	if av := opts.Child("Availability"); av != nil {
		var err1, err2 error
		start, err1 = time.Parse(time.RFC3339, av.ChildText("StartTime"))
		end, err2 = time.Parse(time.RFC3339, av.ChildText("EndTime"))
		if err1 != nil || err2 != nil || !end.After(start) || end.Sub(start) > maxAvailabilitySpan {
			return resp.Add(rr("Status", "5")), nil
		}
	}
	resp.Add(rr("Status", "1"))
	// One request may name a user up to maxResolveTo times: each user's
	// free/busy is read once, and the calendar objects read for the
	// whole request are bounded.
	fbOf := map[int64]string{}
	budget := maxBusyObjects
	for _, to := range tos {
		q := strings.TrimSpace(to.Content())
		r := wbxml.El(eas.ResolveRecipients, "Response", rr("To", q))
		resp.Add(r)
		if q == "" || len(q) > 256 {
			r.Add(rr("Status", "4"), rr("RecipientCount", "0"))
			continue
		}
		hits, err := c.galMatches(strings.ToLower(q))
		if err != nil {
			return nil, err
		}
		// An exact address or login wins over substring matches.
		for _, a := range hits {
			if strings.EqualFold(a.Email(), q) || (a.User != nil && strings.EqualFold(a.User.Login, q)) {
				hits = []directory.Address{a}
				break
			}
		}
		status := "1"
		switch {
		case len(hits) == 0:
			r.Add(rr("Status", "4"), rr("RecipientCount", "0"))
			continue
		case len(hits) > 1:
			status = "2"
			if len(hits) > maxAmb {
				hits = hits[:maxAmb]
			}
		}
		r.Add(rr("Status", status), rr("RecipientCount", strconv.Itoa(len(hits))))
		for _, a := range hits {
			// Type 1: an entry of the GAL (a tenant contact too, [MS-ASCMD]
			// §2.2.3.186.1; 2 is one of the user's own contacts).
			rec := wbxml.El(eas.ResolveRecipients, "Recipient", rr("Type", "1"), rr("DisplayName", a.Name()), rr("EmailAddress", a.Email()))
			if !start.IsZero() && status == "1" {
				u := a.User
				if u == nil {
					// A contact has no calendar here: free/busy data
					// could not be retrieved for it (§2.2.3.177.12: 162).
					rec.Add(wbxml.El(eas.ResolveRecipients, "Availability", rr("Status", "162")))
					r.Add(rec)
					continue
				}
				fb, ok := fbOf[u.ID]
				if !ok {
					var err error
					if fb, err = c.mergedFreeBusy(u, start, end, &budget); err != nil {
						return nil, err
					}
					fbOf[u.ID] = fb
				}
				rec.Add(wbxml.El(eas.ResolveRecipients, "Availability", rr("Status", "1"), rr("MergedFreeBusy", fb)))
			}
			r.Add(rec)
		}
	}
	return resp, nil
}

// mergedFreeBusy is a user's busy time as one digit per half hour of
// [start, end): 0 free, 1 tentative, 2 busy, 3 out of office
// ([MS-ASCMD] §2.2.3.100). budget is what is left of the objects the
// request may read; past it, busy times are left out.
func (c *call) mergedFreeBusy(u *store.User, start, end time.Time, budget *int) (string, error) {
	sys := store.SystemContext(c.ctx)
	slots := make([]byte, int((end.Sub(start)+29*time.Minute)/(30*time.Minute)))
	for i := range slots {
		slots[i] = '0'
	}
	st, err := c.s.o.Store.UserStore(sys, u.Login)
	if err != nil {
		return "", err
	}
	fs, err := c.s.o.Store.ListFolders(sys, st.ID)
	if err != nil {
		return "", err
	}
	for _, f := range fs {
		if f.Type != store.FolderCalendar || f.Deleted || *budget <= 0 {
			continue
		}
		its, err := c.s.o.Store.ListObjects(sys, f.ID, store.ObjectQuery{Start: start, End: end, Limit: *budget})
		if err != nil {
			return "", err
		}
		for _, it := range its {
			if *budget <= 0 {
				break
			}
			*budget--
			b, err := c.readRawAs(sys, it.ID)
			if err != nil {
				return "", err
			}
			obj, err := ical.Decode(b, ical.Limits{})
			if err != nil {
				continue
			}
			for _, p := range groupware.BusyPeriods(obj, ical.NewZones(obj), start, end) {
				d := byte('2')
				switch p.Type {
				case groupware.BusyTentative:
					d = '1'
				case groupware.BusyUnavailable:
					d = '3'
				}
				for i := int(p.Start.Sub(start) / (30 * time.Minute)); i < len(slots) && start.Add(time.Duration(i)*30*time.Minute).Before(p.End); i++ {
					if i >= 0 && d > slots[i] {
						slots[i] = d
					}
				}
			}
		}
	}
	return string(slots), nil
}
