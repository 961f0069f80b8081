package mime

import (
	"bytes"
	"io"
)

// source yields a message line by line. A line longer than the source's
// buffer comes in pieces; every piece after the first has cont set. The
// first piece of a line always holds at least min(line length,
// minFirstPiece) bytes, so boundary delimiters are always seen whole.
type source interface {
	next() (piece []byte, cont bool, err error) // io.EOF at the end
	// slice returns the bytes [start, end) of the message; the result
	// may alias the message and must not be modified.
	slice(start, end int64) ([]byte, error)
}

// minFirstPiece is the smallest first piece a source may return for a
// long line: room for "--", the longest boundary and "--".
const minFirstPiece = maxBoundaryLen + 8

type bytesSource struct {
	b   []byte
	pos int
}

func (s *bytesSource) next() ([]byte, bool, error) {
	if s.pos >= len(s.b) {
		return nil, false, io.EOF
	}
	rest := s.b[s.pos:]
	n := len(rest)
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		n = i + 1
	}
	s.pos += n
	return rest[:n:n], false, nil
}

func (s *bytesSource) slice(start, end int64) ([]byte, error) {
	return s.b[start:end:end], nil
}

// readerSource reads an io.ReaderAt through a fixed buffer.
type readerSource struct {
	r          io.ReaderAt
	size       int64
	off        int64 // message offset of buf[0]
	buf        []byte
	start, end int // unread window buf[start:end]
	mid        bool
	err        error
}

func newReaderSource(r io.ReaderAt, size int64, bufSize int) *readerSource {
	if bufSize < minFirstPiece {
		bufSize = minFirstPiece
	}
	return &readerSource{r: r, size: size, buf: make([]byte, bufSize)}
}

// fill moves the window to the front of the buffer and reads more.
func (s *readerSource) fill() {
	if s.start > 0 {
		copy(s.buf, s.buf[s.start:s.end])
		s.off += int64(s.start)
		s.end -= s.start
		s.start = 0
	}
	want := int64(len(s.buf) - s.end)
	if left := s.size - (s.off + int64(s.end)); left < want {
		want = left
	}
	if want <= 0 {
		s.err = io.EOF
		return
	}
	n, err := s.r.ReadAt(s.buf[s.end:s.end+int(want)], s.off+int64(s.end))
	s.end += n
	if err == io.EOF && int64(n) == want {
		err = nil
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // shorter than the size we were given
		}
		s.err = err
	}
}

func (s *readerSource) next() ([]byte, bool, error) {
	for {
		if i := bytes.IndexByte(s.buf[s.start:s.end], '\n'); i >= 0 {
			p := s.buf[s.start : s.start+i+1]
			s.start += i + 1
			cont := s.mid
			s.mid = false
			return p, cont, nil
		}
		full := s.start == 0 && s.end == len(s.buf)
		if s.err != nil || full {
			if s.start == s.end {
				if s.err == nil {
					s.err = io.EOF
				}
				return nil, false, s.err
			}
			p := s.buf[s.start:s.end]
			s.start = s.end
			cont := s.mid
			s.mid = true
			return p, cont, nil
		}
		s.fill()
	}
}

func (s *readerSource) slice(start, end int64) ([]byte, error) {
	b := make([]byte, end-start)
	n, err := s.r.ReadAt(b, start)
	if n == len(b) {
		err = nil
	}
	return b, err
}
