package sqlstore_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// untarFixture unpacks a data directory checked in as a .tar.gz into a
// fresh temporary directory and returns it.
func untarFixture(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("fixture entry %q escapes the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// wantItem is one item the fixture's producer created (see
// testdata/upgrade-v2/README.md), with its content file under src/.
type wantItem struct {
	uid   uint32
	flags []string
	src   string // file in testdata/upgrade-v2/src, or "" with body set
	body  string
	date  time.Time // zero: not checked (delivery time)
	name  string    // DAV resource name, calendar and contact items
}

// TestUpgradeFromV2Fixture opens a data directory made by an earlier
// Roost (schema version 2, before single instance storage of MIME parts)
// with the current code, which migrates it, and checks that every user,
// folder, message (bytes, flags, UIDs, dates), ACL and DAV object the
// earlier binary stored is still there, unchanged.
func TestUpgradeFromV2Fixture(t *testing.T) {
	ctx := store.SystemContext(context.Background())
	dir := untarFixture(t, "testdata/upgrade-v2/roost-data.tar.gz")
	dbPath := filepath.Join(dir, "roost.db")

	blobs := newBlobs(t, dir)
	db := openSQLite(t, dir, blobs)
	defer db.Close()

	// The upgrade kept a copy of the version-2 database to go back to.
	bak := dbPath + ".before-v" + strconv.Itoa(sqlstore.SchemaVersion()) + ".bak"
	if v := sqliteVersion(t, bak); v != 2 {
		t.Fatalf("backup %s has schema version %d, want 2", bak, v)
	}
	if v := sqliteVersion(t, dbPath); v != sqlstore.SchemaVersion() {
		t.Fatalf("upgraded database has schema version %d, want %d", v, sqlstore.SchemaVersion())
	}

	for _, login := range []string{"admin", "alice", "bob"} {
		if _, err := db.GetUser(ctx, login); err != nil {
			t.Fatalf("user %s: %v", login, err)
		}
	}
	if u, err := db.UserByAddress(ctx, "alice@example.org"); err != nil || u.Login != "alice" {
		t.Fatalf("alice@example.org: %v %v", u, err)
	}

	seen, flagged, answered, draft := `\Seen`, `\Flagged`, `\Answered`, `\Draft`
	want := map[string]map[string][]wantItem{
		"alice": {
			"Inbox": {
				{uid: 1, flags: []string{seen}, src: "a1.eml"},
				{uid: 2, flags: []string{flagged, seen}, src: "a2.eml"},
				{uid: 3, flags: []string{"$Important", answered}, src: "a3.eml"},
				// UID 4 was expunged: the gap stays.
				{uid: 5, src: "a5.eml"},
				{uid: 6, flags: []string{draft, "custom-kw"}, src: "a6.eml"},
				{uid: 7, src: "att.eml"},
			},
			"Projects": {{uid: 1, flags: []string{seen}, date: time.Unix(1763900000, 0),
				body: "From: alice@example.org\r\nTo: team@example.org\r\nSubject: Appended note\r\n\r\nA note appended by IMAP.\r\n"}},
			"Projects/Roost": {{uid: 1, src: "a5.eml"}},
			"Sent": {{uid: 1, flags: []string{seen}, date: time.Unix(1763910000, 0),
				body: "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Sent item\r\n\r\nSent.\r\n"}},
			"Calendar": {{uid: 1, src: "ev1.ics", name: "event-1.ics"}, {uid: 2, src: "ev2.ics", name: "event-2.ics"}},
			"Contacts": {{uid: 1, src: "c1.vcf", name: "card-1.vcf"}},
			"Drafts":   nil, "Trash": nil, "Junk": nil, "Archive": nil,
		},
		"bob": {
			"Inbox":   {{uid: 1, flags: []string{seen}, src: "att.eml"}, {uid: 2, src: "b1.eml"}, {uid: 3, src: "b2.eml"}},
			"Archive": {{uid: 1, src: "b1.eml"}},
		},
	}
	uidNext := map[string]uint32{"alice/Inbox": 8, "bob/Inbox": 4}

	for login, folders := range want {
		st, err := db.UserStore(ctx, login)
		if err != nil {
			t.Fatalf("store of %s: %v", login, err)
		}
		all, err := db.ListFolders(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		byPath := folderPaths(all)
		for path, items := range folders {
			f := byPath[path]
			if f == nil {
				t.Errorf("%s: folder %q missing (have %v)", login, path, keys(byPath))
				continue
			}
			if n := uidNext[login+"/"+path]; n != 0 && f.UIDNext != n {
				t.Errorf("%s/%s: UIDNEXT %d, want %d", login, path, f.UIDNext, n)
			}
			got, err := db.ListItems(ctx, f.ID, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(items) {
				t.Errorf("%s/%s: %d items, want %d", login, path, len(got), len(items))
				continue
			}
			for i, w := range items {
				g := got[i]
				if g.UID != w.uid {
					t.Errorf("%s/%s item %d: UID %d, want %d", login, path, i, g.UID, w.uid)
				}
				if !slices.Equal(g.Flags, w.flags) && (len(g.Flags) != 0 || len(w.flags) != 0) {
					t.Errorf("%s/%s UID %d: flags %q, want %q", login, path, g.UID, g.Flags, w.flags)
				}
				if !w.date.IsZero() && !g.InternalDate.Equal(w.date) {
					t.Errorf("%s/%s UID %d: internal date %v, want %v", login, path, g.UID, g.InternalDate, w.date)
				}
				wantBody := []byte(w.body)
				if w.src != "" {
					if wantBody, err = os.ReadFile(filepath.Join("testdata/upgrade-v2/src", w.src)); err != nil {
						t.Fatal(err)
					}
				}
				r, err := db.OpenItem(ctx, g.ID)
				if err != nil {
					t.Fatalf("%s/%s UID %d: open: %v", login, path, g.UID, err)
				}
				body, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					t.Fatalf("%s/%s UID %d: read: %v", login, path, g.UID, err)
				}
				if !bytes.Equal(body, wantBody) {
					t.Errorf("%s/%s UID %d: content differs (%d bytes, want %d)", login, path, g.UID, len(body), len(wantBody))
				}
				if g.Size != int64(len(wantBody)) {
					t.Errorf("%s/%s UID %d: size %d, want %d", login, path, g.UID, g.Size, len(wantBody))
				}
				if w.name != "" {
					it, err := db.GetItem(ctx, g.ID)
					if err != nil {
						t.Fatal(err)
					}
					if it.Name != w.name {
						t.Errorf("%s/%s UID %d: name %q, want %q", login, path, g.UID, it.Name, w.name)
					}
				}
			}
		}
		if login == "alice" {
			acl, err := db.GetACL(ctx, byPath["Projects"].ID)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range acl {
				if strings.HasSuffix(e.Subject, "bob") && e.Rights == "lr" {
					found = true
				}
			}
			if !found {
				t.Errorf("alice/Projects ACL %v lost bob's lr", acl)
			}
		}
	}

	// The upgraded database takes new writes: a new message gets the next UID.
	st, _ := db.UserStore(ctx, "alice")
	all, _ := db.ListFolders(ctx, st.ID)
	// The journal from before actors were recorded says so, so that no
	// old calendar change is shown as another user's (CalendarEventNotification).
	chs, err := db.FolderChanges(ctx, folderPaths(all)["Calendar"].ID, 0, 100)
	if err != nil || len(chs) == 0 {
		t.Fatalf("calendar journal: %d entries, %v", len(chs), err)
	}
	for _, c := range chs {
		if c.Actor != store.ActorUnrecorded {
			t.Errorf("old journal entry %+v: actor %q, want %q", c, c.Actor, store.ActorUnrecorded)
		}
	}
	inbox := folderPaths(all)["Inbox"]
	it, err := db.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader("Subject: after upgrade\r\n\r\nhi\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	if it.UID != 8 {
		t.Errorf("new message after upgrade got UID %d, want 8", it.UID)
	}
}

func folderPaths(all []*store.Folder) map[string]*store.Folder {
	byID := map[int64]*store.Folder{}
	for _, f := range all {
		byID[f.ID] = f
	}
	out := map[string]*store.Folder{}
	for _, f := range all {
		p := f.Name
		for q := byID[f.ParentID]; q != nil; q = byID[q.ParentID] {
			p = q.Name + "/" + p
		}
		out[p] = f
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sqliteVersion(t *testing.T, path string) int {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	d, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var v int
	if err := d.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return v
}
