package storetest

import (
	"bytes"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

func names(items []*store.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

func wantNames(t *testing.T, got []*store.Item, want ...string) {
	t.Helper()
	g := strings.Join(names(got), ",")
	if g != strings.Join(want, ",") {
		t.Fatalf("objects %q, want %q", g, strings.Join(want, ","))
	}
}

func testObjects(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	cal := special(t, b, f.alice, f.aliceStore.ID, store.SpecialCalendar)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	put := func(name, uid string, start, end time.Time) *store.Item {
		return must(b.AppendItem(f.alice, cal.ID, store.NewItem{Content: strings.NewReader("BEGIN:VCALENDAR " + name),
			Name: name, ObjectUID: uid, Start: start, End: end}))
	}
	a := put("a.ics", "uid-a", day(1), day(2))
	put("b.ics", "uid-b", day(5), day(6))
	put("c.ics", "uid-c", day(10), time.Time{}) // recurs for ever
	put("d.ics", "uid-d", time.Time{}, time.Time{})
	if a.Name != "a.ics" || a.ObjectUID != "uid-a" || !a.Start.Equal(day(1)) || !a.End.Equal(day(2)) {
		t.Fatalf("appended object index %+v", a)
	}
	got := must(b.GetItem(f.alice, a.ID))
	if got.Name != "a.ics" || !got.End.Equal(day(2)) {
		t.Fatalf("GetItem object index %+v", got)
	}
	// Names are unique among live items.
	_, err := b.AppendItem(f.alice, cal.ID, store.NewItem{Content: strings.NewReader("x"), Name: "a.ics"})
	wantErr(t, err, store.ErrConflict)
	for _, bad := range []string{"..", "a/b", "x\x00"} {
		_, err = b.AppendItem(f.alice, cal.ID, store.NewItem{Content: strings.NewReader("x"), Name: bad})
		wantErr(t, err, store.ErrInvalid)
	}
	_, err = b.AppendItem(f.alice, cal.ID, store.NewItem{Content: strings.NewReader("x"), Name: "e.ics", Start: day(3), End: day(2)})
	wantErr(t, err, store.ErrInvalid)

	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{})), "a.ics", "b.ics", "c.ics", "d.ics")
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Names: []string{"b.ics", "zz.ics", "a.ics"}})), "a.ics", "b.ics")
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{ObjectUID: "uid-c"})), "c.ics")
	// Overlap of [Start, End): touching ends do not overlap; unbounded
	// items match every range on their open side.
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Start: day(2), End: day(5)})), "d.ics")
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Start: day(1), End: day(6)})), "a.ics", "b.ics", "d.ics")
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Start: day(20), End: day(21)})), "c.ics", "d.ics")
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Start: day(5)})), "b.ics", "c.ics", "d.ics")
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{End: day(2), Limit: 1})), "a.ics")

	// Replace keeps the name, gives a new item and UID, and journals a
	// delete and a create that both carry the name.
	since := must(b.GetFolder(f.alice, cal.ID)).HighestModSeq
	r := must(b.ReplaceItem(f.alice, a.ID, store.NewItem{Content: strings.NewReader("BEGIN:VCALENDAR new"), ObjectUID: "uid-a", Start: day(3), End: day(4)}))
	if r.Name != "a.ics" || r.ID == a.ID || r.UID <= a.UID {
		t.Fatalf("replaced item %+v (old %+v)", r, a)
	}
	if s := readItem(t, b, f.alice, r.ID); s != "BEGIN:VCALENDAR new" {
		t.Fatalf("replaced content %q", s)
	}
	wantNames(t, must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Start: day(3), End: day(4)})), "d.ics", "a.ics")
	_, err = b.ReplaceItem(f.alice, a.ID, store.NewItem{Content: strings.NewReader("late")})
	wantErr(t, err, store.ErrNotFound)
	var kinds []string
	for _, c := range must(b.Changes(f.alice, f.aliceStore.ID, since, 0)) {
		if c.FolderID == cal.ID {
			kinds = append(kinds, string(c.Kind)+":"+c.Name)
		}
	}
	if strings.Join(kinds, " ") != "item-deleted:a.ics item-created:a.ics" {
		t.Fatalf("journal after replace: %v", kinds)
	}
	// Moving a named item onto a live name conflicts.
	cal2 := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "Work", store.FolderCalendar))
	must(b.AppendItem(f.alice, cal2.ID, store.NewItem{Content: strings.NewReader("x"), Name: "b.ics"}))
	bItem := must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Names: []string{"b.ics"}}))[0]
	_, err = b.MoveItems(f.alice, cal.ID, []uint32{bItem.UID}, cal2.ID)
	wantErr(t, err, store.ErrConflict)

	// Access: other tenants see nothing, a reader cannot replace.
	_, err = b.ListObjects(f.eve, cal.ID, store.ObjectQuery{})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.ReplaceItem(f.eve, r.ID, store.NewItem{Content: strings.NewReader("x")})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.ListObjects(f.bob, cal.ID, store.ObjectQuery{})
	wantErr(t, err, store.ErrNotFound)
	check(b.SetACL(f.alice, cal.ID, "user:bob", "lr"))
	wantNames(t, must(b.ListObjects(f.bob, cal.ID, store.ObjectQuery{Names: []string{"a.ics"}})), "a.ics")
	if _, err := b.ReplaceItem(f.bob, r.ID, store.NewItem{Content: strings.NewReader("x")}); err == nil {
		t.Fatal("a reader replaced an item")
	}
}

