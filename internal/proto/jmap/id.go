package jmap

import "strconv"

// ValidID reports whether s is an Id (RFC 8620 §1.2): 1 to 255 octets of
// the URL and filename safe base64 alphabet.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// FormatID makes an id from a one-letter kind prefix and a number, e.g.
// FormatID('M', 12) = "M12". A prefix keeps ids of different types apart,
// so an Email id is never mistaken for a Mailbox id.
func FormatID(kind byte, n int64) string {
	return string(kind) + strconv.FormatInt(n, 10)
}

// ParseID is the inverse of FormatID; ok is false for an id of another
// kind or a malformed one.
func ParseID(kind byte, s string) (int64, bool) {
	if len(s) < 2 || len(s) > 20 || s[0] != kind || s[1] == '0' || s[1] == '+' || s[1] == '-' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:], 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// FormatState makes a state string (RFC 8620 §1.2 "state") from a store's
// change journal position.
func FormatState(seq uint64) string { return strconv.FormatUint(seq, 10) }

// ParseState reads a state string made by FormatState.
func ParseState(s string) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
