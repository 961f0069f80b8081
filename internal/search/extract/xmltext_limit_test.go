package extract

import (
	"bytes"
	"context"
	"testing"
)

// TestXMLTextFullThenBreak: text that fills the limit exactly, then a
// paragraph end (which adds a line break) and more text: xmlText stops
// at the limit (it used to slice with a negative bound and panic).
func TestXMLTextFullThenBreak(t *testing.T) {
	s, err := xmlText(context.Background(), bytes.NewReader([]byte(`<d><p>abcd</p><p>efgh</p></d>`)), 32, 4)
	if err != nil {
		t.Fatal(err)
	}
	if s != "abcd" {
		t.Errorf("text %q, want %q", s, "abcd")
	}
}
