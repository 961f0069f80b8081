package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// The concurrency group hammers each write path from many goroutines at
// once and checks the invariants afterwards: the hard quota is never
// exceeded, UIDs are unique and handed out in commit order, MODSEQ is
// strictly increasing per store, no update is lost and nothing is
// duplicated. SQLite's single writer hides most races; PostgreSQL, where
// writers really run side by side, is what this group is for.

// hammerers is how many goroutines each test runs at once.
const hammerers = 8

// hammer runs fn(w, i) for w in [0, hammerers) and i in [0, each) from
// hammerers goroutines started together, and returns the errors.
func hammer(each int, fn func(w, i int) error) []error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		start = make(chan struct{})
	)
	for w := 0; w < hammerers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < each; i++ {
				if err := fn(w, i); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("writer %d, call %d: %w", w, i, err))
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// noErrs fails the test on any error.
func noErrs(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if i == 5 {
			t.Fatalf("... %d errors in all", len(errs))
		}
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
}

// only fails the test on errors other than the wanted ones, and returns
// how many wanted errors there were.
func only(t *testing.T, errs []error, want ...error) int {
	t.Helper()
	var other []error
	for _, err := range errs {
		if !slices.ContainsFunc(want, func(w error) bool { return errors.Is(err, w) }) {
			other = append(other, err)
		}
	}
	noErrs(t, other)
	return len(errs)
}

// sub runs a subtest of the group, turning must's failures into t.Fatal.
func sub(t *testing.T, name string, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		defer func() {
			if r := recover(); r != nil {
				if f, ok := r.(failure); ok {
					t.Fatalf("%v\n%s", f.err, f.stack)
				}
				panic(r)
			}
		}()
		fn(t)
	})
}

func testConcurrency(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	sub(t, "Props", func(t *testing.T) { concProps(t, f) })
	sub(t, "AddStoreProp", func(t *testing.T) { concAddStoreProp(t, f) })
	sub(t, "RecordOnce", func(t *testing.T) { concRecordOnce(t, f) })
	sub(t, "Flags", func(t *testing.T) { concFlags(t, f) })
	sub(t, "AppendQuota", func(t *testing.T) { concAppendQuota(t, f) })
	sub(t, "CopyMove", func(t *testing.T) { concCopyMove(t, f) })
	sub(t, "Threads", func(t *testing.T) { concThreads(t, f) })
	sub(t, "ACL", func(t *testing.T) { concACL(t, f) })
	sub(t, "Subscriptions", func(t *testing.T) { concSubscriptions(t, f) })
	sub(t, "Folders", func(t *testing.T) { concFolders(t, f) })
	sub(t, "Objects", func(t *testing.T) { concObjects(t, f) })
	sub(t, "QueueClaims", func(t *testing.T) { concQueue(t, f) })
	sub(t, "Recent", func(t *testing.T) { concRecent(t, f) })
	sub(t, "Stores", func(t *testing.T) { concStores(t, f) })
	sub(t, "Directory", func(t *testing.T) { concDirectory(t, f) })
	sub(t, "Invariants", func(t *testing.T) {
		checkStoreInvariants(t, f, f.aliceStore.ID)
		checkStoreInvariants(t, f, f.bobStore.ID)
	})
}

// concThreads: replies to one conversation that arrive at the same moment,
// in two folders of a store, all join one thread; none starts a second.
// Their common parent is not in the store, so every reply looks the thread
// up in the keys the others are recording (thread assignment at append,
// threads.go).
func concThreads(t *testing.T, f *fixture) {
	b := f.b
	sent := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "conc-threads", store.FolderMail))
	const rounds = 6
	var mu sync.Mutex
	threads := map[int]map[int64]int{} // round → thread → items
	noErrs(t, hammer(rounds, func(w, i int) error {
		folder := f.aliceInbox.ID
		if w%2 == 1 {
			folder = sent.ID
		}
		it, err := b.AppendItem(f.alice, folder, store.NewItem{Content: strings.NewReader(
			threadMsg(fmt.Sprintf("reply-%d-%d@x", i, w), "Re: round "+fmt.Sprint(i), fmt.Sprintf("root-%d@x", i)))})
		if err != nil {
			return err
		}
		mu.Lock()
		if threads[i] == nil {
			threads[i] = map[int64]int{}
		}
		threads[i][it.ThreadID]++
		mu.Unlock()
		return nil
	}))
	for i := range rounds {
		if len(threads[i]) != 1 {
			t.Errorf("round %d: %d concurrent replies to one message started %d threads: %v", i, hammerers, len(threads[i]), threads[i])
		}
	}
	checkStoreInvariants(t, f, f.aliceStore.ID)
}

