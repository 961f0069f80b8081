package directory_test

import (
	"context"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
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
