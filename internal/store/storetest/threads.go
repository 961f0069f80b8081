package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

func threadMsg(id, subject string, refs ...string) string {
	h := fmt.Sprintf("From: a@example.test\r\nSubject: %s\r\nMessage-ID: <%s>\r\n", subject, id)
	if len(refs) > 0 {
		h += "In-Reply-To: <" + refs[len(refs)-1] + ">\r\nReferences: <" + strings.Join(refs, "> <") + ">\r\n"
	}
	return h + "\r\nBody\r\n"
}

// testThreads: messages that refer to one another with the same base
// subject share a thread, whatever order they arrive in and whichever
// folder they are in; a reference with another subject, a message
// without references, another store, and calendar objects do not.
func testThreads(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	add := func(folder int64, body string) *store.Item {
		return must(b.AppendItem(f.alice, folder, store.NewItem{Content: strings.NewReader(body)}))
	}
	sent := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Sent2", store.FolderMail))
	root := add(f.aliceInbox.ID, threadMsg("r@x", "Lunch"))
	if root.ThreadID != root.ID {
		t.Fatalf("a new conversation's thread is its first item: %d, item %d", root.ThreadID, root.ID)
	}
	reply := add(sent.ID, threadMsg("a@x", "Re: Lunch", "r@x"))
	// The grandchild arrives before its parent: the parent joins it.
	grand := add(f.aliceInbox.ID, threadMsg("c@x", "RE: [list] Lunch", "r@x", "b@x"))
	parent := add(f.aliceInbox.ID, threadMsg("b@x", "Re: Lunch", "r@x"))
	other := add(f.aliceInbox.ID, threadMsg("d@x", "Something else", "r@x"))
	plain := add(f.aliceInbox.ID, msg(1))
	for _, it := range []*store.Item{reply, grand, parent} {
		if it.ThreadID != root.ThreadID {
			t.Errorf("item %d in thread %d, want %d", it.ID, it.ThreadID, root.ThreadID)
		}
		if got := must(b.GetItem(f.alice, it.ID)); got.ThreadID != root.ThreadID {
			t.Errorf("GetItem %d: thread %d", it.ID, got.ThreadID)
		}
	}
	if other.ThreadID == root.ThreadID || plain.ThreadID != plain.ID {
		t.Fatalf("other subject in thread %d, plain %d", other.ThreadID, plain.ThreadID)
	}
	// Bob's copy of the reply is in his own conversation.
	bobs := must(b.AppendItem(f.bob, f.bobInbox.ID, store.NewItem{Content: strings.NewReader(threadMsg("a@x", "Re: Lunch", "r@x"))}))
	if bobs.ThreadID == root.ThreadID {
		t.Fatal("a thread crosses stores")
	}
	refs := must(b.ThreadItems(f.alice, f.aliceStore.ID, root.ThreadID))
	var got []int64
	for _, r := range refs {
		got = append(got, r.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int64{root.ID, reply.ID, grand.ID, parent.ID}) {
		t.Fatalf("thread items %v", got)
	}
	// A copy in the store stays in the thread; a move keeps it.
	must(b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{root.UID}, sent.ID))
	must(b.MoveItems(f.alice, f.aliceInbox.ID, []uint32{grand.UID}, sent.ID))
	if n := len(must(b.ThreadItems(f.alice, f.aliceStore.ID, root.ThreadID))); n != 5 {
		t.Fatalf("%d items after copy and move", n)
	}
	// Deleted items leave the thread's live items but keep their thread.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{parent.UID}))
	if n := len(must(b.ThreadItems(f.alice, f.aliceStore.ID, root.ThreadID))); n != 4 {
		t.Fatalf("%d items after delete", n)
	}
	m := must(b.ItemThreads(f.alice, f.aliceStore.ID, []int64{parent.ID, plain.ID, bobs.ID}))
	if m[parent.ID] != root.ThreadID || m[plain.ID] != plain.ID || len(m) != 2 {
		t.Fatalf("item threads %v", m)
	}
	// Bob sees nothing of alice's thread; alice's store is not his.
	if refs := must(b.ThreadItems(f.bob, f.aliceStore.ID, root.ThreadID)); len(refs) != 0 {
		t.Fatalf("bob sees %v", refs)
	}
	_, err := b.ItemThreads(f.eve, f.aliceStore.ID, []int64{root.ID})
	wantErr(t, err, store.ErrNotFound)
	// Sharing the inbox shows bob the items there, not those in Sent2.
	check(b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "lr"))
	if refs := must(b.ThreadItems(f.bob, f.aliceStore.ID, root.ThreadID)); len(refs) != 1 || refs[0].FolderID != f.aliceInbox.ID {
		t.Fatalf("bob sees %v through the shared inbox", refs)
	}
	// ItemThreads answers bob for the inbox's items only (the deleted
	// one included), not for those in Sent2.
	m = must(b.ItemThreads(f.bob, f.aliceStore.ID, []int64{parent.ID, plain.ID, reply.ID}))
	if m[parent.ID] != root.ThreadID || m[plain.ID] != plain.ID || len(m) != 2 {
		t.Fatalf("item threads for bob through the shared inbox: %v", m)
	}
}

