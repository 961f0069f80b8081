package mime

import (
	"testing"
	"time"
)

func TestBaseSubject(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"Hello", "Hello"},
		{"Re: Hello", "Hello"},
		{"RE: re: Re: Hello", "Hello"},
		{"Re:Hello", "Hello"},
		{"Fwd: Hello", "Hello"},
		{"FW: Hello", "Hello"},
		{"Re [2]: Hello", "Hello"},
		{"Re[2]: Hello", "Hello"},
		{"[list] Re: Hello", "Hello"},
		{"[list] [other] Re: Hello", "Hello"},
		{"Re: [list] Hello", "Hello"},
		{"[list] Hello", "Hello"},
		{"[list]", "[list]"},
		{"[a][b]", "[b]"},
		{"Hello (fwd)", "Hello"},
		{"Hello (FWD) (fwd)  ", "Hello"},
		{"[Fwd: Hello]", "Hello"},
		{"Fwd: [Fwd: Re: Hello] (fwd)", "Hello"},
		{"[fwd: [fwd: x]]", "x"},
		{"  Hello \t  world  ", "Hello world"},
		{"Re: =?utf-8?q?caf=C3=A9?=", "café"},
		{"=?utf-8?q?Re=3A_Re=3A_x?=", "x"},
		{"Review: x", "Review: x"},
		{"Refund", "Refund"},
		{"Re", "Re"},
		{"Re:", ""},
		{"[", "["},
		{"Re: [unclosed Hello", "[unclosed Hello"},
	}
	for _, tt := range tests {
		got := BaseSubject(tt.in)
		if got != tt.want {
			t.Errorf("BaseSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := BaseSubject(got); again != got {
			t.Errorf("BaseSubject not idempotent on %q: %q", got, again)
		}
	}
	// Twice-encoded words are decoded, deeper nesting is defused.
	twice := "=?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3F=3D?="
	if got := BaseSubject(twice); got != "x" {
		t.Errorf("twice encoded: %q", got)
	}
}

func TestParseMessageIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"<a@b>", []string{"a@b"}},
		{"<a@b> <c@d>\r\n <e@f>", []string{"a@b", "c@d", "e@f"}},
		{"<a@b><c@d>", []string{"a@b", "c@d"}},
		{"Your message of Mon, 1 Jan 2024 <a@b>", []string{"a@b"}},
		{"(comment <x@y>) <a@b>", []string{"a@b"}},
		{`"quoted <x@y>" <a@b>`, []string{"a@b"}},
		{"<a@\r\n b>", []string{"a@b"}},
		{"<broken <a@b>", []string{"a@b"}},
		{"<> <  >", nil},
		{"<unterminated@x", []string{"unterminated@x"}},
	}
	for _, tt := range tests {
		got := ParseMessageIDs(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("ParseMessageIDs(%q) = %q, want %q", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseMessageIDs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		}
	}
	if id, ok := ParseMessageID(" <x@y> "); !ok || id != "x@y" {
		t.Error("ParseMessageID bracketed")
	}
	if id, ok := ParseMessageID(" x@y "); !ok || id != "x@y" {
		t.Error("ParseMessageID bare")
	}
	if _, ok := ParseMessageID("no id here"); ok {
		t.Error("ParseMessageID junk")
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	utc := func(y int, mo time.Month, d, h, mi, s, off int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.FixedZone("", off*60))
	}
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"Fri, 21 Nov 1997 09:55:06 -0600", utc(1997, 11, 21, 9, 55, 6, -360), true},
		{"21 Nov 97 09:55:06 GMT", utc(1997, 11, 21, 9, 55, 6, 0), true},
		{"Thu, 13 Feb 1969 23:32 -0330 (Newfoundland Time)", utc(1969, 2, 13, 23, 32, 0, -210), true},
		{"Tue, 1 Jul 2003 10:52:37 +0200", utc(2003, 7, 1, 10, 52, 37, 120), true},
		{"Mon, 2 Jan 2006 15:04:05 PST", utc(2006, 1, 2, 15, 4, 5, -480), true},
		{"Mon, 2 Jan 2006 15:04:05 EDT", utc(2006, 1, 2, 15, 4, 5, -240), true},
		{"Mon, 2 Jan 2006 15:04:05 X", utc(2006, 1, 2, 15, 4, 5, 0), true},
		{"Mon, 2 Jan 2006 15:04:05", utc(2006, 1, 2, 15, 4, 5, 0), true},
		{"Mon, 02-Jan-2006 15:04:05 +0000", utc(2006, 1, 2, 15, 4, 5, 0), true},
		{"Mon Jan  2 15:04:05 2006", utc(2006, 1, 2, 15, 4, 5, 0), true},
		{"2 January 2006", utc(2006, 1, 2, 0, 0, 0, 0), true},
		{"1 Jan 049 00:00:00 +0000", utc(1949, 1, 1, 0, 0, 0, 0), true},
		{"1 Jan 49 00:00:00 +0000", utc(2049, 1, 1, 0, 0, 0, 0), true},
		{"1 Jan 50 00:00:00 +0000", utc(1950, 1, 1, 0, 0, 0, 0), true},
		{"Sat, 31 Dec 2016 23:59:60 +0000", utc(2016, 12, 31, 23, 59, 59, 0), true},
		{"2006-01-02T15:04:05+01:00", utc(2006, 1, 2, 15, 4, 5, 60), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"Mon, 2 Foo 2006 15:04:05 +0000", time.Time{}, false},
		{"Mon, 2 Jan 2006 25:04:05 +0000", time.Time{}, false},
		{"Mon, 2 Jan 2006 15:04:05:07 +0000", time.Time{}, false},
		{"Mon, 32 Jan 2006", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in)
		if ok != tt.ok || ok && !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
