package ical

import (
	"errors"
	"fmt"

	"github.com/roost-mail/roost/internal/proto/contentline"
)

// Param and Property are the shared content-line types (package
// contentline): one parameter, and one property line.
type (
	Param    = contentline.Param
	Property = contentline.Property
)

// errSyntax is wrapped by every syntax error of this package.
var errSyntax = fmt.Errorf("ical: %w", contentline.ErrSyntax)

func (l Limits) line() contentline.Limits {
	return contentline.Limits{MaxBytes: l.MaxBytes, MaxLines: l.MaxLines, MaxLineBytes: l.MaxLineBytes, MaxParams: l.MaxParams}
}

// convert names this package in contentline's syntax errors (limit
// errors are already of this package's LimitError type).
func convert(err error) error {
	if errors.Is(err, contentline.ErrSyntax) {
		return fmt.Errorf("ical: %w", err)
	}
	return err
}

func unfold(b []byte, lim Limits, fn func(line string) error) error {
	return convert(contentline.Unfold(b, lim.line(), fn))
}

func parseLine(s string, lim Limits, bareParams bool) (*Property, error) {
	p, err := contentline.ParseLine(s, lim.line(), bareParams, false)
	return p, convert(err)
}

func appendLine(b []byte, p *Property) ([]byte, error) {
	b, err := contentline.AppendLine(b, p)
	return b, convert(err)
}

func appendFolded(b []byte, line []byte) []byte { return contentline.AppendFolded(b, line) }

func validName(s string) bool { return contentline.ValidName(s) }
