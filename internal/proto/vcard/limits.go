package vcard

import (
	"fmt"

	"github.com/roost-mail/roost/internal/proto/contentline"
)

// Limits bound the work and memory Decode spends on one object. A zero or
// negative field takes its default.
type Limits struct {
	MaxBytes     int // whole object; default 10 MiB
	MaxLines     int // unfolded content lines; default 200000
	MaxLineBytes int // one unfolded content line (photos!); default 4 MiB
	MaxCards     int // cards in one object; default 10000
	MaxProps     int // properties in one card; default 1000
	MaxParams    int // parameters on one property; default 100
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 10 << 20, MaxLines: 200000, MaxLineBytes: 4 << 20, MaxCards: 10000, MaxProps: 1000, MaxParams: 100}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	def := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	def(&l.MaxBytes, d.MaxBytes)
	def(&l.MaxLines, d.MaxLines)
	def(&l.MaxLineBytes, d.MaxLineBytes)
	def(&l.MaxCards, d.MaxCards)
	def(&l.MaxProps, d.MaxProps)
	def(&l.MaxParams, d.MaxParams)
	return l
}

// Param and Property are the shared content-line types (package
// contentline): one parameter, and one property line.
type (
	Param    = contentline.Param
	Property = contentline.Property
)

// dialect is the content-line syntax of this package.
var dialect = contentline.Dialect{Name: "vcard", Groups: true}

// errSyntax is wrapped by every syntax error of this package.
var errSyntax = fmt.Errorf("vcard: %w", contentline.ErrSyntax)

func (l Limits) line() contentline.Limits {
	return contentline.Limits{MaxBytes: l.MaxBytes, MaxLines: l.MaxLines, MaxLineBytes: l.MaxLineBytes, MaxParams: l.MaxParams}
}

// Names of the limits, as found in LimitError.Limit.
const (
	LimitBytes     = contentline.LimitBytes
	LimitLines     = contentline.LimitLines
	LimitLineBytes = contentline.LimitLineBytes
	LimitCards     = "cards"
	LimitProps     = "properties"
	LimitParams    = contentline.LimitParams
)

// LimitError reports the limit an object exceeded (the type is shared
// with package contentline, which reports the line-level limits).
type LimitError = contentline.LimitError
