package imap

import (
	"io"
	"time"
	"unsafe"
)

// AppendCmd is APPEND mailbox message... (RFC 9051 §6.3.12, MULTIAPPEND
// RFC 3502, BINARY RFC 3516).
//
// Messages are not buffered. ReadCommand returns the command as soon as
// the first message literal has been accepted (by Limits and the OnLiteral
// hook, which sees LiteralInfo.Message); Message.Body then streams it from
// the connection. The server reads it, then calls Reader.NextAppendMessage
// for the next message of a MULTIAPPEND, until that returns (nil, nil):
//
//	for m := a.Message; m != nil; m, err = r.NextAppendMessage() { ... }
//
// The command is complete and well-formed only once NextAppendMessage has
// returned (nil, nil); commit nothing before. A server that gives up early
// simply answers and calls ReadCommand, which skips what is left.
type AppendCmd struct {
	Mailbox string
	Message *AppendMessage
}

// AppendMessage is one message of an APPEND.
type AppendMessage struct {
	Flags []string  // system flags in canonical case; nil if none given
	Date  time.Time // the internal date; zero when not given
	// Binary is set for a literal8 "~{n}": the message may contain NUL and
	// 8-bit data in any part (RFC 3516).
	Binary bool
	Size   int64
	// Body yields exactly Size octets, or io.ErrUnexpectedEOF if the
	// connection ends first. It is valid until the next call on the Reader.
	// It is nil for a CATENATE message.
	Body io.Reader
	// Catenate holds the parts of a CATENATE message (RFC 4469 §5), nil
	// for a message literal: the server builds the message from them.
	Catenate []CatPart
}

// CatPart is one part of a CATENATE message: the URL of a message or body
// part to include (RFC 4469 §5, an IMAP URL as in RFC 5092), or text.
type CatPart struct {
	URL  string // "" for a TEXT part
	Text []byte // the TEXT literal, read into memory (it counts to MaxCommand)
	// Binary is set for a TEXT literal8 (RFC 4469 §6 with BINARY).
	Binary bool
}

func parseAppend(r *Reader, _ *Command) Args {
	r.sp()
	a := &AppendCmd{Mailbox: r.mailbox()}
	r.sp()
	a.Message = r.appendMessage()
	return a
}

// appendMessage parses [flag-list SP] [date-time SP] (literal / literal8)
// and opens the message literal for streaming.
func (r *Reader) appendMessage() *AppendMessage {
	m := &AppendMessage{}
	if r.peek() == '(' {
		m.Flags = r.flagList()
		r.sp()
	}
	if r.peek() == '"' {
		m.Date = r.dateTime()
		r.sp()
	}
	if r.peekKeyword("CATENATE") {
		return r.catenate(m)
	}
	if !r.ok() {
		return nil
	}
	h := r.lit
	if h == nil || h.start != r.pos {
		r.fail("expected message literal")
		return nil
	}
	if err := r.admitLiteral(h, true); err != nil {
		r.setErr(err)
		return nil
	}
	r.lit = nil
	r.pos = len(r.line)
	m.Binary = h.binary
	m.Size = int64(h.size)
	r.body = &msgBody{br: r.br, n: m.Size}
	m.Body = r.body
	r.app = true
	return m
}

// catenate parses "CATENATE" SP "(" cat-part *(SP cat-part) ")" (RFC 4469
// §5). TEXT literals are read into memory. What follows on the line (the
// next message of a MULTIAPPEND) is left for NextAppendMessage.
func (r *Reader) catenate(m *AppendMessage) *AppendMessage {
	r.expectKeyword("CATENATE")
	r.sp()
	m.Catenate = []CatPart{}
	r.list(false, func() {
		r.charge(int64(unsafe.Sizeof(CatPart{})))
		switch kw := r.keyword(); kw {
		case "URL":
			r.sp()
			u := r.astring()
			if r.ok() && u == "" {
				r.fail("empty CATENATE URL")
			}
			m.Catenate = append(m.Catenate, CatPart{URL: u})
		case "TEXT":
			r.sp()
			binary := r.lit != nil && r.lit.start == r.pos && r.lit.binary
			if !r.isLiteralStart() {
				r.fail("CATENATE TEXT must be a literal")
				return
			}
			data := r.literal(true)
			m.Catenate = append(m.Catenate, CatPart{Text: data, Binary: binary})
		default:
			if r.ok() {
				r.fail("unknown CATENATE part %s", kw)
			}
		}
	})
	if !r.ok() {
		return nil
	}
	r.catPos, r.catPending = r.pos, true
	r.pos = len(r.line)
	r.app = true
	return m
}

