package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// LiteralInfo describes a literal the client announced, passed to the
// Reader's OnLiteral hook before any of its data is read.
type LiteralInfo struct {
	Tag     string // tag of the command being read
	Command string // upper-case command name, e.g. "APPEND"
	Size    int64
	// Sync is set for a synchronizing literal "{n}": the client waits for a
	// continuation request ("+ ...", RFC 9051 §7.6), which the hook must
	// send (and flush) before returning nil. A non-synchronizing literal
	// "{n+}" (RFC 7888) is already on its way; the hook must not answer it.
	Sync bool
	// Binary is set for a literal8 "~{n}" (RFC 3516 BINARY).
	Binary bool
	// Message is set for an APPEND message literal: compare Size with the
	// APPENDLIMIT (RFC 7889) and quota, and reject with
	// Reject(true, CodeTooBig, ...) or Reject(true, CodeOverQuota, ...).
	Message bool
}

// Reader parses client commands from a buffered connection. It is not safe
// for concurrent use; one session goroutine owns it.
type Reader struct {
	// Limits bounds every command; zero fields take their defaults.
	Limits Limits
	// OnLiteral is called before every literal is read, with the size
	// already checked against Limits. It sends the continuation request
	// for a synchronizing literal, or refuses the literal: a *ParseError
	// (see Reject) makes the command fail with that response and the
	// literal is never read (synchronizing) or discarded (non-synchronizing);
	// any other error is an I/O failure returned as is. When nil, literals
	// are accepted without a continuation request, which suits tests only.
	OnLiteral func(LiteralInfo) error
	// UTF8 is set once the client enabled UTF8=ACCEPT (RFC 6855) or
	// IMAP4rev2 (RFC 9051 §6.3.1): quoted strings may hold UTF-8 and
	// mailbox names are UTF-8 rather than modified UTF-7.
	UTF8 bool
	// LiteralMinus is set when the server advertises LITERAL- rather than
	// LITERAL+: non-synchronizing literals over 4096 octets are refused
	// with BAD [TOOBIG] (RFC 7888).
	LiteralMinus bool

	br  *bufio.Reader
	lim Limits

	line    []byte     // current line, without CRLF
	pos     int        // parse position in line
	lit     *litHeader // literal announced at the end of line, not yet read
	tooLong bool       // line was longer than MaxLine and got truncated

	err   error  // first error of the current command (sticky)
	tag   string // tag of the current command ("" until parsed)
	cmd   string // name of the current command
	size  int64  // bytes of the current command held in memory
	nlit  int    // literals in the current command
	depth int    // nesting depth while parsing
	// nameErr is the first invalid mailbox name of the current command: a
	// NO, not a BAD (RFC 9051 §5.1 names are not syntax), raised once the
	// command has parsed so that a real syntax error still answers BAD.
	nameErr *ParseError

	body *msgBody // open APPEND message, or nil
	app  bool     // an APPEND command is being read (via NextAppendMessage)
	// catPending: a CATENATE message ended at catPos of the current line,
	// where the command goes on (cmd_append.go).
	catPending bool
	catPos     int
}

// litHeader is a literal announcement found at the end of a line.
type litHeader struct {
	size   uint64 // saturates at math.MaxUint64
	sync   bool
	binary bool
	start  int // offset of "{" (or "~") in the line
}

// NewReader returns a Reader reading commands from br.
func NewReader(br *bufio.Reader, lim Limits) *Reader {
	return &Reader{br: br, Limits: lim}
}

// Reset makes the Reader read from br, as after STARTTLS or COMPRESS
// (RFC 4978): for COMPRESS build the decompressor on top of the old
// *bufio.Reader, which may already hold compressed bytes. Session state
// (UTF8, hooks) is kept.
func (r *Reader) Reset(br *bufio.Reader) {
	r.br = br
	r.body = nil
	r.app = false
}

