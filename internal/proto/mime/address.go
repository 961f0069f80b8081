package mime

import "strings"

// AddrKind tells an address from the markers of RFC 5322 group syntax.
type AddrKind uint8

const (
	// AddrMailbox is an ordinary address.
	AddrMailbox AddrKind = iota
	// AddrGroupStart opens a group; Mailbox holds the group name.
	AddrGroupStart
	// AddrGroupEnd closes the group opened before it.
	AddrGroupEnd
)

// Address is one entry of an address list as IMAP ENVELOPE describes it
// (RFC 9051 §7.5.2): (name adl mailbox host). An empty string stands for
// NIL where IMAP allows NIL, see List.
type Address struct {
	Kind AddrKind
	// Name is the display name (or, failing that, a comment after an
	// addr-spec), unquoted but with encoded words left encoded: IMAP
	// sends it raw. "" means none.
	Name string
	// Adl is the obsolete source route ("@a,@b"); "" means none.
	Adl string
	// Mailbox is the unquoted local part, or the group name of an
	// AddrGroupStart. A missing local part reads "MISSING_MAILBOX".
	Mailbox string
	// Host is the domain. A missing domain reads "MISSING_DOMAIN" (both
	// as Dovecot does), so that IMAP never mistakes the address for a
	// group marker.
	Host string
}

// Placeholders for parts missing from a malformed address.
const (
	MissingMailbox = "MISSING_MAILBOX"
	MissingDomain  = "MISSING_DOMAIN"
)

// ParseAddressList parses an address-list or mailbox-list header value
// (RFC 5322 §3.4) leniently, never failing: obsolete syntax (§4.4),
// comments, missing parts, unterminated groups and junk between entries
// are tolerated; an unterminated group gets its AddrGroupEnd. Names and
// local parts are unquoted; nothing is RFC 2047-decoded.
func ParseAddressList(s string) []Address {
	a := addrParser{s: s}
	return a.list()
}

type addrParser struct {
	s       string
	i       int
	comment string // text of the last comment skipped
	out     []Address
}

func (a *addrParser) eof() bool { return a.i >= len(a.s) }

func (a *addrParser) peek() byte {
	if a.i < len(a.s) {
		return a.s[a.i]
	}
	return 0
}

// skipCFWS skips whitespace and (nested) comments, remembering the text of
// the last comment.
func (a *addrParser) skipCFWS() {
	for a.i < len(a.s) {
		c := a.s[a.i]
		if isWSPorEOL(c) {
			a.i++
			continue
		}
		if c != '(' {
			return
		}
		var b strings.Builder
		depth := 0
		for a.i < len(a.s) {
			c := a.s[a.i]
			a.i++
			if c == '\\' && a.i < len(a.s) {
				b.WriteByte(a.s[a.i])
				a.i++
				continue
			}
			if c == '(' {
				depth++
				if depth == 1 {
					continue
				}
			}
			if c == ')' {
				depth--
				if depth == 0 {
					break
				}
			}
			b.WriteByte(c)
		}
		a.comment = strings.TrimSpace(b.String())
	}
}

// isAtext reports RFC 5322 atext, plus 8-bit bytes (RFC 6532).
func isAtext(c byte) bool {
	if c >= 0x80 {
		return true
	}
	if c <= ' ' || c == 0x7f {
		return false
	}
	return strings.IndexByte("()<>[]:;@\\,.\"", c) < 0
}

func (a *addrParser) atom(dots bool) string {
	start := a.i
	for a.i < len(a.s) && (isAtext(a.s[a.i]) || dots && a.s[a.i] == '.') {
		a.i++
	}
	return a.s[start:a.i]
}

func (a *addrParser) quoted() string {
	l := lexer{s: a.s, i: a.i}
	v := l.quoted()
	a.i = l.i
	return v
}

// phrase reads display-name words (RFC 5322 §3.2.5, with obs-phrase
// dots), joined by single spaces.
func (a *addrParser) phrase() string {
	var words []string
	for {
		a.skipCFWS()
		switch c := a.peek(); {
		case c == '"':
			words = append(words, a.quoted())
		case isAtext(c) || c == '.':
			words = append(words, a.atom(true))
		default:
			return strings.Join(words, " ")
		}
	}
}

