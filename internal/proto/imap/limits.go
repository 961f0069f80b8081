package imap

// Limits bounds what one command may cost the server. The zero value of a
// field means "use the default".
type Limits struct {
	// MaxLine is the longest line of a command (the text between CRLFs,
	// excluding literal data). RFC 7162 §4 asks servers to accept at least
	// 8192 octets.
	MaxLine int
	// MaxLiteral is the largest literal the Reader accepts. For APPEND this
	// is the message size limit: advertise it as APPENDLIMIT (RFC 7889).
	// Message literals are streamed, not buffered.
	MaxLiteral int64
	// MaxCommand bounds the memory one command may take: the bytes of all
	// its lines and literals except APPEND messages (which are streamed
	// and bounded one by one by MaxLiteral), plus a charge per parsed
	// element (search key, list item, range) so that a command of many
	// tiny elements cannot expand into far more memory than its size. It
	// also bounds, with MaxLiteral, what the Reader discards when it skips
	// a failed command.
	MaxCommand int64
	// MaxDepth bounds nesting of parenthesised lists (SEARCH keys).
	MaxDepth int
	// MaxLiterals bounds the number of literals in one command, including
	// MULTIAPPEND messages.
	MaxLiterals int
}

// Default limits.
const (
	DefaultMaxLine     = 64 << 10
	DefaultMaxLiteral  = 64 << 20
	DefaultMaxCommand  = 8 << 20
	DefaultMaxDepth    = 64
	DefaultMaxLiterals = 1000
)

// literalMinusMax is the largest non-synchronizing literal a client may send
// when the server advertises LITERAL- instead of LITERAL+ (RFC 7888).
const literalMinusMax = 4096

// DefaultLimits returns the limits used when a field is zero: 64 KiB lines,
// 64 MiB literals (APPENDLIMIT), 8 MiB of memory per command (APPEND
// messages are streamed and do not count), depth 64 and 1000 literals per
// command.
func DefaultLimits() Limits {
	return Limits{
		MaxLine:     DefaultMaxLine,
		MaxLiteral:  DefaultMaxLiteral,
		MaxCommand:  DefaultMaxCommand,
		MaxDepth:    DefaultMaxDepth,
		MaxLiterals: DefaultMaxLiterals,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = d.MaxLiteral
	}
	if l.MaxCommand <= 0 {
		l.MaxCommand = d.MaxCommand
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxLiterals <= 0 {
		l.MaxLiterals = d.MaxLiterals
	}
	return l
}