// Buffered returns the number of bytes read from the connection but not yet
// parsed. After STARTTLS it must be zero: bytes pipelined after the command
// were sent in the clear and must not be honoured (RFC 9051 §6.2.1); close
// the connection otherwise.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// ReadCommand reads and parses the next command. On a *ParseError the
// failed command has been skipped and the session can go on unless Fatal is
// set; other errors are I/O errors (io.EOF at a clean end of input).
//
// An APPEND still open from the previous call (see NextAppendMessage) is
// drained and skipped first.
func (r *Reader) ReadCommand() (*Command, error) {
	if r.app {
		if err := r.abortAppend(); err != nil {
			return nil, err
		}
	}
	r.begin()
	if err := r.readLine(); err != nil {
		if err == io.ErrUnexpectedEOF && len(r.line) == 0 {
			err = io.EOF
		}
		if _, ok := err.(*ParseError); !ok {
			return nil, err
		}
		// Too long: salvage the tag from what was kept.
		r.tag = r.peekTag()
		r.err = err
		return nil, r.finishErr()
	}
	c := r.parseCommand()
	if r.err == nil && r.nameErr != nil {
		r.err = r.nameErr
	}
	if r.err != nil {
		r.app = false
		return nil, r.finishErr()
	}
	return c, nil
}

// ReadIdleDone reads the line that ends IDLE (RFC 2177, RFC 9051 §6.3.13).
// It returns nil for "DONE" (any case) and a *ParseError, tagged with the
// IDLE command's tag, for anything else.
func (r *Reader) ReadIdleDone() error {
	tag := r.tag
	r.begin()
	r.tag = tag
	if err := r.readLine(); err != nil {
		r.err = err
		r.lit = nil // no literals in this exchange
		return r.finishErr()
	}
	if !strings.EqualFold(string(r.line), "DONE") {
		r.fail("expected DONE")
		r.lit = nil // a stray "{n}" here is not a literal
		return r.finishErr()
	}
	return nil
}

// ReadAuthResponse reads one client response of an AUTHENTICATE exchange
// (RFC 9051 §6.2.2): a line of base64, decoded. It returns ErrAuthCanceled
// for "*", and a *ParseError for bad base64 or an over-long line.
func (r *Reader) ReadAuthResponse() ([]byte, error) {
	tag := r.tag
	r.begin()
	r.tag = tag
	if err := r.readLine(); err != nil {
		r.err = err
		r.lit = nil // no literals in this exchange
		return nil, r.finishErr()
	}
	r.lit = nil
	if string(r.line) == "*" {
		return nil, ErrAuthCanceled
	}
	b, err := decodeBase64(r.line)
	if err != nil {
		r.fail("invalid base64 in authentication response")
		return nil, r.finishErr()
	}
	return b, nil
}

// begin resets per-command state.
func (r *Reader) begin() {
	r.lim = r.Limits.withDefaults()
	r.err = nil
	r.nameErr = nil
	r.tag = ""
	r.cmd = ""
	r.size = 0
	r.nlit = 0
	r.depth = 0
	r.lit = nil
	r.catPending = false
	r.line = r.line[:0]
	r.pos = 0
	// Keep the line buffer from pinning a large allocation forever.
	if cap(r.line) > 64<<10 {
		r.line = nil
	}
}