// localPart reads dot-atom / quoted-string / obs-local-part.
func (a *addrParser) localPart() string {
	var b strings.Builder
	for {
		a.skipCFWS()
		switch c := a.peek(); {
		case c == '"':
			b.WriteString(a.quoted())
		case isAtext(c):
			b.WriteString(a.atom(false))
		default:
			return b.String()
		}
		a.skipCFWS()
		if a.peek() != '.' {
			return b.String()
		}
		a.i++
		b.WriteByte('.')
	}
}

// domain reads a dot-atom or a domain-literal.
func (a *addrParser) domain() string {
	a.skipCFWS()
	if a.peek() == '[' {
		start := a.i
		for a.i < len(a.s) && a.s[a.i] != ']' {
			if a.s[a.i] == '\\' {
				a.i++
			}
			a.i++
		}
		a.i = min(a.i+1, len(a.s))
		return a.s[start:a.i]
	}
	var b strings.Builder
	for {
		a.skipCFWS()
		if !isAtext(a.peek()) {
			return b.String()
		}
		b.WriteString(a.atom(false))
		a.skipCFWS()
		if a.peek() != '.' {
			return b.String()
		}
		a.i++
		b.WriteByte('.')
	}
}

func (a *addrParser) add(addr Address) {
	if addr.Mailbox == "" {
		addr.Mailbox = MissingMailbox
	}
	if addr.Host == "" {
		addr.Host = MissingDomain
	}
	a.out = append(a.out, addr)
}

// skipJunk skips to the next separator outside quotes, comments and
// angle brackets.
func (a *addrParser) skipJunk(stop string) {
	for a.i < len(a.s) {
		switch c := a.s[a.i]; {
		case strings.IndexByte(stop, c) >= 0:
			return
		case c == '"':
			a.quoted()
		case c == '(':
			a.skipCFWS()
		default:
			a.i++
		}
	}
}

func (a *addrParser) list() []Address {
	for {
		a.skipCFWS()
		if a.eof() {
			return a.out
		}
		if a.peek() == ',' {
			a.i++
			continue
		}
		start, n := a.i, len(a.out)
		if name := a.phrase(); a.peek() == ':' {
			a.i++
			a.group(name)
		} else {
			a.i = start
			a.mailbox()
		}
		a.skipCFWS()
		switch {
		case a.eof() || a.peek() == ',':
		case len(a.out) > n:
			a.skipJunk(",") // junk after an address
		case a.i == start:
			a.i++ // a stray special; go on after it
		}
	}
}

func (a *addrParser) group(name string) {
	a.out = append(a.out, Address{Kind: AddrGroupStart, Mailbox: name})
	for {
		a.skipCFWS()
		switch a.peek() {
		case 0:
			if a.eof() {
				a.out = append(a.out, Address{Kind: AddrGroupEnd})
				return
			}
		case ';':
			a.i++
			a.out = append(a.out, Address{Kind: AddrGroupEnd})
			return
		case ',':
			a.i++
			continue
		}
		before := a.i
		a.mailbox()
		a.skipCFWS()
		if c := a.peek(); !a.eof() && c != ',' && c != ';' {
			a.skipJunk(",;")
		}
		if a.i == before {
			a.i++ // never stall
		}
	}
}

// mailbox reads name-addr / addr-spec (RFC 5322 §3.4).
func (a *addrParser) mailbox() {
	start := a.i
	a.comment = ""
	name := a.phrase()
	if a.peek() == '<' {
		a.i++
		var addr Address
		addr.Name = name
		a.skipCFWS()
		if a.peek() == '@' { // obs-route
			var route []string
			for a.peek() == '@' {
				a.i++
				route = append(route, "@"+a.domain())
				a.skipCFWS()
				for a.peek() == ',' {
					a.i++
					a.skipCFWS()
				}
			}
			addr.Adl = strings.Join(route, ",")
			if a.peek() == ':' {
				a.i++
			}
		}
		addr.Mailbox = a.localPart()
		if a.peek() == '@' {
			a.i++
			addr.Host = a.domain()
		}
		a.skipCFWS()
		a.skipJunk(">")
		if a.peek() == '>' {
			a.i++
		}
		a.add(addr)
		return
	}
	a.i = start
	a.comment = ""
	var addr Address
	addr.Mailbox = a.localPart()
	if a.peek() == '@' {
		a.i++
		addr.Host = a.domain()
	}
	a.skipCFWS()
	if addr.Mailbox == "" && addr.Host == "" {
		if a.i == start && !a.eof() && a.peek() != ',' && a.peek() != ';' {
			a.i++ // a stray special: drop it
		}
		return
	}
	addr.Name = a.comment
	a.add(addr)
}
