package mail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

const day = 24 * time.Hour

// archiveEnv is alice with an archive store and a few folders.
func archiveEnv(t *testing.T) (*env, *store.Store, *store.Store) {
	e := newEnv(t)
	arch, err := e.db.AttachArchive(sys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.db.UserStore(sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return e, st, arch
}

func (e *env) put(folderID int64, subject string, age time.Duration, size int, flags ...string) *store.Item {
	e.t.Helper()
	body := fmt.Sprintf("From: bob@acme.test\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"b\"\r\n\r\n--b\r\n\r\n%s\r\n--b--\r\n", subject, strings.Repeat("x", size))
	it, err := e.db.AppendItem(sys, folderID, store.NewItem{Content: strings.NewReader(body), Flags: flags,
		InternalDate: time.Now().Add(-age).Truncate(time.Second)})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// tree returns an archive's folders as "path: n subjects".
func (e *env) archiveTree(storeID int64) map[string][]string {
	e.t.Helper()
	fs, err := e.db.ListFolders(sys, storeID)
	if err != nil {
		e.t.Fatal(err)
	}
	byID := map[int64]*store.Folder{}
	for _, f := range fs {
		byID[f.ID] = f
	}
	out := map[string][]string{}
	for _, f := range fs {
		path := f.Name
		for p := byID[f.ParentID]; p != nil; p = byID[p.ParentID] {
			path = p.Name + "/" + path
		}
		items, err := e.db.ListItems(sys, f.ID, 0, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		subs := []string{}
		for _, it := range items {
			subs = append(subs, e.subject(it.ID))
		}
		slices.Sort(subs)
		out[path] = subs
	}
	return out
}

func (e *env) subject(itemID int64) string {
	e.t.Helper()
	rc, err := e.db.OpenItem(sys, itemID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	for line := range strings.Lines(string(b)) {
		if s, ok := strings.CutPrefix(line, "Subject: "); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func TestArchiverRules(t *testing.T) {
	e, st, arch := archiveEnv(t)
	inbox := e.special("alice", store.SpecialInbox)
	alpha := e.folder("alice", "Projects/Alpha", true)
	secret := e.folder("alice", "Secret", true)
	trash := e.special("alice", store.SpecialTrash)
	e.put(inbox, "old", 100*day, 2000, `\Seen`, "$work")
	e.put(inbox, "new", 1*day, 2000)
	e.put(inbox, "old small", 100*day, 10)
	e.put(alpha, "old alpha", 40*day, 2000, `\Flagged`)
	e.put(secret, "old secret", 100*day, 2000)
	e.put(trash, "old trash", 100*day, 2000)

	a := &mail.Archiver{Store: e.db, Log: testLog(), Rules: mail.ArchiveRules{After: 30 * day, MinSize: 1000,
		Exclude: []string{"trash", "secret"}}}
	var last mail.ArchiveProgress
	stats, err := a.RunUser(context.Background(), "alice", func(p mail.ArchiveProgress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if stats.Archived != 2 || stats.Folders != 3 || stats.Users != 1 {
		t.Fatalf("stats %+v", stats)
	}
	if last.Items != 4 || last.ItemsAll != 4 || last.Login != "alice" {
		t.Fatalf("progress %+v", last)
	}
	want := map[string][]string{"Inbox": {"old"}, "Projects": {}, "Projects/Alpha": {"old alpha"}}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("archive %v, want %v", got, want)
	}
	// Flags and internal date kept.
	fs, _ := e.db.ListFolders(sys, arch.ID)
	for _, f := range fs {
		items, _ := e.db.ListItems(sys, f.ID, 0, 0)
		for _, it := range items {
			src, _ := e.db.ListItems(sys, map[string]int64{"Inbox": inbox, "Alpha": alpha}[f.Name], 0, 0)
			var match *store.ItemSummary
			for i := range src {
				if e.subject(src[i].ID) == e.subject(it.ID) {
					match = &src[i]
				}
			}
			if match == nil || !slices.Equal(match.Flags, it.Flags) || !match.InternalDate.Equal(it.InternalDate) {
				t.Errorf("copy %+v of %+v", it, match)
			}
		}
	}
	// Idempotent: a second run copies nothing and creates no folder.
	again, err := a.RunUser(context.Background(), "alice", nil)
	if err != nil || again.Archived != 0 || again.Folders != 0 {
		t.Fatalf("second run %+v %v", again, err)
	}
	// The user's store is unchanged so far.
	if s, _ := e.db.GetStore(sys, st.ID); s.Messages != 6 {
		t.Fatalf("private store has %d messages", s.Messages)
	}

	// Stubs after 60 days, removal after 90: "old" (100 days) is
	// removed, "old alpha" (40) stays whole, and with removal off it is
	// stubbed once it is old enough.
	a.Rules.StubAfter, a.Rules.RemoveAfter = 35*day, 90*day
	stats, err = a.RunUser(context.Background(), "alice", nil)
	if err != nil || stats.Stubbed != 1 || stats.Removed != 1 || stats.Archived != 0 {
		t.Fatalf("stub run %+v %v", stats, err)
	}
	items, _ := e.db.ListItems(sys, inbox, 0, 0)
	var subs []string
	for _, it := range items {
		subs = append(subs, e.subject(it.ID))
	}
	slices.Sort(subs)
	if !slices.Equal(subs, []string{"new", "old small"}) {
		t.Fatalf("inbox after removal: %v", subs)
	}
	alphaItems, _ := e.db.ListItems(sys, alpha, 0, 0)
	if len(alphaItems) != 1 || !slices.Equal(alphaItems[0].Flags, []string{`\Flagged`}) {
		t.Fatalf("alpha after stubbing %+v", alphaItems)
	}
	rc, _ := e.db.OpenItem(sys, alphaItems[0].ID)
	stub, _ := io.ReadAll(rc)
	rc.Close()
	for _, want := range []string{"Subject: old alpha\r\n", "From: bob@acme.test\r\n", "Content-Type: text/plain; charset=utf-8\r\n",
		"Online Archive/Projects/Alpha", "X-Roost-Archived: "} {
		if !strings.Contains(string(stub), want) {
			t.Errorf("stub lacks %q:\n%s", want, stub)
		}
	}
	if strings.Contains(string(stub), "multipart") || strings.Contains(string(stub), "xxxxxxxxxx") {
		t.Errorf("stub keeps the original's body or structure:\n%s", stub)
	}
	// The archive still has the whole messages; nothing was archived
	// twice (the stub is not archived again).
	stats, err = a.RunUser(context.Background(), "alice", nil)
	if err != nil || stats.Archived != 0 || stats.Stubbed != 0 {
		t.Fatalf("run after stubbing %+v %v", stats, err)
	}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("archive after stubbing %v", got)
	}

	// A user without an archive is not found; RunAll does every user
	// with one.
	if _, err := a.RunUser(context.Background(), "bob", nil); err == nil {
		t.Fatal("bob has no archive")
	}
	all, err := a.RunAll(context.Background(), nil)
	if err != nil || all.Users != 1 {
		t.Fatalf("RunAll %+v %v", all, err)
	}
}

// cancelAfter is the real store, whose context is cancelled after n
// archive batches (an interrupted run).
type cancelAfter struct {
	mail.ArchiveStore
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) ArchiveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error) {
	m, err := c.ArchiveStore.ArchiveItems(ctx, folderID, uids, destID)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return m, err
}

// racer is the real store, where another run archives the items just
// before this one asks to.
type racer struct{ mail.ArchiveStore }

func (r *racer) ArchiveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]store.UIDMap, error) {
	if _, err := r.ArchiveStore.ArchiveItems(ctx, folderID, uids, destID); err != nil {
		return nil, err
	}
	return r.ArchiveStore.ArchiveItems(ctx, folderID, uids, destID)
}

func TestArchiverResumes(t *testing.T) {
	e, _, arch := archiveEnv(t)
	inbox := e.special("alice", store.SpecialInbox)
	const n = 450  // three batches
	var size int64 // of each message (all alike)
	for i := range n {
		size = e.put(inbox, fmt.Sprintf("m%03d", i), 10*day, 10).Size
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &mail.Archiver{Store: &cancelAfter{ArchiveStore: e.db, n: 1, cancel: cancel}, Log: testLog()}
	st, err := a.RunUser(ctx, "alice", nil)
	if err == nil || st.Archived != 200 || st.Bytes != 200*size {
		t.Fatalf("interrupted run: %+v %v (want %d bytes)", st, err, 200*size)
	}
	a.Store = e.db
	st, err = a.RunUser(context.Background(), "alice", nil)
	if err != nil || st.Archived != n-200 || st.Bytes != (n-200)*size || st.Folders != 0 {
		t.Fatalf("resumed run: %+v %v (want %d bytes)", st, err, (n-200)*size)
	}
	got := e.archiveTree(arch.ID)["Inbox"]
	if len(got) != n || len(slices.Compact(slices.Clone(got))) != n {
		t.Fatalf("archive has %d items (%d distinct)", len(got), len(slices.Compact(slices.Clone(got))))
	}
	// A run that another run beats to an item counts neither it nor
	// its bytes.
	e.put(inbox, "late", 10*day, 10)
	a.Store = &racer{ArchiveStore: e.db}
	st, err = a.RunUser(context.Background(), "alice", nil)
	if err != nil || st.Archived != 0 || st.Bytes != 0 {
		t.Fatalf("run beaten by another: %+v %v", st, err)
	}
}

// TestArchiverFollowsMoves: the archive follows the mailbox (Kopano's
// "follow moves"): a message moved in the mailbox moves in the archive,
// one the user deletes moves to the archive's deleted folder and back
// when restored, and neither one the archiver removed by its rule nor a
// stub's original leaves its place.
func TestArchiverFollowsMoves(t *testing.T) {
	e, _, arch := archiveEnv(t)
	inbox := e.special("alice", store.SpecialInbox)
	alpha := e.folder("alice", "Projects/Alpha", true)
	a1 := e.put(inbox, "moved", 40*day, 10)
	b1 := e.put(inbox, "deleted", 40*day, 10)
	e.put(inbox, "removed", 100*day, 10)
	e.put(inbox, "stays", 40*day, 10)
	a := &mail.Archiver{Store: e.db, Log: testLog(), Rules: mail.ArchiveRules{After: 30 * day}}
	if st, err := a.RunUser(context.Background(), "alice", nil); err != nil || st.Archived != 4 || st.Moved != 0 {
		t.Fatalf("first run %+v %v", st, err)
	}
	mustMove(t, e, inbox, a1.UID, alpha)
	if _, err := e.db.DeleteItems(sys, inbox, []uint32{b1.UID}); err != nil {
		t.Fatal(err)
	}
	a.Rules.RemoveAfter = 90 * day
	st, err := a.RunUser(context.Background(), "alice", nil)
	if err != nil || st.Removed != 1 || st.Moved != 2 || st.Archived != 0 {
		t.Fatalf("run after a move and a deletion %+v %v", st, err)
	}
	want := map[string][]string{"Inbox": {"removed", "stays"}, "Projects": {}, "Projects/Alpha": {"moved"},
		mail.DeletedFolderName: {"deleted"}}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("archive %v, want %v", got, want)
	}
	// Restored, the message's copy goes back; stubbing (a new item for
	// the original) moves nothing; a rerun moves nothing.
	if err := e.db.RestoreItems(sys, []int64{b1.ID}); err != nil {
		t.Fatal(err)
	}
	a.Rules.StubAfter = 35 * day
	st, err = a.RunUser(context.Background(), "alice", nil)
	if err != nil || st.Moved != 1 || st.Stubbed != 3 {
		t.Fatalf("run after a restore %+v %v", st, err)
	}
	want = map[string][]string{"Inbox": {"deleted", "removed", "stays"}, "Projects": {}, "Projects/Alpha": {"moved"},
		mail.DeletedFolderName: {}}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("archive after restore %v, want %v", got, want)
	}
	if st, err = a.RunUser(context.Background(), "alice", nil); err != nil || st.Moved != 0 {
		t.Fatalf("rerun %+v %v", st, err)
	}
}

// TestArchiverNodes: RunAll archives the archive stores of its nodes,
// and those with no node unless OwnOnly (a node without the lease).
func TestArchiverNodes(t *testing.T) {
	e, _, _ := archiveEnv(t) // alice's archive has no node
	if _, err := e.db.AttachArchive(sys, "bob", "node-b"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		nodes   []string
		ownOnly bool
		users   int
	}{{[]string{"node-a"}, false, 1}, {[]string{"node-b"}, false, 2}, {[]string{"node-b"}, true, 1}, {[]string{"node-a"}, true, 0}} {
		a := &mail.Archiver{Store: e.db, Log: testLog(), Nodes: c.nodes, OwnOnly: c.ownOnly}
		if st, err := a.RunAll(context.Background(), nil); err != nil || st.Users != c.users {
			t.Errorf("nodes %v own only %v: %+v %v, want %d users", c.nodes, c.ownOnly, st, err, c.users)
		}
	}
}

// TestArchiverLinksRestoredCopies: an archive restored from a backup has
// its copies but no records of them; the next run takes them as the
// originals' copies instead of archiving everything twice, and follows
// moves with them.
func TestArchiverLinksRestoredCopies(t *testing.T) {
	e, _, arch := archiveEnv(t)
	inbox := e.special("alice", store.SpecialInbox)
	orig := e.put(inbox, "restored", 40*day, 10)
	e.put(inbox, "twin", 40*day, 10) // other content: copied
	ainbox, err := e.db.CreateFolder(sys, arch.ID, 0, "Inbox", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.db.OpenItem(sys, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if _, err := e.db.AppendItem(sys, ainbox.ID, store.NewItem{Content: strings.NewReader(string(body)), InternalDate: orig.InternalDate}); err != nil {
		t.Fatal(err)
	}
	a := &mail.Archiver{Store: e.db, Log: testLog(), Rules: mail.ArchiveRules{After: 30 * day}}
	if st, err := a.RunUser(context.Background(), "alice", nil); err != nil || st.Archived != 1 {
		t.Fatalf("run over a restored archive %+v %v", st, err)
	}
	want := map[string][]string{"Inbox": {"restored", "twin"}}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("archive %v, want %v", got, want)
	}
	sent := e.folder("alice", "Sent Items", true)
	mustMove(t, e, inbox, orig.UID, sent)
	if st, err := a.RunUser(context.Background(), "alice", nil); err != nil || st.Archived != 0 || st.Moved != 1 {
		t.Fatalf("rerun %+v %v", st, err)
	}
	want = map[string][]string{"Inbox": {"twin"}, "Sent Items": {"restored"}}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("archive after a move %v, want %v", got, want)
	}
}

func mustMove(t *testing.T, e *env, from int64, uid uint32, to int64) {
	t.Helper()
	if m, err := e.db.MoveItems(sys, from, []uint32{uid}, to); err != nil || len(m) != 1 {
		t.Fatalf("move: %v %v", m, err)
	}
}

func TestArchiveNew(t *testing.T) {
	e, _, arch := archiveEnv(t)
	inbox := e.special("alice", store.SpecialInbox)
	it := e.put(inbox, "fresh", 0, 10)
	a := &mail.Archiver{Store: e.db}
	if err := a.ArchiveNew(context.Background(), "alice", inbox, []uint32{it.UID}); err != nil {
		t.Fatal(err)
	}
	if err := a.ArchiveNew(context.Background(), "alice", inbox, []uint32{it.UID}); err != nil {
		t.Fatal(err)
	}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != "map[Inbox:[fresh]]" {
		t.Fatalf("archive %v", got)
	}
	// bob has no archive: nothing to do, no error.
	if err := a.ArchiveNew(context.Background(), "bob", e.special("bob", store.SpecialInbox), []uint32{1}); err != nil {
		t.Fatal(err)
	}
}

func TestStub(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	hdr := "Subject: hello\r\n world\r\nContent-Type: multipart/mixed;\r\n boundary=x\r\nfrom bad line\r\n cont\r\nX-Roost-Archived: old\r\nTo: a@b\r\n"
	got := string(mail.Stub([]byte(hdr), "Online Archive/Inbox", at))
	want := "Subject: hello\r\n world\r\nTo: a@b\r\nX-Roost-Archived: 2026-03-04T05:06:07Z\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"This message was archived on 4 March 2026.\r\nThe whole message, with its attachments, is in your archive: Online Archive/Inbox\r\n"
	if got != want {
		t.Fatalf("stub\n%q\nwant\n%q", got, want)
	}
}

// FuzzStub: whatever header a message has, its stub is a message whose
// every line ends in CRLF, whose header ends at the first blank line and
// keeps no MIME field of the original.
func FuzzStub(f *testing.F) {
	f.Add([]byte("Subject: a\r\nContent-Type: text/html\r\n\r\nbody"))
	f.Add([]byte("From: x\n\tfolded\nContent-Transfer-Encoding: base64\n\n"))
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte("no colon\r\n  \r\n:\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		hdr, err := mail.ReadHeader(strings.NewReader(string(msg)), 1024)
		if err != nil {
			t.Fatal(err)
		}
		if len(hdr) > 1024 {
			t.Fatalf("header of %d bytes", len(hdr))
		}
		s := string(mail.Stub(hdr, "A/B", time.Unix(0, 0)))
		head, _, ok := strings.Cut(s, "\r\n\r\n")
		if !ok {
			t.Fatalf("no header end in %q", s)
		}
		if strings.Count(s, "\n") != strings.Count(s, "\r\n") || strings.Count(s, "\r") != strings.Count(s, "\r\n") {
			t.Fatalf("bare CR or LF in %q", s)
		}
		n := 0
		for line := range strings.SplitSeq(head, "\r\n") {
			if strings.HasPrefix(strings.ToLower(line), "content-type:") {
				n++
			}
		}
		if n != 1 || !strings.HasSuffix(head, "Content-Transfer-Encoding: 8bit") {
			t.Fatalf("header %q", head)
		}
	})
}

// TestArchiveOnDelivery: with archive on delivery, a delivered message is
// also in the archive; when the archive cannot be written the delivery
// fails temporarily (no store sentinel, so LMTP answers 451) and the
// Inbox keeps no copy, so that the MTA's retry stores it once.
func TestArchiveOnDelivery(t *testing.T) {
	e, st, arch := archiveEnv(t)
	faulty := storefault.New(e.db)
	e.d.Archiver = &mail.Archiver{Store: faulty}
	on := true
	e.d.ArchiveOnDelivery = func() bool { return on }
	msg := "From: bob@acme.test\nTo: alice@acme.test\nSubject: %s\n\nhi\n"

	faulty.Fail(nil, "ArchiveItems")
	res := e.deliver("bob@acme.test", "alice@acme.test", fmt.Sprintf(msg, "first try"))
	if res.Err == nil || errors.Is(res.Err, store.ErrNotFound) || errors.Is(res.Err, store.ErrOverQuota) || errors.Is(res.Err, store.ErrPermission) {
		t.Fatalf("delivery with a broken archive: %v", res.Err)
	}
	if s, _ := e.db.GetStore(sys, st.ID); s.Messages != 0 {
		t.Fatalf("the unarchived message was kept: %d messages", s.Messages)
	}
	faulty.Heal()
	if res := e.deliver("bob@acme.test", "alice@acme.test", fmt.Sprintf(msg, "retry")); res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != "map[Inbox:[retry]]" {
		t.Fatalf("archive %v", got)
	}
	// bob has no archive: his mail is delivered as before; with the flag
	// off nothing is archived.
	if res := e.deliver("alice@acme.test", "bob@acme.test", fmt.Sprintf(msg, "to bob")); res.Err != nil {
		t.Fatal(res.Err)
	}
	on = false
	if res := e.deliver("bob@acme.test", "alice@acme.test", fmt.Sprintf(msg, "not archived")); res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := e.archiveTree(arch.ID); fmt.Sprint(got) != "map[Inbox:[retry]]" {
		t.Fatalf("archive with the flag off %v", got)
	}
}
