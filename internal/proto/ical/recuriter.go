package ical

import (
	"slices"
	"time"
)

// recurIter yields the instances of one RRULE as wall-clock times (in
// the time.UTC location), in increasing order. It follows the model of
// RFC 5545 §3.3.10: each period of FREQ×INTERVAL is expanded by the BYxxx
// parts into a sorted candidate set, BYSETPOS picks from that set, and
// instances before DTSTART are dropped.
//
// All work is charged to *budget: one unit per period and one per
// candidate. When the budget runs out next returns a *LimitError, so
// rules that never match, or match far too often, end quickly.
type recurIter struct {
	r       *Recur
	dtstart time.Time
	budget  *int
	maxBud  int
	// past reports whether an instance lies beyond UNTIL.
	past func(time.Time) bool

	period time.Time
	buf    []time.Time
	bi     int
	n      int // instances emitted, for COUNT
	done   bool

	byMonth, byMonthDay, byYearDay, byWeekNo, bySetPos []int
	byHour, byMinute, bySecond                         []int
	byWeekday                                          [7]bool
	anyWeekday                                         bool
	byNWeekday                                         []WeekdayNum
	times                                              []time.Duration // clock offsets for freq <= Daily
}

// maxPeriodCandidates bounds the candidates of one period, whatever the
// iteration budget, so that one period never needs much memory.
const maxPeriodCandidates = 100000

func newRecurIter(r *Recur, dtstart time.Time, budget *int, past func(time.Time) bool) *recurIter {
	it := &recurIter{r: r, dtstart: dtstart, budget: budget, maxBud: *budget, past: past}
	it.byMonth = r.ByMonth
	it.byMonthDay = r.ByMonthDay
	it.byYearDay = r.ByYearDay
	it.byWeekNo = r.ByWeekNo
	it.bySetPos = r.BySetPos
	for _, d := range r.ByDay {
		if d.N == 0 || r.Freq > Monthly || r.Freq == Yearly && len(r.ByWeekNo) > 0 {
			it.byWeekday[d.Day] = true
			it.anyWeekday = true
		} else {
			it.byNWeekday = append(it.byNWeekday, d)
		}
	}
	// Defaults taken from DTSTART (RFC 5545 §3.3.10, "Information, not
	// contained in the rule, necessary to determine the various recurrence
	// instance start time and dates are derived from the Start Time").
	if len(r.ByWeekNo) == 0 && len(r.ByYearDay) == 0 && len(r.ByMonthDay) == 0 && len(r.ByDay) == 0 {
		switch r.Freq {
		case Yearly:
			if len(it.byMonth) == 0 {
				it.byMonth = []int{int(dtstart.Month())}
			}
			it.byMonthDay = []int{dtstart.Day()}
		case Monthly:
			it.byMonthDay = []int{dtstart.Day()}
		case Weekly:
			it.byWeekday[dtstart.Weekday()] = true
			it.anyWeekday = true
		}
	}
	it.byHour = sorted(r.ByHour)
	it.byMinute = sorted(r.ByMinute)
	it.bySecond = sorted(slices.DeleteFunc(slices.Clone(r.BySecond), func(s int) bool { return s == 60 }))
	if len(it.byHour) == 0 && r.Freq < Hourly {
		it.byHour = []int{dtstart.Hour()}
	}
	if len(it.byMinute) == 0 && r.Freq < Minutely {
		it.byMinute = []int{dtstart.Minute()}
	}
	if len(it.bySecond) == 0 && r.Freq < Secondly {
		if len(r.BySecond) > 0 {
			it.done = true // only leap seconds asked for
		}
		it.bySecond = []int{dtstart.Second()}
	}
	if r.Freq <= Daily {
		for _, h := range it.byHour {
			for _, m := range it.byMinute {
				for _, s := range it.bySecond {
					it.times = append(it.times, time.Duration(h)*time.Hour+time.Duration(m)*time.Minute+time.Duration(s)*time.Second)
				}
			}
		}
	}
	y, mo, d := dtstart.Date()
	switch r.Freq {
	case Yearly:
		it.period = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case Monthly:
		it.period = time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	case Weekly:
		off := (int(dtstart.Weekday()) - int(r.WeekStart) + 7) % 7
		it.period = time.Date(y, mo, d-off, 0, 0, 0, 0, time.UTC)
	case Daily:
		it.period = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case Hourly:
		it.period = dtstart.Truncate(time.Hour)
	case Minutely:
		it.period = dtstart.Truncate(time.Minute)
	default:
		it.period = dtstart.Truncate(time.Second)
	}
	return it
}

