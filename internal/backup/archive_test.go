package backup_test

import (
	"context"
	"slices"
	"testing"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestArchiveStoreBackup: a backup of everything includes users' archive
// stores ("archive:LOGIN"); restoring one into an empty installation
// attaches an archive to the user and fills it, read-only to the user as
// before.
func TestArchiveStoreBackup(t *testing.T) {
	s := install(t, testenv.Backend())
	arch, err := s.AttachArchive(sys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	own, _ := s.UserStore(sys, "alice")
	var inbox *store.Folder
	fs, _ := s.ListFolders(sys, own.ID)
	for _, f := range fs {
		if f.Special == store.SpecialInbox {
			inbox = f
		}
	}
	it := appendMsg(t, sys, s, inbox.ID, msg(1), day0, `\Seen`, "$work")
	dest := mkFolder(t, sys, s, arch.ID, 0, "Inbox", store.FolderMail)
	if _, err := s.ArchiveItems(sys, inbox.ID, []uint32{it.UID}, dest.ID); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	sum, err := backup.Run(ctx, s, backup.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sum.Stores, func(e backup.StoreEntry) bool { return e.Login == "archive:alice" })
	if i < 0 || sum.Stores[i].Items != 1 {
		t.Fatalf("stores: %+v", sum.Stores)
	}

	dst := install(t, testenv.Backend())
	r, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "archive:alice"})
	if err != nil || r.Created != 1 {
		t.Fatalf("restore: %+v %v", r, err)
	}
	got, err := dst.UserArchive(sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	fs, _ = dst.ListFolders(sys, got.ID)
	if len(fs) != 1 || fs[0].Name != "Inbox" {
		t.Fatalf("restored archive folders %+v", fs)
	}
	items, _ := dst.ListItems(sys, fs[0].ID, 0, 0)
	if len(items) != 1 || !slices.Equal(items[0].Flags, []string{"$work", `\Seen`}) || !items[0].InternalDate.Equal(day0) {
		t.Fatalf("restored archive items %+v", items)
	}
	if r, _ := dst.MyRights(testenv.As(t, dst, "alice"), fs[0].ID); r != "lr" {
		t.Fatalf("alice's rights on the restored archive: %q", r)
	}
	// Restoring twice creates nothing twice.
	if r, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "archive:alice"}); err != nil || r.Created != 0 {
		t.Fatalf("second restore: %+v %v", r, err)
	}
}
