package auth

import (
	"testing"
	"time"
)

func TestCredCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCredCache(3, time.Minute)
	c.now = func() time.Time { return now }
	v := Verifier{UserID: 1, TenantID: 10, Hash: "$argon2id$h1"}
	if c.Lookup(v, "pw") {
		t.Fatal("hit in an empty cache")
	}
	c.Add(v, "pw")
	if !c.Lookup(v, "pw") {
		t.Fatal("miss after Add")
	}
	// A wrong password is never a hit, nor the right one for another user.
	for _, s := range []string{"PW", "pw ", "", "wrong"} {
		if c.Lookup(v, s) {
			t.Fatalf("hit for %q", s)
		}
	}
	if c.Lookup(Verifier{UserID: 2, TenantID: 10, Hash: v.Hash}, "pw") {
		t.Fatal("hit for another user")
	}
	// A changed stored hash, tenant or user id invalidates, and the entry
	// is gone even if the old verifier comes back.
	for _, changed := range []Verifier{
		{UserID: 1, TenantID: 10, Hash: "$argon2id$h2"},
		{UserID: 1, TenantID: 11, Hash: v.Hash},
	} {
		c.Add(v, "pw")
		if c.Lookup(changed, "pw") {
			t.Fatalf("hit with changed verifier %+v", changed)
		}
		if c.Lookup(v, "pw") {
			t.Fatalf("entry survived a mismatch with %+v", changed)
		}
	}
	// TTL.
	c.Add(v, "pw")
	now = now.Add(59 * time.Second)
	if !c.Lookup(v, "pw") {
		t.Fatal("expired early")
	}
	now = now.Add(time.Second)
	if c.Lookup(v, "pw") {
		t.Fatal("hit after TTL")
	}
	// Size bound, least recently used first.
	for i := int64(1); i <= 3; i++ {
		c.Add(Verifier{UserID: i, Hash: "h"}, "pw")
	}
	c.Lookup(Verifier{UserID: 1, Hash: "h"}, "pw") // 1 is now the most recent
	c.Add(Verifier{UserID: 4, Hash: "h"}, "pw")
	if c.Len() != 3 {
		t.Fatalf("%d entries", c.Len())
	}
	if c.Lookup(Verifier{UserID: 2, Hash: "h"}, "pw") || !c.Lookup(Verifier{UserID: 1, Hash: "h"}, "pw") {
		t.Fatal("not LRU")
	}
	// Forget drops every entry of a user.
	c.Add(Verifier{UserID: 1, Hash: "h"}, "other")
	c.Forget(1)
	if c.Lookup(Verifier{UserID: 1, Hash: "h"}, "pw") || c.Lookup(Verifier{UserID: 1, Hash: "h"}, "other") {
		t.Fatal("Forget kept an entry")
	}
	// Two caches have different keys: nothing verified in one counts in
	// the other.
	d := NewCredCache(3, time.Minute)
	if d.key == c.key {
		t.Fatal("same HMAC key")
	}
	// A disabled cache caches nothing.
	var off *CredCache = NewCredCache(0, time.Minute)
	off.Add(v, "pw")
	if off.Lookup(v, "pw") || off.Len() != 0 {
		t.Fatal("disabled cache hit")
	}
	off.Forget(1)
}
