package mime

import "fmt"

// Limits bound the work and memory Parse spends on one message. A zero or
// negative field takes its default, so the zero Limits is DefaultLimits().
type Limits struct {
	// MaxDepth is how deep parts may nest: the root is at depth 0, its
	// children (or encapsulated message) at depth 1. A multipart or
	// message/rfc822 part at MaxDepth is kept as a leaf. Default 50.
	MaxDepth int
	// MaxParts is how many parts (the root included) the tree may hold.
	// Default 10000.
	MaxParts int
	// MaxHeaderBytes bounds one header block. Default 1 MiB.
	MaxHeaderBytes int
	// MaxHeaderFields bounds the fields indexed in one header block; the
	// raw bytes of further fields stay in the block. Default 10000.
	MaxHeaderFields int
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{MaxDepth: 50, MaxParts: 10000, MaxHeaderBytes: 1 << 20, MaxHeaderFields: 10000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxHeaderFields <= 0 {
		l.MaxHeaderFields = d.MaxHeaderFields
	}
	return l
}

// Names of the limits, as found in LimitError.Limit.
const (
	LimitDepth        = "depth"
	LimitParts        = "parts"
	LimitHeaderBytes  = "header bytes"
	LimitHeaderFields = "header fields"
)

// LimitError reports the first limit a message exceeded. Parse returns it
// together with a usable best-effort tree.
type LimitError struct {
	Limit  string // one of the Limit* constants
	Max    int    // the limit in force
	Offset int64  // where in the message parsing hit it
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("mime: message exceeds the %s limit (%d) at offset %d", e.Limit, e.Max, e.Offset)
}
