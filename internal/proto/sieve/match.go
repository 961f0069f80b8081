package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type comparator uint8

const (
	cmpCasemap comparator = iota // RFC 5228 §2.7.3: the default
	cmpOctet
	cmpNumeric
)

type matchType uint8

const (
	mIs matchType = iota
	mContains
	mMatches
	mCount
	mValue
)

// matcher is the comparator and match type of one test, and the budget
// the match is charged against.
type matcher struct {
	cmp  comparator
	typ  matchType
	rel  string // gt ge lt le eq ne, for :count and :value
	caps bool   // record match variables for :matches (RFC 5229 §3.2)
	r    *runner
}

func newMatcher(r *runner, n *node) matcher {
	m := matcher{r: r}
	if a := n.tags["comparator"]; a != nil {
		switch strings.ToLower(a.values()[0]) {
		case "i;octet":
			m.cmp = cmpOctet
		case "i;ascii-numeric":
			m.cmp = cmpNumeric
		}
	}
	switch {
	case n.tags["contains"] != nil:
		m.typ = mContains
	case n.tags["matches"] != nil:
		m.typ = mMatches
		m.caps = r.s.Require["variables"]
	case n.tags["count"] != nil:
		m.typ, m.rel = mCount, strings.ToLower(n.tags["count"].values()[0])
	case n.tags["value"] != nil:
		m.typ, m.rel = mValue, strings.ToLower(n.tags["value"].values()[0])
	}
	return m
}

// foldASCII lower-cases ASCII letters only, keeping byte offsets
// (i;ascii-casemap, RFC 4790 §9.2).
func foldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// numCompare orders two strings as i;ascii-numeric does (RFC 4790 §9.1):
// by the value of their leading digits; a string without leading digits
// is positive infinity.
func numCompare(a, b string) int {
	da, db := leadDigits(a), leadDigits(b)
	switch {
	case da == "" && db == "":
		return 0
	case da == "":
		return 1
	case db == "":
		return -1
	}
	da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
	if len(da) != len(db) {
		if len(da) < len(db) {
			return -1
		}
		return 1
	}
	return strings.Compare(da, db)
}

func leadDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func (m *matcher) order(a, b string) int {
	switch m.cmp {
	case cmpOctet:
		return strings.Compare(a, b)
	case cmpNumeric:
		return numCompare(a, b)
	}
	return strings.Compare(foldASCII(a), foldASCII(b))
}

func relHolds(rel string, c int) bool {
	switch rel {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "eq":
		return c == 0
	}
	return c != 0 // ne
}

// any tells whether any value matches any key. For :count, count is the
// number of values the test counted (RFC 5231 §4.1).
func (m *matcher) any(values, keys []string) (bool, error) {
	if m.typ == mCount {
		n := strconv.Itoa(len(values))
		for _, k := range keys {
			if relHolds(m.rel, m.order(n, k)) {
				return true, nil
			}
		}
		return false, nil
	}
	for _, v := range values {
		for _, k := range keys {
			ok, err := m.one(v, k)
			if err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

func (m *matcher) one(v, k string) (bool, error) {
	if err := m.r.charge(1 + len(v)/256); err != nil {
		return false, err
	}
	switch m.typ {
	case mIs:
		return m.order(v, k) == 0, nil
	case mValue:
		return relHolds(m.rel, m.order(v, k)), nil
	case mContains:
		if m.cmp == cmpOctet {
			return strings.Contains(v, k), nil
		}
		return strings.Contains(foldASCII(v), foldASCII(k)), nil
	}
	g := glob{octet: m.cmp == cmpOctet, r: m.r}
	pv, pk := v, k
	if m.cmp != cmpOctet {
		pv, pk = foldASCII(v), foldASCII(k)
	}
	g.compile(pk)
	g.s = pv
	g.caps = make([]string, g.nwild)
	ok := g.match(0, 0)
	if g.err != nil {
		return false, g.err
	}
	if ok && m.caps {
		// Captures come from the folded copy by offset; take them from
		// the original so case is kept.
		vars := make([]string, 0, len(g.capOff)+1)
		vars = append(vars, v)
		for _, c := range g.capOff {
			vars = append(vars, v[c[0]:c[1]])
		}
		m.r.match = vars
	}
	return ok, nil
}

type globKind uint8

const (
	gLit globKind = iota
	gOne
	gStar
)

type globElem struct {
	kind globKind
	lit  string
	wild int // index of the wildcard, for captures
}

// glob matches RFC 5228 §2.7.1 wildcards: "*" any sequence, "?" one
// character, "\" quotes the next character. Each "*" first tries the
// shortest span, which gives the captures of the RFC 5229 §3.2 examples;
// failed states are remembered so the work is bounded by
// pattern × value, and every step is charged to the run's budget.
type glob struct {
	elems  []globElem
	nwild  int
	s      string
	octet  bool
	caps   []string
	capOff [][2]int
	failed map[int64]bool
	r      *runner
	err    error
}

func (g *glob) compile(p string) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			g.elems = append(g.elems, globElem{kind: gLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 < len(p) {
				i++
			}
			lit.WriteByte(p[i])
		case '*':
			flush()
			// Adjacent stars still each capture (the later ones empty).
			g.elems = append(g.elems, globElem{kind: gStar, wild: g.nwild})
			g.nwild++
		case '?':
			flush()
			g.elems = append(g.elems, globElem{kind: gOne, wild: g.nwild})
			g.nwild++
		default:
			lit.WriteByte(p[i])
		}
	}
	flush()
	g.capOff = make([][2]int, g.nwild)
}

func (g *glob) width(si int) int {
	if g.octet {
		return 1
	}
	_, n := utf8.DecodeRuneInString(g.s[si:])
	return n
}

func (g *glob) match(pi, si int) bool {
	for {
		if g.err != nil {
			return false
		}
		if err := g.r.charge(1); err != nil {
			g.err = err
			return false
		}
		if pi == len(g.elems) {
			return si == len(g.s)
		}
		e := g.elems[pi]
		switch e.kind {
		case gLit:
			if !strings.HasPrefix(g.s[si:], e.lit) {
				return false
			}
			pi, si = pi+1, si+len(e.lit)
			continue
		case gOne:
			if si >= len(g.s) {
				return false
			}
			n := g.width(si)
			g.capOff[e.wild] = [2]int{si, si + n}
			pi, si = pi+1, si+n
			continue
		}
		if pi == len(g.elems)-1 {
			g.capOff[e.wild] = [2]int{si, len(g.s)}
			return true
		}
		key := int64(pi)*int64(len(g.s)+1) + int64(si)
		if g.failed[key] {
			return false
		}
		for k := si; ; k += g.width(k) {
			if g.match(pi+1, k) {
				g.capOff[e.wild] = [2]int{si, k}
				return true
			}
			if g.err != nil || k >= len(g.s) {
				break
			}
		}
		if g.failed == nil {
			g.failed = map[int64]bool{}
		}
		g.failed[key] = true
		return false
	}
}

// quoteWildcard escapes *, ? and \ (RFC 5229 §4.1, :quotewildcard).
func quoteWildcard(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
