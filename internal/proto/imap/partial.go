package imap

// PartialRange is a PARTIAL range (RFC 9394 §4, RFC 5267 §4.4): First and
// Last are the two numbers as the client sent them (500:400 is the same
// as 400:500); FromEnd is the "-" form counting from the newest message.
type PartialRange struct {
	First, Last uint32
	FromEnd     bool
}

// Bounds returns the range as 1-based positions lo ≤ hi, counted from the
// start (or with FromEnd from the end) of a result.
func (p PartialRange) Bounds() (lo, hi uint32) {
	return min(p.First, p.Last), max(p.First, p.Last)
}

// Window returns the half-open slice [i, j) of a result of n entries (in
// ascending order) that the range selects; i == j when none.
func (p PartialRange) Window(n int) (i, j int) {
	lo, hi := p.Bounds()
	if !p.FromEnd {
		i, j = int(min(uint64(lo-1), uint64(n))), int(min(uint64(hi), uint64(n)))
		return i, j
	}
	// -1 is the last entry: positions lo..hi from the end.
	j = n - int(min(uint64(lo-1), uint64(n)))
	i = n - int(min(uint64(hi), uint64(n)))
	return i, j
}

// partialRange parses partial-range = partial-range-first /
// partial-range-last (RFC 9394 §4): "1:100" or "-1:-100", never "*" and
// never mixed signs.
func (r *Reader) partialRange() PartialRange {
	var p PartialRange
	p.FromEnd = r.maybe('-')
	p.First = r.nzNumber()
	r.expect(':')
	if p.FromEnd {
		r.expect('-')
	}
	p.Last = r.nzNumber()
	return p
}

func (p PartialRange) appendTo(b []byte) []byte {
	if p.FromEnd {
		b = append(b, '-')
	}
	b = appendUint(b, p.First)
	b = append(b, ':')
	if p.FromEnd {
		b = append(b, '-')
	}
	return appendUint(b, p.Last)
}

// String returns the range in wire form.
func (p PartialRange) String() string { return string(p.appendTo(nil)) }

// CancelUpdateCmd is CANCELUPDATE 1*(SP quoted) (RFC 5267 §4.3.1): the
// tags of the searches whose updates stop.
type CancelUpdateCmd struct {
	Tags []string
}

func parseCancelUpdate(r *Reader, _ *Command) Args {
	a := &CancelUpdateCmd{}
	for r.ok() {
		r.sp()
		if r.ok() && r.peek() != '"' {
			r.fail("CANCELUPDATE takes quoted tags")
			break
		}
		a.Tags = append(a.Tags, r.quoted())
		if r.atEOL() {
			break
		}
	}
	return a
}

func (a *CancelUpdateCmd) appendArgs(b []byte) []byte {
	for _, t := range a.Tags {
		b = appendQuoted(append(b, ' '), t)
	}
	return b
}

// ContextUpdate is one position and set of an ADDTO or REMOVEFROM return
// data item (RFC 5267 §4.3.3): Pos is 0 for SEARCH results, the 1-based
// position in the sorted result for SORT.
type ContextUpdate struct {
	Pos uint32
	Set SeqSet
}

func appendContextUpdates(b []byte, name string, us []ContextUpdate) []byte {
	if len(us) == 0 {
		return b
	}
	b = append(append(append(b, ' '), name...), " ("...)
	for i, u := range us {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendUint(b, u.Pos)
		b = u.Set.appendTo(append(b, ' '))
	}
	return append(b, ')')
}
