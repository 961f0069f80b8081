package contentline

import (
	"errors"
	"strings"
	"testing"
)

var lim = Limits{MaxBytes: 1 << 20, MaxLines: 1000, MaxLineBytes: 1000, MaxParams: 10}

func TestParseLine(t *testing.T) {
	p, err := ParseLine(`item1.EMAIL;TYPE="work,home";PREF=1:a@b.test`, lim, false, true)
	if err != nil || p.Group != "item1" || p.Name != "EMAIL" || p.Param("PREF") != "1" || p.Value != "a@b.test" {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := ParseLine(`item1.EMAIL:a@b.test`, lim, false, false); !errors.Is(err, ErrSyntax) {
		t.Fatalf("group accepted where groups are off: %v", err)
	}
	p, _ = ParseLine(`SUMMARY:a\, b\; c\nd`, lim, false, false)
	if p.Text() != "a, b; c\nd" {
		t.Fatalf("text %q", p.Text())
	}
	line, err := AppendLine(nil, p)
	if err != nil || string(line) != `SUMMARY:a\, b\; c\nd` {
		t.Fatalf("%q %v", line, err)
	}
	long := AppendFolded(nil, []byte("X:"+strings.Repeat("é", 100)))
	for _, l := range strings.Split(strings.TrimSuffix(string(long), "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Fatalf("line of %d octets", len(l))
		}
	}
	if err := Unfold([]byte(strings.Repeat("X:y\r\n", 2000)), lim, func(string) error { return nil }); err == nil {
		t.Fatal("line limit not enforced")
	}
}

func TestDialect(t *testing.T) {
	ical, vcard := Dialect{Name: "ical"}, Dialect{Name: "vcard", Groups: true}
	if _, err := ical.ParseLine("item1.EMAIL:a@b.test", lim, false); !errors.Is(err, ErrSyntax) || !strings.HasPrefix(err.Error(), "ical: ") {
		t.Errorf("ical group: %v", err)
	}
	if p, err := vcard.ParseLine("item1.EMAIL:a@b.test", lim, false); err != nil || p.Group != "item1" {
		t.Errorf("vcard group: %+v %v", p, err)
	}
	if err := vcard.Unfold([]byte(" x\r\n"), lim, func(string) error { return nil }); !strings.HasPrefix(err.Error(), "vcard: ") {
		t.Errorf("vcard unfold: %v", err)
	}
	var le *LimitError
	if err := ical.Unfold([]byte(strings.Repeat("X:y\r\n", 2000)), lim, func(string) error { return nil }); !errors.As(err, &le) || le.Limit != LimitLines {
		t.Errorf("limit error changed: %v", err)
	}
	if _, err := ical.AppendLine(nil, &Property{Name: "BAD NAME"}); err == nil {
		t.Error("bad name formatted")
	}
}

func TestUnfoldByteOrderMark(t *testing.T) {
	var got []string
	if err := Unfold([]byte("\xef\xbb\xbfBEGIN:VCARD\r\nFN:x\r\n"), Limits{MaxBytes: 1 << 10, MaxLines: 10, MaxLineBytes: 100, MaxParams: 10}, func(l string) error {
		got = append(got, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "BEGIN:VCARD" {
		t.Fatalf("lines %q", got)
	}
	// Only a leading mark is dropped.
	got = nil
	_ = Unfold([]byte("A:1\r\n\xef\xbb\xbfB:2\r\n"), Limits{MaxBytes: 1 << 10, MaxLines: 10, MaxLineBytes: 100, MaxParams: 10}, func(l string) error {
		got = append(got, l)
		return nil
	})
	if len(got) != 2 || got[1] != "\xef\xbb\xbfB:2" {
		t.Fatalf("lines %q", got)
	}
}
