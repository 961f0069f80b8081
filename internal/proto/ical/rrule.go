package ical

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Freq is the FREQ of a recurrence rule (RFC 5545 §3.3.10).
type Freq int

// Frequencies, finest last.
const (
	Yearly Freq = iota
	Monthly
	Weekly
	Daily
	Hourly
	Minutely
	Secondly
)

var freqNames = []string{"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"}

func (f Freq) String() string {
	if f >= 0 && int(f) < len(freqNames) {
		return freqNames[f]
	}
	return "Freq(" + strconv.Itoa(int(f)) + ")"
}

// WeekdayNum is one BYDAY entry: a weekday with an optional ordinal (1 is
// the first, -1 the last within the month or year; 0 means every).
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

var dayNames = []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// Recur is a parsed RECUR value (RFC 5545 §3.3.10).
type Recur struct {
	Freq     Freq
	Interval int       // >= 1
	Count    int       // 0: none
	Until    *DateTime // nil: none
	BySecond []int
	ByMinute []int
	ByHour   []int
	ByDay    []WeekdayNum
	// ByMonthDay, ByYearDay, ByWeekNo and BySetPos may be negative,
	// counting from the end.
	ByMonthDay []int
	ByYearDay  []int
	ByWeekNo   []int
	ByMonth    []int
	BySetPos   []int
	WeekStart  time.Weekday // WKST, Monday by default
}

// ParseRecur parses a RECUR value such as "FREQ=WEEKLY;BYDAY=MO,WE".
func ParseRecur(s string) (*Recur, error) {
	r := &Recur{Freq: -1, Interval: 1, WeekStart: time.Monday}
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.TrimSpace(s), ";") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToUpper(k)
		if !ok || v == "" {
			return nil, fmt.Errorf("ical: RRULE: bad part %q", part)
		}
		if seen[k] {
			return nil, fmt.Errorf("ical: RRULE: %s given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "FREQ":
			r.Freq = Freq(slices.Index(freqNames, strings.ToUpper(v)))
			if r.Freq < 0 {
				err = fmt.Errorf("bad FREQ %q", v)
			}
		case "INTERVAL":
			r.Interval, err = strconv.Atoi(v)
			if err == nil && (r.Interval < 1 || r.Interval > 1e6) {
				err = fmt.Errorf("bad INTERVAL %q", v)
			}
		case "COUNT":
			r.Count, err = strconv.Atoi(v)
			if err == nil && (r.Count < 1 || r.Count > 1e9) {
				err = fmt.Errorf("bad COUNT %q", v)
			}
		case "UNTIL":
			var d DateTime
			d, err = ParseDateTime(v, "")
			r.Until = &d
		case "BYSECOND":
			r.BySecond, err = intList(v, 0, 60, false)
		case "BYMINUTE":
			r.ByMinute, err = intList(v, 0, 59, false)
		case "BYHOUR":
			r.ByHour, err = intList(v, 0, 23, false)
		case "BYMONTHDAY":
			r.ByMonthDay, err = intList(v, 1, 31, true)
		case "BYYEARDAY":
			r.ByYearDay, err = intList(v, 1, 366, true)
		case "BYWEEKNO":
			r.ByWeekNo, err = intList(v, 1, 53, true)
		case "BYMONTH":
			r.ByMonth, err = intList(v, 1, 12, false)
		case "BYSETPOS":
			r.BySetPos, err = intList(v, 1, 366, true)
		case "BYDAY":
			for _, d := range strings.Split(v, ",") {
				d = strings.ToUpper(strings.TrimSpace(d))
				if len(d) < 2 {
					err = fmt.Errorf("bad BYDAY %q", v)
					break
				}
				wd := slices.Index(dayNames, d[len(d)-2:])
				n := 0
				if num := d[:len(d)-2]; num != "" {
					n, err = strconv.Atoi(num)
					if err == nil && (n == 0 || n < -53 || n > 53) {
						err = fmt.Errorf("bad BYDAY %q", v)
					}
				}
				if wd < 0 {
					err = fmt.Errorf("bad BYDAY %q", v)
				}
				if err != nil {
					break
				}
				w := WeekdayNum{N: n, Day: time.Weekday(wd)}
				if !slices.Contains(r.ByDay, w) {
					r.ByDay = append(r.ByDay, w)
				}
			}
		case "WKST":
			wd := slices.Index(dayNames, strings.ToUpper(v))
			if wd < 0 {
				err = fmt.Errorf("bad WKST %q", v)
			}
			r.WeekStart = time.Weekday(wd)
		default:
			if !strings.HasPrefix(k, "X-") {
				err = fmt.Errorf("unknown part %s", k)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("ical: RRULE: %w", err)
		}
	}
	if r.Freq < 0 {
		return nil, fmt.Errorf("ical: RRULE: no FREQ")
	}
	if r.Count > 0 && r.Until != nil {
		return nil, fmt.Errorf("ical: RRULE: both COUNT and UNTIL")
	}
	return r, nil
}

func intList(v string, lo, hi int, neg bool) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		a := n
		if a < 0 && neg {
			a = -a
		}
		if err != nil || a < lo || a > hi || n == 0 && lo > 0 {
			return nil, fmt.Errorf("bad value %q", v)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// String formats r as a RECUR value.
func (r *Recur) String() string {
	var b strings.Builder
	b.WriteString("FREQ=" + r.Freq.String())
	if r.Until != nil {
		b.WriteString(";UNTIL=" + r.Until.String())
	}
	if r.Count > 0 {
		fmt.Fprintf(&b, ";COUNT=%d", r.Count)
	}
	if r.Interval > 1 {
		fmt.Fprintf(&b, ";INTERVAL=%d", r.Interval)
	}
	list := func(name string, ns []int) {
		if len(ns) == 0 {
			return
		}
		b.WriteString(";" + name + "=")
		for i, n := range ns {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(n))
		}
	}
	list("BYSECOND", r.BySecond)
	list("BYMINUTE", r.ByMinute)
	list("BYHOUR", r.ByHour)
	if len(r.ByDay) > 0 {
		b.WriteString(";BYDAY=")
		for i, d := range r.ByDay {
			if i > 0 {
				b.WriteByte(',')
			}
			if d.N != 0 {
				b.WriteString(strconv.Itoa(d.N))
			}
			b.WriteString(dayNames[d.Day])
		}
	}
	list("BYMONTHDAY", r.ByMonthDay)
	list("BYYEARDAY", r.ByYearDay)
	list("BYWEEKNO", r.ByWeekNo)
	list("BYMONTH", r.ByMonth)
	list("BYSETPOS", r.BySetPos)
	if r.WeekStart != time.Monday {
		b.WriteString(";WKST=" + dayNames[r.WeekStart])
	}
	return b.String()
}
