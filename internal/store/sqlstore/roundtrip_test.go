package sqlstore_test

import (
	"context"
	"fmt"
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
