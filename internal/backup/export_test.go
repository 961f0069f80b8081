package backup_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// mailSet describes a user's mail by folder path: each message's
// content, flags and date (identical copies once).
func mailSet(t *testing.T, s *testenv.Store, login string, withContent bool) map[string][]string {
	t.Helper()
	ctx := testenv.As(t, s, login)
	st, err := s.UserStore(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := s.ListFolders(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*store.Folder{}
	for _, f := range fs {
		byID[f.ID] = f
	}
	out := map[string][]string{}
	for _, f := range fs {
		if f.Type != store.FolderMail || f.Deleted {
			continue
		}
		path := f.Name
		for g := byID[f.ParentID]; g != nil; g = byID[g.ParentID] {
			path = g.Name + "/" + path
		}
		its, err := s.ListItems(ctx, f.ID, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, it := range its {
			rc, err := s.OpenItem(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			fl := slices.Clone(it.Flags)
			slices.Sort(fl)
			c := string(data)
			if !withContent {
				// mbox adds Status fields: compare the Message-ID only.
				i := strings.Index(c, "Message-ID:")
				c = c[i : i+strings.Index(c[i:], "\r\n")]
			}
			d := c + "|" + strings.Join(fl, " ") + "|" + it.InternalDate.UTC().String()
			if !seen[d] {
				seen[d] = true
				out[path] = append(out[path], d)
			}
		}
		sort.Strings(out[path])
	}
	return out
}

// TestExportImportRoundTrip exports alice's store as Maildir and as mbox
// (with her calendar as .ics) and imports it into bob's: every message
// comes back with its flags (keywords too with Maildir) and date.
func TestExportImportRoundTrip(t *testing.T) {
	s := install(t, "")
	populate(t, s)
	objects := func(ctx context.Context, f *store.Folder, w io.Writer) error {
		if f.Type == store.FolderContacts {
			return groupware.ExportContacts(ctx, s, f, w)
		}
		return groupware.ExportCalendar(ctx, s, f, w)
	}
	want := mailSet(t, s, "alice", true)

	dir := t.TempDir()
	sum, err := backup.Export(context.Background(), s, backup.ExportOptions{ExportRequest: backup.ExportRequest{Login: "alice", To: dir, Format: "maildir"}, Objects: objects})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Messages != 34 || sum.Objects < 1 {
		t.Fatalf("export summary %+v", sum)
	}
	ics, err := os.ReadFile(filepath.Join(dir, "calendars", "Work calendar.ics"))
	if err != nil || strings.Count(string(ics), "BEGIN:VEVENT") != 3 {
		t.Fatalf("calendar export: %v\n%s", err, ics)
	}
	isum, err := backup.ImportMail(context.Background(), s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: "bob", Format: "maildir", Path: filepath.Join(dir, "Maildir")}})
	if err != nil || len(isum.Problems) > 0 {
		t.Fatalf("import: %+v %v", isum, err)
	}
	got := mailSet(t, s, "bob", true)
	for path, w := range want {
		if len(w) == 0 {
			continue
		}
		if !slices.Equal(got[path], w) {
			t.Errorf("Maildir round trip, %s:\n got %q\nwant %q", path, got[path], w)
		}
	}

	// mbox: system flags and dates; content gains Status fields.
	dir2 := t.TempDir()
	if _, err := backup.Export(context.Background(), s, backup.ExportOptions{ExportRequest: backup.ExportRequest{Login: "alice", To: dir2}}); err != nil {
		t.Fatal(err)
	}
	s.User(t, "acme", store.User{Login: "carol", Active: true}, "")
	for _, f := range []struct{ file, folder string }{{"Inbox.mbox", "inbox"}, {"Projects.mbox", "Projects"}, {"Projects/2026.mbox", "Projects/2026"}} {
		if _, err := os.Stat(filepath.Join(dir2, "mail", f.file)); err != nil {
			entries, _ := os.ReadDir(filepath.Join(dir2, "mail"))
			t.Fatalf("%s: %v (have %v)", f.file, err, entries)
		}
		isum, err := backup.ImportMail(context.Background(), s, backup.ImportOptions{ImportRequest: backup.ImportRequest{Login: "carol", Format: "mbox", Path: filepath.Join(dir2, "mail", f.file), Folder: f.folder}})
		if err != nil || len(isum.Problems) > 0 {
			t.Fatalf("import %s: %+v %v", f.file, isum, err)
		}
	}
	wantIDs := mailSet(t, s, "alice", false)
	gotIDs := mailSet(t, s, "carol", false)
	for path, w := range wantIDs {
		// Keywords do not travel in mbox.
		var ww []string
		for _, d := range w {
			parts := strings.SplitN(d, "|", 3)
			var fl []string
			for _, f := range strings.Fields(parts[1]) {
				if strings.HasPrefix(f, `\`) {
					fl = append(fl, f)
				}
			}
			ww = append(ww, parts[0]+"|"+strings.Join(fl, " ")+"|"+parts[2])
		}
		sort.Strings(ww)
		ww = slices.Compact(ww)
		if len(ww) > 0 && !slices.Equal(gotIDs[path], ww) {
			t.Errorf("mbox round trip, %s:\n got %q\nwant %q", path, gotIDs[path], ww)
		}
	}
}
