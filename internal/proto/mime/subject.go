package mime

import "strings"

// BaseSubject returns the base subject of RFC 5256 §2.1, used by SORT
// SUBJECT and THREAD ORDEREDSUBJECT/REFERENCES: encoded words decoded
// (step 1), whitespace normalised, then "Re:", "Fw:", "Fwd:" and
// "[blob]" leaders, "(fwd)" trailers and "[fwd: ...]" wrappers removed
// until none are left. Case is kept; compare with i;ascii-casemap or
// i;unicode-casemap as the command requires.
//
// BaseSubject(BaseSubject(s)) == BaseSubject(s) holds for every s: should
// decoding uncover further encoded words (a subject encoded twice), they
// are decoded too, a few levels deep, and beyond that defused.
func BaseSubject(subject string) string {
	s := subject
	for round := 0; ; round++ {
		var d string
		if round < 3 {
			d = DecodeHeaderValue(s)
		} else {
			d = strings.ReplaceAll(s, "=?", "=\uFFFD?")
		}
		r := subjectSteps(normalizeSpace(d))
		if !strings.Contains(r, "=?") || DecodeHeaderValue(r) == r {
			return r
		}
		s = r
	}
}

// normalizeSpace turns tabs and line breaks into spaces and runs of
// spaces into one (RFC 5256 §2.1 step 1).
func normalizeSpace(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || c == ' ' && i > 0 && s[i-1] == ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\r' || c == '\n' || c == ' ' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// subjectSteps applies steps 2-6 of RFC 5256 §2.1 until nothing changes.
func subjectSteps(s string) string {
	for range 16 {
		t := subjectPass(s)
		if t == s {
			break
		}
		s = t
	}
	return s
}

func subjectPass(s string) string {
	for {
		// (2) subj-trailer = "(fwd)" / WSP, repeatedly
		for {
			if n := len(s); n > 0 && s[n-1] == ' ' {
				s = s[:n-1]
			} else if n >= 5 && strings.EqualFold(s[n-5:], "(fwd)") {
				s = s[:n-5]
			} else {
				break
			}
		}
		// (3)-(5)
		for {
			if len(s) > 0 && s[0] == ' ' {
				s = s[1:]
				continue
			}
			// (3) subj-leader = *subj-blob subj-refwd
			blobsEnd := 0
			var blobs []int // end offsets of the blobs in the run
			for {
				n := blobLen(s[blobsEnd:])
				if n == 0 {
					break
				}
				blobsEnd += n
				blobs = append(blobs, blobsEnd)
			}
			if n := refwdLen(s[blobsEnd:]); n > 0 {
				s = s[blobsEnd+n:]
				continue
			}
			// (4) remove a leading subj-blob if a non-empty subj-base
			// remains. Step (3) would fail again after each removal (the
			// text after the run is unchanged), so remove the run at
			// once, keeping the last blob if nothing follows it.
			if len(blobs) == 0 {
				break
			}
			if blobsEnd < len(s) {
				s = s[blobsEnd:]
			} else if len(blobs) > 1 {
				s = s[blobs[len(blobs)-2]:]
			} else {
				break
			}
		}
		// (6) subj-fwd-hdr "[fwd:" ... subj-fwd-trl "]"
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			continue
		}
		return s
	}
}

// blobLen returns the length of the subj-blob ("[" *BLOBCHAR "]" *WSP) at
// the start of s, or 0. BLOBCHAR is any byte but "[" and "]" (the RFC
// limits it to 7-bit, which would not survive step 1's UTF-8).
func blobLen(s string) int {
	if len(s) == 0 || s[0] != '[' {
		return 0
	}
	i := 1
	for i < len(s) && s[i] != '[' && s[i] != ']' {
		i++
	}
	if i == len(s) || s[i] != ']' {
		return 0
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// refwdLen returns the length of subj-refwd at the start of s:
// ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func refwdLen(s string) int {
	var i int
	switch {
	case len(s) >= 2 && strings.EqualFold(s[:2], "re"):
		i = 2
	case len(s) >= 3 && strings.EqualFold(s[:3], "fwd"):
		i = 3
	case len(s) >= 2 && strings.EqualFold(s[:2], "fw"):
		i = 2
	default:
		return 0
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	i += blobLen(s[i:])
	if i < len(s) && s[i] == ':' {
		return i + 1
	}
	return 0
}
