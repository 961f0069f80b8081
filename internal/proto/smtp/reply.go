package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Client-side limits: what a remote server controls.
const (
	MaxReplyLines = 100  // lines of one multi-line reply
	MaxReplyLine  = 2048 // octets of one reply line (RFC 5321 §4.5.3.1.5 says 512)
)

// Reply is a server's answer (RFC 5321 §4.2): a three-digit code, the
// enhanced status code (RFC 3463) when the first line carries one, and
// the text of every line.
type Reply struct {
	Code     int
	Enhanced string   // "5.1.1" or ""
	Lines    []string // text after the code and separator, enhanced code removed from the first line
}

// Temporary reports a 4yz reply; Permanent a 5yz reply.
func (r Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }
func (r Reply) Permanent() bool { return r.Code >= 500 && r.Code < 600 }

// Positive reports a 2yz or 3yz reply.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// String renders the reply on one line, as kept in logs, the queue and
// DSN Diagnostic-Code fields ("550 5.1.1 no such user").
func (r Reply) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(r.Code))
	if r.Enhanced != "" {
		b.WriteString(" " + r.Enhanced)
	}
	for _, l := range r.Lines {
		if l != "" {
			b.WriteString(" " + l)
		}
	}
	return sanitizeText(b.String())
}

// sanitizeText keeps printable ASCII (and spaces) so a remote reply can
// be stored and put in a DSN header without breaking it.
func sanitizeText(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c >= 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}

// ErrBadReply is returned for a reply that does not follow RFC 5321 §4.2.
var ErrBadReply = errors.New("malformed SMTP reply")

// ReadReply reads one (possibly multi-line) reply. Every line must carry
// the same code; "-" after the code continues the reply, " " (or the end
// of the line) ends it.
func ReadReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	for n := 0; ; n++ {
		if n >= MaxReplyLines {
			return rep, fmt.Errorf("more than %d lines: %w", MaxReplyLines, ErrBadReply)
		}
		line, err := ReadLine(r, MaxReplyLine)
		if errors.Is(err, ErrLineTooLong) {
			return rep, fmt.Errorf("reply line too long: %w", ErrBadReply)
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return rep, err
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) < 3 {
			return rep, fmt.Errorf("short line %q: %w", line, ErrBadReply)
		}
		code, err := strconv.Atoi(string(line[:3]))
		if err != nil || code < 200 || code > 599 || line[0] < '2' {
			return rep, fmt.Errorf("bad code in %q: %w", line, ErrBadReply)
		}
		if n > 0 && code != rep.Code {
			return rep, fmt.Errorf("code changed within a reply: %w", ErrBadReply)
		}
		rep.Code = code
		more := false
		text := ""
		if len(line) > 3 {
			switch line[3] {
			case '-':
				more = true
			case ' ':
			default:
				return rep, fmt.Errorf("bad separator in %q: %w", line, ErrBadReply)
			}
			text = string(line[4:])
		}
		if n == 0 {
			if enh, rest, ok := cutEnhanced(text, code); ok {
				rep.Enhanced, text = enh, rest
			}
		}
		rep.Lines = append(rep.Lines, text)
		if !more {
			return rep, nil
		}
	}
}

// cutEnhanced splits "5.1.1 text" when the class matches the reply code's
// first digit (RFC 3463 §2, RFC 2034 §4).
func cutEnhanced(text string, code int) (enh, rest string, ok bool) {
	tok, rest, _ := strings.Cut(text, " ")
	if !IsEnhanced(tok) || int(tok[0]-'0') != code/100 {
		return "", text, false
	}
	return tok, rest, true
}

// IsEnhanced reports whether s is an enhanced status code class.subject.detail
// (RFC 3463 §2: class 2, 4 or 5; subject 1-3 digits; detail 1-3 digits).
func IsEnhanced(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// Extensions parses the lines of an EHLO reply (RFC 5321 §4.1.1.1): the
// first line is the greeting, each further line a keyword with optional
// parameters. Keys are upper-case.
func Extensions(r Reply) map[string]string {
	ext := map[string]string{}
	for i, l := range r.Lines {
		if i == 0 {
			continue
		}
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k != "" && len(ext) < MaxReplyLines {
			ext[strings.ToUpper(k)] = v
		}
	}
	return ext
}
