package auth

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B, SHA-1 rows (8 digits there; the last 6 are ours).
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, c := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		got := TOTPCode(key, TOTPStep(time.Unix(c.unix, 0)))
		if got != c.code[2:] {
			t.Errorf("T=%d: %s, want %s", c.unix, got, c.code[2:])
		}
	}
}

func TestCheckTOTP(t *testing.T) {
	key := NewTOTPKey()
	now := time.Unix(1_800_000_000, 0)
	step := TOTPStep(now)
	for d := int64(-1); d <= 1; d++ {
		if s, ok := CheckTOTP(key, TOTPCode(key, step+d), now); !ok || s != step+d {
			t.Errorf("step %+d refused", d)
		}
	}
	for _, d := range []int64{-3, -2, 2, 3} {
		if _, ok := CheckTOTP(key, TOTPCode(key, step+d), now); ok {
			t.Errorf("step %+d accepted", d)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := CheckTOTP(key, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	u := TOTPURI("Roost", "alice@example.org", key)
	if !strings.HasPrefix(u, "otpauth://totp/Roost:alice@example.org?") || !strings.Contains(u, "secret="+TOTPKeyText(key)) {
		t.Fatalf("uri %s", u)
	}
}
