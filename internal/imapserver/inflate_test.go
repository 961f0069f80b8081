package imapserver

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The inflater against compress/flate's compressor: every level, flushes
// at random points, stored, fixed and dynamic blocks, long distances.
func TestInflateRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	text := []byte(strings.Repeat("a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER])\r\n", 500))
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	mixed := append(append(append([]byte{}, text...), random[:40<<10]...), text...)
	for _, data := range [][]byte{nil, []byte("x"), text, random, mixed} {
		for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
			var buf bytes.Buffer
			zw, _ := flate.NewWriter(&buf, level)
			for rest := data; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(8000))
				zw.Write(rest[:k])
				if rng.IntN(2) == 0 {
					zw.Flush()
				}
				rest = rest[k:]
			}
			zw.Close()
			got, err := io.ReadAll(newInflater(bufio.NewReader(&buf)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("level %d, %d bytes: got %d bytes, err %v", level, len(data), len(got), err)
			}
		}
	}
}

// A client that flushes without an empty stored block (zlib's
// Z_PARTIAL_FLUSH) must get its command read at once.
func TestInflateNoStoredFlush(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zw.Write([]byte("a1 NOOP\r\n"))
	zw.Flush()
	b := buf.Bytes()
	if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
		t.Fatalf("no sync marker in %x", b)
	}
	pr, pw := io.Pipe()
	go pw.Write(b[:len(b)-4]) // the stream stops before the marker
	br := bufio.NewReader(newInflater(bufio.NewReader(pr)))
	done := make(chan string, 1)
	go func() {
		l, _ := br.ReadString('\n')
		done <- l
	}()
	select {
	case l := <-done:
		if l != "a1 NOOP\r\n" {
			t.Fatalf("got %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the command stayed in the decoder")
	}
	pw.Close()
}

func TestInflateCorrupt(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{{0xff, 0xff, 0xff}, {0x01, 0x05, 0x00, 0x00, 0x00}, {0x07}} {
		if _, err := io.ReadAll(newInflater(bufio.NewReader(bytes.NewReader(in)))); err == nil {
			t.Errorf("%x: no error", in)
		}
	}
}

func FuzzInflate(f *testing.F) {
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	zw.Write([]byte("a1 LOGIN user pass\r\na2 SELECT INBOX\r\n"))
	zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := io.ReadAll(newInflater(bufio.NewReader(bytes.NewReader(in))))
		want, werr := io.ReadAll(flate.NewReader(bytes.NewReader(in)))
		if err == nil && werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("got %q, compress/flate %q", got, want)
		}
	})
}
