package contentline

import (
	"fmt"
	"strings"
	"testing"
)

// MergeProps keeps the original line where the edit did not change the
// property's canonical form, takes the edit's otherwise, and looks at
// each line a bounded number of times however many groups there are.
func TestMergeProps(t *testing.T) {
	orig := Props{{Name: "SUMMARY", Value: "x", Params: []Param{{Name: "X-KEEP", Values: []string{"1"}}}}, {Name: "LOCATION", Value: "here"}}
	canon := Props{{Name: "SUMMARY", Value: "x"}, {Name: "LOCATION", Value: "here"}}
	upd := Props{{Name: "SUMMARY", Value: "x"}, {Name: "LOCATION", Value: "there"}}
	calls := 0
	groupOf := func(n string) string { calls++; return strings.ToUpper(n) }
	out := MergeProps(orig, canon, upd, groupOf)
	if len(out) != 2 || out[0] != orig[0] || out[1].Value != "there" {
		t.Fatalf("merged %v", out)
	}
	// Many groups: groupOf runs a few times per line, not per line and
	// group (quadratic on a large stored object).
	var big Props
	for i := range 3000 {
		big = append(big, &Property{Name: fmt.Sprintf("X-P%d", i), Value: "v"})
	}
	calls = 0
	if out := MergeProps(big, big, big, groupOf); len(out) != len(big) {
		t.Fatalf("merged %d lines of %d", len(out), len(big))
	}
	if calls > 4*3*len(big) {
		t.Fatalf("groupOf called %d times for %d lines a side", calls, len(big))
	}
}
