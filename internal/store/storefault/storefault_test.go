package storefault_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/store/storefault"
)

var _ store.Backend = (*storefault.Backend)(nil)

func TestFailHealHook(t *testing.T) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "db"), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sys := store.SystemContext(context.Background())
	f := storefault.New(db)
	if _, err := f.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	f.Fail(nil, "GetTenant", "GetUser")
	if _, err := f.GetTenant(sys, "acme"); !errors.Is(err, storefault.ErrInjected) {
		t.Errorf("GetTenant after Fail: %v", err)
	}
	f.Heal("GetTenant")
	if _, err := f.GetTenant(sys, "acme"); err != nil {
		t.Errorf("GetTenant after Heal: %v", err)
	}
	// Logins over the wrapper meet the failing directory as an error that
	// is none of the login sentinels.
	_, err = f.Authenticate("imap")(context.Background(), "alice", "pw", nil)
	if err == nil || errors.Is(err, directory.ErrBadCredentials) || !errors.Is(err, storefault.ErrInjected) {
		t.Errorf("login with a failing directory: %v", err)
	}
	f.Heal()
	custom := errors.New("disk full")
	f.SetHook(func(_ context.Context, m string) error {
		if m == "GetTenant" {
			return custom
		}
		return nil
	})
	if _, err := f.GetTenant(sys, "acme"); !errors.Is(err, custom) {
		t.Errorf("GetTenant with a hook: %v", err)
	}
	if n := f.Calls("GetTenant"); n != 3 {
		t.Errorf("Calls(GetTenant) = %d, want 3", n)
	}
}
