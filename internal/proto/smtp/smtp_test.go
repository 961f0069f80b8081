package smtp

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readData(in string, max int64) (string, error) {
	d := NewDataReader(bufio.NewReader(strings.NewReader(in)), max)
	b, err := io.ReadAll(d)
	return string(b), err
}

func TestDataReader(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      error
	}{
		{"Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n", nil},
		{".\r\n", "", nil},
		{"..leading dot\r\n.\r\n", ".leading dot\r\n", nil},
		{"...two\r\n.\r\n", "..two\r\n", nil},
		{".x stuffed\r\n.\r\n", "x stuffed\r\n", nil},
		{"a\r\n.\r\nafter", "a\r\n", nil},
		// SMTP smuggling forms and other bare line endings.
		{"a\n.\n", "", ErrBareLineEnding},
		{"a\r\n.\nb\r\n.\r\n", "", ErrBareLineEnding},
		{"a\n.\r\n", "", ErrBareLineEnding},
		{"a\r.\r\n", "", ErrBareLineEnding},
		{"a\rb\r\n.\r\n", "", ErrBareLineEnding},
		{"no end", "", io.ErrUnexpectedEOF},
	} {
		got, err := readData(c.in, 0)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%q: err %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := readData(strings.Repeat("x", 100)+"\r\n.\r\n", 50); !errors.Is(err, ErrTooBig) {
		t.Fatalf("size: %v", err)
	}
}

func TestDrain(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("a\nb\r\n.\r\nNOOP\r\n"))
	d := NewDataReader(r, 0)
	if _, err := io.ReadAll(d); !errors.Is(err, ErrBareLineEnding) {
		t.Fatal(err)
	}
	if err := d.Drain(1 << 20); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadCommand(r); err != nil || c.Verb != "NOOP" {
		t.Fatalf("%+v %v", c, err)
	}
}

// TestDrainSmuggling: after a refused message, a "." that follows a bare
// LF is still data, so commands hidden behind it are never executed.
func TestDrainSmuggling(t *testing.T) {
	in := "x\n.\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<v@y.test>\r\n.\r\nNOOP\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	d := NewDataReader(r, 0)
	io.ReadAll(d)
	if err := d.Drain(1 << 20); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadCommand(r); err != nil || c.Verb != "NOOP" {
		t.Fatalf("next command %+v %v: smuggled commands were not drained", c, err)
	}
}

func TestParsePath(t *testing.T) {
	p, err := ParsePath("FROM:<a@b.test> SIZE=100 BODY=8BITMIME SMTPUTF8", "FROM:")
	if err != nil || p.Addr != "a@b.test" || p.Params["SIZE"] != "100" || p.Params["SMTPUTF8"] != "" {
		t.Fatalf("%+v %v", p, err)
	}
	if p, err := ParsePath("from: <>", "FROM:"); err != nil || p.Addr != "" {
		t.Fatalf("null path: %+v %v", p, err)
	}
	if p, err := ParsePath("TO:<@relay.test:u@d.test>", "TO:"); err != nil || p.Addr != "u@d.test" {
		t.Fatalf("source route: %+v %v", p, err)
	}
	for _, bad := range []string{"TO:u@d.test", "TO:<u@d.test", "TO:<u>", "TO:<u@>", "TO:<u d@x>", "TO:<" + strings.Repeat("a", 300) + "@x>", "TO:<a@b..c>", "FROM:<a@b>"} {
		if _, err := ParsePath(bad, "TO:"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestReadCommand(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("lhlo mx.test\r\n" + strings.Repeat("x", 10000) + "\r\nQUIT\n"))
	if c, _ := ReadCommand(r); c.Verb != "LHLO" || c.Arg != "mx.test" {
		t.Fatal(c)
	}
	if _, err := ReadCommand(r); !errors.Is(err, ErrLineTooLong) {
		t.Fatal(err)
	}
	if c, _ := ReadCommand(r); c.Verb != "QUIT" {
		t.Fatal(c)
	}
}

func FuzzDataReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..x\r\n.\r\n", "a\n.\n", "\r\n.\r", ".\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readData(in, 1<<20)
		if err == nil {
			// Valid data never holds a bare CR or LF.
			if strings.Count(got, "\n") != strings.Count(got, "\r\n") || strings.Count(got, "\r") != strings.Count(got, "\r\n") {
				t.Fatalf("bare line ending passed: %q", got)
			}
		}
		r := bufio.NewReader(strings.NewReader(in))
		d := NewDataReader(r, 1<<20)
		io.ReadAll(d)
		d.Drain(1 << 20)
	})
}

