package auth

import (
	"fmt"
	"strings"
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
	// The address is slowed whatever the account.
	if d, _ := th.Check("1.2.3.4", "bob"); d == 0 {
		t.Fatal("address not throttled for another account")
	}
	// Four failures do not slow the account from a clean address, nor an
	// unrelated login.
	if d, _ := th.Check("5.6.7.8", "alice"); d != 0 {
		t.Fatalf("account slowed from a new address after 4 failures: %v", d)
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
	// The account is slowed but never banned from a clean address.
	if d, b := th.Check("9.9.9.9", "alice"); b || d == 0 || d > 8*time.Second {
		t.Fatalf("account from a clean address: delay %v banned %v", d, b)
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

// TestThrottleLockout is issue 9 item 10: an attacker at address A failing
// 50 times gets A banned and the (account, A) pair banned, and does not
// stop the owner at address B.
func TestThrottleLockout(t *testing.T) {
	now := time.Unix(1000, 0)
	th := &Throttle{now: func() time.Time { return now }}
	// Every attempt counts, refused ones too (the directory records a
	// refused attempt with Refused), so an address that keeps trying an
	// account banned there ends up banned itself.
	pairBanned := 0
	for range 50 {
		if _, b := th.Check("10.0.0.1", "alice"); b {
			pairBanned++
			th.Refused("10.0.0.1", "alice")
		} else {
			th.Fail("10.0.0.1", "alice")
		}
		now = now.Add(time.Second)
	}
	if pairBanned != 40 {
		t.Fatalf("%d of 50 attempts refused, want 40 (after 10 failures)", pairBanned)
	}
	if _, b := th.Check("10.0.0.1", "bob"); !b {
		t.Fatal("attacking address not banned")
	}
	if _, b := th.Check("10.0.0.2", "alice"); b {
		t.Fatal("owner refused from another address")
	}
	// The pair is banned before the address: 10 failures for one account
	// from a shared address (NAT) ban that account there, not the address.
	th2 := &Throttle{now: func() time.Time { return now }}
	for range 10 {
		th2.Fail("10.0.0.9", "ALICE")
	}
	if _, b := th2.Check("10.0.0.9", "alice"); !b {
		t.Fatal("pair not banned (account names compare case-insensitively)")
	}
	if _, b := th2.Check("10.0.0.9", "bob"); b {
		t.Fatal("address banned by one account's failures below BanAfter")
	}
	// A distributed guess (one failure from each of many addresses) slows
	// the account, growing, up to MaxDelay, and bans nothing.
	th3 := &Throttle{now: func() time.Time { return now }}
	var last time.Duration
	for i := range 40 {
		ip := "10.1.0." + string(rune('a'+i%26)) + string(rune('a'+i/26))
		th3.Fail(ip, "alice")
		d, b := th3.Check("10.2.0.1", "alice")
		if b {
			t.Fatal("account banned by a distributed guess")
		}
		if d < last {
			t.Fatalf("delay shrank: %v < %v", d, last)
		}
		last = d
	}
	if last != 8*time.Second {
		t.Fatalf("account delay after 40 failures: %v", last)
	}
}

// An IPv6 host can use any address of its /64: a ban holds for all of
// them. A long login does not make a counter as large as itself.
func TestThrottleKeys(t *testing.T) {
	now := time.Unix(1000, 0)
	th := &Throttle{now: func() time.Time { return now }}
	for i := range 20 {
		th.Fail(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("user%d", i))
	}
	if _, b := th.Check("2001:db8:1:2:ffff::9", "someone"); !b {
		t.Fatal("an address of a banned /64 is not banned")
	}
	if _, b := th.Check("2001:db8:1:3::1", "someone"); b {
		t.Fatal("the next /64 is banned too")
	}
	for i := range 20 {
		th.Fail("192.0.2.1", fmt.Sprintf("user%d", i))
	}
	if _, b := th.Check("::ffff:192.0.2.1", "someone"); !b {
		t.Fatal("an IPv4-mapped address escapes its IPv4 address's ban")
	}
	th.Fail("192.0.2.7", strings.Repeat("x", 1<<20))
	for k := range th.keys {
		if len(k) > 2*maxThrottleAccount {
			t.Fatalf("a key of %d bytes", len(k))
		}
	}
}

// A banned source trying a new login each time (refused at once, at no
// cost to it) adds no counters: it cannot fill the table so that other
// sources go uncounted.
func TestThrottleRefusedBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	th := &Throttle{MaxKeys: 100, now: func() time.Time { return now }}
	for range 20 {
		th.Fail("192.0.2.1", "alice")
	}
	for i := range 1000 {
		if _, b := th.Check("192.0.2.1", fmt.Sprint("guess", i)); !b {
			t.Fatalf("attempt %d not refused", i)
		}
		th.Refused("192.0.2.1", fmt.Sprint("guess", i))
	}
	for range 3 {
		th.Fail("198.51.100.1", "bob")
	}
	if d, _ := th.Check("198.51.100.1", "carol"); d == 0 {
		t.Fatalf("another source goes uncounted once a banned one tried many logins (%d keys)", len(th.keys))
	}
	// A refusal for a pair banned there still counts on its address.
	th2 := &Throttle{now: func() time.Time { return now }}
	for range 10 {
		th2.Fail("192.0.2.9", "alice")
	}
	th2.Succeed("192.0.2.9", "bob") // clears the address's counter, not the pair's
	for range 20 {
		th2.Refused("192.0.2.9", "alice")
	}
	if _, b := th2.Check("192.0.2.9", "bob"); !b {
		t.Fatal("an address that keeps trying a pair banned there is not banned")
	}
}