// concProps: many sessions writing one property (IMAP SETMETADATA on one
// key, the \Recent watermark, subscriptions and Sieve scripts all live in
// properties) must all succeed, and writes of different keys must all
// stay (issue 19: duplicate key value violates "props_pkey").
func concProps(t *testing.T, f *fixture) {
	b := f.b
	fo := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "conc-props", store.FolderMail))
	noErrs(t, hammer(25, func(w, i int) error {
		v := fmt.Sprintf("w%d-%d", w, i)
		if err := b.SetFolderProps(f.alice, fo.ID, map[string]*string{"/shared/comment": &v, "/private/comment": &v}); err != nil {
			return err
		}
		own := fmt.Sprintf("/shared/writer%d", w)
		if err := b.SetFolderProps(f.alice, fo.ID, map[string]*string{own: &v}); err != nil {
			return err
		}
		return b.SetStoreProps(f.alice, f.aliceStore.ID, map[string]*string{"sieve:script:conc": &v})
	}))
	props := must(b.FolderProps(f.alice, fo.ID))
	for w := 0; w < hammerers; w++ {
		if v := props[fmt.Sprintf("/shared/writer%d", w)]; v != fmt.Sprintf("w%d-24", w) {
			t.Errorf("writer %d's own key holds %q: an update was lost", w, v)
		}
	}
	if !strings.HasSuffix(props["/shared/comment"], "-24") || !strings.HasSuffix(props["/private/comment"], "-24") {
		t.Errorf("shared key ends as %q, private as %q: not some writer's last value", props["/shared/comment"], props["/private/comment"])
	}
	// Removing one key while others set it ends with it set or not, never
	// with an error.
	noErrs(t, hammer(10, func(w, i int) error {
		var v *string
		if w%2 == 0 {
			s := "x"
			v = &s
		}
		return b.SetFolderProps(f.alice, fo.ID, map[string]*string{"/shared/toggle": v})
	}))
}

// concAddStoreProp: of many concurrent first writers of one key exactly
// one value is stored, and every caller is told that value (two GENURLAUTH
// commands racing for a mailbox without a key must agree on one key).
func concAddStoreProp(t *testing.T, f *fixture) {
	b := f.b
	var mu sync.Mutex
	seen := map[string]int{}
	noErrs(t, hammer(1, func(w, i int) error {
		got, err := b.AddStoreProp(f.alice, f.aliceStore.ID, "conc:add-once", fmt.Sprintf("writer-%d", w))
		mu.Lock()
		seen[got]++
		mu.Unlock()
		return err
	}))
	if len(seen) != 1 {
		t.Fatalf("callers were told %d different values: %v", len(seen), seen)
	}
	props := must(b.StorePropsPrefix(f.alice, f.aliceStore.ID, "conc:add-once"))
	for v := range seen {
		if props["conc:add-once"] != v {
			t.Fatalf("stored %q, callers were told %q", props["conc:add-once"], v)
		}
	}
	// An existing value is kept and returned.
	if got := must(b.AddStoreProp(f.alice, f.aliceStore.ID, "conc:add-once", "late")); got == "late" {
		t.Fatal("AddStoreProp replaced an existing value")
	}
	// Another user's store is refused.
	if _, err := b.AddStoreProp(f.bob, f.aliceStore.ID, "conc:add-once", "x"); err == nil {
		t.Fatal("bob added a property to alice's store")
	}
}

