package web

import (
	"testing"
	"unicode/utf8"
)

// FuzzHeaderSummary: the restore list's summary of an untrusted message
// header never panics and stays bounded, valid UTF-8.
func FuzzHeaderSummary(f *testing.F) {
	f.Add([]byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100 (CET)\r\n\r\nbody"))
	f.Add([]byte("From: \"a\\\"b\" <x@y>, c@d\r\nSubject: \xff\xfe\r\nDate: 1 Dec 2026 10:00:00 +0000\r\n"))
	f.Add([]byte("Subject: " + string(make([]byte, 2000)) + "\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		subject, from, _ := headerSummary(raw)
		if !utf8.ValidString(subject) || !utf8.ValidString(from) {
			t.Fatalf("invalid UTF-8: %q %q", subject, from)
		}
		if len(subject) > maxSummarySubject || len(from) > 2*maxSummarySubject+3 {
			t.Fatalf("unbounded: %d %d", len(subject), len(from))
		}
	})
}

func TestHeaderSummary(t *testing.T) {
	s, f, d := headerSummary([]byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100 (CET)\r\n\r\nbody"))
	if s != "Grüße" || f != "Jürgen <j@example.org>" || d.UTC().Hour() != 9 {
		t.Fatalf("%q %q %v", s, f, d)
	}
	if _, _, d := headerSummary([]byte("Date: yesterday\r\n")); !d.IsZero() {
		t.Fatalf("a bad date parsed: %v", d)
	}
}