// testQueryItems: a page of a store's items by date, from the database,
// with threads collapsed, totals and access checks.
func testQueryItems(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	other := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Other", store.FolderMail))
	cal := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Cal", store.FolderCalendar))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var items []*store.Item
	for i := range 12 {
		folder := f.aliceInbox.ID
		if i%3 == 2 {
			folder = other.ID
		}
		body := msg(i)
		if i%4 == 1 {
			// every fourth message replies to the first
			body = threadMsg(fmt.Sprintf("m%d@x", i), "Re: Topic", "m0@x")
		} else if i == 0 {
			body = threadMsg("m0@x", "Topic")
		}
		items = append(items, must(b.AppendItem(f.alice, folder, store.NewItem{Content: strings.NewReader(body),
			InternalDate: base.Add(time.Duration(i%6) * time.Hour)})))
	}
	must(b.AppendItem(f.alice, cal.ID, store.NewItem{Content: strings.NewReader("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), Name: "e.ics", ObjectUID: "e"}))
	// Expected order: newest first, ties by id descending.
	want := slices.Clone(items)
	slices.SortFunc(want, func(x, y *store.Item) int {
		if c := y.InternalDate.Compare(x.InternalDate); c != 0 {
			return c
		}
		return int(y.ID - x.ID)
	})
	idsOf := func(p store.ItemPage) []int64 {
		var out []int64
		for _, r := range p.Items {
			out = append(out, r.ID)
		}
		return out
	}
	all := must(b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, Limit: 100, Total: true}))
	var wantIDs []int64
	for _, it := range want {
		wantIDs = append(wantIDs, it.ID)
	}
	if fmt.Sprint(idsOf(all)) != fmt.Sprint(wantIDs) || all.Total != 12 {
		t.Fatalf("all: %v (total %d), want %v", idsOf(all), all.Total, wantIDs)
	}
	page := must(b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, Position: 3, Limit: 4}))
	if fmt.Sprint(idsOf(page)) != fmt.Sprint(wantIDs[3:7]) || page.Total != -1 {
		t.Fatalf("page: %v, want %v", idsOf(page), wantIDs[3:7])
	}
	asc := must(b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, Ascending: true, Limit: 1}))
	if idsOf(asc)[0] != wantIDs[len(wantIDs)-1] {
		t.Fatalf("ascending first %v, want %d", idsOf(asc), wantIDs[len(wantIDs)-1])
	}
	inbox := must(b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, FolderIDs: []int64{f.aliceInbox.ID}, Limit: 100, Total: true}))
	if inbox.Total != 8 || len(inbox.Items) != 8 {
		t.Fatalf("inbox %d/%d", len(inbox.Items), inbox.Total)
	}
	// Collapsed: one item per thread, the newest of each.
	thread := items[0].ThreadID
	col := must(b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, CollapseThreads: true, Limit: 100, Total: true}))
	inThread := 0
	var firstOfThread int64
	for _, id := range wantIDs {
		if must(b.GetItem(f.alice, id)).ThreadID == thread {
			inThread++
			if firstOfThread == 0 {
				firstOfThread = id
			}
		}
	}
	if inThread != 4 || col.Total != 12-inThread+1 || len(col.Items) != col.Total {
		t.Fatalf("collapsed %v total %d (thread of %d)", idsOf(col), col.Total, inThread)
	}
	for _, r := range col.Items {
		if r.ThreadID == thread && r.ID != firstOfThread {
			t.Fatalf("thread represented by %d, want its newest %d", r.ID, firstOfThread)
		}
	}
	// Access: bob may not query alice's store or folder, eve neither;
	// a bad limit is refused.
	_, err := b.QueryItems(f.bob, store.ItemQuery{StoreID: f.aliceStore.ID, Limit: 10})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.QueryItems(f.eve, store.ItemQuery{StoreID: f.aliceStore.ID, FolderIDs: []int64{f.aliceInbox.ID}, Limit: 10})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, FolderIDs: []int64{f.bobInbox.ID}, Limit: 10})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, Limit: 0})
	wantErr(t, err, store.ErrInvalid)
	// Shared: bob reads alice's inbox only.
	check(b.SetACL(f.alice, f.aliceInbox.ID, "user:bob", "lr"))
	shared := must(b.QueryItems(f.bob, store.ItemQuery{StoreID: f.aliceStore.ID, Limit: 100, Total: true}))
	if shared.Total != 8 {
		t.Fatalf("bob sees %d of alice's items", shared.Total)
	}
	// Deleted items leave the results.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{items[0].UID}))
	if p := must(b.QueryItems(f.alice, store.ItemQuery{StoreID: f.aliceStore.ID, Limit: 100, Total: true})); p.Total != 11 {
		t.Fatalf("after delete %d", p.Total)
	}
}