// concRecordOnce: exactly one of many concurrent callers records a key.
func concRecordOnce(t *testing.T, f *fixture) {
	b := f.b
	var mu sync.Mutex
	firsts := 0
	noErrs(t, hammer(5, func(w, i int) error {
		ok, err := b.RecordOnce(sys, f.aliceStore.ID, "vacation:conc@example.test", time.Hour)
		if ok {
			mu.Lock()
			firsts++
			mu.Unlock()
		}
		return err
	}))
	if firsts != 1 {
		t.Fatalf("%d callers recorded the key first, want 1", firsts)
	}
}

// concFlags: every writer adds its own keyword to the same messages; none
// is lost, and every change gets its own MODSEQ.
func concFlags(t *testing.T, f *fixture) {
	b := f.b
	fo := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "conc-flags", store.FolderMail))
	var uids []uint32
	for i := 0; i < 10; i++ {
		uids = append(uids, appendMsg(t, b, f.alice, fo.ID, msg(i)).UID)
	}
	var mu sync.Mutex
	seqs := map[uint64]bool{}
	noErrs(t, hammer(3, func(w, i int) error {
		kw := fmt.Sprintf("kw%d", w)
		op := store.FlagsAdd
		if i == 1 {
			op = store.FlagsRemove // taken away and put back: the last call adds
		}
		out, err := b.UpdateFlags(f.alice, fo.ID, uids, op, []string{kw, `\Seen`})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, s := range out {
			if slices.Contains(s.Flags, kw) == (op == store.FlagsRemove) {
				continue // unchanged by this call
			}
			if seqs[s.ModSeq] {
				return fmt.Errorf("MODSEQ %d handed out twice", s.ModSeq)
			}
			seqs[s.ModSeq] = true
		}
		return nil
	}))
	for _, it := range must(b.ListItems(f.alice, fo.ID, 1, 0)) {
		for w := 0; w < hammerers; w++ {
			if !slices.Contains(it.Flags, fmt.Sprintf("kw%d", w)) {
				t.Fatalf("UID %d lost keyword kw%d: %v", it.UID, w, it.Flags)
			}
		}
	}
}

// setHardQuota gives a user a hard quota of its own.
func setHardQuota(f *fixture, login string, hard int64) {
	yes := true
	must(f.b.UpdateUser(sys, login, store.UserUpdate{QuotaOverride: &yes, QuotaHard: &hard}))
}

// concAppendQuota: concurrent APPENDs never leave the store above its hard
// quota (hardening item 14), and the UIDs they get are unique and follow
// the order of their MODSEQs.
func concAppendQuota(t *testing.T, f *fixture) {
	b := f.b
	must(b.CreateUser(sys, "acme", store.User{Login: "quota", Email: "quota@acme.test", Active: true}))
	ctx := as(t, b, "quota")
	st := must(b.UserStore(ctx, "quota"))
	inbox := special(t, b, ctx, st.ID, store.SpecialInbox)
	const size, fits = 1000, 12
	setHardQuota(f, "quota", fits*size+size/2)
	body := strings.Repeat("q", size)
	var mu sync.Mutex
	var got []*store.Item
	over := only(t, hammer(4, func(w, i int) error {
		it, err := b.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader(body)})
		if err == nil {
			mu.Lock()
			got = append(got, it)
			mu.Unlock()
		}
		return err
	}), store.ErrOverQuota)
	q := must(b.StoreQuota(ctx, st.ID))
	if q.Size > q.Quota.Hard {
		t.Fatalf("store holds %d bytes, hard quota %d: exceeded by %d concurrent appends", q.Size, q.Quota.Hard, len(got))
	}
	if len(got) != fits || over != hammerers*4-fits || q.Size != fits*size || q.Messages != fits {
		t.Fatalf("%d appends stored, %d refused, store %+v: want %d stored", len(got), over, q, fits)
	}
	checkCommitOrder(t, got)
	checkStoreInvariants(t, f, st.ID)
}

