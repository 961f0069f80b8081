package storetest

import (
	"io"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// testEmptyContent: zero-length content (an IMAP APPEND of {0}) reads
// back as empty through every read path, not as a missing blob.
func testEmptyContent(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	it, err := b.AppendItem(f.alice, f.aliceInbox.ID, store.NewItem{Content: strings.NewReader("")})
	if err != nil {
		t.Fatal(err)
	}
	check := func(how string, rc io.ReadCloser, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil || len(data) != 0 {
			t.Fatalf("%s: %q, %v", how, data, err)
		}
	}
	rc, err := b.OpenItem(f.alice, it.ID)
	check("OpenItem", rc, err)
	open, err := b.OpenItems(f.alice, f.aliceInbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err = open(f.alice, it.ID)
	check("OpenItems", rc, err)
}
