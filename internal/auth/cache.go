package auth

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// CredCache remembers credentials that were verified against a stored
// password hash, so that a client that logs in again (POP3 polling, a
// phone reconnecting, DAV and ActiveSync sending Basic auth with every
// request) does not pay for argon2id each time (Dovecot's auth_cache).
//
// What it holds and why it is safe:
//   - Only successes. A failed check is never stored, so a wrong password
//     always costs a full hash check and is never accepted from memory.
//   - The secret itself is never stored: the key is the user's id and
//     HMAC-SHA256 of the secret under a random key made when the cache is
//     created, held only in this process's memory. A second process has a
//     different key; nothing is persisted.
//   - Each entry records what the secret was verified against: the user's
//     id, tenant id and the stored hash string (the Verifier). A caller
//     reads the user's row on every login anyway and passes the current
//     verifier to Lookup; the entry counts only when it is unchanged. A
//     password change (a new salted hash), a deleted and recreated user or
//     a move to another tenant therefore invalidates the entry at once,
//     in every process, without a message between them. The caller checks
//     that the account is active itself.
//   - Bounded: at most Size entries (least recently used dropped first),
//     each at most TTL old whatever its use.
//
// App passwords and tokens are not cached here: they are checked with a
// fast keyed hash (SecretHash) and one indexed read, which is also what
// makes their revocation immediate. Forget drops a user's entries at once
// for callers that learn of a change directly (a revoked app password
// among them).
type CredCache struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	key   [32]byte
	mu    sync.Mutex
	lru   *list.List // of *credEntry, most recent first
	items map[credKey]*list.Element
}

// Verifier is what a cached credential was checked against.
type Verifier struct {
	UserID   int64
	TenantID int64
	Hash     string // the stored password (or app password) hash
}

type credKey struct {
	user int64
	mac  [sha256.Size]byte
}

type credEntry struct {
	k       credKey
	v       Verifier
	expires time.Time
}

// NewCredCache returns a cache of at most size entries, each valid for at
// most ttl. A size or ttl of 0 or less returns nil, which caches nothing
// (every method of a nil *CredCache is a no-op).
func NewCredCache(size int, ttl time.Duration) *CredCache {
	if size <= 0 || ttl <= 0 {
		return nil
	}
	c := &CredCache{size: size, ttl: ttl, now: time.Now, lru: list.New(), items: map[credKey]*list.Element{}}
	if _, err := rand.Read(c.key[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return c
}

func (c *CredCache) keyOf(userID int64, secret string) credKey {
	m := hmac.New(sha256.New, c.key[:])
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(userID))
	m.Write(id[:])
	m.Write([]byte(secret))
	k := credKey{user: userID}
	m.Sum(k.mac[:0])
	return k
}

// Lookup reports whether secret was verified for the user within the TTL
// against exactly cur (same user id, tenant id and stored hash). A stale
// or mismatched entry is dropped.
func (c *CredCache) Lookup(cur Verifier, secret string) bool {
	if c == nil {
		return false
	}
	k := c.keyOf(cur.UserID, secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.items[k]
	if el == nil {
		return false
	}
	e := el.Value.(*credEntry)
	if !c.now().Before(e.expires) || e.v != cur {
		c.lru.Remove(el)
		delete(c.items, k)
		return false
	}
	c.lru.MoveToFront(el)
	return true
}

// Add records that secret was verified against v. Call it only after a
// successful check.
func (c *CredCache) Add(v Verifier, secret string) {
	if c == nil {
		return
	}
	k := c.keyOf(v.UserID, secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(c.ttl)
	if el := c.items[k]; el != nil {
		e := el.Value.(*credEntry)
		e.v, e.expires = v, exp
		c.lru.MoveToFront(el)
		return
	}
	c.items[k] = c.lru.PushFront(&credEntry{k: k, v: v, expires: exp})
	for c.lru.Len() > c.size {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.items, old.Value.(*credEntry).k)
	}
}

// Forget drops every entry of a user: the hook for a caller that learns
// of a password change, a disabled account or a revoked app password
// directly. (Lookup's verifier check already refuses such entries; this
// also frees them.)
func (c *CredCache) Forget(userID int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*credEntry); e.k.user == userID {
			c.lru.Remove(el)
			delete(c.items, e.k)
		}
		el = next
	}
}

// Len returns the number of entries held.
func (c *CredCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
