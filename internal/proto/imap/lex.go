package imap

import (
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"
)

// Character classes of RFC 9051 §9 (formal syntax).

// isAtomChar reports ATOM-CHAR: any 7-bit CHAR except atom-specials
// ("(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]").
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// isAStringChar reports ASTRING-CHAR: ATOM-CHAR or resp-specials ("]").
func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }

// isTagChar reports the characters of a tag: ASTRING-CHAR except "+".
func isTagChar(c byte) bool { return isAStringChar(c) && c != '+' }

// isListChar reports list-char: ATOM-CHAR, list-wildcards or resp-specials.
func isListChar(c byte) bool { return isAStringChar(c) || c == '%' || c == '*' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// peek returns the next byte of the line, or 0 at its end.
func (r *Reader) peek() byte {
	if !r.ok() || r.pos >= len(r.line) {
		return 0
	}
	return r.line[r.pos]
}

// atEOL reports whether the line is fully parsed.
func (r *Reader) atEOL() bool { return r.pos >= len(r.line) }

// eol requires the end of the command.
func (r *Reader) eol() {
	if r.ok() && !r.atEOL() {
		r.fail("unexpected characters at end of command: %.20q", r.line[r.pos:])
	}
}

// maybe consumes c if it comes next.
func (r *Reader) maybe(c byte) bool {
	if r.ok() && r.pos < len(r.line) && r.line[r.pos] == c {
		r.pos++
		return true
	}
	return false
}

// expect consumes c or fails.
func (r *Reader) expect(c byte) {
	if !r.maybe(c) {
		if r.atEOL() {
			r.fail("expected %q, got end of line", c)
		} else {
			r.fail("expected %q at %.20q", c, r.line[r.pos:])
		}
	}
}

// sp consumes the single space between arguments.
func (r *Reader) sp() { r.expect(' ') }

// takeWhile consumes a run of bytes in class f.
func (r *Reader) takeWhile(f func(byte) bool) []byte {
	if !r.ok() {
		return nil
	}
	i := r.pos
	for r.pos < len(r.line) && f(r.line[r.pos]) {
		r.pos++
	}
	return r.line[i:r.pos]
}

// atom parses 1*ATOM-CHAR.
func (r *Reader) atom() string {
	b := r.takeWhile(isAtomChar)
	if len(b) == 0 {
		r.fail("expected atom")
		return ""
	}
	return string(b)
}

// keyword parses an atom and returns it upper-cased: IMAP keywords are
// case-insensitive (RFC 9051 §9, note 1).
func (r *Reader) keyword() string { return strings.ToUpper(r.atom()) }

// peekKeyword reports whether the next atom is kw, case-insensitively,
// without consuming it.
func (r *Reader) peekKeyword(kw string) bool {
	if !r.ok() {
		return false
	}
	end := r.pos
	for end < len(r.line) && isAtomChar(r.line[end]) {
		end++
	}
	return strings.EqualFold(string(r.line[r.pos:end]), kw)
}

// maybeKeyword consumes kw if it is the next atom.
func (r *Reader) maybeKeyword(kw string) bool {
	if r.peekKeyword(kw) {
		r.pos += len(kw)
		return true
	}
	return false
}

// expectKeyword consumes kw or fails.
func (r *Reader) expectKeyword(kw string) {
	if !r.maybeKeyword(kw) {
		r.fail("expected %s", kw)
	}
}

// digits parses 1*DIGIT as a number no larger than max.
func (r *Reader) digits(max uint64, what string) uint64 {
	b := r.takeWhile(isDigit)
	if len(b) == 0 {
		r.fail("expected %s", what)
		return 0
	}
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
		if n > max {
			r.fail("%s out of range", what)
			return 0
		}
	}
	return n
}

// number parses number: 32-bit unsigned (RFC 9051 §9).
func (r *Reader) number() uint32 { return uint32(r.digits(1<<32-1, "number")) }

// nzNumber parses nz-number: a number other than 0.
func (r *Reader) nzNumber() uint32 {
	n := r.number()
	if r.ok() && n == 0 {
		r.fail("number must not be 0")
	}
	return n
}

// number64 parses number64: 0 to 2^63-1 (RFC 9051 §9).
func (r *Reader) number64() uint64 { return r.digits(1<<63-1, "number") }

// modSeq parses mod-sequence-value, 1 to 2^63-1 (RFC 7162 §7).
func (r *Reader) modSeq() uint64 {
	n := r.number64()
	if r.ok() && n == 0 {
		r.fail("mod-sequence must not be 0")
	}
	return n
}

