package blob_test

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/blob"
)

const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

var idPattern = regexp.MustCompile(`\A[0-9a-f]{64}\z`)

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{abc, true},
		{strings.Repeat("0", 64), true},
		{strings.Repeat("f", 64), true},
		{"", false},
		{abc[:63], false},
		{abc + "0", false},
		{strings.ToUpper(abc), false},
		{abc[:63] + "g", false},
		{abc[:63] + "\n", false},
		{"../" + abc[3:], false},
		{abc[:2] + "/" + abc[3:], false},
		{strings.Repeat("..//", 16), false},
		{abc[:62] + "é", false}, // 64 bytes, 63 runes
	}
	for _, tt := range tests {
		if got := blob.Valid(tt.in); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzValid checks Valid against an independent definition: exactly 64
// lowercase hex digits, which hex-decode to 32 bytes that encode back to the
// same string.
func FuzzValid(f *testing.F) {
	for _, s := range []string{
		abc,
		strings.ToUpper(abc),
		abc[:63],
		abc + "0",
		"../../etc/passwd",
		"../" + abc[3:],
		abc[:62] + "é",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := blob.Valid(s)
		if want := idPattern.MatchString(s); got != want {
			t.Fatalf("Valid(%q) = %v, want %v", s, got, want)
		}
		if !got {
			return
		}
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 32 || hex.EncodeToString(b) != s {
			t.Fatalf("Valid(%q) accepted a string that is not a lowercase hex SHA-256: %v", s, err)
		}
	})
}
