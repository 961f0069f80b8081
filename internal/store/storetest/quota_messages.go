package storetest

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// testMessageLimit: Defaults.MaxMessages bounds the items of a private
// store for appends, copies and moves between stores, not for public
// stores; StoreQuota reports it.
func testMessageLimit(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	if q := must(b.StoreQuota(f.alice, f.aliceStore.ID)); q.MaxMessages != 0 {
		t.Fatalf("a message limit by default: %+v", q)
	}
	b.SetDefaults(store.Defaults{MaxMessages: 2})
	defer b.SetDefaults(store.Defaults{})
	appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(2))
	_, err := b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(msg(3))})
	wantErr(t, err, store.ErrOverQuota)
	_, err = b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{1}, f.aliceInbox.ID)
	wantErr(t, err, store.ErrOverQuota)
	// Delivery is limited too; only the system's OverQuota goes past.
	_, err = b.AppendItem(sys, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader(msg(3))})
	wantErr(t, err, store.ErrOverQuota)
	q := must(b.StoreQuota(f.alice, f.aliceStore.ID))
	if q.Messages != 2 || q.MaxMessages != 2 {
		t.Fatalf("quota %+v", q)
	}
	// A move within the store adds nothing.
	trash := special(t, b, f.alice, f.aliceStore.ID, store.SpecialTrash)
	must(b.MoveItems(f.alice, f.aliceInbox.ID, []uint32{1}, trash.ID))
	// Deleting makes room.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{2}))
	appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(4))
	// Public stores count toward their tenant: no message limit.
	pub := must(b.CreatePublicStore(sys, "acme"))
	pf := must(b.CreateFolder(sys, pub.ID, 0, "Announcements", store.FolderMail))
	for i := range 3 {
		appendMsg(t, b, sys, pf.ID, msg(i))
	}
}
