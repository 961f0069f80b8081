package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/store"
)

// BenchmarkAuthenticate compares a login answered from the credential
// cache with one that checks argon2id (the default parameters), over a
// real SQLite store:
//
//	go test -run '^$' -bench Authenticate -benchmem ./internal/directory
func BenchmarkAuthenticate(b *testing.B) {
	for _, bc := range []struct {
		name  string
		login string
		pw    string
		cache bool
	}{
		{"hit", "alice", "pw", true},
		{"miss", "alice", "pw", false},
		{"unknown", "ghost", "pw", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newCounted(b, auth.DefaultParams)
			c.addUser(b, "acme", "alice", "pw", auth.DefaultParams)
			if !bc.cache {
				c.Cache = nil
			}
			c.Throttle = nil
			ctx := context.Background()
			c.Authenticate(ctx, bc.login, bc.pw, ipB, "imap") // warm: cache, dummy hash
			b.ResetTimer()
			for b.Loop() {
				c.Authenticate(ctx, bc.login, bc.pw, ipB, "imap")
			}
		})
	}
}

// BenchmarkSecretLogin: an app password as the password (HMAC and one
// indexed read, no argon2id), a bearer token, and a web session check,
// over a real SQLite store:
//
//	go test -run '^$' -bench SecretLogin -benchmem ./internal/directory
func BenchmarkSecretLogin(b *testing.B) {
	c := newCounted(b, auth.DefaultParams)
	c.addUser(b, "acme", "alice", "pw", auth.DefaultParams)
	c.Throttle = nil
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	pw, _, err := c.CreateAppPassword(sys, "alice", "phone", nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := c.CreateToken(sys, "alice", "t", nil, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	sess, err := c.OpenSession(ctx, &store.Principal{Login: "alice"}, ipB)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("app-password", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Authenticate(ctx, "alice", pw, ipB, "imap"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bearer", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.VerifyBearer(ctx, tok, "", "imap", ipB); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.VerifySession(ctx, sess.Token, ipB); err != nil {
				b.Fatal(err)
			}
		}
	})
}