func sorted(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// step advances the period by k intervals.
func (it *recurIter) step(k int) {
	n := k * it.r.Interval
	switch it.r.Freq {
	case Yearly:
		it.period = it.period.AddDate(n, 0, 0)
	case Monthly:
		it.period = it.period.AddDate(0, n, 0)
	case Weekly:
		it.period = it.period.AddDate(0, 0, 7*n)
	case Daily:
		it.period = it.period.AddDate(0, 0, n)
	case Hourly:
		it.period = it.period.Add(time.Duration(n) * time.Hour)
	case Minutely:
		it.period = it.period.Add(time.Duration(n) * time.Minute)
	default:
		it.period = it.period.Add(time.Duration(n) * time.Second)
	}
	if it.period.Year() > 9999 {
		it.done = true
	}
}

// jump moves the period to the first one at or after t. Used only when
// no COUNT is in force, or to skip periods that cannot match.
func (it *recurIter) jump(t time.Time) {
	if !it.period.Before(t) {
		return
	}
	var k int
	switch it.r.Freq {
	case Yearly:
		k = (t.Year() - it.period.Year()) / it.r.Interval
	case Monthly:
		months := (t.Year()-it.period.Year())*12 + int(t.Month()-it.period.Month())
		k = months / it.r.Interval
	default:
		var unit time.Duration
		switch it.r.Freq {
		case Weekly:
			unit = 7 * 24 * time.Hour
		case Daily:
			unit = 24 * time.Hour
		case Hourly:
			unit = time.Hour
		case Minutely:
			unit = time.Minute
		default:
			unit = time.Second
		}
		if time.Duration(it.r.Interval) > (1<<62)/unit {
			return // a step longer than time.Duration holds: no skipping
		}
		stepDur := unit * time.Duration(it.r.Interval)
		k = int((t.Sub(it.period) + stepDur - 1) / stepDur)
	}
	if k > 0 {
		it.step(k)
	}
}

// skipTo fast-forwards close to t (a wall time). Only possible without
// COUNT, which needs every instance from DTSTART on.
func (it *recurIter) skipTo(t time.Time) {
	if it.r.Count > 0 || !t.After(it.dtstart) {
		return
	}
	// Stay a period behind: a period that starts before t may still hold
	// instances after it.
	switch it.r.Freq {
	case Yearly:
		t = t.AddDate(-it.r.Interval, 0, 0)
	case Monthly:
		t = t.AddDate(0, -it.r.Interval, 0)
	case Weekly:
		t = t.AddDate(0, 0, -7*it.r.Interval)
	case Daily:
		t = t.AddDate(0, 0, -it.r.Interval)
	default:
		// Sub-daily rules: one period back is at most a day (a period
		// longer than that is stepped over by jump's arithmetic anyway);
		// going back a whole day would cost 86,400 SECONDLY candidates.
		var unit time.Duration
		switch it.r.Freq {
		case Hourly:
			unit = time.Hour
		case Minutely:
			unit = time.Minute
		default:
			unit = time.Second
		}
		back := 24 * time.Hour
		if time.Duration(it.r.Interval) < back/unit {
			back = unit * time.Duration(it.r.Interval)
		}
		t = t.Add(-back)
	}
	it.jump(t)
}

func (it *recurIter) charge(n int) error {
	*it.budget -= n
	if *it.budget < 0 {
		it.done = true
		return &LimitError{Limit: LimitIterations, Max: it.maxBud}
	}
	return nil
}

// next returns the next instance; ok is false at the end.
func (it *recurIter) next() (t time.Time, ok bool, err error) {
	for {
		for it.bi < len(it.buf) {
			t := it.buf[it.bi]
			it.bi++
			if t.Before(it.dtstart) {
				continue
			}
			if it.past != nil && it.past(t) {
				it.done = true
				it.buf = nil
				return time.Time{}, false, nil
			}
			if it.n == 0 && !t.Equal(it.dtstart) {
				// "The DTSTART property value always counts as the
				// first occurrence" (RFC 5545 §3.3.10), even when the
				// rule does not produce it.
				it.n = 1
				if it.r.Count == 1 {
					it.done = true
					it.buf = nil
					return time.Time{}, false, nil
				}
			}
			it.n++
			if it.r.Count > 0 && it.n >= it.r.Count {
				it.done = true
				it.buf = it.buf[:it.bi]
			}
			return t, true, nil
		}
		if it.done {
			return time.Time{}, false, nil
		}
		if err := it.fill(); err != nil {
			return time.Time{}, false, err
		}
	}
}

// fill expands the current period into it.buf and advances the period.
func (it *recurIter) fill() error {
	it.buf, it.bi = it.buf[:0], 0
	if err := it.charge(1); err != nil {
		return err
	}
	p := it.period
	r := it.r
	var days []time.Time
	switch r.Freq {
	case Yearly, Monthly, Weekly:
		var first, last time.Time
		switch r.Freq {
		case Yearly:
			first, last = p, p.AddDate(1, 0, -1)
		case Monthly:
			first, last = p, p.AddDate(0, 1, -1)
		default:
			first, last = p, p.AddDate(0, 0, 6)
		}
		nth := it.nthDays(p)
		if r.Freq == Yearly && len(it.byMonth) > 0 && len(it.byWeekNo) == 0 && len(it.byYearDay) == 0 {
			// Only the months asked for: VTIMEZONE rules are all like this.
			for _, m := range sorted(it.byMonth) {
				mf := time.Date(p.Year(), time.Month(m), 1, 0, 0, 0, 0, time.UTC)
				ml := mf.AddDate(0, 1, -1)
				for d := mf; !d.After(ml); d = d.AddDate(0, 0, 1) {
					if it.dayOK(d, nth) {
						days = append(days, d)
					}
				}
			}
			break
		}
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			if it.dayOK(d, nth) {
				days = append(days, d)
			}
		}
	default:
		day := time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, time.UTC)
		if !it.dayOK(day, nil) {
			if r.Freq == Daily {
				it.step(1)
			} else {
				it.jump(day.AddDate(0, 0, 1))
			}
			return nil
		}
		days = []time.Time{day}
	}
	times := it.times
	switch r.Freq {
	case Hourly, Minutely, Secondly:
		h, m, s := p.Clock()
		if len(r.ByHour) > 0 && !slices.Contains(it.byHour, h) {
			it.jump(p.Truncate(time.Hour).Add(time.Hour))
			return nil
		}
		if r.Freq >= Minutely && len(r.ByMinute) > 0 && !slices.Contains(it.byMinute, m) {
			it.jump(p.Truncate(time.Minute).Add(time.Minute))
			return nil
		}
		if r.Freq == Secondly && len(r.BySecond) > 0 && !slices.Contains(it.bySecond, s) {
			it.step(1)
			return nil
		}
		base := time.Duration(h) * time.Hour
		times = times[:0:0]
		switch r.Freq {
		case Hourly:
			for _, m := range it.byMinute {
				for _, s := range it.bySecond {
					times = append(times, base+time.Duration(m)*time.Minute+time.Duration(s)*time.Second)
				}
			}
		case Minutely:
			for _, s := range it.bySecond {
				times = append(times, base+time.Duration(m)*time.Minute+time.Duration(s)*time.Second)
			}
		default:
			times = append(times, base+time.Duration(m)*time.Minute+time.Duration(s)*time.Second)
		}
	}
	if n := len(days) * len(times); n > maxPeriodCandidates {
		it.done = true
		return &LimitError{Limit: LimitIterations, Max: maxPeriodCandidates}
	}
	if err := it.charge(len(days) * len(times)); err != nil {
		return err
	}
	for _, d := range days {
		for _, tm := range times {
			it.buf = append(it.buf, d.Add(tm))
		}
	}
	if len(it.bySetPos) > 0 {
		var sel []time.Time
		for _, pos := range it.bySetPos {
			i := pos - 1
			if pos < 0 {
				i = len(it.buf) + pos
			}
			if i >= 0 && i < len(it.buf) && !slices.Contains(sel, it.buf[i]) {
				sel = append(sel, it.buf[i])
			}
		}
		slices.SortFunc(sel, func(a, b time.Time) int { return a.Compare(b) })
		it.buf = sel
	}
	it.step(1)
	return nil
}

