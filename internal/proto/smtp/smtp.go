// Package smtp is the wire format of SMTP (RFC 5321) and LMTP (RFC 2033)
// for a server: command lines, paths with parameters, and the DATA
// transparency procedure. It is pure: no storage, no network.
//
// DATA is read strictly: the only end of data is CRLF "." CRLF, and a bare
// CR or LF anywhere in the data makes the message invalid
// (ErrBareLineEnding) — the ambiguity SMTP smuggling exploits
// (<LF>.<LF>, <CR><LF>.<LF>, …) never reaches a mailbox.
package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound what a client controls.
const (
	MaxCommandLine = 4096 // RFC 5321 §4.5.3.1.4 says 512; extensions need more
	MaxPathLen     = 256  // RFC 5321 §4.5.3.1.3
	MaxParams      = 16
)

// Errors of the parser. Each maps to a reply code in the server.
var (
	ErrLineTooLong    = errors.New("line too long")
	ErrSyntax         = errors.New("syntax error")
	ErrBareLineEnding = errors.New("bare CR or LF in message data")
	ErrTooBig         = errors.New("message exceeds the size limit")
)

// Command is one parsed command line.
type Command struct {
	Verb string // upper-case: HELO, EHLO, LHLO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, STARTTLS, AUTH, …
	Arg  string // the rest of the line, unparsed
}

// ReadCommand reads one command line (CRLF-terminated; a bare LF is
// accepted as a command terminator, as most servers do). A line over
// MaxCommandLine is consumed and ErrLineTooLong returned, so the session
// can answer and go on.
func ReadCommand(r *bufio.Reader) (Command, error) {
	return ReadCommandMax(r, MaxCommandLine)
}

// ReadCommandMax is ReadCommand with a line limit of max octets, CRLF
// excluded (submission uses the RFC 5321 §4.5.3.1.5 text-line limit).
func ReadCommandMax(r *bufio.Reader, max int) (Command, error) {
	line, err := ReadLine(r, max)
	if err != nil {
		return Command{}, err
	}
	s := string(line)
	verb, arg, _ := strings.Cut(s, " ")
	return Command{Verb: strings.ToUpper(verb), Arg: strings.TrimSpace(arg)}, nil
}

// ReadLine reads one line (without its CRLF or LF) of at most max octets.
// A longer line is consumed to its end and ErrLineTooLong returned.
func ReadLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		if !tooLong {
			if len(line)+len(chunk) > max {
				tooLong = true
				line = nil
			} else {
				line = append(line, chunk...)
			}
		}
		if !isPrefix {
			break
		}
	}
	if tooLong {
		return nil, ErrLineTooLong
	}
	return line, nil
}

// Path is a reverse-path or forward-path with its ESMTP parameters.
type Path struct {
	Addr   string            // "" for the null reverse-path <>
	Params map[string]string // upper-case keys; value "" for a keyword alone
}

// ParsePath parses the argument of MAIL ("FROM:<a@b> SIZE=10") or RCPT
// ("TO:<a@b>") after the given prefix ("FROM:" or "TO:").
func ParsePath(arg, prefix string) (Path, error) {
	var p Path
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return p, fmt.Errorf("expected %s<address>: %w", prefix, ErrSyntax)
	}
	rest := strings.TrimLeft(arg[len(prefix):], " ")
	if !strings.HasPrefix(rest, "<") {
		return p, fmt.Errorf("address must be in angle brackets: %w", ErrSyntax)
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return p, fmt.Errorf("unterminated address: %w", ErrSyntax)
	}
	addr := rest[1:end]
	// Source routes (RFC 5321 §4.1.2, obsolete) are accepted and ignored.
	if strings.HasPrefix(addr, "@") {
		if i := strings.IndexByte(addr, ':'); i >= 0 {
			addr = addr[i+1:]
		}
	}
	if len(addr) > MaxPathLen {
		return p, fmt.Errorf("address too long: %w", ErrSyntax)
	}
	if addr != "" {
		if err := CheckAddress(addr); err != nil {
			return p, err
		}
	}
	p.Addr = addr
	params := strings.Fields(rest[end+1:])
	if len(params) > MaxParams {
		return p, fmt.Errorf("too many parameters: %w", ErrSyntax)
	}
	for _, kv := range params {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return p, fmt.Errorf("empty parameter: %w", ErrSyntax)
		}
		if p.Params == nil {
			p.Params = map[string]string{}
		}
		p.Params[strings.ToUpper(k)] = v
	}
	return p, nil
}

// CheckAddress accepts local@domain with printable characters (UTF-8
// allowed for SMTPUTF8), no controls or spaces, and a plausible domain.
func CheckAddress(a string) error {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return fmt.Errorf("address %q needs local@domain: %w", a, ErrSyntax)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '\\' && !strings.HasPrefix(a, `"`) {
			return fmt.Errorf("address %q contains %q: %w", a, c, ErrSyntax)
		}
	}
	d := a[at+1:]
	if strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return fmt.Errorf("bad domain in %q: %w", a, ErrSyntax)
	}
	return nil
}

// DataReader reads message data after DATA until CRLF.CRLF, undoing dot
// stuffing. Read returns ErrBareLineEnding for a bare CR or LF (after which
// Drain must be called to find the real end), and ErrTooBig past max
// bytes. The returned bytes are the message as the client meant it, with
// CRLF line endings.
type DataReader struct {
	r       *bufio.Reader
	max     int64
	n       int64
	state   int // 0 start of line, 1 in line, 2 saw CR, 3 done
	pending []byte
	err     error
	// slow turns the run copy off: byte by byte only (the differential
	// fuzz target compares both).
	slow bool
}