func ptr(s string) *string { return &s }

func testProps(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	inbox := f.aliceInbox.ID
	check(b.SetFolderProps(f.alice, inbox, map[string]*string{"/shared/comment": ptr("team"), "/private/color": ptr("red"), "dav:displayname": ptr("In")}))
	want := map[string]string{"/shared/comment": "team", "/private/color": "red", "dav:displayname": "In"}
	if got := must(b.FolderProps(f.alice, inbox)); !maps.Equal(got, want) {
		t.Fatalf("folder props %v, want %v", got, want)
	}
	check(b.SetFolderProps(f.alice, inbox, map[string]*string{"dav:displayname": nil}))
	delete(want, "dav:displayname")
	if got := must(b.FolderProps(f.alice, inbox)); !maps.Equal(got, want) {
		t.Fatalf("folder props after removal %v, want %v", got, want)
	}
	// Bob needs lookup to read; private keys are his own; shared ones
	// need the write right.
	_, err := b.FolderProps(f.bob, inbox)
	wantErr(t, err, store.ErrNotFound)
	check(b.SetACL(f.alice, inbox, "user:bob", "lr"))
	if got := must(b.FolderProps(f.bob, inbox)); !maps.Equal(got, map[string]string{"/shared/comment": "team"}) {
		t.Fatalf("bob sees %v", got)
	}
	check(b.SetFolderProps(f.bob, inbox, map[string]*string{"/private/color": ptr("blue")}))
	if got := must(b.FolderProps(f.bob, inbox)); got["/private/color"] != "blue" {
		t.Fatalf("bob's private prop %v", got)
	}
	if got := must(b.FolderProps(f.alice, inbox)); got["/private/color"] != "red" {
		t.Fatalf("alice's private prop changed: %v", got)
	}
	wantErr(t, b.SetFolderProps(f.bob, inbox, map[string]*string{"/shared/comment": ptr("mine")}), store.ErrPermission)
	wantErr(t, b.SetFolderProps(f.eve, inbox, map[string]*string{"/private/x": ptr("1")}), store.ErrNotFound)
	// Bounds.
	wantErr(t, b.SetFolderProps(f.alice, inbox, map[string]*string{"": ptr("1")}), store.ErrInvalid)
	wantErr(t, b.SetFolderProps(f.alice, inbox, map[string]*string{strings.Repeat("k", store.MaxPropKey+1): ptr("1")}), store.ErrInvalid)
	wantErr(t, b.SetFolderProps(f.alice, inbox, map[string]*string{"k": ptr(strings.Repeat("v", store.MaxPropValue+1))}), store.ErrInvalid)

	// Store props: owner and admins only.
	check(b.SetStoreProps(f.alice, f.aliceStore.ID, map[string]*string{"sieve/active": ptr("main")}))
	if got := must(b.StoreProps(f.alice, f.aliceStore.ID)); got["sieve/active"] != "main" {
		t.Fatalf("store props %v", got)
	}
	if got := must(b.StoreProps(sys, f.aliceStore.ID)); got["sieve/active"] != "main" {
		t.Fatalf("system reads store props %v", got)
	}
	if _, err := b.StoreProps(f.bob, f.aliceStore.ID); err == nil {
		t.Fatal("bob read alice's store props")
	}
	_, err = b.StoreProps(f.eve, f.aliceStore.ID)
	wantErr(t, err, store.ErrNotFound)
	lvl := store.AdminTenant
	must(b.UpdateUser(sys, "bob", store.UserUpdate{Admin: &lvl}))
	bobAdmin := as(t, b, "bob")
	if got := must(b.StoreProps(bobAdmin, f.aliceStore.ID)); got["sieve/active"] != "main" {
		t.Fatalf("tenant admin reads store props %v", got)
	}

	// Domain and tenant props: admins of the tenant and system admins.
	check(b.AddDomain(sys, "acme", "acme.test"))
	check(b.SetDomainProps(sys, "ACME.test", map[string]*string{"dkim.selector": ptr("s1")}))
	if got := must(b.DomainProps(bobAdmin, "acme.test")); got["dkim.selector"] != "s1" {
		t.Fatalf("domain props %v", got)
	}
	_, err = b.DomainProps(f.alice, "acme.test")
	wantErr(t, err, store.ErrNotFound)
	_, err = b.DomainProps(sys, "nowhere.test")
	wantErr(t, err, store.ErrNotFound)
	check(b.SetTenantProps(bobAdmin, "acme", map[string]*string{"disclaimer.text": ptr("-- \nAcme")}))
	if got := must(b.TenantProps(sys, "acme")); got["disclaimer.text"] != "-- \nAcme" {
		t.Fatalf("tenant props %v", got)
	}
	_, err = b.TenantProps(f.eve, "acme")
	wantErr(t, err, store.ErrNotFound)
	_, err = b.TenantProps(f.alice, "acme")
	wantErr(t, err, store.ErrPermission)
}

