package imap

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 for mailbox names, RFC 3501 §5.1.3: printable US-ASCII
// other than "&" stands for itself, "&-" is "&", and everything else is
// UTF-16BE in modified base64 (RFC 2045 base64 with "," for "/", no
// padding) between "&" and "-".

const mbase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

var mbase64Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(mbase64); i++ {
		t[mbase64[i]] = int8(i)
	}
	return t
}()

// ErrInvalidMailboxName is wrapped by the errors of DecodeMailboxName and
// DecodeMailbox.
var ErrInvalidMailboxName = errors.New("invalid mailbox name")

func badName(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMailboxName, fmt.Sprintf(format, args...))
}

// DecodeMailboxName decodes a modified UTF-7 mailbox name to UTF-8. Only
// the canonical encoding is accepted: no raw 8-bit or control characters,
// no base64 for characters that stand for themselves, no adjacent base64
// runs, no non-zero padding bits, no unpaired surrogates, no unterminated
// "&". So EncodeMailboxName(DecodeMailboxName(s)) == s whenever decoding
// succeeds.
func DecodeMailboxName(s string) (string, error) {
	if strings.IndexByte(s, '&') < 0 {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return "", badName("character 0x%02x must be encoded in modified UTF-7", s[i])
			}
		}
		return s, nil
	}
	var out strings.Builder
	out.Grow(len(s))
	prevB64 := false // the previous token was a base64 run
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", badName("character 0x%02x must be encoded in modified UTF-7", c)
		}
		if c != '&' {
			out.WriteByte(c)
			i++
			prevB64 = false
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", badName("unterminated \"&\" in modified UTF-7")
		}
		run := s[i+1 : i+1+j]
		i += j + 2
		if run == "" {
			out.WriteByte('&')
			prevB64 = false
			continue
		}
		if prevB64 {
			return "", badName("adjacent base64 runs in modified UTF-7")
		}
		if err := decodeRun(&out, run); err != nil {
			return "", err
		}
		prevB64 = true
	}
	return out.String(), nil
}

// decodeRun decodes one modified base64 run to UTF-8.
func decodeRun(out *strings.Builder, run string) error {
	var bits uint32
	var nbits uint
	var units []uint16
	for k := 0; k < len(run); k++ {
		v := mbase64Index[run[k]]
		if v < 0 {
			return badName("invalid character %q in modified base64", run[k])
		}
		bits = bits<<6 | uint32(v)
		nbits += 6
		if nbits >= 16 {
			nbits -= 16
			units = append(units, uint16(bits>>nbits))
			bits &= 1<<nbits - 1
		}
	}
	// Leftover bits are padding: fewer than 6 and all zero, else the run
	// is truncated or not the shortest encoding.
	if nbits >= 6 || bits != 0 {
		return badName("bad padding in modified base64")
	}
	if len(units) == 0 {
		return badName("empty modified base64 run")
	}
	for k := 0; k < len(units); k++ {
		u := rune(units[k])
		switch {
		case utf16.IsSurrogate(u):
			if u >= 0xdc00 || k+1 >= len(units) {
				return badName("unpaired surrogate in modified UTF-7")
			}
			r := utf16.DecodeRune(u, rune(units[k+1]))
			if r == utf8.RuneError {
				return badName("unpaired surrogate in modified UTF-7")
			}
			out.WriteRune(r)
			k++
		case u >= 0x20 && u <= 0x7e:
			return badName("printable ASCII %q encoded in modified base64", u)
		default:
			out.WriteRune(u)
		}
	}
	return nil
}

// EncodeMailboxName encodes a UTF-8 mailbox name in modified UTF-7.
// Invalid UTF-8 is encoded as U+FFFD.
func EncodeMailboxName(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e || s[i] == '&' {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var out strings.Builder
	var units []uint16
	flush := func() {
		if len(units) == 0 {
			return
		}
		out.WriteByte('&')
		var bits uint32
		var nbits uint
		for _, u := range units {
			bits = bits<<16 | uint32(u)
			nbits += 16
			for nbits >= 6 {
				nbits -= 6
				out.WriteByte(mbase64[bits>>nbits&63])
			}
			bits &= 1<<nbits - 1
		}
		if nbits > 0 {
			out.WriteByte(mbase64[bits<<(6-nbits)&63])
		}
		out.WriteByte('-')
		units = units[:0]
	}
	for _, c := range s {
		switch {
		case c == '&':
			flush()
			out.WriteString("&-")
		case c >= 0x20 && c <= 0x7e:
			flush()
			out.WriteRune(c)
		default:
			units = utf16.AppendRune(units, c)
		}
	}
	flush()
	return out.String()
}

// DecodeMailbox turns a mailbox name as sent on the wire into the Unicode
// name: modified UTF-7 is decoded unless utf8 is set (UTF8=ACCEPT or
// IMAP4rev2, RFC 9051 §5.1). Names must be valid UTF-8 without control
// characters (RFC 9051 §5.1 asks for Net-Unicode, RFC 5198 §2), and
// "INBOX" in any case becomes "INBOX".
func DecodeMailbox(wire string, utf8Mode bool) (string, error) {
	name := wire
	if utf8Mode {
		if !utf8.ValidString(name) {
			return "", badName("invalid UTF-8")
		}
	} else {
		var err error
		if name, err = DecodeMailboxName(wire); err != nil {
			return "", err
		}
	}
	for _, c := range name {
		if c < 0x20 || (c >= 0x7f && c <= 0x9f) {
			return "", badName("control character %U", c)
		}
	}
	if len(name) == 5 && strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	return name, nil
}

// EncodeMailbox is the inverse of DecodeMailbox: the wire form of a
// Unicode mailbox name.
func EncodeMailbox(name string, utf8Mode bool) string {
	if utf8Mode {
		return name
	}
	return EncodeMailboxName(name)
}
