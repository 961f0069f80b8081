package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// TestPostgresRoundTrips bounds the statements (each a network round trip
// on PostgreSQL) of the hot write paths: a delivery's append, a flag
// change and an expunge of five messages (issue 19: 10, 16 and 17 before).
func TestPostgresRoundTrips(t *testing.T) {
	dir := t.TempDir()
	blobs := newBlobs(t, dir)
	db := openPostgres(t, newPostgresDB(t), blobs)
	t.Cleanup(func() { db.Close() })
	ctx := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(ctx, "rt"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, "rt", store.User{Login: "rt", Email: "rt@rt.test", FullName: "RT"}); err != nil {
		t.Fatal(err)
	}
	st, err := db.UserStore(ctx, "rt")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.ListFolders(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	var inbox int64
	for _, f := range fs {
		if f.Special == store.SpecialInbox {
			inbox = f.ID
		}
	}
	count := func(what string, max int64, fn func() error) {
		t.Helper()
		n0 := sqlstore.Statements(db)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := sqlstore.Statements(db) - n0; n > max {
			t.Errorf("%s: %d statements, want at most %d", what, n, max)
		}
	}
	var uids []uint32
	for i := range 5 {
		count("AppendItem", 4, func() error {
			it, err := db.AppendItem(ctx, inbox, store.NewItem{Content: strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i))})
			if err == nil {
				uids = append(uids, it.UID)
			}
			return err
		})
	}
	count("UpdateFlags of 5", 4, func() error {
		out, err := db.UpdateFlags(ctx, inbox, uids, store.FlagsAdd, []string{`\Seen`})
		if err == nil && (len(out) != 5 || out[4].ModSeq != out[0].ModSeq+4 || out[0].Flags[0] != `\Seen`) {
			err = fmt.Errorf("got %+v", out)
		}
		return err
	})
	count("DeleteItems of 5", 4, func() error {
		out, err := db.DeleteItems(ctx, inbox, uids)
		if err == nil && len(out) != 5 {
			err = fmt.Errorf("deleted %v", out)
		}
		return err
	})
	f, err := db.GetFolder(ctx, inbox)
	if err != nil {
		t.Fatal(err)
	}
	if f.Messages != 0 || f.Size != 0 {
		t.Errorf("folder after expunge: %d messages, %d bytes", f.Messages, f.Size)
	}
}

// TestListGroupsStatements: listing a tenant's groups, as the address
// books do at every search, takes the same number of statements for
// three groups as for thirty (members and contacts included).
func TestListGroupsStatements(t *testing.T) {
	dir := t.TempDir()
	db := openSQLite(t, dir, newBlobs(t, dir))
	ctx := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(ctx, "lg"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"ann", "ben"} {
		if _, err := db.CreateUser(ctx, "lg", store.User{Login: l}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateContact(ctx, "lg", store.Contact{Email: "out@side.example"}); err != nil {
		t.Fatal(err)
	}
	add := func(from, to int) {
		for i := from; i < to; i++ {
			name := fmt.Sprintf("g%02d", i)
			if _, err := db.CreateGroup(ctx, "lg", store.Group{Name: name, Email: name + "@lg.test"}); err != nil {
				t.Fatal(err)
			}
			if err := db.AddGroupMember(ctx, "lg", name, "ann"); err != nil {
				t.Fatal(err)
			}
			if err := db.AddGroupContact(ctx, "lg", name, "out@side.example"); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func() (int64, []*store.Group) {
		t.Helper()
		n0 := sqlstore.Statements(db)
		gs, err := db.ListGroups(ctx, "lg")
		if err != nil {
			t.Fatal(err)
		}
		return sqlstore.Statements(db) - n0, gs
	}
	add(0, 3)
	few, gs := list()
	if len(gs) != 4 || gs[0].Name != "Everyone" || len(gs[0].Members) != 2 || gs[1].Members[0] != "ann" || gs[1].Contacts[0] != "out@side.example" {
		t.Fatalf("groups %+v", gs)
	}
	add(3, 30)
	many, gs := list()
	if len(gs) != 31 || many != few {
		t.Fatalf("%d groups: %d statements, %d for 4", len(gs), many, few)
	}
}

// TestGroupContactsBound: a group takes at most store.MaxGroupContacts
// contact members (a message to it is queued once for all of them, and
// delivery reads that many): the next is refused, not left out
// silently at delivery.
func TestGroupContactsBound(t *testing.T) {
	dir := t.TempDir()
	db := openSQLite(t, dir, newBlobs(t, dir))
	ctx := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(ctx, "gb"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateGroup(ctx, "gb", store.Group{Name: "big", Email: "big@gb.test"}); err != nil {
		t.Fatal(err)
	}
	if err := db.FillGroupContacts(ctx, "gb", "big", store.MaxGroupContacts-1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"last@x.example", "over@x.example"} {
		if _, err := db.CreateContact(ctx, "gb", store.Contact{Email: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddGroupContact(ctx, "gb", "big", "last@x.example"); err != nil {
		t.Fatalf("contact %d: %v", store.MaxGroupContacts, err)
	}
	if err := db.AddGroupContact(ctx, "gb", "big", "over@x.example"); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "1000 contacts, the most a group may have") {
		t.Fatalf("contact %d: %v, want ErrInvalid", store.MaxGroupContacts+1, err)
	}
	got, err := db.RecipientContacts(ctx, "big@gb.test")
	if err != nil || len(got) != store.MaxGroupContacts || !slices.Contains(got, "last@x.example") {
		t.Fatalf("recipients: %d, %v", len(got), err)
	}
}
