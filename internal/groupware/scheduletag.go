package groupware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// ScheduleTag returns the Schedule-Tag (RFC 6638 §3.2.10) of a calendar
// object in the store of a user with the addresses mine, quoted like an
// entity tag; "" when the object is not a scheduling object resource (it
// has no ORGANIZER).
//
// The tag is derived from the content with what the server changes on its
// own left out: SCHEDULE-STATUS everywhere, and the participation (PARTSTAT,
// RSVP) of attendees other than the owner, which replies merged into the
// organizer's copy change. So the tag moves with every change the
// organizer or the owner's client makes, and stays when the server only
// merges answers or delivery status (§3.2.10): a client that sends
// If-Schedule-Tag-Match is not refused for those.
func ScheduleTag(cal *ical.Component, mine []string) string {
	if cal == nil {
		return ""
	}
	if _, org := schedulingComponents(cal); org == "" {
		return ""
	}
	c := clone(cal)
	// A PUT hands the normalized object, a read the stored one, which
	// keeps the client's liberties: both must give one tag.
	ical.Normalize(c)
	for _, comp := range c.Children {
		for _, p := range comp.Props {
			switch strings.ToUpper(p.Name) {
			case "ATTENDEE":
				p.SetParam("SCHEDULE-STATUS")
				if !containsAddr(mine, Addr(p.Value)) {
					p.SetParam("PARTSTAT")
					p.SetParam("RSVP")
				}
			case "ORGANIZER":
				p.SetParam("SCHEDULE-STATUS")
			}
		}
	}
	b, err := ical.Marshal(c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

func containsAddr(list []string, a string) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// OwnerAddresses returns the addresses (lower case) of the user owning a
// store; none for a store without an owner.
func (s *Scheduler) OwnerAddresses(ctx context.Context, st *store.Store) ([]string, error) {
	_, mine, err := s.ownerAddrs(store.SystemContext(ctx), st)
	return mine, err
}

// stripScheduleStatus removes SCHEDULE-STATUS, which only the organizer's
// own copy carries (RFC 6638 §7.3), from a copy or message for others.
func stripScheduleStatus(cal *ical.Component) {
	for _, comp := range cal.Children {
		for _, p := range comp.Props {
			if n := strings.ToUpper(p.Name); n == "ATTENDEE" || n == "ORGANIZER" {
				p.SetParam("SCHEDULE-STATUS")
			}
		}
	}
}

// Unchanged reports whether a new version of an object differs from the
// old content only in SCHEDULE-STATUS, which the server writes itself: a
// client re-uploading what it read schedules nothing.
func Unchanged(old []byte, cal *ical.Component) bool {
	if old == nil || cal == nil {
		return false
	}
	oc, err := ical.Decode(old, ical.Limits{})
	if err != nil {
		return false
	}
	nc := clone(cal)
	ical.Normalize(oc) // cal was normalized, the stored old body not
	ical.Normalize(nc)
	stripScheduleStatus(oc)
	stripScheduleStatus(nc)
	a, err1 := ical.Marshal(oc)
	b, err2 := ical.Marshal(nc)
	return err1 == nil && err2 == nil && string(a) == string(b)
}

// Organizer returns the scheduling components of an object and the
// address of its organizer ("" for none).
func Organizer(cal *ical.Component) ([]*ical.Component, string) { return schedulingComponents(cal) }
