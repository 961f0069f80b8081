package auth

import (
	"sync"
	"time"
)

// Throttle slows down password guessing, shared by every protocol (SPEC
// §4.9): after a few failures from one IP address or against one account,
// each further attempt waits longer (doubling), and past a limit the IP or
// account is refused outright for a while. Successes reset the account's
// and the IP's counters.
//
// It is in-memory per node; counters expire, so memory stays bounded by
// the number of distinct keys that failed within BanFor.
type Throttle struct {
	FreeFailures int           // failures before delays start (default 3)
	BaseDelay    time.Duration // first delay (default 250ms)
	MaxDelay     time.Duration // cap on one delay (default 8s)
	BanAfter     int           // failures that trigger a ban (default 20)
	BanFor       time.Duration // how long a ban lasts (default 15m)
	MaxKeys      int           // bound on tracked keys (default 100000)

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
	if t.BaseDelay == 0 {
		t.BaseDelay = 250 * time.Millisecond
	}
	if t.MaxDelay == 0 {
		t.MaxDelay = 8 * time.Second
	}
	if t.BanAfter == 0 {
		t.BanAfter = 20
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

// Check returns how long to wait before checking credentials for ip and
// account, and whether the attempt is refused (banned) outright.
func (t *Throttle) Check(ip, account string) (delay time.Duration, banned bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	now := t.now()
	for _, k := range []string{"ip:" + ip, "user:" + account} {
		c := t.keys[k]
		if c == nil {
			continue
		}
		if now.Sub(c.last) > t.BanFor {
			delete(t.keys, k)
			continue
		}
		if !c.banned.IsZero() && now.Before(c.banned) {
			return 0, true
		}
		if over := c.failures - t.FreeFailures; over >= 0 {
			d := t.BaseDelay << min(over, 16)
			delay = max(delay, min(d, t.MaxDelay))
		}
	}
	return delay, false
}

// Fail records a failed attempt.
func (t *Throttle) Fail(ip, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	now := t.now()
	if len(t.keys) >= t.MaxKeys {
		t.expire(now)
	}
	for _, k := range []string{"ip:" + ip, "user:" + account} {
		c := t.keys[k]
		if c == nil {
			if len(t.keys) >= t.MaxKeys {
				continue // full of live counters: do not grow further
			}
			c = &counter{}
			t.keys[k] = c
		}
		c.failures++
		c.last = now
		if c.failures >= t.BanAfter {
			c.banned = now.Add(t.BanFor)
		}
	}
}

// Succeed clears the counters of a successful login.
func (t *Throttle) Succeed(ip, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.defaults()
	delete(t.keys, "user:"+account)
	if c := t.keys["ip:"+ip]; c != nil && c.banned.IsZero() {
		delete(t.keys, "ip:"+ip)
	}
}

func (t *Throttle) expire(now time.Time) {
	for k, c := range t.keys {
		if now.Sub(c.last) > t.BanFor {
			delete(t.keys, k)
		}
	}
}
