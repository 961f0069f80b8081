package mime

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestParseReaderAt checks that reading through a small buffer, where
// long lines arrive in pieces, builds the same tree as Parse.
func TestParseReaderAt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	msgs := append(seedMessages(),
		// long header line, long delimiter line, long body lines, CRLF
		// split at the buffer edge
		"Subject: "+long+"\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b"+long+"\r\nContent-Type: text/plain\r\n\r\n"+long+"\r\n--b\r\n\r\n"+strings.Repeat("y", minFirstPiece-1)+"\r\n\r\n--b--"+long,
		"Content-Type: message/rfc822\r\n\r\nX: "+long+"\r\n\r\nbody",
		strings.Repeat("a", minFirstPiece*3),
	)
	for _, msg := range msgs {
		for _, lim := range []Limits{{}, {MaxHeaderBytes: 1000}} {
			want, wantErr := Parse([]byte(msg), lim)
			for _, buf := range []int{0, minFirstPiece + 1, 4096, readerBufSize} {
				got, err := parse(newReaderSource(strings.NewReader(msg), int64(len(msg)), buf), lim)
				if (err == nil) != (wantErr == nil) {
					t.Fatalf("buffer %d: error %v, want %v", buf, err, wantErr)
				}
				if d, w := dumpTree(got), dumpTree(want); d != w {
					t.Fatalf("buffer %d: tree\n%s\nwant\n%s", buf, d, w)
				}
			}
		}
		want, wantErr := Parse([]byte(msg), Limits{})
		got, err := ParseReaderAt(strings.NewReader(msg), int64(len(msg)), Limits{})
		if (err == nil) != (wantErr == nil) || dumpTree(got) != dumpTree(want) {
			t.Fatal("ParseReaderAt differs from Parse")
		}
	}
}

type failingReader struct {
	r   io.ReaderAt
	bad int64
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.bad {
		n, _ := f.r.ReadAt(p[:max(f.bad-off, 0)], off)
		return n, errors.New("disk on fire")
	}
	return f.r.ReadAt(p, off)
}

func TestParseReaderAtErrors(t *testing.T) {
	t.Parallel()
	msg := crlf(dovecotMsg)
	r := failingReader{strings.NewReader(msg), 300}
	p, err := parse(newReaderSource(r, int64(len(msg)), 0), Limits{})
	if err == nil || err.Error() != "disk on fire" {
		t.Fatalf("err = %v", err)
	}
	checkTree(t, p, int64(len(msg)))
	// A size larger than the data is an unexpected EOF.
	_, err = ParseReaderAt(bytes.NewReader([]byte(msg)), int64(len(msg))+10, Limits{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
}