// checkCommitOrder checks that items appended to one folder have unique
// UIDs and MODSEQs and that UIDs grow with MODSEQ (both are handed out
// under the store's lock, so a later commit has both greater).
func checkCommitOrder(t *testing.T, items []*store.Item) {
	t.Helper()
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b *store.Item) int { return int(int64(a.ModSeq) - int64(b.ModSeq)) })
	for i := 1; i < len(items); i++ {
		if items[i].ModSeq == items[i-1].ModSeq || items[i].UID <= items[i-1].UID {
			t.Fatalf("item %d has UID %d MODSEQ %d after UID %d MODSEQ %d", items[i].ID, items[i].UID, items[i].ModSeq, items[i-1].UID, items[i-1].ModSeq)
		}
	}
}

// concCopyMove: copies and moves of the same messages at once: every
// message ends up moved once, copies respect the quota, and the counters
// match what is stored.
func concCopyMove(t *testing.T, f *fixture) {
	b := f.b
	must(b.CreateUser(sys, "acme", store.User{Login: "mover", Email: "mover@acme.test", Active: true}))
	ctx := as(t, b, "mover")
	st := must(b.UserStore(ctx, "mover"))
	src := must(b.CreateFolder(ctx, st.ID, 0, "src", store.FolderMail))
	copies := must(b.CreateFolder(ctx, st.ID, 0, "copies", store.FolderMail))
	var dsts []*store.Folder
	for i := 0; i < 2; i++ {
		dsts = append(dsts, must(b.CreateFolder(ctx, st.ID, 0, fmt.Sprintf("dst%d", i), store.FolderMail)))
	}
	const n, size = 10, 500
	var uids []uint32
	for i := 0; i < n; i++ {
		uids = append(uids, appendMsg(t, b, ctx, src.ID, fmt.Sprintf("%03d", i)+strings.Repeat("m", size-3)).UID)
	}
	// Room for the originals and 25 copies.
	setHardQuota(f, "mover", (n+25)*size)
	var mu sync.Mutex
	moved := map[uint32]int{}
	errs := hammer(6, func(w, i int) error {
		u := uids[(w*7+i)%n]
		if w%2 == 0 {
			m, err := b.MoveItems(ctx, src.ID, []uint32{u}, dsts[w%4/2].ID)
			mu.Lock()
			for _, x := range m {
				moved[x.From]++
			}
			mu.Unlock()
			return err
		}
		_, err := b.CopyItems(ctx, src.ID, uids[:3], copies.ID)
		return err
	})
	only(t, errs, store.ErrOverQuota)
	for u, k := range moved {
		if k > 1 {
			t.Fatalf("UID %d moved %d times", u, k)
		}
	}
	total := 0
	for _, fo := range []*store.Folder{src, dsts[0], dsts[1]} {
		total += len(must(b.ListItems(ctx, fo.ID, 1, 0)))
	}
	if total != n {
		t.Fatalf("%d originals after moving, want %d", total, n)
	}
	q := must(b.StoreQuota(ctx, st.ID))
	if q.Size > q.Quota.Hard {
		t.Fatalf("store holds %d bytes, hard quota %d", q.Size, q.Quota.Hard)
	}
	checkStoreInvariants(t, f, st.ID)
}

// concACL: writers setting rights for different subjects all keep them;
// writers of one subject leave one writer's rights.
func concACL(t *testing.T, f *fixture) {
	b := f.b
	fo := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "conc-acl", store.FolderMail))
	for w := 0; w < hammerers; w++ {
		must(b.CreateUser(sys, "acme", store.User{Login: fmt.Sprintf("acl%d", w), Email: fmt.Sprintf("acl%d@acme.test", w), Active: true}))
	}
	noErrs(t, hammer(5, func(w, i int) error {
		if err := b.SetACL(f.alice, fo.ID, fmt.Sprintf("user:acl%d", w), "lr"); err != nil {
			return err
		}
		rights := []string{"lrs", "lrsw", "lrswi"}[(w+i)%3]
		return b.SetACL(f.alice, fo.ID, "user:bob", rights)
	}))
	acl := must(b.GetACL(f.alice, fo.ID))
	for w := 0; w < hammerers; w++ {
		if !slices.ContainsFunc(acl, func(e store.ACLEntry) bool { return e.Subject == fmt.Sprintf("user:acl%d", w) && e.Rights == "lr" }) {
			t.Fatalf("entry of acl%d lost: %+v", w, acl)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(acl), func(e store.ACLEntry) bool { return e.Subject != "user:bob" })); n != 1 {
		t.Fatalf("%d entries for bob: %+v", n, acl)
	}
}

