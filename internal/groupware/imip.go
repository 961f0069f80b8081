package groupware

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// ErrNotAuthorized is returned by ProcessITIP when the sender may not make
// the change the message asks for.
var ErrNotAuthorized = errors.New("iTIP sender does not match the calendar user it acts for")

// ProcessITIP applies an iTIP message that arrived by mail (iMIP, RFC
// 6047) for user u, who received it, from the address from (the
// message's sender, lower case, without "mailto:"):
//
//   - REQUEST (from the ORGANIZER): the event goes into u's calendar,
//     keeping u's answer; a resource with AutoAccept books or declines it
//     and the returned reply (METHOD:REPLY) is for the caller to mail back
//     to the organizer.
//   - REPLY (from an ATTENDEE): that attendee's PARTSTAT is written into
//     u's copy, u being the organizer.
//   - CANCEL (from the ORGANIZER): u's copy is marked cancelled.
//
// A message whose sender is not the organizer (REQUEST, CANCEL) or the
// answering attendee (REPLY) is refused with ErrNotAuthorized, so that a
// forged mail cannot change someone else's answer. ctx must carry a
// principal allowed to write u's calendar (the system, for delivery).
func (s *Scheduler) ProcessITIP(ctx context.Context, u *store.User, from string, ics []byte) (reply []byte, err error) {
	msg, err := ical.Decode(ics, ical.Limits{MaxBytes: 10 << 20})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	method := strings.ToUpper(msg.Text("METHOD"))
	cs, org := schedulingComponents(msg)
	if len(cs) == 0 || org == "" {
		return nil, fmt.Errorf("%w: no scheduling component with an organizer", ErrInvalidObject)
	}
	uid := cs[0].UID()
	if uid == "" {
		return nil, fmt.Errorf("%w: no UID", ErrInvalidObject)
	}
	from = Addr(from)
	// The stored copy carries no METHOD (RFC 4791 §4.1).
	stored := clone(msg)
	stored.Del("METHOD")
	switch method {
	case "REQUEST", "ADD":
		if from != org {
			return nil, ErrNotAuthorized
		}
		if err := ValidateCalendar(stored); err != nil {
			return nil, err
		}
		addrs := userAddrs(u)
		var mine string
		for _, a := range attendees(cs) {
			for _, m := range addrs {
				if a == m {
					mine = a
				}
			}
		}
		if mine == "" {
			return nil, fmt.Errorf("%w: %s is not an attendee", ErrInvalidObject, u.Login)
		}
		if !u.Active && u.Resource.AutoAccept {
			ps := s.book(ctx, u, mine, stored)
			r := clone(stored)
			setPartstat(r, mine, ps)
			keepOnly(r, mine)
			r.Set(&ical.Property{Name: "METHOD", Value: "REPLY"})
			return ical.Marshal(r)
		}
		s.deliver(ctx, u, mine, stored, "")
		return nil, nil
	case "REPLY":
		as := attendees(cs)
		if len(as) != 1 || as[0] != from {
			return nil, ErrNotAuthorized
		}
		old, err := s.findCopy(ctx, u, uid)
		if err != nil {
			return nil, err
		}
		oc, err := s.read(ctx, old)
		if err != nil {
			return nil, err
		}
		if _, ocOrg := schedulingComponents(oc); !contains(userAddrs(u), ocOrg) {
			return nil, ErrNotAuthorized // u is not the organizer of its copy
		}
		if !setPartstat(oc, from, partstat(cs, from)) {
			return nil, fmt.Errorf("%w: %s is not invited", ErrNotAuthorized, from)
		}
		if err := s.write(ctx, u, uid, oc); err != nil {
			return nil, err
		}
		s.toInbox(ctx, u, "REPLY", stored)
		return nil, nil
	case "CANCEL":
		if from != org {
			return nil, ErrNotAuthorized
		}
		s.cancelFor(ctx, u, stored)
		return nil, nil
	}
	return nil, fmt.Errorf("%w: iTIP method %q not handled", ErrInvalidObject, method)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// keepOnly removes every ATTENDEE but addr (a REPLY names the answering
// attendee only, RFC 5546 §3.2.3).
func keepOnly(cal *ical.Component, addr string) {
	for _, c := range cal.Children {
		out := c.Props[:0]
		for _, p := range c.Props {
			if strings.EqualFold(p.Name, "ATTENDEE") && Addr(p.Value) != addr {
				continue
			}
			out = append(out, p)
		}
		c.Props = out
	}
}
