package imap

import (
	"cmp"
	"iter"
	"slices"
	"strconv"
)

// SeqRange is a range of message sequence numbers or UIDs, both ends
// included and in either order (RFC 9051 §9 seq-range: "2:4" and "4:2" are
// the same). 0 stands for "*", the largest number in use. A single number
// has Start == Stop.
type SeqRange struct {
	Start, Stop uint32
}

// SeqSet is a sequence-set (RFC 9051 §9): ranges in the client's order, or
// "$" (Saved), the result remembered by SEARCH RETURN (SAVE) (RFC 5182).
// The server substitutes its saved result for a Saved set before using it.
// The zero SeqSet is empty.
type SeqSet struct {
	Ranges []SeqRange
	Saved  bool
}

// SeqSetOf returns the compact set holding nums, e.g. 1,2,3,5 → "1:3,5".
// The order of nums does not matter; 0 is ignored.
func SeqSetOf(nums ...uint32) SeqSet {
	sorted := slices.Clone(nums)
	slices.Sort(sorted)
	var s SeqSet
	for _, n := range sorted {
		if n == 0 {
			continue
		}
		if k := len(s.Ranges); k > 0 && (s.Ranges[k-1].Stop == n || s.Ranges[k-1].Stop+1 == n) {
			s.Ranges[k-1].Stop = n
			continue
		}
		s.Ranges = append(s.Ranges, SeqRange{n, n})
	}
	return s
}

// ParseSeqSet parses the wire form of a sequence set, e.g. "1:4,7,9:*".
func ParseSeqSet(s string) (SeqSet, error) {
	r := &Reader{line: []byte(s), lim: DefaultLimits()}
	set := r.seqSet()
	r.eol()
	if r.err != nil {
		return SeqSet{}, r.err
	}
	return set, nil
}

// IsEmpty reports whether the set holds no range (and is not "$").
func (s SeqSet) IsEmpty() bool { return len(s.Ranges) == 0 && !s.Saved }

// String returns the wire form. Ranges print as given, "*" for 0.
func (s SeqSet) String() string { return string(s.appendTo(nil)) }

func (s SeqSet) appendTo(b []byte) []byte {
	if s.Saved {
		return append(b, '$')
	}
	for i, r := range s.Ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSeqNum(b, r.Start)
		if r.Stop != r.Start {
			b = append(b, ':')
			b = appendSeqNum(b, r.Stop)
		}
	}
	return b
}

func appendSeqNum(b []byte, n uint32) []byte {
	if n == 0 {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(n), 10)
}

// bounds resolves "*" to last and orders the ends.
func (r SeqRange) bounds(last uint32) (lo, hi uint32) {
	lo, hi = r.Start, r.Stop
	if lo == 0 {
		lo = last
	}
	if hi == 0 {
		hi = last
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// Contains reports whether n is in the set, with "*" standing for last (the
// number of messages, or the largest UID in the mailbox). A Saved set
// contains nothing: resolve it first. Numbers above last are never
// contained, consistent with All.
func (s SeqSet) Contains(n, last uint32) bool {
	if n == 0 || n > last {
		return false
	}
	for _, r := range s.Ranges {
		if lo, hi := r.bounds(last); lo <= n && n <= hi {
			return true
		}
	}
	return false
}

// Normalize resolves "*" to last, drops what lies above last, and returns
// sorted, merged, non-overlapping ranges. A range that reaches past last
// but contains "*" keeps last: "559:*" with last 100 is "100" (RFC 9051
// §6.4.9). With last 0 (empty mailbox) the result is empty. A Saved set
// normalises to the empty set.
func (s SeqSet) Normalize(last uint32) SeqSet {
	var out []SeqRange
	for _, r := range s.Ranges {
		lo, hi := r.bounds(last)
		if lo == 0 || lo > last {
			continue
		}
		hi = min(hi, last)
		out = append(out, SeqRange{lo, hi})
	}
	slices.SortFunc(out, func(a, b SeqRange) int { return cmp.Compare(a.Start, b.Start) })
	merged := out[:0]
	for _, r := range out {
		if k := len(merged); k > 0 && uint64(r.Start) <= uint64(merged[k-1].Stop)+1 {
			merged[k-1].Stop = max(merged[k-1].Stop, r.Stop)
			continue
		}
		merged = append(merged, r)
	}
	if len(merged) == 0 {
		return SeqSet{}
	}
	return SeqSet{Ranges: merged}
}

// All yields the numbers of the set in ascending order, each once, none
// above last (see Normalize).
func (s SeqSet) All(last uint32) iter.Seq[uint32] {
	n := s.Normalize(last)
	return func(yield func(uint32) bool) {
		for _, r := range n.Ranges {
			for i := uint64(r.Start); i <= uint64(r.Stop); i++ {
				if !yield(uint32(i)) {
					return
				}
			}
		}
	}
}

// Count returns how many numbers All yields.
func (s SeqSet) Count(last uint32) int {
	c := 0
	for _, r := range s.Normalize(last).Ranges {
		c += int(r.Stop-r.Start) + 1
	}
	return c
}

// seqSet parses sequence-set (RFC 9051 §9): seq-number / seq-range, comma
// separated, or "$" alone (RFC 5182). 0 is invalid.
func (r *Reader) seqSet() SeqSet {
	if r.maybe('$') {
		return SeqSet{Saved: true}
	}
	var s SeqSet
	for r.ok() {
		a := r.seqNum()
		b := a
		if r.maybe(':') {
			b = r.seqNum()
		}
		r.charge(8)
		s.Ranges = append(s.Ranges, SeqRange{a, b})
		if !r.maybe(',') {
			break
		}
	}
	if !r.ok() {
		return SeqSet{}
	}
	return s
}

// seqNum parses seq-number: nz-number or "*" (returned as 0).
func (r *Reader) seqNum() uint32 {
	if r.maybe('*') {
		return 0
	}
	if !isDigit(r.peek()) {
		r.fail("invalid sequence set")
		return 0
	}
	return r.nzNumber()
}
