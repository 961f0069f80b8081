package groupware

import (
	"context"
	"slices"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/store"
)

// Resource booking (Kopano §8.8): a room or equipment (a non-active user
// with AutoAccept) answers invitations by itself. It declines recurring
// meetings when DeclineRecurring is set, and meetings that overlap its
// existing bookings when DeclineConflict is set — equipment with capacity
// N may be booked N times at once, a room once. An accepted booking is
// stored in the resource's calendar, which is what later conflicts are
// checked against.

// maxConflictChecks bounds the occurrences of one booking checked.
const maxConflictChecks = 500

// book decides a resource's answer and records an accepted booking.
func (s *Scheduler) book(ctx context.Context, res *store.User, addr string, cal *ical.Component) string {
	uid := firstUID(cal)
	decline := func(why string) string {
		s.log().Info("resource declined", "resource", res.Login, "uid", uid, "reason", why)
		if old, err := s.findCopy(ctx, res, uid); err == nil {
			_, _ = s.Store.DeleteItems(ctx, old.FolderID, []uint32{old.UID})
		}
		return "DECLINED"
	}
	ix, err := IndexCalendar(cal, s.Zones.Zones(cal))
	if err != nil {
		return decline("invalid object")
	}
	if res.Resource.DeclineRecurring && ix.Recurring {
		return decline("recurring")
	}
	if res.Resource.DeclineConflict {
		conflict, err := s.conflicts(ctx, res, cal, uid)
		if err != nil {
			s.log().Warn("resource conflict check failed", "resource", res.Login, "err", err)
			return decline("conflict check failed")
		}
		if conflict {
			return decline("conflict")
		}
	}
	s.deliver(ctx, res, addr, cal, "ACCEPTED")
	s.log().Info("resource accepted", "resource", res.Login, "uid", uid)
	return "ACCEPTED"
}

// conflicts reports whether some occurrence of cal overlaps as many other
// bookings of the resource as its capacity allows.
func (s *Scheduler) conflicts(ctx context.Context, res *store.User, cal *ical.Component, uid string) (bool, error) {
	capacity := res.Resource.Capacity
	if capacity < 1 {
		capacity = 1
	}
	f, err := s.defaultCalendar(ctx, res)
	if err != nil {
		return false, err
	}
	horizon := s.Horizon
	if horizon <= 0 {
		horizon = 366 * 24 * time.Hour
	}
	// From the booking's first instance on (a booking may lie in the
	// past: it still conflicts with what was booked then).
	ix, err := IndexCalendar(cal, s.Zones.Zones(cal))
	if err != nil {
		return false, err
	}
	from := ix.Start
	if from.IsZero() {
		from = s.now()
	}
	series := ical.SeriesOf(cal, s.Zones.Zones(cal))
	lim := ical.ExpandLimits{MaxInstances: maxConflictChecks, MaxIterations: 100000}
	var occ []ical.Occurrence
	for _, sr := range series {
		o, _ := ical.Expand(sr, from, from.Add(horizon), lim)
		occ = append(occ, o...)
	}
	if len(occ) == 0 {
		return false, nil
	}
	// Bookings that may overlap any occurrence.
	first, last := occ[0].Start, occ[0].End
	for _, o := range occ {
		if o.Start.Before(first) {
			first = o.Start
		}
		if o.End.After(last) {
			last = o.End
		}
	}
	its, err := s.Store.ListObjects(ctx, f.ID, store.ObjectQuery{Start: first, End: last, Limit: 10000})
	if err != nil {
		return false, err
	}
	var busy []Period
	for _, it := range its {
		if it.ObjectUID == uid {
			continue
		}
		other, err := s.read(ctx, it)
		if err != nil {
			continue
		}
		busy = append(busy, BusyPeriods(other, s.Zones.Zones(other), first, last)...)
	}
	for _, o := range occ {
		end := o.End
		if !end.After(o.Start) {
			end = o.Start.Add(time.Second)
		}
		if maxConcurrent(busy, o.Start, end) >= capacity {
			return true, nil
		}
	}
	return false, nil
}

// maxConcurrent returns how many of the periods overlap at once, at most,
// within [start, end).
func maxConcurrent(ps []Period, start, end time.Time) int {
	type edge struct {
		t     time.Time
		delta int
	}
	var es []edge
	for _, p := range ps {
		if !p.Start.Before(end) || !p.End.After(start) {
			continue
		}
		s, e := p.Start, p.End
		if s.Before(start) {
			s = start
		}
		if e.After(end) {
			e = end
		}
		es = append(es, edge{s, 1}, edge{e, -1})
	}
	slices.SortFunc(es, func(a, b edge) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return a.delta - b.delta // ends before starts at the same instant
	})
	n, best := 0, 0
	for _, e := range es {
		n += e.delta
		best = max(best, n)
	}
	return best
}
