package sieve

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// datePart renders one date-part of RFC 5260 §4.2; ok is false for an
// unknown part.
func datePart(t time.Time, part string) (string, bool) {
	switch strings.ToLower(part) {
	case "year":
		return fmt.Sprintf("%04d", t.Year()), true
	case "month":
		return fmt.Sprintf("%02d", int(t.Month())), true
	case "day":
		return fmt.Sprintf("%02d", t.Day()), true
	case "date":
		return t.Format("2006-01-02"), true
	case "julian":
		// Modified Julian Day: days since 1858-11-17.
		y, m, d := t.Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		base := time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)
		return fmt.Sprint(int64(day.Sub(base).Hours()) / 24), true
	case "hour":
		return fmt.Sprintf("%02d", t.Hour()), true
	case "minute":
		return fmt.Sprintf("%02d", t.Minute()), true
	case "second":
		return fmt.Sprintf("%02d", t.Second()), true
	case "time":
		return t.Format("15:04:05"), true
	case "iso8601":
		return t.Format("2006-01-02T15:04:05-07:00"), true
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700"), true
	case "zone":
		return t.Format("-0700"), true
	case "weekday":
		return fmt.Sprint(int(t.Weekday())), true
	}
	return "", false
}

// parseZone reads a +hhmm / -hhmm zone (RFC 5260 §4.1).
func parseZone(z string) (*time.Location, bool) {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return nil, false
	}
	for i := 1; i < 5; i++ {
		if z[i] < '0' || z[i] > '9' {
			return nil, false
		}
	}
	h := int(z[1]-'0')*10 + int(z[2]-'0')
	m := int(z[3]-'0')*10 + int(z[4]-'0')
	if h > 23 || m > 59 {
		return nil, false
	}
	off := (h*60 + m) * 60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), true
}

// dateValues gives the value a date or currentdate test compares
// (RFC 5260 §4 and §5); nil when the header holds no usable date.
func (r *runner) dateValues(current bool, n *node) ([]string, error) {
	var t time.Time
	pi := 0
	if current {
		t = r.env.Now
	} else {
		name, err := r.str(n.pos[0])
		if err != nil {
			return nil, err
		}
		pi = 1
		hs := r.msg.Header(name)
		if len(hs) == 0 {
			return nil, nil
		}
		v := hs[0]
		if strings.EqualFold(name, "received") {
			// RFC 5260 §4: the date follows the last semicolon.
			if i := strings.LastIndexByte(v, ';'); i >= 0 {
				v = v[i+1:]
			}
		}
		d, err := mail.ParseDate(strings.TrimSpace(v))
		if err != nil {
			return nil, nil
		}
		t = d
	}
	switch {
	case n.tags["zone"] != nil:
		z, err := r.str(n.tags["zone"])
		if err != nil {
			return nil, err
		}
		loc, ok := parseZone(z)
		if !ok {
			return nil, r.errf("time zone %q is not of the form +hhmm or -hhmm", z)
		}
		t = t.In(loc)
	case n.tags["originalzone"] != nil && !current:
	default:
		t = t.In(r.env.Now.Location())
	}
	part, err := r.str(n.pos[pi])
	if err != nil {
		return nil, err
	}
	v, ok := datePart(t, part)
	if !ok {
		return nil, r.errf("date part %q is unknown", part)
	}
	return []string{v}, nil
}
