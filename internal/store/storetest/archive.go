package storetest

import (
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// testArchives checks archive stores: one per user, attached and
// detached by administrators of the user's tenant, read-only to their
// owner, written only by the system principal, each item archived once.
func testArchives(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	must(b.CreateUser(sys, "acme", store.User{Login: "boss", Email: "boss@acme.test", Active: true, Admin: store.AdminTenant}))
	boss := as(t, b, "boss")

	// Only administrators of alice's tenant attach; eve does not even
	// see alice.
	if _, err := b.AttachArchive(f.bob, "alice", ""); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("bob attaches alice's archive: %v", err)
	}
	if _, err := b.AttachArchive(f.eve, "alice", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("eve attaches alice's archive: %v", err)
	}
	if _, err := b.UserArchive(f.alice, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("archive before attach: %v", err)
	}
	arch := must(b.AttachArchive(boss, "alice", "node-b"))
	if arch.Kind != store.StoreArchive || arch.Owner != "alice" || arch.Node != "node-b" || arch.Tenant != "acme" {
		t.Fatalf("attached %+v", arch)
	}
	if _, err := b.AttachArchive(sys, "alice", ""); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second archive: %v", err)
	}
	if got := must(b.UserArchive(f.alice, "alice")); got.ID != arch.ID {
		t.Fatalf("UserArchive %+v", got)
	}
	if _, err := b.UserArchive(f.bob, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob reads alice's archive: %v", err)
	}
	if _, err := b.UserArchive(f.eve, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("eve reads alice's archive: %v", err)
	}
	if l := must(b.ListArchives(boss, "")); len(l) != 1 || l[0].ID != arch.ID {
		t.Fatalf("ListArchives %+v", l)
	}
	if _, err := b.ListArchives(f.alice, ""); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("alice lists archives: %v", err)
	}
	if _, err := b.ListArchives(f.eve, "acme"); err == nil {
		t.Fatal("eve lists acme's archives")
	}
	// Archives do not crowd the user's private store out.
	if s := must(b.UserStore(f.alice, "alice")); s.ID != f.aliceStore.ID {
		t.Fatalf("UserStore after attach: %+v", s)
	}

	// The system principal builds the archive's tree and archives.
	root := must(b.CreateFolder(sys, arch.ID, 0, "Inbox", store.FolderMail))
	if _, err := b.CreateFolder(f.alice, arch.ID, 0, "Mine", store.FolderMail); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("alice creates a folder in her archive: %v", err)
	}
	old := time.Date(2020, 3, 1, 10, 0, 0, 0, time.UTC)
	i1 := must(b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(msg(1)), Flags: []string{`\Seen`, "$work"}, InternalDate: old}))
	i2 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(2))
	if _, err := b.ArchiveItems(f.alice, f.aliceInbox.ID, []uint32{i1.UID}, root.ID); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("alice archives: %v", err)
	}
	if _, err := b.ArchiveItems(sys, f.aliceInbox.ID, []uint32{i1.UID}, f.bobInbox.ID); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("archive into bob's inbox: %v", err)
	}
	before := must(b.GetStore(sys, arch.ID)).ModSeq
	m := must(b.ArchiveItems(sys, f.aliceInbox.ID, []uint32{i1.UID, i2.UID}, root.ID))
	if len(m) != 2 || m[0].From != i1.UID {
		t.Fatalf("archived %+v", m)
	}
	// Archiving again copies nothing.
	if again := must(b.ArchiveItems(sys, f.aliceInbox.ID, []uint32{i1.UID, i2.UID}, root.ID)); len(again) != 0 {
		t.Fatalf("archived twice: %+v", again)
	}
	// The copies went through the archive's journal.
	ch := must(b.Changes(sys, arch.ID, before, 0))
	if len(ch) != 2 || ch[0].Kind != store.ChangeItemCreated || ch[0].FolderID != root.ID {
		t.Fatalf("journal %+v", ch)
	}
	// Flags and internal date kept; alice reads her archive.
	copies := must(b.ListItems(f.alice, root.ID, 0, 0))
	if len(copies) != 2 || !slices.Equal(copies[0].Flags, []string{"$work", `\Seen`}) || !copies[0].InternalDate.Equal(old) {
		t.Fatalf("copies %+v", copies)
	}
	rc := must(b.OpenItem(f.alice, copies[0].ID))
	body := must(io.ReadAll(rc))
	rc.Close()
	if string(body) != msg(1) {
		t.Fatalf("archived content %q", body)
	}
	if r := must(b.MyRights(f.alice, root.ID)); r != "lr" {
		t.Fatalf("alice's rights on her archive: %q", r)
	}
	if r := must(b.MyRights(boss, root.ID)); r != "lr" {
		t.Fatalf("tenant admin's rights on the archive: %q", r)
	}
	// Every write of alice (or her admin) is refused.
	refused := map[string]error{}
	_, refused["append"] = b.AppendItem(f.alice, root.ID, store.NewItem{Content: strings.NewReader(msg(3))})
	_, refused["flags"] = b.UpdateFlags(f.alice, root.ID, []uint32{copies[0].UID}, store.FlagsAdd, []string{`\Flagged`})
	_, refused["delete"] = b.DeleteItems(f.alice, root.ID, []uint32{copies[0].UID})
	_, refused["move out"] = b.MoveItems(f.alice, root.ID, []uint32{copies[0].UID}, f.aliceInbox.ID)
	_, refused["copy in"] = b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{i2.UID}, root.ID)
	_, refused["create child"] = b.CreateFolder(f.alice, arch.ID, root.ID, "Sub", store.FolderMail)
	_, refused["rename"] = b.RenameFolder(f.alice, root.ID, 0, "Other")
	refused["delete folder"] = b.DeleteFolder(boss, root.ID)
	refused["acl"] = b.SetACL(f.alice, root.ID, store.UserSubject("bob"), "lr")
	v := "x"
	refused["store props"] = b.SetStoreProps(f.alice, arch.ID, map[string]*string{"k": &v})
	refused["folder props"] = b.SetFolderProps(f.alice, root.ID, map[string]*string{"/shared/comment": &v})
	for what, err := range refused {
		if !errors.Is(err, store.ErrPermission) {
			t.Errorf("alice's %s in her archive: %v", what, err)
		}
	}
	// Stubbing replaces the original, keeping flags and date, and the
	// stub is known as archived (not archived again).
	recs := must(b.ArchivedItems(sys, f.aliceInbox.ID))
	if len(recs) != 2 || recs[i1.ID].ArchiveItemID != copies[0].ID || recs[i1.ID].Stubbed {
		t.Fatalf("records %+v", recs)
	}
	if _, err := b.StubItem(f.alice, i1.ID, strings.NewReader("stub")); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("alice stubs: %v", err)
	}
	stub := must(b.StubItem(sys, i1.ID, strings.NewReader("Subject: message 1\r\n\r\nArchived.\r\n")))
	if !slices.Equal(stub.Flags, []string{"$work", `\Seen`}) || !stub.InternalDate.Equal(old) || stub.UID <= i2.UID {
		t.Fatalf("stub %+v", stub)
	}
	recs = must(b.ArchivedItems(sys, f.aliceInbox.ID))
	if r, ok := recs[stub.ID]; !ok || !r.Stubbed || r.ArchiveItemID != copies[0].ID {
		t.Fatalf("stub record %+v", recs)
	}
	if _, ok := recs[i1.ID]; ok {
		t.Fatal("the replaced original still listed")
	}
	if again := must(b.ArchiveItems(sys, f.aliceInbox.ID, []uint32{stub.UID}, root.ID)); len(again) != 0 {
		t.Fatalf("stub archived: %+v", again)
	}
	if _, err := b.StubItem(sys, stub.ID, strings.NewReader("x")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("stub of a stub: %v", err)
	}
	i3 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(3))
	if _, err := b.StubItem(sys, i3.ID, strings.NewReader("x")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("stub of an item not archived: %v", err)
	}

	// Concurrent archivers copy each item once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := b.ArchiveItems(sys, f.aliceInbox.ID, []uint32{i3.UID}, root.ID)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += len(m)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 1 || len(must(b.ListItems(sys, root.ID, 0, 0))) != 3 {
		t.Fatalf("concurrent archivers copied %d", total)
	}

	// Placements: each live copy with where its original is now (the
	// stub standing for the original it replaced), in copy order.
	all := must(b.ListItems(sys, root.ID, 0, 0)) // the copies of i1, i2, i3
	if _, err := b.ArchivePlacements(f.alice, f.aliceStore.ID); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("alice lists placements: %v", err)
	}
	ps := must(b.ArchivePlacements(sys, f.aliceStore.ID))
	if len(ps) != 3 {
		t.Fatalf("placements %+v", ps)
	}
	for i, p := range ps {
		if p.ArchiveItemID != all[i].ID || p.ArchiveFolderID != root.ID || p.ArchiveUID != all[i].UID || p.FolderID != f.aliceInbox.ID || p.Removed {
			t.Fatalf("placement %d: %+v, copy %+v", i, p, all[i])
		}
	}
	// alice deletes i2 (its placement loses its folder); the archiver
	// removes i3 (recorded as removed) but not an item never archived.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{i2.UID}))
	i5 := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(5))
	if _, err := b.RemoveArchived(f.alice, f.aliceInbox.ID, []uint32{i3.UID}); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("alice removes archived: %v", err)
	}
	if gone := must(b.RemoveArchived(sys, f.aliceInbox.ID, []uint32{i3.UID, i5.UID})); !slices.Equal(gone, []uint32{i3.UID}) {
		t.Fatalf("removed %v, want only %d", gone, i3.UID)
	}
	if _, err := b.GetItem(sys, i5.ID); err != nil {
		t.Fatalf("the item never archived: %v", err)
	}
	ps = must(b.ArchivePlacements(sys, f.aliceStore.ID))
	if len(ps) != 3 || ps[0].FolderID != f.aliceInbox.ID || ps[1].FolderID != 0 || ps[1].Removed || ps[2].FolderID != 0 || !ps[2].Removed {
		t.Fatalf("placements after deletions %+v", ps)
	}
	// Moving the stub is seen; restoring i2 brings its folder back.
	other := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Other", store.FolderMail))
	must(b.MoveItems(f.alice, f.aliceInbox.ID, []uint32{stub.UID}, other.ID))
	must(0, b.RestoreItems(f.alice, []int64{i2.ID}))
	ps = must(b.ArchivePlacements(sys, f.aliceStore.ID))
	if ps[0].FolderID != other.ID || ps[1].FolderID != f.aliceInbox.ID {
		t.Fatalf("placements after a move and a restore %+v", ps)
	}

	// The archive is not held to alice's quota: with a hard quota her
	// private store is over, her archive is still written.
	yes, no, hard, zero := true, false, int64(1), int64(0)
	must(b.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &yes, QuotaHard: &hard}))
	if _, err := b.AppendItem(sys, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(msg(4))}); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("append to alice's inbox over quota: %v", err)
	}
	must(b.AppendItem(sys, root.ID, store.NewItem{Content: strings.NewReader(msg(4))}))
	must(b.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &no, QuotaHard: &zero}))

	// Detaching keeps the store as an orphan; a new archive can be
	// attached; the orphan cannot be hooked as a private store.
	if err := b.DetachArchive(f.alice, "alice"); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("alice detaches: %v", err)
	}
	must(0, b.DetachArchive(boss, "alice"))
	if _, err := b.UserArchive(f.alice, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("archive after detach: %v", err)
	}
	if err := b.DetachArchive(boss, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second detach: %v", err)
	}
	orphans := must(b.ListOrphans(boss))
	if len(orphans) != 1 || orphans[0].ID != arch.ID || orphans[0].FormerOwner != "alice" || orphans[0].Kind != store.StoreArchive {
		t.Fatalf("orphans %+v", orphans)
	}
	if err := b.HookStore(boss, arch.ID, "bob"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("archive hooked as a private store: %v", err)
	}
	must(b.AttachArchive(sys, "alice", ""))
}
