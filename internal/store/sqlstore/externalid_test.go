package sqlstore_test

import (
	"errors"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestExternalID: users linked to an external directory entry are found
// by its id, keep it across renames, and no two users share one; a user
// of another tenant does not see the link.
func TestExternalID(t *testing.T) {
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			db := testenv.Open(t, testenv.Options{Backend: backend})
			db.Tenants(t, "acme", "globex")
			sys := testenv.Sys
			u, err := db.CreateUser(sys, "acme", store.User{Login: "alice", Active: true, ExternalID: "entryUUID:1"})
			if err != nil || u.ExternalID != "entryUUID:1" {
				t.Fatalf("create: %+v %v", u, err)
			}
			if _, err := db.CreateUser(sys, "acme", store.User{Login: "bob", Active: true, ExternalID: "entryUUID:1"}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second user with the same id: %v", err)
			}
			db.User(t, "globex", store.User{Login: "carl", Active: true}, "pw")
			db.User(t, "acme", store.User{Login: "dora", Active: true}, "pw")
			name := "alicia"
			if _, err := db.UpdateUser(sys, "alice", store.UserUpdate{Rename: &name}); err != nil {
				t.Fatal(err)
			}
			got, err := db.UserByExternalID(sys, "entryUUID:1")
			if err != nil || got.ID != u.ID || got.Login != "alicia" {
				t.Fatalf("by id after rename: %+v %v", got, err)
			}
			for _, id := range []string{"", "entryUUID:2"} {
				if _, err := db.UserByExternalID(sys, id); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("id %q: %v", id, err)
				}
			}
			if _, err := db.UserByExternalID(testenv.As(t, db.DB, "carl"), "entryUUID:1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("seen from another tenant: %v", err)
			}
			id := "entryUUID:1"
			if _, err := db.UpdateUser(sys, "dora", store.UserUpdate{ExternalID: &id}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("linking a second user to the id: %v", err)
			}
			if _, err := db.UserByExternalID(testenv.As(t, db.DB, "alicia"), "entryUUID:1"); err != nil {
				t.Fatalf("self: %v", err)
			}
		})
	}
}