// NextAppendMessage finishes the current APPEND message, discarding what
// the server did not read of it, and returns the next message of a
// MULTIAPPEND, or (nil, nil) when the command ended cleanly. Errors are as
// for ReadCommand; after one the command has been skipped.
func (r *Reader) NextAppendMessage() (*AppendMessage, error) {
	if !r.app {
		return nil, nil
	}
	r.app = false
	if r.body != nil {
		if err := r.body.drain(); err != nil {
			return nil, err
		}
		r.body = nil
	}
	if r.catPending {
		// After a CATENATE message the command goes on on the same line.
		r.pos, r.catPending = r.catPos, false
	} else if err := r.readLine(); err != nil {
		r.setErr(err)
		return nil, r.finishErr()
	}
	if r.atEOL() {
		return nil, nil
	}
	if r.cmd == "REPLACE" {
		// RFC 8508 §6: one message only.
		r.fail("REPLACE takes one message")
		r.app = false
		return nil, r.finishErr()
	}
	r.sp()
	m := r.appendMessage()
	if r.err != nil {
		r.app = false
		return nil, r.finishErr()
	}
	return m, nil
}

// ReplaceCmd is REPLACE seq-number mailbox message (RFC 8508 §3): the
// message is streamed as for APPEND; NextAppendMessage then ends the
// command (it has one message only). Num is a UID for UID REPLACE.
type ReplaceCmd struct {
	Num     uint32
	Mailbox string
	Message *AppendMessage
}

func parseReplace(r *Reader, _ *Command) Args {
	r.sp()
	a := &ReplaceCmd{Num: r.nzNumber()}
	r.sp()
	a.Mailbox = r.mailbox()
	r.sp()
	a.Message = r.appendMessage()
	return a
}

func (a *ReplaceCmd) appendArgs(b []byte) []byte {
	b = appendUint(append(b, ' '), a.Num)
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	if m := a.Message; m != nil {
		b = m.appendHeader(append(b, ' '))
	}
	return b
}

// abortAppend skips the rest of an APPEND the server stopped reading.
func (r *Reader) abortAppend() error {
	r.app = false
	if r.catPending {
		// The rest of the current line is the command's rest.
		r.catPending = false
		return r.skipCommand()
	}
	if r.body != nil {
		if err := r.body.drain(); err != nil {
			return err
		}
		r.body = nil
	}
	if err := r.readLine(); err != nil {
		if _, ok := err.(*ParseError); !ok {
			return err
		}
	}
	return r.skipCommand()
}

// appendArgs writes the first message's literal header only: the data is
// streamed and not kept.
func (a *AppendCmd) appendArgs(b []byte) []byte {
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	if m := a.Message; m != nil {
		b = m.appendHeader(append(b, ' '))
	}
	return b
}

// appendHeader appends [flags SP] [date SP] "{size}".
func (m *AppendMessage) appendHeader(b []byte) []byte {
	if m.Flags != nil {
		b = appendList(b, m.Flags, appendRaw)
		b = append(b, ' ')
	}
	if !m.Date.IsZero() {
		b = appendDateTime(b, m.Date)
		b = append(b, ' ')
	}
	if m.Catenate != nil {
		b = append(b, "CATENATE "...)
		return appendList(b, m.Catenate, func(b []byte, p CatPart) []byte {
			if p.URL != "" {
				return AppendAString(append(b, "URL "...), p.URL, false)
			}
			b = append(b, "TEXT "...)
			if p.Binary {
				b = append(b, '~')
			}
			b = appendUint(append(b, '{'), len(p.Text))
			return append(append(b, "}\r\n"...), p.Text...)
		})
	}
	if m.Binary {
		b = append(b, '~')
	}
	b = appendUint(append(b, '{'), m.Size)
	return append(b, '}')
}