// concSubscriptions: subscribing and unsubscribing at once never fails;
// subscriptions to different folders all stay.
func concSubscriptions(t *testing.T, f *fixture) {
	b := f.b
	var fs []*store.Folder
	for w := 0; w < hammerers; w++ {
		fs = append(fs, must(b.CreateFolder(f.bob, f.bobStore.ID, 0, fmt.Sprintf("sub%d", w), store.FolderMail)))
	}
	noErrs(t, hammer(10, func(w, i int) error {
		if err := b.SetSubscribed(f.bob, fs[0].ID, (w+i)%2 == 0); err != nil {
			return err
		}
		return b.SetSubscribed(f.bob, fs[w].ID, i%2 == 0 || i == 9)
	}))
	for _, fo := range must(b.ListFolders(f.bob, f.bobStore.ID)) {
		if strings.HasPrefix(fo.Name, "sub") && fo.Name != "sub0" && !fo.Subscribed {
			t.Fatalf("subscription to %s lost", fo.Name)
		}
	}
}

// concFolders: creating one name at once makes one folder; renames that
// would make a cycle together make none; deleting one folder at once
// counts its messages out of the store once.
func concFolders(t *testing.T, f *fixture) {
	b := f.b
	ctx, st := f.bob, f.bobStore
	var mu sync.Mutex
	created := 0
	only(t, hammer(3, func(w, i int) error {
		_, err := b.CreateFolder(ctx, st.ID, 0, fmt.Sprintf("Same%d", i), store.FolderMail)
		if err == nil {
			mu.Lock()
			created++
			mu.Unlock()
		}
		return err
	}), store.ErrConflict)
	if created != 3 {
		t.Fatalf("%d folders created for 3 names", created)
	}
	// Renames: pairs of folders each moved under the other at once.
	for i := 0; i < 5; i++ {
		x := must(b.CreateFolder(ctx, st.ID, 0, fmt.Sprintf("X%d", i), store.FolderMail))
		y := must(b.CreateFolder(ctx, st.ID, 0, fmt.Sprintf("Y%d", i), store.FolderMail))
		only(t, hammer(1, func(w, _ int) error {
			switch w % 4 {
			case 0:
				_, err := b.RenameFolder(ctx, x.ID, y.ID, x.Name)
				return err
			case 1:
				_, err := b.RenameFolder(ctx, y.ID, x.ID, y.Name)
				return err
			case 2:
				_, err := b.RenameFolder(ctx, x.ID, 0, "Z"+x.Name)
				return err
			}
			_, err := b.CreateFolder(ctx, st.ID, x.ID, "child", store.FolderMail)
			return err
		}), store.ErrInvalid, store.ErrConflict, store.ErrNotFound)
	}
	// Deletes of one folder with messages, and appends into it, at once.
	for i := 0; i < 3; i++ {
		d := must(b.CreateFolder(ctx, st.ID, 0, fmt.Sprintf("Del%d", i), store.FolderMail))
		child := must(b.CreateFolder(ctx, st.ID, d.ID, "child", store.FolderMail))
		for j := 0; j < 3; j++ {
			appendMsg(t, b, ctx, d.ID, msg(j))
			appendMsg(t, b, ctx, child.ID, msg(j))
		}
		only(t, hammer(1, func(w, _ int) error {
			if w%2 == 0 {
				return b.DeleteFolder(ctx, d.ID)
			}
			_, err := b.AppendItem(ctx, child.ID, store.NewItem{Content: strings.NewReader(msg(w))})
			return err
		}), store.ErrNotFound)
	}
	checkStoreInvariants(t, f, st.ID)
}