// readLine reads the next line of the current command into r.line,
// without its CRLF (a bare LF is tolerated), and notes a literal announced
// at its end. A line over MaxLine is consumed but truncated: its start
// (for the tag) and end (for a literal announcement) are kept and a
// *ParseError is returned.
func (r *Reader) readLine() error {
	r.line = r.line[:0]
	r.pos = 0
	r.lit = nil
	r.tooLong = false
	var tail []byte
	var n int64
	for {
		frag, err := r.br.ReadSlice('\n')
		n += int64(len(frag))
		if !r.tooLong && len(r.line)+len(frag) > r.lim.MaxLine+2 {
			r.tooLong = true
			if len(r.line) > 64 {
				r.line = r.line[:64]
			}
			tail = append(tail, r.line...)
		}
		if r.tooLong {
			tail = append(tail, frag...)
			if len(tail) > 128 {
				tail = append(tail[:0], tail[len(tail)-64:]...)
			}
		} else {
			r.line = append(r.line, frag...)
		}
		if err == nil {
			break
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	r.size += n
	if r.tooLong {
		tail = trimEOL(tail)
		if h, ok := parseLitTail(tail); ok {
			h.start = -1 // not in r.line
			r.lit = &h
		}
		return &ParseError{Msg: "line too long", Code: CodeTooBig}
	}
	r.line = trimEOL(r.line)
	if h, ok := parseLitTail(r.line); ok {
		r.lit = &h
	}
	if r.size > r.lim.MaxCommand {
		return &ParseError{Msg: "command too long", Code: CodeTooBig}
	}
	return nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// parseLitTail recognises "{n}", "{n+}", "~{n}" or "~{n+}" at the end of a
// line (RFC 9051 §4.3, RFC 7888, RFC 3516).
func parseLitTail(line []byte) (litHeader, bool) {
	n := len(line)
	if n < 3 || line[n-1] != '}' {
		return litHeader{}, false
	}
	i := n - 2
	h := litHeader{sync: true}
	if line[i] == '+' {
		h.sync = false
		i--
	}
	j := i
	for j >= 0 && line[j] >= '0' && line[j] <= '9' {
		j--
	}
	if j == i || j < 0 || line[j] != '{' {
		return litHeader{}, false
	}
	for _, c := range line[j+1 : i+1] {
		d := uint64(c - '0')
		if h.size > (math.MaxUint64-d)/10 {
			h.size = math.MaxUint64
			break
		}
		h.size = h.size*10 + d
	}
	h.start = j
	if j > 0 && line[j-1] == '~' {
		h.binary = true
		h.start = j - 1
	}
	return h, true
}

// peekTag returns the tag at the start of r.line, if it is a valid one.
func (r *Reader) peekTag() string {
	i := 0
	for i < len(r.line) && isTagChar(r.line[i]) {
		i++
	}
	if i == 0 || i == len(r.line) || r.line[i] != ' ' {
		return ""
	}
	return string(r.line[:i])
}

// finishErr turns the sticky error into what ReadCommand returns: a
// *ParseError after skipping the rest of the command, or an I/O error.
func (r *Reader) finishErr() error {
	var pe *ParseError
	if !errors.As(r.err, &pe) || pe != r.err {
		return r.err
	}
	if pe.Tag == "" {
		pe.Tag = r.tag
	}
	if pe.Fatal {
		return pe
	}
	if err := r.skipCommand(); err != nil {
		if _, ok := err.(*ParseError); !ok {
			return err
		}
		pe.Fatal = true
	}
	return pe
}

// skipCommand discards the rest of a failed command. The current line has
// been read completely; what remains are non-synchronizing literals and
// the lines after them. A synchronizing literal ends the command: the
// client waits for a continuation that never comes and reads our BAD
// instead (RFC 9051 §7.6).
func (r *Reader) skipCommand() error {
	budget := r.lim.MaxCommand + r.lim.MaxLiteral
	var skipped int64
	for {
		h := r.lit
		if h == nil || h.sync {
			r.lit = nil
			return nil
		}
		if h.size > uint64(r.lim.MaxLiteral) {
			return &ParseError{Msg: "non-synchronizing literal too large to skip", Code: CodeTooBig, Fatal: true}
		}
		skipped += int64(h.size)
		if skipped > budget {
			return &ParseError{Msg: "command too large to skip", Code: CodeTooBig, Fatal: true}
		}
		r.lit = nil
		if _, err := r.br.Discard(int(h.size)); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		r.size = 0 // the budget above bounds skipping, not MaxCommand
		if err := r.readLine(); err != nil {
			if _, ok := err.(*ParseError); !ok {
				return err
			}
		}
		skipped += int64(len(r.line))
	}
}

// charge counts n bytes of parsed structure against MaxCommand, so that a
// command of many small elements cannot expand into much more memory than
// its size on the wire.
func (r *Reader) charge(n int64) {
	r.size += n
	if r.size > r.lim.MaxCommand {
		r.failCode(CodeTooBig, "command too large")
	}
}

// fail records a parse error unless one is already recorded.
func (r *Reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &ParseError{Msg: fmt.Sprintf(format, args...)}
	}
}

// failCode records a parse error with a response code.
func (r *Reader) failCode(code Code, format string, args ...any) {
	if r.err == nil {
		r.err = &ParseError{Msg: fmt.Sprintf(format, args...), Code: code}
	}
}

// setErr records err (a *ParseError or an I/O error) unless one is already
// recorded.
func (r *Reader) setErr(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Reader) ok() bool { return r.err == nil }

// admitLiteral checks the literal announced at the end of the line against
// the limits and asks the OnLiteral hook. On success the literal may be
// read.
func (r *Reader) admitLiteral(h *litHeader, message bool) error {
	if r.nameErr != nil {
		// Refuse before the client sends more of a command that fails.
		return r.nameErr
	}
	r.nlit++
	if r.nlit > r.lim.MaxLiterals {
		return &ParseError{Msg: "too many literals in one command", Code: CodeLimit}
	}
	if !h.sync && r.LiteralMinus && h.size > literalMinusMax {
		return &ParseError{Msg: "non-synchronizing literal over 4096 octets (LITERAL-)", Code: CodeTooBig}
	}
	if h.size > uint64(r.lim.MaxLiteral) {
		return &ParseError{Msg: "literal too large", Code: CodeTooBig, No: message}
	}
	if !message && r.size+int64(h.size) > r.lim.MaxCommand {
		return &ParseError{Msg: "command too large", Code: CodeTooBig}
	}
	if r.OnLiteral == nil {
		return nil
	}
	err := r.OnLiteral(LiteralInfo{
		Tag:     r.tag,
		Command: r.cmd,
		Size:    int64(h.size),
		Sync:    h.sync,
		Binary:  h.binary,
		Message: message,
	})
	if err == nil {
		return nil
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		cp := *pe
		cp.Tag, cp.Fatal = "", false
		if cp.Err == nil && pe != err {
			cp.Err = err
		}
		return &cp
	}
	return err
}

// literal reads the literal announced at the current position into memory
// and moves on to the next line of the command.
func (r *Reader) literal(allowBinary bool) []byte {
	if !r.ok() {
		return nil
	}
	h := r.lit
	if h == nil || h.start != r.pos {
		r.fail("literal must end the line")
		return nil
	}
	if h.binary && !allowBinary {
		r.fail("literal8 not allowed here")
		return nil
	}
	if err := r.admitLiteral(h, false); err != nil {
		r.setErr(err)
		return nil
	}
	r.lit = nil
	n := int64(h.size)
	// Grow as data arrives rather than trusting the announced size.
	var buf bytes.Buffer
	buf.Grow(int(min(n, 4096)))
	if _, err := io.CopyN(&buf, r.br, n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.setErr(err)
		return nil
	}
	r.size += n
	data := buf.Bytes()
	if data == nil {
		data = []byte{}
	}
	if err := r.readLine(); err != nil {
		r.setErr(err)
		return nil
	}
	if !h.binary && bytes.IndexByte(data, 0) >= 0 {
		// RFC 9051 §4.3: CHAR8 excludes NUL; binary data needs literal8.
		r.fail("NUL in literal")
		return nil
	}
	return data
}

// msgBody streams an APPEND message literal from the connection.
type msgBody struct {
	br     *bufio.Reader
	n      int64 // bytes left
	closed bool
	err    error
}

var errBodyClosed = errors.New("imap: APPEND message read after the Reader moved on")

func (b *msgBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errBodyClosed
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	b.err = err
	return n, err
}

// drain discards what the server did not read of the message.
func (b *msgBody) drain() error {
	if b.err != nil {
		return b.err
	}
	for b.n > 0 {
		k := int(min(b.n, 1<<20))
		m, err := b.br.Discard(k)
		b.n -= int64(m)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			b.err = err
			return err
		}
	}
	b.closed = true
	return nil
}
