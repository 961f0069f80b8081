package imap

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// Status is the condition of a status response (RFC 9051 §7.1).
type Status string

// Status conditions.
const (
	OK      Status = "OK"
	NO      Status = "NO"
	BAD     Status = "BAD"
	PREAUTH Status = "PREAUTH" // greeting only
	BYE     Status = "BYE"     // untagged only
)

// Writer encodes server responses. Every method writes one complete
// response into a buffer; nothing reaches the client before Flush. Errors
// are sticky: after a write error every method returns it. A Writer is not
// safe for concurrent use.
type Writer struct {
	// UTF8 is set once the client enabled UTF8=ACCEPT or IMAP4rev2: UTF-8
	// may then appear in quoted strings and mailbox names are sent as UTF-8
	// instead of modified UTF-7 (RFC 6855 §3, RFC 9051 §5.1).
	UTF8 bool

	bw  *bufio.Writer
	buf []byte
	err error
}

// NewWriter returns a Writer writing to w, buffered unless w already is a
// *bufio.Writer.
func NewWriter(w io.Writer) *Writer {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	return &Writer{bw: bw}
}

// Reset makes the Writer write to w, as after STARTTLS or COMPRESS. Flush
// first.
func (w *Writer) Reset(wr io.Writer) {
	bw, ok := wr.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(wr)
	}
	w.bw = bw
	w.err = nil
}

// Flush sends buffered responses to the client.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.bw == nil {
		return nil // detached: nothing buffered
	}
	w.err = w.bw.Flush()
	return w.err
}

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// line returns the scratch buffer to build a response in.
func (w *Writer) line() []byte { return w.buf[:0] }

// send writes b plus CRLF.
func (w *Writer) send(b []byte) error {
	b = append(b, '\r', '\n')
	if cap(b) <= 64<<10 {
		w.buf = b[:0]
	}
	return w.write(b)
}

func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.bw == nil {
		w.err = errDetached
		return w.err
	}
	_, w.err = w.bw.Write(b)
	return w.err
}

// WriteLine writes a response built by the caller (with AppendString and
// friends) and adds the CRLF. For extensions this package lacks.
func (w *Writer) WriteLine(line []byte) error {
	return w.send(append(w.line(), line...))
}

// Tagged writes the tagged completion of a command: "tag OK [code] text"
// (RFC 9051 §7.1).
func (w *Writer) Tagged(tag string, st Status, code Code, text string) error {
	b := append(w.line(), tag...)
	b = append(b, ' ')
	return w.send(w.appendStatus(b, st, code, text))
}

// Untagged writes "* OK [code] text", "* BYE text" and the like.
func (w *Writer) Untagged(st Status, code Code, text string) error {
	return w.send(w.appendStatus(append(w.line(), "* "...), st, code, text))
}

func (w *Writer) appendStatus(b []byte, st Status, code Code, text string) []byte {
	b = append(b, st...)
	b = append(b, ' ')
	if code != "" {
		b = append(b, '[')
		b = appendText(b, string(code), false)
		b = append(b, "] "...)
	}
	// resp-text needs text (RFC 3501), and a leading "[" would be taken
	// for a response code.
	if text == "" {
		text = strings.ToLower(string(st))
	} else if code == "" && text[0] == '[' {
		text = strings.ToLower(string(st)) + " " + text
	}
	return appendText(b, text, w.UTF8)
}

// appendText appends resp text with CR, LF and NUL replaced by spaces and,
// unless utf8, 8-bit bytes by "?" (RFC 9051 §9 text).
func appendText(b []byte, s string, utf8Mode bool) []byte {
	if utf8Mode && !utf8.ValidString(s) {
		utf8Mode = false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			b = append(b, ' ')
		case c >= 0x80 && !utf8Mode:
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return b
}

// Continue writes a continuation request "+ text" (RFC 9051 §7.6), e.g.
// before reading a synchronizing literal or during IDLE.
func (w *Writer) Continue(text string) error {
	b := append(w.line(), "+ "...)
	if text == "" {
		text = "Ready"
	}
	return w.send(appendText(b, text, w.UTF8))
}

// ContinueData writes a SASL challenge "+ base64" (RFC 9051 §6.2.2); an
// empty challenge is "+ " followed by nothing.
func (w *Writer) ContinueData(data []byte) error {
	return w.send(appendBase64(append(w.line(), "+ "...), data))
}

// WriteParseError answers a *ParseError from the Reader: "tag BAD [code]
// msg" (NO when e.No), or "* BAD msg" without a tag, and then, when the
// error is fatal, "* BYE"; the server closes the connection after a fatal
// error.
func (w *Writer) WriteParseError(e *ParseError) error {
	st := BAD
	if e.No {
		st = NO
	}
	if e.Tag == "" {
		w.Untagged(st, e.Code, e.Msg)
	} else {
		w.Tagged(e.Tag, st, e.Code, e.Msg)
	}
	if e.Fatal {
		w.Untagged(BYE, "", "closing connection: lost command synchronization")
	}
	return w.err
}

// Capability writes "* CAPABILITY ..." (RFC 9051 §7.2.2).
func (w *Writer) Capability(caps ...string) error {
	return w.atoms("CAPABILITY", caps)
}

// Enabled writes "* ENABLED ..." (RFC 5161 §3.2).
func (w *Writer) Enabled(caps ...string) error {
	return w.atoms("ENABLED", caps)
}

func (w *Writer) atoms(name string, atoms []string) error {
	b := append(w.line(), "* "...)
	b = append(b, name...)
	for _, a := range atoms {
		b = append(append(b, ' '), a...)
	}
	return w.send(b)
}

// Flags writes "* FLAGS (...)" (RFC 9051 §7.3.5).
func (w *Writer) Flags(flags ...string) error {
	b := append(w.line(), "* FLAGS "...)
	return w.send(appendList(b, flags, appendRaw))
}

func (w *Writer) number(n uint32, name string) error {
	b := appendUint(append(w.line(), "* "...), n)
	return w.send(append(append(b, ' '), name...))
}

// Exists writes "* n EXISTS" (RFC 9051 §7.4.1).
func (w *Writer) Exists(n uint32) error { return w.number(n, "EXISTS") }

// Recent writes "* n RECENT" (RFC 3501 §7.3.2; IMAP4rev1 only).
func (w *Writer) Recent(n uint32) error { return w.number(n, "RECENT") }

// Expunge writes "* seq EXPUNGE" (RFC 9051 §7.5.1).
func (w *Writer) Expunge(seq uint32) error { return w.number(seq, "EXPUNGE") }

// Vanished writes "* VANISHED [(EARLIER)] uids" (RFC 7162 §3.2.10).
// Callers split very large sets over several responses if they want
// short lines.
func (w *Writer) Vanished(earlier bool, uids SeqSet) error {
	b := append(w.line(), "* VANISHED "...)
	if earlier {
		b = append(b, "(EARLIER) "...)
	}
	return w.send(uids.appendTo(b))
}
