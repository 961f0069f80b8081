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
