package imapserver_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Normalisation of responses for the differential test: both servers'
// answers are parsed into tokens and written back in one canonical form,
// with what may legitimately differ taken out.

// tok is a parsed response element.
type tok struct {
	kind byte // 'a' atom (incl. NIL and numbers), 's' string, 'l' list
	s    string
	list []tok
}

// tokenize parses a response remainder: atoms (a FETCH item name keeps
// its "[section]<partial>"), quoted strings, literals (inlined by the test
// client as "{n}" and the data), and parenthesised lists.
func tokenize(s string) []tok {
	p := &tokParser{s: s}
	return p.seq(false)
}

type tokParser struct {
	s   string
	pos int
}

func (p *tokParser) seq(inList bool) []tok {
	var out []tok
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == ' ':
			p.pos++
		case c == ')':
			if inList {
				p.pos++
				return out
			}
			out = append(out, tok{kind: 'a', s: ")"})
			p.pos++
		case c == '(':
			p.pos++
			out = append(out, tok{kind: 'l', list: p.seq(true)})
		case c == '"':
			out = append(out, tok{kind: 's', s: p.quoted()})
		case c == '{' || (c == '~' && p.pos+1 < len(p.s) && p.s[p.pos+1] == '{'):
			if t, ok := p.literal(); ok {
				out = append(out, t)
			} else {
				out = append(out, tok{kind: 'a', s: p.atom()})
			}
		default:
			out = append(out, tok{kind: 'a', s: p.atom()})
		}
	}
	return out
}

func (p *tokParser) quoted() string {
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '\\':
			if p.pos < len(p.s) {
				b.WriteByte(p.s[p.pos])
				p.pos++
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var litHead = regexp.MustCompile(`^~?\{(\d+)\+?\}`)

func (p *tokParser) literal() (tok, bool) {
	m := litHead.FindStringSubmatch(p.s[p.pos:])
	if m == nil {
		return tok{}, false
	}
	n, _ := strconv.Atoi(m[1])
	start := p.pos + len(m[0])
	end := min(start+n, len(p.s))
	p.pos = end
	return tok{kind: 's', s: p.s[start:end]}, true
}

func (p *tokParser) atom() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == ' ' || c == '(' || c == ')' {
			break
		}
		if c == '[' {
			if i := strings.IndexByte(p.s[p.pos:], ']'); i >= 0 {
				p.pos += i + 1
				continue
			}
		}
		p.pos++
	}
	if p.pos == start {
		p.pos++
		return p.s[start:p.pos]
	}
	return p.s[start:p.pos]
}

var atomSafe = regexp.MustCompile(`^[A-Za-z0-9_.\-$/\\]+$`)

// render writes tokens canonically: a string that could be an atom is
// written as one (servers choose freely between atom, quoted string and
// literal for an astring or a nstring, RFC 9051 §4.3), any other in Go
// quoted form; atoms keep their spelling.
func render(ts []tok) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch t.kind {
		case 'l':
			b.WriteString("(" + render(t.list) + ")")
		case 's':
			if atomSafe.MatchString(t.s) && !strings.EqualFold(t.s, "NIL") {
				b.WriteString(t.s)
			} else {
				b.WriteString(strconv.Quote(t.s))
			}
		default:
			b.WriteString(t.s)
		}
	}
	return b.String()
}

// sortFlags sorts a flag list case-insensitively (flags are
// case-insensitive and unordered, RFC 9051 §2.3.2). \Recent is compared
// like any flag: both servers keep it for IMAP4rev1 sessions.
func sortFlags(ts []tok) []tok { return sortFlagsKw(ts, true) }