// FuzzDataReaderRuns: the run copy of DataReader gives the bytes and
// the error the byte loop gives, whatever the buffer size, the read sizes
// and the size limit.
func FuzzDataReaderRuns(f *testing.F) {
	for _, s := range []string{"Subject: x\r\n\r\nbody line\r\n..dot\r\n.\r\n", "a\n.\n", "abc\rdef\r\n.\r\n", strings.Repeat("0123456789", 40) + "\r\n.\r\n"} {
		f.Add(s, uint8(16), uint8(7), uint16(0))
		f.Add(s, uint8(200), uint8(255), uint16(30))
	}
	f.Fuzz(func(t *testing.T, in string, bufSize, readSize uint8, max uint16) {
		read := func(slow bool) (string, error) {
			d := NewDataReader(bufio.NewReaderSize(strings.NewReader(in), max16(int(bufSize))), int64(max))
			d.slow = slow
			var out []byte
			p := make([]byte, int(readSize)+1)
			for {
				n, err := d.Read(p)
				out = append(out, p[:n]...)
				if err != nil {
					if err == io.EOF {
						err = nil
					}
					return string(out), err
				}
			}
		}
		fast, ferr := read(false)
		slow, serr := read(true)
		if fast != slow || !errors.Is(ferr, serr) && ferr != serr {
			t.Fatalf("run copy %q, %v; byte loop %q, %v", fast, ferr, slow, serr)
		}
	})
}

// FuzzWriteData: what WriteData writes, DataReader reads back as the
// message (with a final CRLF added when it had none), in chunks of any
// size.
func FuzzWriteData(f *testing.F) {
	for _, s := range []string{"", ".", ".\r\n", "a\r\n.\r\n..b\r\n", "no end", "x\r\n."} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, chunk uint8) {
		// A message with CRLF line endings only, as DataReader gives.
		msg := strings.NewReplacer("\r\n", "\r\n", "\r", "\r\n", "\n", "\r\n").Replace(in)
		var out strings.Builder
		w := bufio.NewWriter(&out)
		if err := WriteData(w, iotest.OneByteReader(strings.NewReader(msg))); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		var b strings.Builder
		bw := bufio.NewWriterSize(&b, 16)
		if err := WriteData(bw, &chunkReader{strings.NewReader(msg), int(chunk) + 1}); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		if b.String() != out.String() {
			t.Fatalf("chunked %q, one byte at a time %q", b.String(), out.String())
		}
		want := msg
		if want != "" && !strings.HasSuffix(want, "\r\n") {
			want += "\r\n"
		}
		got, err := readData(out.String()+"after", 0)
		if err != nil || got != want {
			t.Fatalf("%q: wrote %q, read back %q, %v", msg, out.String(), got, err)
		}
	})
}

// chunkReader reads at most n bytes at a time.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// max16 keeps a bufio size at its minimum of 16 or more.
func max16(n int) int { return max(n, 16) }

func FuzzParsePath(f *testing.F) {
	f.Add("FROM:<a@b.test> SIZE=1")
	f.Add("TO:<@x:y@z>")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePath(in, "FROM:")
		if err == nil && p.Addr != "" && CheckAddress(p.Addr) != nil {
			t.Fatalf("accepted invalid %q", p.Addr)
		}
	})
}