// quoted parses a quoted string (RFC 9051 §4.3). Only \" and \\ are
// escapes; CR, LF and NUL are never allowed; 8-bit characters only as
// valid UTF-8 and only when UTF8 is on (RFC 9051 QUOTED-CHAR, RFC 6855 §3).
func (r *Reader) quoted() string {
	r.expect('"')
	if !r.ok() {
		return ""
	}
	var sb []byte
	start := r.pos
	eightBit := false
	for {
		if r.pos >= len(r.line) {
			r.fail("unterminated quoted string")
			return ""
		}
		c := r.line[r.pos]
		switch {
		case c == '"':
			s := append(sb, r.line[start:r.pos]...)
			r.pos++
			if eightBit {
				if !r.UTF8 {
					r.fail("8-bit character in quoted string; use a literal")
					return ""
				}
				if !utf8.Valid(s) {
					r.fail("invalid UTF-8 in quoted string")
					return ""
				}
			}
			return string(s)
		case c == '\\':
			sb = append(sb, r.line[start:r.pos]...)
			r.pos++
			if r.pos >= len(r.line) || (r.line[r.pos] != '"' && r.line[r.pos] != '\\') {
				r.fail("invalid escape in quoted string")
				return ""
			}
			start = r.pos
			r.pos++
		case c == 0 || c == '\r' || c == '\n':
			r.fail("NUL, CR or LF in quoted string")
			return ""
		default:
			if c >= 0x80 {
				eightBit = true
			}
			r.pos++
		}
	}
}

// isLiteralStart reports whether a literal starts at the current position.
func (r *Reader) isLiteralStart() bool {
	c := r.peek()
	return c == '{' || (c == '~' && r.pos+1 < len(r.line) && r.line[r.pos+1] == '{')
}

// str parses string: quoted or literal.
func (r *Reader) str() string {
	switch {
	case r.peek() == '"':
		return r.quoted()
	case r.isLiteralStart():
		return string(r.literal(false))
	}
	r.fail("expected string")
	return ""
}

// astring parses astring: 1*ASTRING-CHAR or string.
func (r *Reader) astring() string {
	c := r.peek()
	if c == '"' || r.isLiteralStart() {
		return r.str()
	}
	b := r.takeWhile(isAStringChar)
	if len(b) == 0 {
		r.fail("expected string")
		return ""
	}
	return string(b)
}

// nstring parses nstring: string or NIL. ok is false for NIL.
func (r *Reader) nstring() (s string, ok bool) {
	if r.peek() != '"' && !r.isLiteralStart() {
		r.expectKeyword("NIL")
		return "", false
	}
	return r.str(), true
}

// flag parses a flag or flag-keyword: "\" atom or atom (RFC 9051 §9).
// System flags are returned in their canonical case.
func (r *Reader) flag() string {
	if r.maybe('\\') {
		return canonicalFlag("\\" + r.atom())
	}
	return r.atom()
}

// systemFlags maps upper-cased system flags to their canonical spelling.
var systemFlags = map[string]string{
	`\ANSWERED`: `\Answered`,
	`\FLAGGED`:  `\Flagged`,
	`\DELETED`:  `\Deleted`,
	`\SEEN`:     `\Seen`,
	`\DRAFT`:    `\Draft`,
	`\RECENT`:   `\Recent`,
}

func canonicalFlag(f string) string {
	if c, ok := systemFlags[strings.ToUpper(f)]; ok {
		return c
	}
	return f
}

// flagList parses "(" [flag *(SP flag)] ")". An empty list yields nil.
func (r *Reader) flagList() []string {
	var flags []string
	r.list(true, func() { flags = append(flags, r.flag()) })
	return flags
}

// list parses "(" item *(SP item) ")", calling item for each element. Every
// item must consume input or fail, so the loop always ends.
func (r *Reader) list(allowEmpty bool, item func()) {
	r.expect('(')
	if r.maybe(')') {
		if !allowEmpty {
			r.fail("empty list")
		}
		return
	}
	for r.ok() {
		r.charge(listItemCost)
		item()
		if r.maybe(')') {
			return
		}
		r.sp()
	}
}

// listItemCost is what a list element is charged against MaxCommand on top
// of its wire bytes: a slice slot and a string header, roughly.
const listItemCost = 32

// enter and leave bound nesting (Limits.MaxDepth).
func (r *Reader) enter() bool {
	r.depth++
	if r.depth > r.lim.MaxDepth {
		r.failCode(CodeLimit, "nesting too deep")
		return false
	}
	return true
}

func (r *Reader) leave() { r.depth-- }

// mailbox parses mailbox: "INBOX" / astring (RFC 9051 §5.1), decoded to
// Unicode by DecodeMailbox.
func (r *Reader) mailbox() string {
	return r.mailboxName(r.astring(), false)
}

