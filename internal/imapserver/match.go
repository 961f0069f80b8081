package imapserver

import "strings"

// maxPattern bounds a LIST pattern, so that matching stays cheap.
const maxPattern = 1024

// pattern is a LIST mailbox pattern (RFC 9051 §6.3.9): "*" matches
// anything, "%" anything but the delimiter. Matching is a dynamic program
// over pattern positions, linear in name length times pattern length, so
// no pattern can make it exponential.
type pattern struct {
	p string
}

func newPattern(p string) pattern {
	// Collapse runs of wildcards: "**" is "*", "%*" and "*%" are "*".
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if (c == '*' || c == '%') && b.Len() > 0 {
			last := b.String()[b.Len()-1]
			if last == '*' || last == '%' {
				if c == '*' && last == '%' {
					s := b.String()[:b.Len()-1]
					b.Reset()
					b.WriteString(s)
					b.WriteByte('*')
				}
				continue
			}
		}
		b.WriteByte(c)
	}
	return pattern{p: inboxCase(b.String())}
}

// states returns the set of pattern positions reachable after consuming
// name, as a bool slice of len(p)+1.
func (pt pattern) states(name string) []bool {
	p := pt.p
	cur := make([]bool, len(p)+1)
	next := make([]bool, len(p)+1)
	cur[0] = true
	closeWild := func(st []bool) {
		// A wildcard may match the empty string.
		for i := 0; i < len(p); i++ {
			if st[i] && (p[i] == '*' || p[i] == '%') {
				st[i+1] = true
			}
		}
	}
	closeWild(cur)
	for k := 0; k < len(name); k++ {
		c := name[k]
		clear(next)
		alive := false
		for i := 0; i < len(p); i++ {
			if !cur[i] {
				continue
			}
			switch p[i] {
			case '*':
				next[i] = true
				alive = true
			case '%':
				if c != delim {
					next[i] = true
					alive = true
				}
			default:
				if p[i] == c {
					next[i+1] = true
					alive = true
				}
			}
		}
		if !alive {
			clear(cur)
			return cur
		}
		closeWild(next)
		cur, next = next, cur
	}
	return cur
}

// match reports whether name matches the pattern.
func (pt pattern) match(name string) bool {
	return pt.states(inboxCase(name))[len(pt.p)]
}

// mayMatchBelow reports whether some name starting with prefix (which ends
// with the delimiter) could match: used to skip loading other users'
// folders when the pattern cannot reach them.
func (pt pattern) mayMatchBelow(prefix string) bool {
	for _, v := range pt.states(prefix) {
		if v {
			return true
		}
	}
	return false
}

// matchesChildOf reports whether the pattern, applied to a name with
// wildcards cut at "%", would match a descendant of name: true when some
// descendant could match. Used for \Noselect intermediates of "%" lists.
func (pt pattern) matchesChildOf(name string) bool {
	return pt.mayMatchBelow(name + string(delim))
}
