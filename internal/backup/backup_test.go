package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

var sys = testenv.Sys

// install is a store with users alice and bob in tenant "acme".
func install(t *testing.T, backend string) *testenv.Store {
	t.Helper()
	s := testenv.Open(t, testenv.Options{Backend: backend})
	s.Tenants(t, "acme")
	s.User(t, "acme", store.User{Login: "alice", Active: true}, "")
	s.User(t, "acme", store.User{Login: "bob", Active: true}, "")
	return s
}

func msg(i int) string {
	return fmt.Sprintf("From: x%d@example.org\r\nTo: alice@acme.test\r\nSubject: message %d\r\nMessage-ID: <%d@example.org>\r\n\r\nbody %d\r\n%s\r\n",
		i, i, i, i, strings.Repeat("line of text\r\n", i%7))
}

func mkFolder(t *testing.T, ctx context.Context, b store.Backend, storeID, parent int64, name string, typ store.FolderType) *store.Folder {
	t.Helper()
	f, err := b.CreateFolder(ctx, storeID, parent, name, typ)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func appendMsg(t testing.TB, ctx context.Context, b store.Backend, folderID int64, content string, date time.Time, flags ...string) *store.Item {
	t.Helper()
	it, err := b.AppendItem(ctx, folderID, store.NewItem{Content: strings.NewReader(content), InternalDate: date, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

var day0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// populate fills alice's store: Inbox with messages (one large, flags,
// one deleted), Projects/2026 with mail over a date range, a calendar
// with named objects, an ACL for bob, folder and store properties, and an
// unsubscribed folder.
func populate(t *testing.T, s *testenv.Store) {
	t.Helper()
	ctx := testenv.As(t, s, "alice")
	st, err := s.UserStore(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	inbox := testenv.Folder(t, ctx, s, "alice", store.SpecialInbox)
	for i := 0; i < 20; i++ {
		appendMsg(t, ctx, s, inbox.ID, msg(i), day0.Add(time.Duration(i)*time.Hour), `\Seen`, fmt.Sprintf("$label%d", i%3))
	}
	big := msg(99) + strings.Repeat("0123456789abcdef", 10000) // over the inline limit: a blob file
	appendMsg(t, ctx, s, inbox.ID, big, day0, `\Flagged`)
	gone := appendMsg(t, ctx, s, inbox.ID, msg(100), day0)
	if _, err := s.DeleteItems(ctx, inbox.ID, []uint32{gone.UID}); err != nil {
		t.Fatal(err)
	}
	proj := mkFolder(t, ctx, s, st.ID, 0, "Projects", store.FolderMail)
	y := mkFolder(t, ctx, s, st.ID, proj.ID, "2026", store.FolderMail)
	for i := 0; i < 10; i++ {
		appendMsg(t, ctx, s, y.ID, msg(200+i), day0.AddDate(0, 0, i))
	}
	appendMsg(t, ctx, s, proj.ID, msg(300), day0.AddDate(0, 0, 3), `\Answered`)
	// Two identical copies in one folder stay two.
	twin := appendMsg(t, ctx, s, y.ID, msg(400), day0.AddDate(0, 1, 0))
	if _, err := s.CopyItems(ctx, y.ID, []uint32{twin.UID}, y.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetACL(ctx, proj.ID, store.UserSubject("bob"), "lrs"); err != nil {
		t.Fatal(err)
	}
	v := "blue"
	if err := s.SetFolderProps(ctx, proj.ID, map[string]*string{"/shared/color": &v}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx, y.ID, false); err != nil {
		t.Fatal(err)
	}
	cal := mkFolder(t, ctx, s, st.ID, 0, "Work calendar", store.FolderCalendar)
	for i := 0; i < 3; i++ {
		ics := fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:ev%d\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260310T10000%dZ\r\nSUMMARY:meeting %d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", i, i, i)
		if _, err := s.AppendItem(ctx, cal.ID, store.NewItem{Content: strings.NewReader(ics), Name: fmt.Sprintf("ev%d.ics", i), ObjectUID: fmt.Sprintf("ev%d", i),
			Start: time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	script := "require \"fileinto\";\r\nif header :contains \"subject\" \"x\" { fileinto \"Projects\"; }\r\n"
	oof := `{"on":true}`
	if err := s.SetStoreProps(ctx, st.ID, map[string]*string{"sieve/script/main": &script, "oof": &oof}); err != nil {
		t.Fatal(err)
	}
}

// itemDesc is what a restored item must keep.
type itemDesc struct {
	Content, Flags, Name string
	Date                 time.Time
	Deleted              bool
}

// snapshot describes a store by folder path: items, ACL, properties,
// subscription, and the store's properties.
type snapshot struct {
	Items      map[string][]itemDesc
	ACL        map[string]string
	Props      map[string]string
	Subscribed map[string]bool
	StoreProps map[string]string
}

func snap(t testing.TB, b store.Backend, login string) snapshot {
	t.Helper()
	ctx := testenv.As(t, b, login)
	st, err := b.UserStore(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := b.ListFolders(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*store.Folder{}
	for _, f := range fs {
		byID[f.ID] = f
	}
	path := func(f *store.Folder) string {
		p := f.Name
		if f.Special != "" {
			p = "@" + f.Special
		}
		for f.ParentID != 0 {
			f = byID[f.ParentID]
			p = f.Name + "/" + p
		}
		return p
	}
	s := snapshot{Items: map[string][]itemDesc{}, ACL: map[string]string{}, Props: map[string]string{}, Subscribed: map[string]bool{}}
	for _, f := range fs {
		p := path(f)
		s.Subscribed[p] = f.Subscribed
		live, err := b.ListObjects(ctx, f.ID, store.ObjectQuery{})
		if err != nil {
			t.Fatal(err)
		}
		del, err := b.ListDeletedItems(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range append(live, del...) {
			var rc io.ReadCloser
			if it.Deleted {
				rc, err = b.OpenDeletedItem(ctx, it.ID)
			} else {
				rc, err = b.OpenItem(ctx, it.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			s.Items[p] = append(s.Items[p], itemDesc{Content: string(data), Flags: strings.Join(it.Flags, " "), Name: it.Name, Date: it.InternalDate.UTC(), Deleted: it.Deleted})
		}
		sort.Slice(s.Items[p], func(i, j int) bool {
			a, c := s.Items[p][i], s.Items[p][j]
			if !a.Date.Equal(c.Date) {
				return a.Date.Before(c.Date)
			}
			return a.Content < c.Content
		})
		acl, err := b.GetACL(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, a := range acl {
			parts = append(parts, a.Subject+"="+a.Rights)
		}
		slices.Sort(parts)
		if len(parts) > 0 {
			s.ACL[p] = strings.Join(parts, ",")
		}
		props, err := b.FolderProps(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range props {
			if k != store.RecentProp {
				s.Props[p+" "+k] = v
			}
		}
	}
	if s.StoreProps, err = b.StoreProps(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	return s
}

// same compares two snapshots item by item and fails on every difference.
func same(t *testing.T, want, got snapshot) {
	t.Helper()
	for p, wi := range want.Items {
		gi := got.Items[p]
		if len(gi) != len(wi) {
			t.Errorf("folder %s: %d items, want %d", p, len(gi), len(wi))
			continue
		}
		for i := range wi {
			if wi[i] != gi[i] {
				t.Errorf("folder %s item %d: got %+v\nwant %+v", p, i, short(gi[i]), short(wi[i]))
			}
		}
	}
	for p, gi := range got.Items {
		if _, ok := want.Items[p]; !ok && len(gi) > 0 {
			t.Errorf("folder %s: %d unexpected items", p, len(gi))
		}
	}
	for _, c := range []struct {
		what      string
		want, got map[string]string
	}{{"ACL", want.ACL, got.ACL}, {"folder property", want.Props, got.Props}, {"store property", want.StoreProps, got.StoreProps}} {
		for k, v := range c.want {
			if c.got[k] != v {
				t.Errorf("%s %s: got %q, want %q", c.what, k, c.got[k], v)
			}
		}
		for k := range c.got {
			if _, ok := c.want[k]; !ok {
				t.Errorf("%s %s: unexpected", c.what, k)
			}
		}
	}
	for p, v := range want.Subscribed {
		if got.Subscribed[p] != v {
			t.Errorf("folder %s: subscribed %v, want %v", p, got.Subscribed[p], v)
		}
	}
}

func short(d itemDesc) itemDesc {
	if len(d.Content) > 40 {
		d.Content = d.Content[:40] + "…"
	}
	return d
}

func count(s snapshot) int {
	n := 0
	for _, v := range s.Items {
		n += len(v)
	}
	return n
}

func TestRoundTrip(t *testing.T) {
	for _, be := range testenv.Backends(t) {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			src := install(t, be)
			populate(t, src)
			dir := t.TempDir()
			sum, err := backup.Run(context.Background(), src, backup.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Stores) != 2 || sum.Objects == 0 {
				t.Fatalf("summary: %+v", sum)
			}
			if _, err := backup.Verify(context.Background(), backup.Location{Path: dir}, nil); err != nil {
				t.Fatalf("verify a fresh backup: %v", err)
			}
			want := snap(t, src, "alice")
			if count(want) < 30 {
				t.Fatalf("the source holds %d items", count(want))
			}

			// An empty installation with the same users.
			dst := install(t, be)
			r, err := backup.Restore(context.Background(), dst, backup.RestoreOptions{Dir: dir, Login: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Warnings) > 0 {
				t.Errorf("warnings: %v", r.Warnings)
			}
			same(t, want, snap(t, dst, "alice"))

			// Twice: nothing new.
			r2, err := backup.Restore(context.Background(), dst, backup.RestoreOptions{Dir: dir, Login: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if r2.Created != 0 || r2.FoldersCreated != 0 || r2.ACLs != 0 || r2.Present != r.Created {
				t.Errorf("second restore: %+v (first %+v)", r2, r)
			}
			same(t, want, snap(t, dst, "alice"))
		})
	}
}

func TestIncremental(t *testing.T) {
	for _, be := range testenv.Backends(t) {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			s := install(t, be)
			populate(t, s)
			dir := t.TempDir()
			ctx := context.Background()
			if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}}); err != nil {
				t.Fatal(err)
			}
			// Three changes: a flag, a new message, a deletion.
			actx := testenv.As(t, s, "alice")
			inbox := testenv.Folder(t, actx, s, "alice", store.SpecialInbox)
			if _, err := s.UpdateFlags(actx, inbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
				t.Fatal(err)
			}
			appendMsg(t, actx, s, inbox.ID, msg(500), day0)
			if _, err := s.DeleteItems(actx, inbox.ID, []uint32{2}); err != nil {
				t.Fatal(err)
			}
			sum, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}})
			if err != nil {
				t.Fatal(err)
			}
			e := sum.Stores[0]
			if e.Parent != 1 || e.Items != 3 || sum.Objects != 1 {
				t.Errorf("incremental wrote %d items and %d objects on run %d (parent %d), want 3 and 1 on parent 1", e.Items, sum.Objects, sum.Run, e.Parent)
			}
			// Nothing changed: nothing written.
			sum3, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}})
			if err != nil {
				t.Fatal(err)
			}
			if sum3.Stores[0].Items != 0 || sum3.Objects != 0 {
				t.Errorf("an unchanged store's incremental wrote %d items, %d objects", sum3.Stores[0].Items, sum3.Objects)
			}
			// An item expunged and purged: the next run records it gone.
			if _, err := s.DeleteItems(actx, inbox.ID, []uint32{4}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PurgeDeleted(sys, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := backup.Verify(ctx, backup.Location{Path: dir}, nil); err != nil {
				t.Fatal(err)
			}
			want := snap(t, s, "alice")
			dst := install(t, be)
			if _, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "alice"}); err != nil {
				t.Fatal(err)
			}
			same(t, want, snap(t, dst, "alice"))
		})
	}
}

func TestRestoreFolderDateRange(t *testing.T) {
	for _, be := range testenv.Backends(t) {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			s := install(t, be)
			populate(t, s)
			dir := t.TempDir()
			ctx := context.Background()
			if _, err := backup.Run(ctx, s, backup.Options{Dir: dir}); err != nil {
				t.Fatal(err)
			}
			// Restore Projects (with 2026 below it) from days 2..5 into a
			// new folder.
			r, err := backup.Restore(ctx, s, backup.RestoreOptions{Dir: dir, Login: "alice", Folder: "Projects",
				Since: day0.AddDate(0, 0, 2), Until: day0.AddDate(0, 0, 6), Into: "Recovered"})
			if err != nil {
				t.Fatal(err)
			}
			got := snap(t, s, "alice")
			// Projects' own message (day 3) and 2026's days 2..5.
			if n := len(got.Items["Recovered"]); n != 1 {
				t.Errorf("Recovered holds %d items, want 1", n)
			}
			sub := got.Items["Recovered/2026"]
			if len(sub) != 4 {
				t.Fatalf("Recovered/2026 holds %d items, want 4", len(sub))
			}
			for i, it := range sub {
				if want := day0.AddDate(0, 0, 2+i); !it.Date.Equal(want) || !strings.Contains(it.Content, fmt.Sprintf("message %d", 202+i)) {
					t.Errorf("item %d: date %v, want %v", i, it.Date, want)
				}
			}
			if r.Created != 5 {
				t.Errorf("created %d, want 5", r.Created)
			}
			// The original folders are untouched, and the ACL came along.
			if len(got.Items["Projects/2026"]) != 12 || got.ACL["Recovered"] != "user:bob=lrs" {
				t.Errorf("Projects/2026 has %d items; Recovered's ACL %q", len(got.Items["Projects/2026"]), got.ACL["Recovered"])
			}
			// Into the original place: everything is there already.
			r2, err := backup.Restore(ctx, s, backup.RestoreOptions{Dir: dir, Login: "alice", Folder: "Projects/2026"})
			if err != nil {
				t.Fatal(err)
			}
			if r2.Created != 0 || r2.Present != 12 {
				t.Errorf("restore into the original place: %+v", r2)
			}
		})
	}
}

func TestRestoreKeepsNewer(t *testing.T) {
	s := install(t, testenv.Backend())
	populate(t, s)
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	actx := testenv.As(t, s, "alice")
	inbox := testenv.Folder(t, actx, s, "alice", store.SpecialInbox)
	// Newer: a new message, a flag change, a calendar object replaced, a
	// changed setting; and a message lost (expunged and purged).
	appendMsg(t, actx, s, inbox.ID, msg(900), day0.AddDate(0, 1, 0))
	if _, err := s.UpdateFlags(actx, inbox.ID, []uint32{3}, store.FlagsAdd, []string{"$newer"}); err != nil {
		t.Fatal(err)
	}
	cal := testenv.Folder(t, actx, s, "alice", "Work calendar")
	objs, err := s.ListObjects(actx, cal.ID, store.ObjectQuery{Names: []string{"ev1.ics"}})
	if err != nil || len(objs) != 1 {
		t.Fatal(objs, err)
	}
	newer := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:ev1\r\nDTSTAMP:20260302T000000Z\r\nDTSTART:20260311T100000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := s.ReplaceItem(actx, objs[0].ID, store.NewItem{Content: strings.NewReader(newer), ObjectUID: "ev1"}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.UserStore(actx, "alice")
	oof := `{"on":false}`
	if err := s.SetStoreProps(actx, st.ID, map[string]*string{"oof": &oof}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteItems(actx, inbox.ID, []uint32{5}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PurgeDeleted(sys, 0); err != nil {
		t.Fatal(err)
	}
	before := snap(t, s, "alice")
	r, err := backup.Restore(ctx, s, backup.RestoreOptions{Dir: dir, Login: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	after := snap(t, s, "alice")
	// Everything that was there is still there, unchanged.
	for p, items := range before.Items {
		for _, it := range items {
			if !slices.Contains(after.Items[p], it) {
				t.Errorf("folder %s lost %+v", p, short(it))
			}
		}
	}
	if after.StoreProps["oof"] != oof {
		t.Errorf("the newer setting was overwritten: %q", after.StoreProps["oof"])
	}
	// The lost message (and the deleted one purged with it) came back,
	// the replaced event stayed the newer one.
	if r.Created != 2 || r.Conflicts != 1 {
		t.Errorf("restore: %+v", r)
	}
	var evs []string
	for _, it := range after.Items["Work calendar"] {
		if it.Name == "ev1.ics" {
			evs = append(evs, it.Content)
		}
	}
	if len(evs) != 1 || !strings.Contains(evs[0], "moved") {
		t.Errorf("ev1.ics: %d copies, want the newer one only", len(evs))
	}
}

// damage copies a backup and applies f to the copy.
func damage(t *testing.T, dir string, f func(dir string)) string {
	t.Helper()
	cp := t.TempDir()
	if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	f(cp)
	return cp
}

func TestDamagedBackup(t *testing.T) {
	s := install(t, testenv.Backend())
	populate(t, s)
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	// The large object, to corrupt and truncate.
	var bigObj string
	var bigSize int64
	filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Size() > bigSize {
			bigObj, bigSize = p, fi.Size()
		}
		return nil
	})
	rel, _ := filepath.Rel(dir, bigObj)
	cases := []struct {
		name, want string
		f          func(dir string)
	}{
		{"corrupted object", "corrupted", func(d string) {
			data, _ := os.ReadFile(filepath.Join(d, rel))
			data[len(data)/2] ^= 0x20
			os.WriteFile(filepath.Join(d, rel), data, 0o600)
		}},
		{"truncated object", "truncated", func(d string) {
			os.Truncate(filepath.Join(d, rel), bigSize/2)
		}},
		{"missing object", "missing", func(d string) {
			os.Remove(filepath.Join(d, rel))
		}},
		{"bad manifest", "manifest", func(d string) {
			p := filepath.Join(d, "runs", "000001", "manifest.json")
			data, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(data, []byte(`"seq": `), []byte(`"seq": 1`), 1), 0o600)
		}},
		{"truncated manifest", "manifest", func(d string) {
			os.Truncate(filepath.Join(d, "runs", "000001", "manifest.json"), 30)
		}},
		{"truncated store file", "1.jsonl", func(d string) {
			p := filepath.Join(d, "runs", "000001", "1.jsonl")
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()-10)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := damage(t, dir, c.f)
			_, err := backup.Verify(ctx, backup.Location{Path: d}, nil)
			if !errors.Is(err, backup.ErrDamaged) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("verify: %v, want damage naming %q", err, c.want)
			}
			dst := install(t, testenv.Backend())
			_, err = backup.Restore(ctx, dst, backup.RestoreOptions{Dir: d, Login: "alice"})
			if !errors.Is(err, backup.ErrDamaged) {
				t.Errorf("restore: %v, want it refused as damaged", err)
			}
			if n := count(snap(t, dst, "alice")); n != 0 {
				t.Errorf("a refused restore stored %d items", n)
			}
		})
	}
}

// TestBackupWhileWriting takes a backup while messages arrive and flags
// change: every item that existed before it began is in it; after the
// writers stop, an incremental run makes the backup equal to the store.
func TestBackupWhileWriting(t *testing.T) {
	for _, be := range testenv.Backends(t) {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			s := install(t, be)
			populate(t, s)
			actx := testenv.As(t, s, "alice")
			inbox := testenv.Folder(t, actx, s, "alice", store.SpecialInbox)
			for i := 0; i < 200; i++ {
				appendMsg(t, actx, s, inbox.ID, msg(1000+i), day0)
			}
			before := snap(t, s, "alice")
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var writeErr error
			var mu sync.Mutex
			wg.Add(2)
			go func() { // deliveries
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					time.Sleep(2 * time.Millisecond)
					if _, err := s.AppendItem(actx, inbox.ID, store.NewItem{Content: strings.NewReader(msg(5000 + i)), InternalDate: day0}); err != nil {
						mu.Lock()
						writeErr = err
						mu.Unlock()
						return
					}
				}
			}()
			go func() { // flag changes
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					time.Sleep(2 * time.Millisecond)
					if _, err := s.UpdateFlags(actx, inbox.ID, []uint32{uint32(1 + i%200)}, store.FlagsAdd, []string{fmt.Sprintf("$k%d", i%5)}); err != nil {
						mu.Lock()
						writeErr = err
						mu.Unlock()
						return
					}
				}
			}()
			dir := t.TempDir()
			ctx := context.Background()
			_, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}})
			close(stop)
			wg.Wait()
			if err != nil || writeErr != nil {
				t.Fatal(err, writeErr)
			}
			// The first run alone: nothing that existed before is missing.
			dst := install(t, be)
			if _, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "alice"}); err != nil {
				t.Fatal(err)
			}
			got := snap(t, dst, "alice")
			for p, items := range before.Items {
				for _, it := range items {
					if !slices.ContainsFunc(got.Items[p], func(g itemDesc) bool { return g.Content == it.Content && g.Date.Equal(it.Date) }) {
						t.Errorf("folder %s: %q missing from a backup taken while writing", p, short(it).Content)
					}
				}
			}
			// An incremental after the writers stopped, restored into a
			// fresh installation, equals the store item by item.
			if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}}); err != nil {
				t.Fatal(err)
			}
			dst2 := install(t, be)
			if _, err := backup.Restore(ctx, dst2, backup.RestoreOptions{Dir: dir, Login: "alice"}); err != nil {
				t.Fatal(err)
			}
			same(t, snap(t, s, "alice"), snap(t, dst2, "alice"))
		})
	}
}

