package storetest

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// testMessageMetas: summaries of a folder's messages in one call, equal
// to those computed from the content, for live items the caller may
// read only.
func testMessageMetas(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	small := mixed("a@example.test", "Grüße", "Hello.", attachment(3, 2<<10))
	big := mixed("b@example.test", "big", "See attached.", attachment(4, 200<<10)) // summarized on first use
	contents := map[uint32]string{}
	var uids []uint32
	for _, body := range []string{msg(1), small, big, msg(2), msg(3)} {
		it := appendMsg(t, b, f.alice, f.aliceInbox.ID, body)
		contents[it.UID] = body
		uids = append(uids, it.UID)
	}
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{uids[3]}))
	check := func(got []store.MessageMeta, want ...uint32) {
		t.Helper()
		var gotUIDs []uint32
		for _, m := range got {
			gotUIDs = append(gotUIDs, m.UID)
			root, _ := mime.Parse([]byte(contents[m.UID]), mime.Limits{})
			w := mime.Summarize(root)
			if m.Summary == nil || !bytes.Equal(m.Summary.Marshal(), w.Marshal()) {
				t.Fatalf("UID %d: summary differs from the content's", m.UID)
			}
		}
		if !slices.Equal(gotUIDs, want) {
			t.Fatalf("UIDs %v, want %v", gotUIDs, want)
		}
	}
	// Dense (a range) and sparse UID lists, unsorted, with UIDs that do
	// not exist or were deleted.
	for range 2 { // the second time from what the first stored
		check(must(b.MessageMetas(f.alice, f.aliceInbox.ID, []uint32{uids[4], uids[0], uids[1], uids[2], uids[3], uids[4] + 1})),
			uids[0], uids[1], uids[2], uids[4])
		check(must(b.MessageMetas(f.alice, f.aliceInbox.ID, []uint32{uids[2], uids[0] + 5000, uids[0]})), uids[0], uids[2])
	}
	if got := must(b.MessageMetas(f.alice, f.aliceInbox.ID, nil)); len(got) != 0 {
		t.Fatalf("no UIDs: %d summaries", len(got))
	}
	// Copies share the summary.
	m := must(b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{uids[1], uids[2]}, f.aliceInbox.ID))
	for _, c := range m {
		contents[c.To] = contents[c.From]
	}
	check(must(b.MessageMetas(f.alice, f.aliceInbox.ID, []uint32{m[0].To, m[1].To})), m[0].To, m[1].To)
	// Others may not read them.
	_, err := b.MessageMetas(f.bob, f.aliceInbox.ID, uids)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.MessageMetas(f.eve, f.aliceInbox.ID, uids)
	wantErr(t, err, store.ErrNotFound)
	// Once shared, they may.
	if err := b.SetACL(f.alice, f.aliceInbox.ID, store.UserSubject("bob"), "lr"); err != nil {
		t.Fatal(err)
	}
	check(must(b.MessageMetas(f.bob, f.aliceInbox.ID, uids[:2])), uids[0], uids[1])
	_, err = b.MessageMetas(f.alice, f.aliceInbox.ID, make([]uint32, store.MaxMessageMetas+1))
	wantErr(t, err, store.ErrInvalid)
}

// testOpenItems: one access check, then the content of live items of that
// folder only.
func testOpenItems(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	big := mixed("b@example.test", "big", "See attached.", attachment(5, 200<<10))
	a := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(1))
	c := appendMsg(t, b, f.alice, f.aliceInbox.ID, big)
	gone := appendMsg(t, b, f.alice, f.aliceInbox.ID, msg(2))
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{gone.UID}))
	other := appendMsg(t, b, f.bob, f.bobInbox.ID, msg(3))
	open := must(b.OpenItems(f.alice, f.aliceInbox.ID))
	for id, want := range map[int64]string{a.ID: msg(1), c.ID: big} {
		r := must(open(f.alice, id))
		got := must(io.ReadAll(r))
		r.Close()
		if string(got) != want {
			t.Fatalf("item %d: read %d bytes, want %d", id, len(got), len(want))
		}
	}
	for _, id := range []int64{gone.ID, other.ID, 1 << 40} {
		_, err := open(f.alice, id)
		wantErr(t, err, store.ErrNotFound)
	}
	_, err := b.OpenItems(f.bob, f.aliceInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.OpenItems(f.eve, f.aliceInbox.ID)
	wantErr(t, err, store.ErrNotFound)
	if err := b.SetACL(f.alice, f.aliceInbox.ID, store.UserSubject("bob"), "l"); err != nil {
		t.Fatal(err)
	}
	_, err = b.OpenItems(f.bob, f.aliceInbox.ID)
	wantErr(t, err, store.ErrPermission)
	if err := b.SetACL(f.alice, f.aliceInbox.ID, store.UserSubject("bob"), "lr"); err != nil {
		t.Fatal(err)
	}
	r := must(must(b.OpenItems(f.bob, f.aliceInbox.ID))(f.bob, a.ID))
	r.Close()
}
