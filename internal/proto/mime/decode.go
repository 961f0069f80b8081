package mime

import (
	"bytes"
	"io"
)

// CanDecode reports whether DecodedBody understands the part's
// Content-Transfer-Encoding. IMAP BINARY answers NO [UNKNOWN-CTE] when it
// does not (RFC 3516 §4.3).
func (p *Part) CanDecode() bool {
	switch p.Encoding {
	case "7bit", "8bit", "binary", "base64", "quoted-printable":
		return true
	}
	return false
}

// DecodedBody returns the part's body with its Content-Transfer-Encoding
// undone, for IMAP BINARY (RFC 3516), attachment storage and indexing. r
// is the message the part was parsed from (bytes.NewReader for a []byte).
//
// Decoding is lenient: base64 skips characters outside its alphabet and
// restarts after padding (some senders concatenate encoded blocks);
// quoted-printable keeps malformed escapes as they are. 7bit, 8bit,
// binary, unknown encodings, multiparts and encapsulated messages come
// back as stored.
func (p *Part) DecodedBody(r io.ReaderAt) io.Reader {
	body := io.NewSectionReader(r, p.BodyStart, p.Size())
	if p.IsMultipart() || p.Message != nil {
		return body
	}
	switch p.Encoding {
	case "base64":
		return &b64Reader{r: body}
	case "quoted-printable":
		return &qpReader{r: body}
	}
	return body
}

// DecodedSize returns the size of DecodedBody, for BINARY.SIZE.
func (p *Part) DecodedSize(r io.ReaderAt) (int64, error) {
	switch p.Encoding {
	case "base64", "quoted-printable":
		if !p.IsMultipart() && p.Message == nil {
			return io.Copy(io.Discard, p.DecodedBody(r))
		}
	}
	return p.Size(), nil
}

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alpha) {
		t[alpha[i]] = byte(i)
	}
	return t
}()

// b64state accumulates base64 quanta.
type b64state struct {
	acc uint32
	n   int
}

func (st *b64state) write(dst []byte, src []byte) []byte {
	for _, c := range src {
		v := b64val[c]
		if v == 0xff {
			if c == '=' {
				dst = st.flush(dst)
			}
			continue
		}
		st.acc = st.acc<<6 | uint32(v)
		st.n++
		if st.n == 4 {
			dst = append(dst, byte(st.acc>>16), byte(st.acc>>8), byte(st.acc))
			st.acc, st.n = 0, 0
		}
	}
	return dst
}

// flush emits a partial quantum: 2 characters are one byte, 3 are two.
func (st *b64state) flush(dst []byte) []byte {
	switch st.n {
	case 2:
		dst = append(dst, byte(st.acc>>4))
	case 3:
		dst = append(dst, byte(st.acc>>10), byte(st.acc>>2))
	}
	st.acc, st.n = 0, 0
	return dst
}

// decodeBase64Lenient appends the lenient decoding of s.
func decodeBase64Lenient(dst []byte, s string) []byte {
	var st b64state
	dst = st.write(dst, []byte(s))
	return st.flush(dst)
}

type b64Reader struct {
	r    io.Reader
	st   b64state
	in   [4096]byte
	obuf []byte
	out  []byte
	err  error
}

func (d *b64Reader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		n, err := d.r.Read(d.in[:])
		d.obuf = d.st.write(d.obuf[:0], d.in[:n])
		if err != nil {
			d.obuf = d.st.flush(d.obuf)
			d.err = err
		}
		d.out = d.obuf
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// maxQPChunk bounds how much of a quoted-printable line is held at once.
const maxQPChunk = 64 << 10

type qpReader struct {
	r    io.Reader
	buf  []byte // undecoded input
	in   [4096]byte
	obuf []byte
	out  []byte
	eof  bool
	err  error
}

func (d *qpReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		d.obuf = d.obuf[:0]
		if i := bytes.IndexByte(d.buf, '\n'); i >= 0 {
			d.obuf = decodeQPLine(d.obuf, d.buf[:i+1], true)
			d.buf = d.buf[i+1:]
		} else if d.eof {
			if len(d.buf) == 0 {
				return 0, d.err
			}
			d.obuf = decodeQPLine(d.obuf, d.buf, true)
			d.buf = d.buf[:0]
		} else if len(d.buf) > maxQPChunk {
			// A huge line: decode most of it, keeping back a possible
			// escape sequence.
			k := len(d.buf)
			if d.buf[k-1] == '=' {
				k--
			} else if d.buf[k-2] == '=' {
				k -= 2
			}
			d.obuf = decodeQPLine(d.obuf, d.buf[:k], false)
			d.buf = append(d.buf[:0], d.buf[k:]...)
		} else {
			n, err := d.r.Read(d.in[:])
			d.buf = append(d.buf, d.in[:n]...)
			if err != nil {
				d.eof, d.err = true, err
			}
		}
		d.out = d.obuf
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// decodeQPLine appends the RFC 2045 §6.7 decoding of one line. With final
// set, the line is complete: trailing whitespace is dropped (rule 3) and a
// final "=" is a soft line break (rule 5).
func decodeQPLine(dst, line []byte, final bool) []byte {
	var eol []byte
	if final {
		if n := len(line); n > 0 && line[n-1] == '\n' {
			if n > 1 && line[n-2] == '\r' {
				eol, line = line[n-2:], line[:n-2]
			} else {
				eol, line = line[n-1:], line[:n-1]
			}
		}
		for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '=' {
			line, eol = line[:len(line)-1], nil
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '=' && i+2 < len(line) {
			hi, ok1 := unhex(line[i+1])
			lo, ok2 := unhex(line[i+2])
			if ok1 && ok2 {
				dst = append(dst, hi<<4|lo)
				i += 2
				continue
			}
		}
		dst = append(dst, c)
	}
	return append(dst, eol...)
}