// TestIncrementalAcrossRuns: a store left out of a run is incremental in
// the next run that names it, built on its own last run.
func TestIncrementalAcrossRuns(t *testing.T) {
	s := install(t, testenv.Backend())
	populate(t, s)
	dir := t.TempDir()
	ctx := context.Background()
	for _, logins := range [][]string{{"alice"}, {"bob"}} {
		if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: logins}); err != nil {
			t.Fatal(err)
		}
	}
	actx := testenv.As(t, s, "alice")
	appendMsg(t, actx, s, testenv.Folder(t, actx, s, "alice", store.SpecialInbox).ID, msg(700), day0)
	sum, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := sum.Stores[0]; e.Parent != 1 || e.Items != 1 {
		t.Errorf("alice in run 3: parent %d, %d items; want parent 1, 1 item", e.Parent, e.Items)
	}
	dst := install(t, testenv.Backend())
	if _, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "alice"}); err != nil {
		t.Fatal(err)
	}
	same(t, snap(t, s, "alice"), snap(t, dst, "alice"))
}

// TestRestoreSpecialFolder: --folder inbox restores into the target's own
// Inbox whatever its name.
func TestRestoreSpecialFolder(t *testing.T) {
	s := install(t, testenv.Backend())
	populate(t, s)
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	dst := install(t, testenv.Backend())
	actx := testenv.As(t, dst, "alice")
	inbox := testenv.Folder(t, actx, dst, "alice", store.SpecialInbox)
	if _, err := dst.RenameFolder(actx, inbox.ID, 0, "Posteingang"); err != nil && !errors.Is(err, store.ErrInvalid) {
		t.Fatal(err)
	}
	r, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "alice", Folder: "inbox"})
	if err != nil {
		t.Fatal(err)
	}
	want := snap(t, s, "alice").Items["@inbox"]
	got := snap(t, dst, "alice")
	if len(got.Items["@inbox"]) != len(want) || r.FoldersCreated != 0 || len(want) == 0 {
		t.Errorf("inbox: %d items restored into it, want %d; %d folders created", len(got.Items["@inbox"]), len(want), r.FoldersCreated)
	}
}

