package mime

import (
	"strconv"
	"strings"
	"time"
)

// ParseDate parses a Date header value (RFC 5322 §3.3) for SENTBEFORE,
// SENTON, SENTSINCE and SORT DATE. It is tolerant of what mail carries:
// a missing or misplaced day name, obsolete and unknown zone names
// (§4.3: unknown ones count as -0000, i.e. UTC), two- and three-digit
// years, missing seconds, comments, dashes between date fields
// ("2-Jan-2006"), asctime order ("Mon Jan 2 15:04:05 2006") and RFC 3339.
// ok is false when no plausible date is found; RFC 5256 then falls back to
// the internal date.
func ParseDate(s string) (t time.Time, ok bool) {
	s = stripComments(s)
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(s)); err == nil {
		return t, true
	}
	day, month, year := -1, -1, -1
	hour, minute, sec := 0, 0, 0
	haveTime, haveZone := false, false
	offset := 0
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' })
	var toks []string
	for _, f := range fields {
		// "02-Jan-2006": split dashes in a field that names a month
		if strings.Count(f, "-") == 2 && f[0] != '-' && hasLetter(f) {
			toks = append(toks, strings.Split(f, "-")...)
			continue
		}
		toks = append(toks, f)
	}
	for _, tok := range toks {
		switch {
		case tok == "":
		case strings.Contains(tok, ":"):
			if haveTime {
				return time.Time{}, false
			}
			parts := strings.Split(tok, ":")
			if len(parts) < 2 || len(parts) > 3 {
				return time.Time{}, false
			}
			var err error
			if hour, err = atoiN(parts[0], 2); err != nil {
				return time.Time{}, false
			}
			if minute, err = atoiN(parts[1], 2); err != nil {
				return time.Time{}, false
			}
			if len(parts) == 3 {
				if sec, err = atoiN(parts[2], 2); err != nil {
					return time.Time{}, false
				}
			}
			haveTime = true
		case (tok[0] == '+' || tok[0] == '-') && len(tok) == 5 && isDigits(tok[1:]):
			h, _ := strconv.Atoi(tok[1:3])
			m, _ := strconv.Atoi(tok[3:5])
			if m > 59 {
				return time.Time{}, false
			}
			offset = (h*60 + m) * 60
			if tok[0] == '-' {
				offset = -offset
			}
			haveZone = true
		case isDigits(tok):
			n, err := atoiN(tok, 4)
			if err != nil {
				return time.Time{}, false
			}
			switch {
			case day < 0 && len(tok) <= 2 && n >= 1 && n <= 31:
				day = n
			case year < 0:
				year = n
				switch {
				case len(tok) <= 2 && n < 50:
					year += 2000
				case len(tok) <= 3:
					year += 1900
				}
			default:
				return time.Time{}, false
			}
		case month < 0 && monthOf(tok) > 0:
			month = monthOf(tok)
		case dayOf(tok):
		case !haveZone && isLetters(tok):
			// RFC 5322 §4.3 obsolete zones; others (military, unknown)
			// are -0000.
			offset = obsZone[strings.ToUpper(tok)] * 3600
			haveZone = true
		default:
			return time.Time{}, false
		}
	}
	if day < 0 || month < 0 || year < 0 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	if sec == 60 {
		sec = 59 // leap second
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.FixedZone("", offset)), true
}

var obsZone = map[string]int{
	"UT": 0, "GMT": 0, "Z": 0, "UTC": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

var monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func monthOf(tok string) int {
	if len(tok) < 3 {
		return 0
	}
	for i, m := range monthNames {
		if strings.EqualFold(tok[:3], m) && isLetters(tok) {
			return i + 1
		}
	}
	return 0
}

func dayOf(tok string) bool {
	if len(tok) < 3 || !isLetters(tok) {
		return false
	}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		if strings.EqualFold(tok[:3], d) {
			return true
		}
	}
	return false
}

func atoiN(s string, maxLen int) (int, error) {
	if s == "" || len(s) > maxLen || !isDigits(s) {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// stripComments removes RFC 5322 comments.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	for l := (lexer{s: s}); !l.eof(); {
		if l.s[l.i] == '(' {
			l.skipCFWS()
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(l.s[l.i])
		l.i++
	}
	return b.String()
}
