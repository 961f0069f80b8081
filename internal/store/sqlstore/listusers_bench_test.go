package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// benchListUsers: a tenant of 2,000 users listed by one of them, as the
// web client's directory and ActiveSync's GAL search do per request.
func benchListUsers(b *testing.B, db *sqlstore.DB) {
	env := benchSetup(b, db)
	for i := range 1999 {
		if _, err := db.CreateUser(sys, "bench", store.User{Login: fmt.Sprintf("u%04d", i), FullName: fmt.Sprintf("User %04d", i), Active: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		us, err := db.ListUsers(env.alice, "bench")
		if err != nil || len(us) != 2000 {
			b.Fatalf("%d users, %v", len(us), err)
		}
	}
}

func BenchmarkListUsers2000(b *testing.B) { benchListUsers(b, sqliteBench(b)) }
func BenchmarkListUsers2000PG(b *testing.B) {
	benchListUsers(b, postgresBench(b))
}
