package mime

import (
	"bytes"
	"strings"
	"testing"
)

// The summary gives exactly the texts computed from the parsed message.
func TestSummaryMatchesMessage(t *testing.T) {
	t.Parallel()
	msgs := append(seedMessages(),
		"", "\r\n", "no header at all",
		"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= Grüße\r\nFrom: Jürgen <j@example.test>\r\n\r\nbody\r\n",
		"X-Big: "+strings.Repeat("a", MaxSummaryHeader)+"\r\n\r\nbody\r\n")
	for _, m := range msgs {
		root, _ := Parse([]byte(m), Limits{})
		s := Summarize(root)
		got, err := UnmarshalSummary(s.Marshal())
		if err != nil {
			t.Fatalf("%.40q: %v", m, err)
		}
		for _, utf8 := range []bool{false, true} {
			if want := AppendValue(nil, Envelope(root).List(), utf8); !bytes.Equal(got.EnvelopeText(utf8), want) {
				t.Errorf("%.40q: ENVELOPE %q, want %q", m, got.EnvelopeText(utf8), want)
			}
			if want := AppendBodyStructure(nil, root, false, utf8); !bytes.Equal(got.BodyText(utf8), want) {
				t.Errorf("%.40q: BODY %q, want %q", m, got.BodyText(utf8), want)
			}
			if want := AppendBodyStructure(nil, root, true, utf8); !bytes.Equal(got.BodyStructureText(utf8), want) {
				t.Errorf("%.40q: BODYSTRUCTURE %q, want %q", m, got.BodyStructureText(utf8), want)
			}
		}
		hdr := []byte(m)[root.HeaderStart:root.HeaderEnd]
		switch {
		case len(hdr) > MaxSummaryHeader:
			if got.Header != nil {
				t.Errorf("%.40q: header of %d bytes kept", m, len(hdr))
			}
		case got.Header == nil || !bytes.Equal(got.Header, hdr):
			t.Errorf("%.40q: header %q, want %q", m, got.Header, hdr)
		default:
			// Fields cut from the stored header are those of the message.
			h, _ := ParseHeader(got.Header, 0)
			names := []string{"From", "Subject", "Date", "Content-Type", "X-Long"}
			for _, not := range []bool{false, true} {
				if a, b := h.Filter(names, not), root.Header.Filter(names, not); !bytes.Equal(a, b) {
					t.Errorf("%.40q: HEADER.FIELDS %q, want %q", m, a, b)
				}
			}
		}
	}
}

func TestUnmarshalSummaryRejects(t *testing.T) {
	t.Parallel()
	root, _ := Parse([]byte(crlf(dovecotMsg)), Limits{})
	good := Summarize(root).Marshal()
	if _, err := UnmarshalSummary(append([]byte{summaryVersion + 1}, good[1:]...)); err != ErrSummaryVersion {
		t.Errorf("other version: %v", err)
	}
	for n := range len(good) {
		if _, err := UnmarshalSummary(good[:n]); err == nil {
			t.Errorf("truncated to %d bytes: accepted", n)
		}
	}
	if _, err := UnmarshalSummary(append(good, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}

// FuzzSummary checks that a summary survives Marshal and UnmarshalSummary
// and that UnmarshalSummary never panics on stored bytes.
func FuzzSummary(f *testing.F) {
	for _, s := range seedMessages() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		UnmarshalSummary(data)
		root, _ := Parse(data, fuzzLimits)
		s := Summarize(root)
		b := s.Marshal()
		got, err := UnmarshalSummary(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Marshal(), b) {
			t.Fatal("round trip changed the summary")
		}
	})
}

// FilterHeader cuts what ParseHeader and Filter cut.
func FuzzFilterHeader(f *testing.F) {
	for _, s := range seedMessages() {
		f.Add([]byte(s), "From", "subject", false)
	}
	f.Add([]byte("From : a\r\n: empty name\r\nno colon\r\n\tcont: x\r\nFROM:b\n\nbody"), "from", "", true)
	f.Fuzz(func(t *testing.T, raw []byte, n1, n2 string, not bool) {
		names := []string{n1, n2}
		h, _ := ParseHeader(raw, 0)
		want := h.Filter(names, not)
		if got := FilterHeader(raw, names, not); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("FilterHeader %q, Filter %q", got, want)
		}
	})
}

func TestFilterHeaderManyFields(t *testing.T) {
	t.Parallel()
	raw := []byte(strings.Repeat("X-A: 1\r\n", DefaultLimits().MaxHeaderFields) + "From: late\r\nX-B: 2\r\n\r\n")
	h, truncated := ParseHeader(raw, 0)
	if !truncated {
		t.Fatal("not truncated")
	}
	for _, not := range []bool{false, true} {
		if got, want := FilterHeader(raw, []string{"from", "x-a"}, not), h.Filter([]string{"from", "x-a"}, not); !bytes.Equal(got, want) {
			t.Errorf("not=%v: %d bytes, want %d", not, len(got), len(want))
		}
	}
}

// BenchmarkSummarize is the cost a delivery pays to summarize a message.
func BenchmarkSummarize(b *testing.B) {
	msg := []byte(crlf(dovecotMsg))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		root, _ := Parse(msg, Limits{})
		Summarize(root).Marshal()
	}
}

// BenchmarkParseOnly is the parse alone, for comparison.
func BenchmarkParseOnly(b *testing.B) {
	msg := []byte(crlf(dovecotMsg))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(msg, Limits{})
	}
}
