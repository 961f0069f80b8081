package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// A database failure while checking a reader's access is an error, not
// "not found": otherwise IMAP FETCH skips the message as expunged and the
// change feed drops changes (issue 9.15).
func TestAccessFailureIsNotNotFound(t *testing.T) {
	dir := t.TempDir()
	db := openSQLite(t, dir, newBlobs(t, dir))
	defer db.Close()
	sys := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := db.CreateUser(sys, "acme", store.User{Login: u, Email: u + "@acme.test", Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	as := func(login string) context.Context {
		p, err := db.Principal(sys, login)
		if err != nil {
			t.Fatal(err)
		}
		return store.WithPrincipal(context.Background(), p)
	}
	st, err := db.UserStore(sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	folders, err := db.ListFolders(sys, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	var inbox int64
	for _, f := range folders {
		if f.Special == store.SpecialInbox {
			inbox = f.ID
		}
	}
	if err := db.SetACL(sys, inbox, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	it, err := db.AppendItem(sys, inbox, store.NewItem{Content: strings.NewReader("Subject: x\r\n\r\nx\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	bob := as("bob")
	if _, err := db.GetItem(bob, it.ID); err != nil {
		t.Fatalf("shared item before the failure: %v", err)
	}

	// Break the ACL table from outside, as a damaged or unreachable
	// database would.
	raw, err := sql.Open("sqlite", filepath.Join(dir, "roost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`ALTER TABLE acl RENAME TO acl_gone`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetItem(bob, it.ID); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetItem with a failing database = %v, want an error other than ErrNotFound", err)
	}
	if _, err := db.OpenItem(bob, it.ID); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenItem with a failing database = %v, want an error other than ErrNotFound", err)
	}
	if _, err := db.ReplaceItem(bob, it.ID, store.NewItem{Content: strings.NewReader("Subject: y\r\n\r\ny\r\n")}); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceItem with a failing database = %v, want an error other than ErrNotFound", err)
	}
	if _, err := db.Changes(bob, st.ID, 0, 100); err == nil {
		t.Errorf("Changes with a failing database = nil error, want the failure")
	}
}
