package contentline

import (
	"errors"
	"fmt"
)

// Dialect is what tells iCalendar and vCard content lines apart. Both
// packages parse and format through one, so there is one content-line
// implementation.
type Dialect struct {
	// Name prefixes syntax errors ("ical: syntax error: …").
	Name string
	// Groups allows a "group." prefix on property names (vCard, RFC 6350
	// §3.3; iCalendar has none).
	Groups bool
}

// wrap names the dialect in syntax errors; limit errors pass unchanged.
func (d Dialect) wrap(err error) error {
	if errors.Is(err, ErrSyntax) {
		return fmt.Errorf("%s: %w", d.Name, err)
	}
	return err
}

// Unfold is the package function Unfold with the dialect's errors.
func (d Dialect) Unfold(b []byte, lim Limits, fn func(line string) error) error {
	return d.wrap(Unfold(b, lim, fn))
}

// ParseLine is the package function ParseLine for this dialect.
func (d Dialect) ParseLine(s string, lim Limits, bareParams bool) (*Property, error) {
	p, err := ParseLine(s, lim, bareParams, d.Groups)
	return p, d.wrap(err)
}

// AppendLine is the package function AppendLine with the dialect's
// errors.
func (d Dialect) AppendLine(b []byte, p *Property) ([]byte, error) {
	b, err := AppendLine(b, p)
	return b, d.wrap(err)
}
