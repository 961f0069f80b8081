package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Throttle slows down password guessing, shared by every protocol (SPEC
// §4.9, issue 9 item 10). It counts failures under three keys:
//
//   - the source address: after FreeFailures each attempt waits longer
//     (doubling up to MaxDelay); after BanAfter the address is refused
//     outright for BanFor, whatever account it tries;
//   - the account and source address together: the same delays, and a ban
//     of that pair after PairBanAfter;
//   - the account alone: only delays, starting after AccountFreeFailures,
//     never a ban. A correct password from an address with no recent
//     failures is therefore never refused because somebody else guessed
//     (before, twenty failures from anywhere locked the owner out
//     everywhere); it may wait up to MaxDelay while the account is under
//     attack, unless its credentials are in the credential cache.
//
// A success clears the pair's counter and the address's (unless the
// address is banned); the account's counter is left to expire, so an
// attacker cannot reset it by waiting for the owner to log in.
//
// An IPv6 source counts by its /64 (one customer's network: a host picks
// any address in it at will), so a ban cannot be dodged by moving within
// it. An account is counted by at most its first maxThrottleAccount bytes.
//
// It is in-memory per node; counters expire BanFor after their last
// failure, so memory stays bounded by the number of distinct keys that
// failed within BanFor, and by MaxKeys.
type Throttle struct {
	FreeFailures        int           // failures per address or pair before delays start (default 3)
	AccountFreeFailures int           // failures per account before delays start (default 10)
	BaseDelay           time.Duration // first delay (default 250ms)
	MaxDelay            time.Duration // cap on one delay (default 8s)
	BanAfter            int           // failures from one address that ban it (default 20)
	PairBanAfter        int           // failures for one account from one address that ban the pair (default 10)
	BanFor              time.Duration // how long a ban lasts (default 15m)
	MaxKeys             int           // bound on tracked keys (default 100000)

	mu   sync.Mutex
	keys map[string]*counter
	now  func() time.Time
}

type counter struct {
	failures int
	last     time.Time
	banned   time.Time // zero when not banned
}

func (t *Throttle) defaults() {
	if t.FreeFailures == 0 {
		t.FreeFailures = 3
	}
	if t.AccountFreeFailures == 0 {
		t.AccountFreeFailures = 10
	}
	if t.BaseDelay == 0 {
		t.BaseDelay = 250 * time.Millisecond
	}
	if t.MaxDelay == 0 {
		t.MaxDelay = 8 * time.Second
	}
	if t.BanAfter == 0 {
		t.BanAfter = 20
	}
	if t.PairBanAfter == 0 {
		t.PairBanAfter = 10
	}
	if t.BanFor == 0 {
		t.BanFor = 15 * time.Minute
	}
	if t.MaxKeys == 0 {
		t.MaxKeys = 100000
	}
	if t.keys == nil {
		t.keys = map[string]*counter{}
	}
	if t.now == nil {
		t.now = time.Now
	}
}

// throttleKey is one counter's key and its limits: failures before
// delays start, failures that ban (0: never).
type throttleKey struct {
	k         string
	free, ban int
}

// maxThrottleAccount bounds the account part of a key: no login is
// longer than an address (RFC 5321 §4.5.3.1: 64 + 1 + 255 octets), and
// a client must not make each counter as large as its command line.
const maxThrottleAccount = 320

// sourceOf is the address key of ip: an IPv6 address's /64 (an
// IPv4-mapped one is its IPv4 address), anything else as given.
func sourceOf(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
	}
	return a.String()
}

func (t *Throttle) kinds(ip, account string) [3]throttleKey {
	if len(account) > maxThrottleAccount {
		account = account[:maxThrottleAccount]
	}
	account = strings.ToLower(account)
	ip = sourceOf(ip)
	return [3]throttleKey{
		{"ip:" + ip, t.FreeFailures, t.BanAfter},
		{"pair:" + account + "\x00" + ip, t.FreeFailures, t.PairBanAfter},
		{"user:" + account, t.AccountFreeFailures, 0},
	}
}

// Check returns how long to wait before checking credentials for ip and
// account, and whether the attempt is refused outright (the address, or
// the account from this address, is banned).
func (t *Throttle) Check(ip, account string) (delay time.Duration, banned bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	now := t.now()
	for _, kk := range t.kinds(ip, account) {
		c := t.keys[kk.k]
		if c == nil {
			continue
		}
		if now.Sub(c.last) > t.BanFor {
			delete(t.keys, kk.k)
			continue
		}
		if !c.banned.IsZero() && now.Before(c.banned) {
			return 0, true
		}
		if over := c.failures - kk.free; over >= 0 {
			d := t.BaseDelay << min(over, 16)
			delay = max(delay, min(d, t.MaxDelay))
		}
	}
	return delay, false
}

// Fail records a failed attempt.
func (t *Throttle) Fail(ip, account string) { t.record(ip, account, false) }

// Refused records an attempt refused by a ban. It counts on the counters
// that exist but creates only the address's: a banned source is answered
// at once, without a password check, so if each new login it tried made
// new counters it could fill the table (MaxKeys) at line rate, after which
// no new source would be counted.
func (t *Throttle) Refused(ip, account string) { t.record(ip, account, true) }

func (t *Throttle) record(ip, account string, refused bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	now := t.now()
	if len(t.keys) >= t.MaxKeys {
		t.expire(now)
	}
	for i, kk := range t.kinds(ip, account) {
		c := t.keys[kk.k]
		if c == nil {
			if refused && i > 0 {
				continue // only the address's counter is made for a refusal
			}
			if len(t.keys) >= t.MaxKeys {
				continue // full of live counters: do not grow further
			}
			c = &counter{}
			t.keys[kk.k] = c
		}
		c.failures++
		c.last = now
		if kk.ban > 0 && c.failures >= kk.ban {
			c.banned = now.Add(t.BanFor)
		}
	}
}

// Succeed clears the counters of a successful login: the pair's, and the
// address's unless it is banned. The account's counter stays until it
// expires.
func (t *Throttle) Succeed(ip, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	ks := t.kinds(ip, account)
	delete(t.keys, ks[1].k)
	if c := t.keys[ks[0].k]; c != nil && c.banned.IsZero() {
		delete(t.keys, ks[0].k)
	}
}

func (t *Throttle) expire(now time.Time) {
	for k, c := range t.keys {
		if now.Sub(c.last) > t.BanFor {
			delete(t.keys, k)
		}
	}
}