// nthDays returns the days matched by BYDAY entries with an ordinal in
// the period starting at p (RFC 5545 §3.3.10: within the month for
// MONTHLY, or with BYMONTH; within the year otherwise).
func (it *recurIter) nthDays(p time.Time) map[time.Time]bool {
	if len(it.byNWeekday) == 0 {
		return nil
	}
	type span struct{ first, last time.Time }
	var spans []span
	switch {
	case it.r.Freq == Monthly:
		spans = []span{{p, p.AddDate(0, 1, -1)}}
	case len(it.byMonth) > 0:
		for _, m := range it.byMonth {
			f := time.Date(p.Year(), time.Month(m), 1, 0, 0, 0, 0, time.UTC)
			spans = append(spans, span{f, f.AddDate(0, 1, -1)})
		}
	default:
		spans = []span{{p, p.AddDate(1, 0, -1)}}
	}
	set := map[time.Time]bool{}
	for _, s := range spans {
		for _, w := range it.byNWeekday {
			var d time.Time
			if w.N > 0 {
				d = s.first.AddDate(0, 0, (int(w.Day)-int(s.first.Weekday())+7)%7+(w.N-1)*7)
			} else {
				d = s.last.AddDate(0, 0, -((int(s.last.Weekday())-int(w.Day)+7)%7)+(w.N+1)*7)
			}
			if !d.Before(s.first) && !d.After(s.last) {
				set[d] = true
			}
		}
	}
	return set
}

