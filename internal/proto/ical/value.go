package ical

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DateTime is a DATE or DATE-TIME value (RFC 5545 §3.3.4, §3.3.5) as
// written: resolving it to an instant needs a [Zones].
type DateTime struct {
	// Wall holds the written fields in the time.UTC location; for a DATE
	// the clock is 00:00:00.
	Wall time.Time
	Date bool   // VALUE=DATE
	UTC  bool   // form #2, with a trailing "Z"
	TZID string // form #3; "" for floating times, UTC times and dates
}

// Floating reports whether d is a floating time or a date, both of which
// take the zone of whoever looks at them.
func (d DateTime) Floating() bool { return !d.UTC && d.TZID == "" }

// String formats d as a property value (without the TZID parameter).
func (d DateTime) String() string {
	if d.Date {
		return d.Wall.Format("20060102")
	}
	if d.UTC {
		return d.Wall.Format("20060102T150405Z")
	}
	return d.Wall.Format("20060102T150405")
}

// ParseDateTime parses a DATE or DATE-TIME value; tzid is the TZID
// parameter and date whether VALUE=DATE was given (a DATE is accepted
// without it too).
func ParseDateTime(v, tzid string) (DateTime, error) {
	v = strings.TrimSpace(v)
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, len(s) > 0
	}
	if len(v) < 8 {
		return DateTime{}, fmt.Errorf("ical: bad date %q", v)
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[4:6])
	d, ok3 := num(v[6:8])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, time.Month(mo)) {
		return DateTime{}, fmt.Errorf("ical: bad date %q", v)
	}
	if len(v) == 8 {
		return DateTime{Wall: time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), Date: true}, nil
	}
	rest := v[8:]
	utc := strings.HasSuffix(rest, "Z") || strings.HasSuffix(rest, "z")
	if utc {
		rest = rest[:len(rest)-1]
	}
	if len(rest) != 7 || rest[0] != 'T' && rest[0] != 't' {
		return DateTime{}, fmt.Errorf("ical: bad date-time %q", v)
	}
	h, ok1 := num(rest[1:3])
	mi, ok2 := num(rest[3:5])
	s, ok3 := num(rest[5:7])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || s > 60 {
		return DateTime{}, fmt.Errorf("ical: bad date-time %q", v)
	}
	if s == 60 {
		s = 59 // RFC 5545 §3.3.12: a leap second; keep it in its minute
	}
	dt := DateTime{Wall: time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC), UTC: utc}
	if !utc {
		dt.TZID = tzid
	}
	return dt, nil
}

// DateTime parses the named DATE/DATE-TIME property (DTSTART, DTEND, DUE,
// RECURRENCE-ID, …). ok is false when the property is absent.
func (c *Component) DateTime(name string) (d DateTime, ok bool, err error) {
	p := c.Prop(name)
	if p == nil {
		return DateTime{}, false, nil
	}
	d, err = PropertyDateTime(p)
	return d, err == nil, err
}

// DateTime parses the property value as a DATE or DATE-TIME.
func PropertyDateTime(p *Property) (DateTime, error) {
	d, err := ParseDateTime(p.Value, p.Param("TZID"))
	if err != nil {
		return d, fmt.Errorf("%s: %w", p.Name, err)
	}
	if strings.EqualFold(p.Param("VALUE"), "DATE") && !d.Date {
		return d, fmt.Errorf("%s: VALUE=DATE with a time", p.Name)
	}
	return d, nil
}

// DateTimes parses a comma-separated list of DATE, DATE-TIME or PERIOD
// values (RDATE, EXDATE; RFC 5545 §3.8.5.1-2). For a PERIOD the end (or
// the start plus the duration) is returned in ends, else a zero DateTime.
func PropertyDateTimes(p *Property) (starts, ends []DateTime, err error) {
	tzid := p.Param("TZID")
	for _, v := range strings.Split(p.Value, ",") {
		var end DateTime
		if a, b, ok := strings.Cut(v, "/"); ok {
			v = a
			if strings.HasPrefix(b, "P") || strings.HasPrefix(b, "+P") || strings.HasPrefix(b, "-P") {
				dur, err := ParseDuration(b)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", p.Name, err)
				}
				st, err := ParseDateTime(a, tzid)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", p.Name, err)
				}
				end = st
				end.Wall = dur.AddTo(st.Wall)
			} else if end, err = ParseDateTime(b, tzid); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p.Name, err)
			}
		}
		d, err := ParseDateTime(v, tzid)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		starts = append(starts, d)
		ends = append(ends, end)
	}
	return starts, ends, nil
}

