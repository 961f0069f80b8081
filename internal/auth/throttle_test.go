package auth

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	th := &Throttle{now: func() time.Time { return now }}
	for i := 0; i < 3; i++ {
		if d, b := th.Check("1.2.3.4", "alice"); d != 0 || b {
			t.Fatalf("attempt %d: delay %v banned %v", i, d, b)
		}
		th.Fail("1.2.3.4", "alice")
	}
	d1, _ := th.Check("1.2.3.4", "alice")
	th.Fail("1.2.3.4", "alice")
	d2, _ := th.Check("1.2.3.4", "alice")
	if d1 != 250*time.Millisecond || d2 != 500*time.Millisecond {
		t.Fatalf("delays %v %v", d1, d2)
	}
	// The account is slowed from any IP; another account from another IP is not.
	if d, _ := th.Check("5.6.7.8", "alice"); d == 0 {
		t.Fatal("account not throttled from a new IP")
	}
	if d, _ := th.Check("5.6.7.8", "bob"); d != 0 {
		t.Fatal("unrelated login throttled")
	}
	for i := 0; i < 20; i++ {
		th.Fail("1.2.3.4", "alice")
	}
	if _, b := th.Check("1.2.3.4", "carol"); !b {
		t.Fatal("IP not banned")
	}
	if _, b := th.Check("9.9.9.9", "alice"); !b {
		t.Fatal("account not banned")
	}
	// A success does not lift a ban on the IP, and bans expire.
	th.Succeed("1.2.3.4", "alice")
	if _, b := th.Check("1.2.3.4", "dave"); !b {
		t.Fatal("ban lifted by a success")
	}
	now = now.Add(16 * time.Minute)
	if d, b := th.Check("1.2.3.4", "alice"); d != 0 || b {
		t.Fatalf("after expiry: %v %v", d, b)
	}
	// Bounded memory.
	small := &Throttle{MaxKeys: 10, now: func() time.Time { return now }}
	for i := 0; i < 100; i++ {
		small.Fail(string(rune('a'+i%26))+"x", "u")
	}
	if len(small.keys) > 10 {
		t.Fatalf("%d keys", len(small.keys))
	}
}