// TestNewStoreSameLogin: a user deleted and made again has a new store:
// the next run backs it up in full instead of building on the old one.
func TestNewStoreSameLogin(t *testing.T) {
	s := install(t, testenv.Backend())
	populate(t, s)
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(sys, "alice"); err != nil {
		t.Fatal(err)
	}
	s.User(t, "acme", store.User{Login: "alice", Active: true}, "")
	sum, err := backup.Run(ctx, s, backup.Options{Dir: dir, Logins: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := sum.Stores[0]; e.Parent != 0 {
		t.Errorf("the new store builds on run %d", e.Parent)
	}
	dst := install(t, testenv.Backend())
	if _, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "alice"}); err != nil {
		t.Fatal(err)
	}
	if n := count(snap(t, dst, "alice")); n != 0 {
		t.Errorf("restored %d items of the old store", n)
	}
}

// TestBackupTenant: a tenant's users only.
func TestBackupTenant(t *testing.T) {
	s := install(t, testenv.Backend())
	s.Tenants(t, "globex")
	s.User(t, "globex", store.User{Login: "eve", Active: true}, "")
	ctx := context.Background()
	sum, err := backup.Run(ctx, s, backup.Options{Dir: t.TempDir(), Tenant: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Stores) != 1 || sum.Stores[0].Login != "eve" {
		t.Errorf("stores: %+v", sum.Stores)
	}
	if _, err := backup.Run(ctx, s, backup.Options{Dir: t.TempDir(), Tenant: "nosuch"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
}

// TestPublicStore: a backup of everything includes each tenant's public
// store as "public:TENANT", restored into a tenant without one.
func TestPublicStore(t *testing.T) {
	s := install(t, testenv.Backend())
	pub, err := s.CreatePublicStore(sys, "acme")
	if err != nil {
		t.Fatal(err)
	}
	f := mkFolder(t, sys, s, pub.ID, 0, "Announcements", store.FolderMail)
	appendMsg(t, sys, s, f.ID, msg(1), day0, `\Seen`)
	if err := s.SetACL(sys, f.ID, store.SubjectAnyone, "lr"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	sum, err := backup.Run(ctx, s, backup.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if last := sum.Stores[len(sum.Stores)-1]; last.Login != "public:acme" || last.Items != 1 {
		t.Fatalf("stores: %+v", sum.Stores)
	}
	dst := install(t, testenv.Backend())
	r, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: dir, Login: "public:acme"})
	if err != nil || r.Created != 1 || r.ACLs != 1 {
		t.Fatalf("restore: %+v %v", r, err)
	}
	tn, _ := dst.GetTenant(sys, "acme")
	fs, err := dst.ListFolders(sys, tn.PublicStoreID)
	if err != nil {
		t.Fatal(err)
	}
	var got *store.Folder
	for _, f := range fs {
		if f.Name == "Announcements" {
			got = f
		}
	}
	if got == nil {
		t.Fatal("no Announcements folder in the restored public store")
	}
	its, _ := dst.ListObjects(sys, got.ID, store.ObjectQuery{})
	if len(its) != 1 || strings.Join(its[0].Flags, " ") != `\Seen` {
		t.Errorf("restored items: %+v", its)
	}
}