func testRecordOnce(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	sid := f.aliceStore.ID
	if !must(b.RecordOnce(sys, sid, "oof:bob@acme.test", time.Hour)) {
		t.Fatal("first record not reported as first")
	}
	if must(b.RecordOnce(sys, sid, "oof:bob@acme.test", time.Hour)) {
		t.Fatal("second record within the period reported as first")
	}
	if !must(b.RecordOnce(sys, f.bobStore.ID, "oof:bob@acme.test", time.Hour)) {
		t.Fatal("records are per store")
	}
	if !must(b.RecordOnce(sys, sid, "oof:bob@acme.test", 0)) {
		t.Fatal("a zero period always records")
	}
	_, err := b.RecordOnce(f.alice, sid, "x", time.Hour)
	wantErr(t, err, store.ErrPermission)
}

func testQueue(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	big := bytes.Repeat([]byte("0123456789abcdef\r\n"), 8000) // past the inline limit: a blob file
	m := must(b.Enqueue(sys, store.QueuedMessage{Tenant: "acme", Sender: "alice", From: "alice@acme.test", EnvID: "e1", Ret: "HDRS",
		Recipients: []store.QueueRecipient{{Addr: "x@remote.test", Notify: "FAILURE"}, {Addr: "y@remote.test"}}}, bytes.NewReader(big)))
	if m.ID == 0 || m.Size != int64(len(big)) || m.Recipients[1].State != store.QueuePending || m.Expires.Before(m.Created) {
		t.Fatalf("enqueued %+v", m)
	}
	other := must(b.Enqueue(sys, store.QueuedMessage{Tenant: "globex", Sender: "eve", From: "eve@globex.test",
		Recipients: []store.QueueRecipient{{Addr: "z@remote.test"}}}, strings.NewReader("small")))
	_, err := b.Enqueue(f.alice, store.QueuedMessage{Recipients: []store.QueueRecipient{{Addr: "x@y"}}}, strings.NewReader("x"))
	wantErr(t, err, store.ErrPermission)
	_, err = b.Enqueue(sys, store.QueuedMessage{}, strings.NewReader("x"))
	wantErr(t, err, store.ErrInvalid)

	// Unreferenced-blob sweeps leave queued content alone.
	must(b.PurgeDeleted(sys, 0))
	r := must(b.OpenQueued(sys, m.ID))
	content := must(io.ReadAll(r))
	r.Close()
	if !bytes.Equal(content, big) {
		t.Fatal("queued content changed")
	}

	now := time.Now()
	claimed := must(b.ClaimDue(sys, now.Add(time.Second), 10, time.Minute))
	if len(claimed) != 2 {
		t.Fatalf("claimed %d messages, want 2", len(claimed))
	}
	if again := must(b.ClaimDue(sys, now.Add(2*time.Second), 10, time.Minute)); len(again) != 0 {
		t.Fatalf("leased messages claimed again: %d", len(again))
	}
	c := claimed[0]
	if c.ID != m.ID {
		c = claimed[1]
	}
	c.Recipients[0].State, c.Recipients[0].Error = store.QueueSent, "250 ok"
	c.Attempts, c.LastError, c.NextAttempt = 1, "451 try later", now.Add(time.Hour)
	check(b.UpdateQueued(sys, c))
	g := must(b.GetQueued(sys, m.ID))
	if g.Attempts != 1 || g.LastError != "451 try later" || g.Recipients[0].State != store.QueueSent || g.Recipients[1].State != store.QueuePending {
		t.Fatalf("after update %+v", g)
	}
	check(b.RetryQueued(sys, m.ID))
	if due := must(b.ClaimDue(sys, time.Now().Add(time.Second), 10, time.Minute)); len(due) != 1 || due[0].ID != m.ID {
		t.Fatalf("retry did not make the message due: %v", due)
	}

	// Admins see their tenant's messages only; users none.
	lvl := store.AdminTenant
	must(b.UpdateUser(sys, "bob", store.UserUpdate{Admin: &lvl}))
	bobAdmin := as(t, b, "bob")
	list := must(b.ListQueue(bobAdmin))
	if len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("tenant admin lists %v", list)
	}
	_, err = b.GetQueued(bobAdmin, other.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, b.DeleteQueued(bobAdmin, other.ID), store.ErrNotFound)
	_, err = b.ListQueue(f.alice)
	wantErr(t, err, store.ErrPermission)
	if all := must(b.ListQueue(sys)); len(all) != 2 {
		t.Fatalf("system lists %d messages", len(all))
	}
	// QueueStats: the count and the oldest creation time, system only.
	n, oldest, err := b.QueueStats(sys)
	check(err)
	first := min(m.Created.UnixMicro(), other.Created.UnixMicro())
	if n != 2 || oldest.UnixMicro() != first {
		t.Fatalf("QueueStats = %d, %v; want 2, %v", n, oldest, time.UnixMicro(first))
	}
	_, _, err = b.QueueStats(bobAdmin)
	wantErr(t, err, store.ErrPermission)
	check(b.DeleteQueued(bobAdmin, m.ID))
	_, err = b.GetQueued(sys, m.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.OpenQueued(sys, m.ID)
	wantErr(t, err, store.ErrNotFound)
}

func testPropsPrefix(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	check(b.SetStoreProps(f.alice, f.aliceStore.ID, map[string]*string{
		"imap:subscribed:a": ptr("1"), "imap:subscribed:b_%": ptr("1"), "imap:subscribedX": ptr("1"),
		"sieve/script/main": ptr("keep;"), "/private/imap:subscribed:c": ptr("1")}))
	got := must(b.StorePropsPrefix(f.alice, f.aliceStore.ID, "imap:subscribed:"))
	if !maps.Equal(got, map[string]string{"imap:subscribed:a": "1", "imap:subscribed:b_%": "1"}) {
		t.Fatalf("props with prefix: %v", got)
	}
	if got := must(b.StorePropsPrefix(f.alice, f.aliceStore.ID, "imap:subscribed:b_")); len(got) != 1 {
		t.Fatalf("a prefix with LIKE wildcards: %v", got)
	}
	_, err := b.StorePropsPrefix(f.eve, f.aliceStore.ID, "imap:")
	wantErr(t, err, store.ErrNotFound)
}