// sortFlagsKw is sortFlags, leaving keywords out unless keep is set: the
// keywords a FLAGS or PERMANENTFLAGS response lists are those "defined"
// in the mailbox (RFC 9051 §7.3.5), which Roost takes as those in use and
// Dovecot as every keyword ever stored there.
func sortFlagsKw(ts []tok, keep bool) []tok {
	var out []tok
	for _, t := range ts {
		if !keep && !strings.HasPrefix(t.s, `\`) {
			continue
		}
		out = append(out, tok{kind: 'a', s: strings.ToLower(t.s)})
	}
	slices.SortFunc(out, func(a, b tok) int { return strings.Compare(a.s, b.s) })
	return out
}

// pairs sorts a list of name-value pairs by name (FETCH items, STATUS
// attributes and ESEARCH return data come in any order).
func pairs(ts []tok, norm func(name string, v tok) tok, drop ...string) []tok {
	type kv struct {
		k string
		v tok
	}
	var kvs []kv
	for i := 0; i+1 < len(ts); i += 2 {
		name := strings.ToUpper(ts[i].s)
		if slices.Contains(drop, name) {
			continue
		}
		v := ts[i+1]
		if norm != nil {
			v = norm(name, v)
		}
		kvs = append(kvs, kv{name, v})
	}
	slices.SortFunc(kvs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var out []tok
	for _, p := range kvs {
		out = append(out, tok{kind: 'a', s: p.k}, p.v)
	}
	return out
}

var numRE = regexp.MustCompile(`^\d+$`)

// normCtx says what to take out of the answers to one command.
type normCtx struct {
	// dropModSeq: a FETCH that asked for no MODSEQ. Roost adds MODSEQ to
	// FETCH FLAGS responses once CONDSTORE is on, which RFC 7162 §3.1
	// neither requires nor forbids; Dovecot does not.
	dropModSeq bool
	// dropUID: commands other than FETCH, SELECT, EXAMINE and UID
	// commands, whose FETCH responses are the server's own (flag updates
	// after STORE or another session's change). With CONDSTORE on, RFC
	// 7162 §3.1 wants UID and MODSEQ in every such response; Dovecot 2.3
	// sends MODSEQ only (the older RFC 4551 rule). Roost also names the
	// UID in unsolicited flag updates without CONDSTORE, which RFC 9051
	// §7.5.2 allows (the items of an unsolicited FETCH are the server's
	// choice).
	dropUID bool
	// maskLines: body-fld-lines of text and message/rfc822 parts (RFC
	// 9051 §7.5.2 "size of the body in text lines"): Roost counts a last
	// line without CRLF, Dovecot counts CRLFs only, and the CRLF before a
	// boundary belongs to the boundary (RFC 2046 §5.1.1), so every part
	// of a multipart ends that way. The RFC does not settle it.
	maskLines bool
	// dropChildren: a LIST without RETURN (CHILDREN). Roost always says
	// \HasChildren or \HasNoChildren (RFC 3348 §4 asks for them), Dovecot
	// not always; without the CHILDREN return option they are optional
	// (RFC 5258 §4).
	dropChildren bool
}

// fetchItem normalises one FETCH item value.
func (cx normCtx) fetchItem(name string, v tok) tok {
	switch {
	case name == "FLAGS" && v.kind == 'l':
		return tok{kind: 'l', list: sortFlags(v.list)}
	case name == "MODSEQ":
		// MODSEQ values are per server (RFC 7162 §3.1.1 only orders them).
		return tok{kind: 'l', list: []tok{{kind: 'a', s: "M"}}}
	case (name == "BODY" || name == "BODYSTRUCTURE") && v.kind == 'l' && cx.maskLines:
		return maskLines(v)
	}
	return v
}

// maskLines replaces the body-fld-lines of every text and message/rfc822
// part of a body structure with "L".
func maskLines(b tok) tok {
	if b.kind != 'l' || len(b.list) == 0 {
		return b
	}
	out := tok{kind: 'l', list: slices.Clone(b.list)}
	if out.list[0].kind == 'l' { // multipart: the parts come first
		for i := range out.list {
			if out.list[i].kind == 'l' {
				out.list[i] = maskLines(out.list[i])
			}
		}
		return out
	}
	if len(out.list) < 2 {
		return out
	}
	typ, sub := strings.ToLower(out.list[0].s), strings.ToLower(out.list[1].s)
	switch {
	case typ == "text" && len(out.list) > 7:
		out.list[7] = tok{kind: 'a', s: "L"}
	case typ == "message" && (sub == "rfc822" || sub == "global") && len(out.list) > 9:
		out.list[8] = maskLines(out.list[8])
		out.list[9] = tok{kind: 'a', s: "L"}
	}
	return out
}

// statusAttr normalises one STATUS attribute.
func statusAttr(name string, v tok) tok {
	switch name {
	case "UIDVALIDITY", "HIGHESTMODSEQ":
		return tok{kind: 'a', s: "N"}
	}
	return v
}

// normCode normalises a response code (the text between brackets).
func normCode(code string) string {
	name, rest, _ := strings.Cut(code, " ")
	name = strings.ToUpper(name)
	switch name {
	case "CAPABILITY":
		return "" // capability lists differ by design
	case "UIDVALIDITY", "HIGHESTMODSEQ":
		return name + " N"
	case "APPENDUID", "COPYUID":
		_, tail, _ := strings.Cut(rest, " ")
		return name + " N " + tail
	case "PERMANENTFLAGS":
		ts := tokenize(rest)
		if len(ts) == 1 && ts[0].kind == 'l' {
			return name + " (" + render(sortFlagsKw(ts[0].list, false)) + ")"
		}
	case "BADCHARSET":
		return name // the list of charsets is optional (RFC 9051 §7.1)
	}
	return strings.TrimSpace(name + " " + rest)
}

var (
	statusLine = regexp.MustCompile(`^(\S+) (OK|NO|BAD|BYE|PREAUTH)(?: \[([^\]]*)\])?`)
	numberResp = regexp.MustCompile(`(?s)^\* (\d+) (\S+)(?: (.*))?$`)
)

// normalise turns one response line into its canonical form, or "" when
// the line carries nothing to compare.
func normalise(l string, cx normCtx) string {
	if m := statusLine.FindStringSubmatch(l); m != nil {
		// Human-readable text is the server's own (RFC 9051 §7.1).
		out := m[1] + " " + m[2]
		if c := normCode(m[3]); c != "" {
			out += " [" + c + "]"
		}
		return out
	}
	if !strings.HasPrefix(l, "* ") {
		return l
	}
	if m := numberResp.FindStringSubmatch(l); m != nil {
		switch strings.ToUpper(m[2]) {
		case "FETCH":
			ts := tokenize(m[3])
			if len(ts) == 1 && ts[0].kind == 'l' {
				var drop []string
				if cx.dropModSeq {
					drop = append(drop, "MODSEQ")
				}
				if cx.dropUID {
					drop = append(drop, "UID")
				}
				return "* " + m[1] + " FETCH (" + render(pairs(ts[0].list, cx.fetchItem, drop...)) + ")"
			}
		}
		return l
	}
	name, rest, _ := strings.Cut(l[2:], " ")
	ts := tokenize(rest)
	switch strings.ToUpper(name) {
	case "CAPABILITY":
		return ""
	case "FLAGS":
		if len(ts) == 1 && ts[0].kind == 'l' {
			ts[0].list = sortFlagsKw(ts[0].list, false)
		}
	case "SEARCH":
		// "(MODSEQ n)" after the numbers (RFC 7162 §3.1.5): per server.
		if n := len(ts); n > 0 && ts[n-1].kind == 'l' {
			ts[n-1] = tok{kind: 'l', list: []tok{{kind: 'a', s: "MODSEQ"}, {kind: 'a', s: "M"}}}
		}
	case "LIST", "LSUB":
		if len(ts) > 0 && ts[0].kind == 'l' {
			ts[0].list = sortFlags(ts[0].list)
			if cx.dropChildren {
				ts[0].list = slices.DeleteFunc(ts[0].list, func(t tok) bool {
					return t.s == `\haschildren` || t.s == `\hasnochildren`
				})
			}
		}
		// LIST-EXTENDED data (CHILDINFO) after the name: sort too.
	case "STATUS":
		if len(ts) == 2 && ts[1].kind == 'l' {
			ts[1].list = pairs(ts[1].list, statusAttr)
		}
	case "METADATA":
		// The entries of a METADATA response are a set (RFC 5464 §4.4.1).
		if len(ts) == 2 && ts[1].kind == 'l' {
			ts[1].list = pairs(ts[1].list, nil)
		}
	case "ESEARCH":
		// (TAG "x") [UID] then return data pairs in any order.
		i := 0
		if i < len(ts) && ts[i].kind == 'l' {
			i++
		}
		if i < len(ts) && strings.EqualFold(ts[i].s, "UID") {
			i++
		}
		ts = append(ts[:i:i], pairs(ts[i:], func(name string, v tok) tok {
			if name == "MODSEQ" { // per server, RFC 7162 §3.1.5
				return tok{kind: 'a', s: "M"}
			}
			return v
		})...)
	}
	return "* " + strings.ToUpper(name) + " " + render(ts)
}