// concObjects: DAV objects. Creating one name at once makes one object;
// creating one UID under different names at once makes one object;
// replacing one object at once leaves exactly one live version.
func concObjects(t *testing.T, f *fixture) {
	b := f.b
	cal := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "conc-cal", store.FolderCalendar))
	ev := func(uid string, n int) store.NewItem {
		return store.NewItem{Content: strings.NewReader(fmt.Sprintf("BEGIN:VCALENDAR\r\nUID:%s\r\nX-N:%d\r\nEND:VCALENDAR\r\n", uid, n)), ObjectUID: uid}
	}
	// One name.
	var mu sync.Mutex
	ok := 0
	only(t, hammer(2, func(w, i int) error {
		ni := ev("same-name", w)
		ni.Name = "same.ics"
		_, err := b.AppendItem(f.alice, cal.ID, ni)
		if err == nil {
			mu.Lock()
			ok++
			mu.Unlock()
		}
		return err
	}), store.ErrConflict)
	if ok != 1 {
		t.Fatalf("%d objects created under one name", ok)
	}
	// One UID, different names (CalDAV no-uid-conflict, RFC 4791 §5.3.2.1).
	ok = 0
	only(t, hammer(2, func(w, i int) error {
		ni := ev("same-uid", w)
		ni.Name = fmt.Sprintf("uid-%d-%d.ics", w, i)
		_, err := b.AppendItem(f.alice, cal.ID, ni)
		if err == nil {
			mu.Lock()
			ok++
			mu.Unlock()
		}
		return err
	}), store.ErrConflict)
	if n := len(must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{ObjectUID: "same-uid"}))); ok != 1 || n != 1 {
		t.Fatalf("%d appends of one UID succeeded, %d objects have it", ok, n)
	}
	// Replacing one object: each round, one writer wins and the others find
	// it gone (an ETag check that lost the race, RFC 9110 §13.1.1).
	cur := must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{Names: []string{"same.ics"}}))[0]
	for round := 0; round < 5; round++ {
		var won []*store.Item
		only(t, hammer(1, func(w, _ int) error {
			it, err := b.ReplaceItem(f.alice, cur.ID, ev("same-name", 100*round+w))
			if err == nil {
				mu.Lock()
				won = append(won, it)
				mu.Unlock()
			}
			return err
		}), store.ErrNotFound)
		if len(won) != 1 {
			t.Fatalf("round %d: %d replacements of one version succeeded", round, len(won))
		}
		cur = won[0]
	}
	objs := must(b.ListObjects(f.alice, cal.ID, store.ObjectQuery{ObjectUID: "same-name"}))
	if len(objs) != 1 || objs[0].ID != cur.ID || objs[0].Name != "same.ics" {
		t.Fatalf("after replacing: %d objects with the UID", len(objs))
	}
}