func (it *recurIter) dayOK(d time.Time, nth map[time.Time]bool) bool {
	if len(it.byMonth) > 0 && !slices.Contains(it.byMonth, int(d.Month())) {
		return false
	}
	if len(it.byWeekNo) > 0 {
		no, total := weekNo(d, it.r.WeekStart)
		if !slices.Contains(it.byWeekNo, no) && !slices.Contains(it.byWeekNo, no-total-1) {
			return false
		}
	}
	if it.anyWeekday || len(it.byNWeekday) > 0 {
		if !it.byWeekday[d.Weekday()] && !nth[d] {
			return false
		}
	}
	if len(it.byMonthDay) > 0 {
		md := d.Day()
		if !slices.Contains(it.byMonthDay, md) && !slices.Contains(it.byMonthDay, md-daysIn(d.Year(), d.Month())-1) {
			return false
		}
	}
	if len(it.byYearDay) > 0 {
		yd := d.YearDay()
		ylen := time.Date(d.Year(), 12, 31, 0, 0, 0, 0, time.UTC).YearDay()
		if !slices.Contains(it.byYearDay, yd) && !slices.Contains(it.byYearDay, yd-ylen-1) {
			return false
		}
	}
	return true
}

// week1Start is the first day of week 1 of year y: the first week with
// at least four days in the year (RFC 5545 §3.3.10, BYWEEKNO).
func week1Start(y int, wkst time.Weekday) time.Time {
	jan1 := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	off := (int(jan1.Weekday()) - int(wkst) + 7) % 7
	if off <= 3 {
		return jan1.AddDate(0, 0, -off)
	}
	return jan1.AddDate(0, 0, 7-off)
}

// weekNo returns the week number of d and the number of weeks in its
// week-numbering year.
func weekNo(d time.Time, wkst time.Weekday) (no, total int) {
	y := d.Year()
	s := week1Start(y, wkst)
	if d.Before(s) {
		y--
		s = week1Start(y, wkst)
	} else if n := week1Start(y+1, wkst); !d.Before(n) {
		y++
		s = n
	}
	const day = 24 * time.Hour
	total = int(week1Start(y+1, wkst).Sub(s) / day / 7)
	return int(d.Sub(s)/day/7) + 1, total
}