// Duration is a DURATION value (RFC 5545 §3.3.6). Weeks and days are
// nominal (they follow the wall clock across DST changes), the time part
// is exact.
type Duration struct {
	Neg   bool
	Weeks int
	Days  int
	Time  time.Duration
}

// ParseDuration parses a DURATION value such as "P1W", "-PT15M" or
// "P1DT2H".
func ParseDuration(v string) (Duration, error) {
	var d Duration
	s := strings.ToUpper(strings.TrimSpace(v))
	if strings.HasPrefix(s, "-") {
		d.Neg = true
		s = s[1:]
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return d, fmt.Errorf("ical: bad duration %q", v)
	}
	s = s[1:]
	inTime := false
	seen := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return d, fmt.Errorf("ical: bad duration %q", v)
			}
			inTime = true
			s = s[1:]
			if s == "" && !seen {
				return d, fmt.Errorf("ical: bad duration %q", v)
			}
			// A trailing T with no time after a date part ("P1DT") is
			// written by real clients; read it as "P1D" (liberal in
			// what is accepted; Normalize rewrites it).
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return d, fmt.Errorf("ical: bad duration %q", v)
		}
		n, _ := strconv.Atoi(s[:i])
		unit := s[i]
		s = s[i+1:]
		seen = true
		switch {
		case unit == 'W' && !inTime:
			d.Weeks += n
		case unit == 'D' && !inTime:
			d.Days += n
		case unit == 'H' && inTime:
			d.Time += time.Duration(n) * time.Hour
		case unit == 'M' && inTime:
			d.Time += time.Duration(n) * time.Minute
		case unit == 'S' && inTime:
			d.Time += time.Duration(n) * time.Second
		default:
			return d, fmt.Errorf("ical: bad duration %q", v)
		}
	}
	if !seen {
		return d, fmt.Errorf("ical: bad duration %q", v)
	}
	return d, nil
}

// AddTo adds d to a wall-clock time t: days and weeks as calendar days,
// the rest as exact time.
func (d Duration) AddTo(t time.Time) time.Time {
	days, dur := d.Weeks*7+d.Days, d.Time
	if d.Neg {
		days, dur = -days, -dur
	}
	return t.AddDate(0, 0, days).Add(dur)
}

// Approx returns d as a time.Duration with days of 24 hours.
func (d Duration) Approx() time.Duration {
	t := time.Duration(d.Weeks*7+d.Days)*24*time.Hour + d.Time
	if d.Neg {
		return -t
	}
	return t
}

// String formats d as a DURATION value.
func (d Duration) String() string {
	var b strings.Builder
	if d.Neg {
		b.WriteByte('-')
	}
	b.WriteByte('P')
	if d.Weeks > 0 {
		fmt.Fprintf(&b, "%dW", d.Weeks)
	}
	if d.Days > 0 {
		fmt.Fprintf(&b, "%dD", d.Days)
	}
	if d.Time > 0 || d.Weeks == 0 && d.Days == 0 {
		b.WriteByte('T')
		t := d.Time
		if h := t / time.Hour; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			t -= h * time.Hour
		}
		if m := t / time.Minute; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			t -= m * time.Minute
		}
		if s := t / time.Second; s > 0 || d.Time == 0 {
			fmt.Fprintf(&b, "%dS", s)
		}
	}
	return b.String()
}

// Duration parses the named DURATION property; ok is false when absent.
func (c *Component) Duration(name string) (d Duration, ok bool, err error) {
	p := c.Prop(name)
	if p == nil {
		return d, false, nil
	}
	d, err = ParseDuration(p.Value)
	return d, err == nil, err
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