// concQueue: queue runners claiming at once never claim one message twice.
func concQueue(t *testing.T, f *fixture) {
	b := f.b
	const n = 40
	for i := 0; i < n; i++ {
		must(b.Enqueue(sys, store.QueuedMessage{Tenant: "acme", Sender: "alice", From: "alice@acme.test",
			Recipients: []store.QueueRecipient{{Addr: fmt.Sprintf("r%d@remote.test", i)}}}, strings.NewReader(msg(i))))
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	at := time.Now().Add(time.Second)
	noErrs(t, hammer(4, func(w, i int) error {
		ms, err := b.ClaimDue(sys, at, 3, time.Hour)
		mu.Lock()
		for _, m := range ms {
			claimed[m.ID]++
		}
		mu.Unlock()
		return err
	}))
	for id, k := range claimed {
		if k > 1 {
			t.Fatalf("message %d claimed %d times", id, k)
		}
	}
	if len(claimed) != n {
		t.Fatalf("%d of %d messages claimed", len(claimed), n)
	}
}

// concRecent: sessions claiming \Recent at once each get a disjoint range
// of UIDs (RFC 3501 §2.3.2: a message is recent in one session only).
func concRecent(t *testing.T, f *fixture) {
	b := f.b
	fo := must(b.CreateFolder(f.alice, f.aliceStore.ID, 0, "conc-recent", store.FolderMail))
	var mu sync.Mutex
	got := map[uint32]int{}
	top := uint32(0)
	noErrs(t, hammer(10, func(w, i int) error {
		upto := uint32(i*hammerers + w + 1)
		prev, err := b.ClaimRecent(f.alice, fo.ID, fo.UIDValidity, upto)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		top = max(top, upto)
		for u := prev + 1; u <= upto; u++ {
			got[u]++
		}
		return nil
	}))
	for u := uint32(1); u <= top; u++ {
		if got[u] != 1 {
			t.Fatalf("UID %d claimed as recent %d times", u, got[u])
		}
	}
	// Another UIDVALIDITY starts again from nothing.
	if prev := must(b.ClaimRecent(f.alice, fo.ID, fo.UIDValidity+1, 3)); prev != 0 {
		t.Fatalf("watermark of another UIDVALIDITY: %d", prev)
	}
	if prev := must(b.ClaimRecent(f.alice, fo.ID, fo.UIDValidity+1, 2)); prev != 3 {
		t.Fatalf("watermark went back: %d", prev)
	}
	// A reader needs only the lookup right: bob, with "lr", may claim.
	check(b.SetACL(f.alice, fo.ID, "user:bob", "lr"))
	must(b.ClaimRecent(f.bob, fo.ID, fo.UIDValidity, 1))
	_, err := b.ClaimRecent(f.eve, fo.ID, fo.UIDValidity, 1)
	wantErr(t, err, store.ErrNotFound)
}

// concStores: a tenant gets one public store however many administrators
// create it at once; an orphan is hooked to one user only.
func concStores(t *testing.T, f *fixture) {
	b := f.b
	must(b.CreateTenant(sys, "conc-pub"))
	var mu sync.Mutex
	var made []*store.Store
	only(t, hammer(2, func(w, i int) error {
		st, err := b.CreatePublicStore(sys, "conc-pub")
		if err == nil {
			mu.Lock()
			made = append(made, st)
			mu.Unlock()
		}
		return err
	}), store.ErrConflict)
	if tn := must(b.GetTenant(sys, "conc-pub")); len(made) != 1 || tn.PublicStoreID != made[0].ID {
		t.Fatalf("%d public stores made, the tenant has %d", len(made), tn.PublicStoreID)
	}
	must(b.CreateUser(sys, "acme", store.User{Login: "leaver", Email: "leaver@acme.test", Active: true}))
	orphan := must(b.UserStore(sys, "leaver"))
	check(b.DeleteUser(sys, "leaver"))
	for w := 0; w < hammerers; w++ {
		must(b.CreateUser(sys, "acme", store.User{Login: fmt.Sprintf("heir%d", w), Email: fmt.Sprintf("heir%d@acme.test", w), Active: true}))
	}
	hooked := 0
	only(t, hammer(1, func(w, _ int) error {
		err := b.HookStore(sys, orphan.ID, fmt.Sprintf("heir%d", w))
		if err == nil {
			mu.Lock()
			hooked++
			mu.Unlock()
		}
		return err
	}), store.ErrInvalid)
	owners := 0
	for w := 0; w < hammerers; w++ {
		if must(b.UserStore(sys, fmt.Sprintf("heir%d", w))).ID == orphan.ID {
			owners++
		}
	}
	if hooked != 1 || owners != 1 {
		t.Fatalf("orphan hooked %d times, %d users own it", hooked, owners)
	}
}

// concDirectory: creating one user, group, tenant or domain at once makes
// one (the others get ErrConflict, not a database error); group members
// added at once all stay.
func concDirectory(t *testing.T, f *fixture) {
	b := f.b
	var mu sync.Mutex
	count := map[string]int{}
	ok := func(kind string, err error) error {
		if err == nil {
			mu.Lock()
			count[kind]++
			mu.Unlock()
		}
		return err
	}
	only(t, hammer(1, func(w, _ int) error {
		_, err := b.CreateTenant(sys, "conc-tenant")
		if err := ok("tenant", err); err != nil {
			return err
		}
		return nil
	}), store.ErrConflict)
	only(t, hammer(1, func(w, _ int) error {
		_, err := b.CreateUser(sys, "acme", store.User{Login: "twin", Email: fmt.Sprintf("twin%d@acme.test", w), Active: true})
		return ok("user", err)
	}), store.ErrConflict)
	only(t, hammer(1, func(w, _ int) error {
		_, err := b.CreateGroup(sys, "acme", store.Group{Name: "conc-group"})
		return ok("group", err)
	}), store.ErrConflict)
	only(t, hammer(1, func(w, _ int) error {
		return ok("domain", b.AddDomain(sys, "acme", "conc.test"))
	}), store.ErrConflict)
	for _, k := range []string{"tenant", "user", "group", "domain"} {
		if count[k] != 1 {
			t.Fatalf("%d %ss created at once, want 1", count[k], k)
		}
	}
	for w := 0; w < hammerers; w++ {
		must(b.CreateUser(sys, "acme", store.User{Login: fmt.Sprintf("member%d", w), Email: fmt.Sprintf("member%d@acme.test", w), Active: true}))
	}
	noErrs(t, hammer(1, func(w, _ int) error {
		return b.AddGroupMember(sys, "acme", "conc-group", fmt.Sprintf("member%d", w))
	}))
	if g := must(b.GetGroup(sys, "acme", "conc-group")); len(g.Members) != hammerers {
		t.Fatalf("group has %d members, want %d: %v", len(g.Members), hammerers, g.Members)
	}
}

// checkStoreInvariants checks what concurrent writers must not break: the
// store's counters equal what its folders hold, each folder's counters
// equal its live items, UIDs are below UIDNEXT, and MODSEQs are unique in
// the store and not above its journal's last entry.
func checkStoreInvariants(t *testing.T, f *fixture, storeID int64) {
	t.Helper()
	b := f.b
	q := must(b.StoreQuota(sys, storeID))
	var size, msgs int64
	modseqs := map[uint64]int64{}
	folders := must(b.ListFolders(sys, storeID))
	live := map[int64]*store.Folder{}
	for _, fo := range folders {
		live[fo.ID] = fo
	}
	for _, fo := range folders {
		// Every live folder hangs from the top through live folders.
		for p, n := fo.ParentID, 0; p != 0; n++ {
			if live[p] == nil || n > len(folders) {
				t.Fatalf("folder %q: parent %d is gone or the tree has a cycle", fo.Name, p)
			}
			p = live[p].ParentID
		}
	}
	for _, fo := range folders {
		items := must(b.ListItems(sys, fo.ID, 1, 0))
		var fsize int64
		for i, it := range items {
			fsize += it.Size
			if i > 0 && it.UID <= items[i-1].UID {
				t.Fatalf("folder %q: UID %d after %d", fo.Name, it.UID, items[i-1].UID)
			}
			if it.UID >= fo.UIDNext {
				t.Fatalf("folder %q: UID %d, UIDNEXT %d", fo.Name, it.UID, fo.UIDNext)
			}
			if other, dup := modseqs[it.ModSeq]; dup {
				t.Fatalf("items %d and %d share MODSEQ %d", other, it.ID, it.ModSeq)
			}
			modseqs[it.ModSeq] = it.ID
		}
		if fo.Messages != int64(len(items)) || fo.Size != fsize {
			t.Fatalf("folder %q counts %d messages, %d bytes; holds %d, %d bytes", fo.Name, fo.Messages, fo.Size, len(items), fsize)
		}
		size += fsize
		msgs += int64(len(items))
	}
	if q.Size != size || q.Messages != msgs {
		t.Fatalf("store %d counts %d messages, %d bytes; its folders hold %d, %d bytes", storeID, q.Messages, q.Size, msgs, size)
	}
	if q.Quota.Hard > 0 && q.Size > q.Quota.Hard {
		t.Fatalf("store %d holds %d bytes, hard quota %d", storeID, q.Size, q.Quota.Hard)
	}
	changes := must(b.Changes(sys, storeID, 0, 0))
	last := uint64(0)
	for _, c := range changes {
		if c.Seq <= last {
			t.Fatalf("journal entry %d after %d", c.Seq, last)
		}
		last = c.Seq
	}
	for ms, id := range modseqs {
		if ms > last {
			t.Fatalf("item %d has MODSEQ %d beyond the journal's %d", id, ms, last)
		}
	}
}