// listMailbox parses list-mailbox: 1*list-char / string (RFC 9051 §6.3.9).
func (r *Reader) listMailbox() string {
	c := r.peek()
	if c == '"' || r.isLiteralStart() {
		return r.mailboxName(r.str(), true)
	}
	b := r.takeWhile(isListChar)
	if len(b) == 0 {
		r.fail("expected mailbox pattern")
		return ""
	}
	return r.mailboxName(string(b), true)
}

// mailboxName decodes a mailbox name from the wire. A name that does not
// decode is well-formed syntax with an unusable value, so the command
// fails with NO [CANNOT] rather than BAD (RFC 9051 §5.1, §7.1: BAD is for
// syntax errors), as Dovecot answers; parsing goes on so that a later
// syntax error still answers BAD. A LIST pattern of printable ASCII that
// is not valid modified UTF-7 is kept as it is: it matches only names
// spelled like it, and LIST answers OK (as Dovecot does).
func (r *Reader) mailboxName(s string, pattern bool) string {
	if !r.ok() {
		return ""
	}
	name, err := DecodeMailbox(s, r.UTF8)
	if err == nil {
		return name
	}
	if pattern && !r.UTF8 && printableASCII(s) {
		return s
	}
	if r.nameErr == nil {
		r.nameErr = &ParseError{Msg: err.Error(), Code: CodeCannot, No: true}
	}
	return ""
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Dates.

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func (r *Reader) month() time.Month {
	if r.ok() && r.pos+3 <= len(r.line) {
		m := string(r.line[r.pos : r.pos+3])
		for i, name := range months {
			if strings.EqualFold(m, name) {
				r.pos += 3
				return time.Month(i + 1)
			}
		}
	}
	r.fail("expected month name")
	return 0
}

// fixedDigits parses exactly n digits.
func (r *Reader) fixedDigits(n int, what string) int {
	if !r.ok() || r.pos+n > len(r.line) {
		r.fail("expected %s", what)
		return 0
	}
	v := 0
	for _, c := range r.line[r.pos : r.pos+n] {
		if !isDigit(c) {
			r.fail("expected %s", what)
			return 0
		}
		v = v*10 + int(c-'0')
	}
	r.pos += n
	return v
}

// date parses date: date-text or DQUOTE date-text DQUOTE, where date-text
// is d-Mon-yyyy (RFC 9051 §9). The result is midnight UTC: SEARCH dates
// ignore time and time zone (RFC 9051 §6.4.4).
func (r *Reader) date() time.Time {
	q := r.maybe('"')
	day := r.digits(31, "day")
	if r.ok() && day == 0 {
		r.fail("day must not be 0")
	}
	r.expect('-')
	m := r.month()
	r.expect('-')
	y := r.fixedDigits(4, "year")
	if q {
		r.expect('"')
	}
	if !r.ok() {
		return time.Time{}
	}
	t := time.Date(y, m, int(day), 0, 0, 0, 0, time.UTC)
	if t.Day() != int(day) {
		r.fail("invalid date")
		return time.Time{}
	}
	return t
}

// dateTime parses date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" with the day
// space- or zero-padded (RFC 9051 §9 date-day-fixed).
func (r *Reader) dateTime() time.Time {
	r.expect('"')
	var day int
	if r.maybe(' ') {
		day = r.fixedDigits(1, "day")
	} else {
		day = int(r.digits(31, "day"))
	}
	r.expect('-')
	m := r.month()
	r.expect('-')
	y := r.fixedDigits(4, "year")
	r.sp()
	hh := r.fixedDigits(2, "hour")
	r.expect(':')
	mm := r.fixedDigits(2, "minute")
	r.expect(':')
	ss := r.fixedDigits(2, "second")
	r.sp()
	sign := 1
	if r.maybe('-') {
		sign = -1
	} else {
		r.expect('+')
	}
	zh := r.fixedDigits(2, "zone")
	zm := r.fixedDigits(2, "zone")
	r.expect('"')
	if !r.ok() {
		return time.Time{}
	}
	if day < 1 || hh > 23 || mm > 59 || ss > 60 || zm > 59 {
		r.fail("invalid date-time")
		return time.Time{}
	}
	if ss == 60 {
		ss = 59 // a leap second; time.Time cannot hold it
	}
	off := sign * (zh*3600 + zm*60)
	t := time.Date(y, m, day, hh, mm, ss, 0, time.FixedZone("", off))
	if t.Day() != day {
		r.fail("invalid date")
		return time.Time{}
	}
	return t
}

// decodeBase64 decodes standard padded base64 (RFC 4648 §4), as used by
// SASL exchanges.
func decodeBase64(b []byte) ([]byte, error) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Strict().Decode(out, b)
	return out[:n], err
}
