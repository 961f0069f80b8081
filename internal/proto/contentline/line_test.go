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
