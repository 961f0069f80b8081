package vcard

import (
	"fmt"
	"github.com/roost-mail/roost/internal/proto/contentline"
	"strings"
	"time"
)

// Version returns the VERSION value ("4.0", "3.0"), or "".
func (c *Card) Version() string { return strings.TrimSpace(c.Text("VERSION")) }

// FN returns the formatted name (RFC 6350 §6.2.1).
func (c *Card) FN() string { return c.Text("FN") }

// UID returns the UID (RFC 6350 §6.7.6), unescaped.
func (c *Card) UID() string { return c.Text("UID") }

// Name is the structured N property (RFC 6350 §6.2.2); each field may
// hold several values.
type Name struct {
	Family, Given, Additional, Prefix, Suffix []string
}

// N returns the structured name; ok is false when N is absent.
func (c *Card) N() (n Name, ok bool) {
	p := c.Prop("N")
	if p == nil {
		return n, false
	}
	f := p.Structured()
	for len(f) < 5 {
		f = append(f, nil)
	}
	return Name{Family: f[0], Given: f[1], Additional: f[2], Prefix: f[3], Suffix: f[4]}, true
}

// SetN sets the N property.
func (c *Card) SetN(n Name) {
	c.Set(&Property{Name: "N", Value: FormatStructured([][]string{n.Family, n.Given, n.Additional, n.Prefix, n.Suffix})})
}

// FormatStructured is the inverse of Property.Structured.
func FormatStructured(fields [][]string) string { return contentline.FormatStructured(fields) }

// Email is one EMAIL property (RFC 6350 §6.4.2).
type Email struct {
	Address string
	Types   []string // lower case: "work", "home", "internet", …
	Pref    int
}

// Emails returns the EMAIL properties in order.
func (c *Card) Emails() []Email {
	var out []Email
	for _, p := range c.All("EMAIL") {
		out = append(out, Email{Address: strings.TrimSpace(p.Text()), Types: p.Types(), Pref: p.Pref()})
	}
	return out
}

// Tel is one TEL property (RFC 6350 §6.4.1).
type Tel struct {
	// Number is the value: free text in vCard 3.0, often a "tel:" URI
	// in 4.0 (VALUE=uri); see Digits.
	Number string
	Types  []string // lower case: "cell", "voice", "work", …
	Pref   int
}

// Digits returns the number without a "tel:" prefix, parameters and
// visual separators, keeping a leading "+".
func (t Tel) Digits() string {
	s := strings.TrimPrefix(strings.TrimPrefix(t.Number, "tel:"), "TEL:")
	s, _, _ = strings.Cut(s, ";")
	var b strings.Builder
	for i, r := range s {
		if r >= '0' && r <= '9' || r == '+' && i == 0 || r == '*' || r == '#' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Tels returns the TEL properties in order.
func (c *Card) Tels() []Tel {
	var out []Tel
	for _, p := range c.All("TEL") {
		out = append(out, Tel{Number: strings.TrimSpace(p.Text()), Types: p.Types(), Pref: p.Pref()})
	}
	return out
}

// Rev returns the REV timestamp (RFC 6350 §6.7.4; RFC 2426 §3.6.4 also
// allows the ISO 8601 extended forms and a date). ok is false when REV
// is absent.
func (c *Card) Rev() (t time.Time, ok bool, err error) {
	p := c.Prop("REV")
	if p == nil {
		return time.Time{}, false, nil
	}
	t, err = ParseTimestamp(p.Value)
	return t, err == nil, err
}

// ParseTimestamp parses a vCard timestamp: 19961022T140000Z,
// 1996-10-22T14:00:00Z, with a numeric offset, or a plain date.
func ParseTimestamp(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{
		"20060102T150405Z", "20060102T150405Z0700", "20060102T150405Z07", "20060102T150405",
		"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z", "2006-01-02T15:04:05",
		"2006-01-02T15:04:05.999999999Z07:00", "20060102", "2006-01-02",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("vcard: bad timestamp %q", v)
}

// SetRev sets REV to t in the vCard 4.0 form.
func (c *Card) SetRev(t time.Time) {
	c.Set(&Property{Name: "REV", Value: t.UTC().Format("20060102T150405Z")})
}