// NewDataReader returns a reader of the data that follows a 354 reply.
func NewDataReader(r *bufio.Reader, max int64) *DataReader {
	return &DataReader{r: r, max: max}
}

func (d *DataReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n := 0
	for n < len(p) {
		if len(d.pending) > 0 {
			k := copy(p[n:], d.pending)
			d.pending = d.pending[k:]
			n += k
			continue
		}
		if d.state == 3 {
			d.err = io.EOF
			break
		}
		if d.state == 1 && !d.slow {
			// Inside a line: copy the run up to the next CR or LF from
			// the buffer in one go (what the byte loop below would do
			// with each of its bytes).
			if k := d.run(p[n:]); k > 0 {
				n += k
				continue
			}
		}
		c, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			d.err = err
			break
		}
		switch d.state {
		case 0: // start of a line
			if c == '.' {
				// Either the end (".\r\n") or a stuffed dot.
				c2, err := d.r.ReadByte()
				if err != nil {
					d.err = io.ErrUnexpectedEOF
					return n, d.err
				}
				if c2 == '\r' {
					c3, err := d.r.ReadByte()
					if err != nil {
						d.err = io.ErrUnexpectedEOF
						return n, d.err
					}
					if c3 == '\n' {
						d.state = 3
						continue
					}
					d.err = ErrBareLineEnding
					return n, d.err
				}
				if c2 == '\n' {
					d.err = ErrBareLineEnding
					return n, d.err
				}
				// Stuffed: drop the first dot, keep c2.
				c = c2
				if c == '.' {
					// "..": the message line starts with a dot.
					d.state = 1
					if err := d.put(p, &n, c); err != nil {
						return n, err
					}
					continue
				}
			}
			fallthrough
		case 1:
			switch c {
			case '\r':
				d.state = 2
				continue
			case '\n':
				d.err = ErrBareLineEnding
				return n, d.err
			}
			d.state = 1
			if err := d.put(p, &n, c); err != nil {
				return n, err
			}
		case 2:
			if c != '\n' {
				d.err = ErrBareLineEnding
				return n, d.err
			}
			d.state = 0
			if err := d.put(p, &n, '\r'); err != nil {
				return n, err
			}
			d.pending = append(d.pending[:0], '\n')
			d.n++
		}
	}
	if n == 0 && d.err != nil {
		return 0, d.err
	}
	return n, nil
}

// run copies into p the buffered bytes before the next CR or LF, as
// many as fit and as the size limit allows, and returns how many. It
// never reads from the connection; 0 leaves the byte to the byte loop
// (a line ending, an empty buffer, the limit reached).
func (d *DataReader) run(p []byte) int {
	buf, _ := d.r.Peek(d.r.Buffered())
	if i := bytes.IndexByte(buf, '\r'); i >= 0 {
		buf = buf[:i]
	}
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	}
	k := min(len(buf), len(p))
	if d.max > 0 && d.n+int64(k) > d.max {
		return 0 // the byte loop stops at the limit with ErrTooBig
	}
	copy(p, buf[:k])
	d.r.Discard(k)
	d.n += int64(k)
	return k
}

func (d *DataReader) put(p []byte, n *int, c byte) error {
	d.n++
	if d.max > 0 && d.n > d.max {
		d.err = ErrTooBig
		return d.err
	}
	p[*n] = c
	*n++
	return nil
}

// WriteData writes the message r to w as the data of DATA (RFC 5321
// §4.5.2): a dot doubled at the start of each line, and the final
// ".\r\n" (after a CRLF when the message does not end with one). r's
// lines end with CRLF, as DataReader's output does; the caller flushes
// w. It copies runs of whole lines rather than byte by byte
// (net/textproto's DotWriter), which a frontend relaying every message
// pays for.
func WriteData(w *bufio.Writer, r io.Reader) error {
	buf := make([]byte, 8<<10) // per message: runs of lines, not the whole message
	bol, last := true, byte('\n')
	for {
		n, err := r.Read(buf)
		for chunk := buf[:n]; len(chunk) > 0; {
			if bol && chunk[0] == '.' {
				w.WriteByte('.')
			}
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				w.Write(chunk)
				bol, last = false, chunk[len(chunk)-1]
				break
			}
			w.Write(chunk[:i+1])
			bol, last, chunk = true, '\n', chunk[i+1:]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if last != '\n' {
		w.WriteString("\r\n")
	}
	_, err := w.WriteString(".\r\n")
	return err
}

// Drain discards input up to the end of data, so the session can reply
// and continue. The end is recognised exactly as in a good message: a line
// "." that follows a CRLF, itself ended by CRLF; a "." after a bare LF is
// data (otherwise a rejected message could smuggle commands). It reads at
// most limit bytes.
func (d *DataReader) Drain(limit int64) error {
	if d.state == 3 {
		return nil
	}
	// After a bare line ending, the next line does not follow a CRLF.
	afterCRLF := d.state == 0 && !errors.Is(d.err, ErrBareLineEnding)
	var total int64
	for {
		line, err := d.r.ReadSlice('\n')
		total += int64(len(line))
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		if total > limit {
			return ErrTooBig
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			afterCRLF = false
			continue
		}
		if afterCRLF && bytes.Equal(line, []byte(".\r\n")) {
			d.state = 3
			return nil
		}
		afterCRLF = bytes.HasSuffix(line, []byte("\r\n"))
	}
}
