package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// A message split into MIME part blobs still opens as an io.ReaderAt (the
// IMAP server reads sections of large messages in place instead of
// loading them), and every range reads back as stored.
func TestSplitMessageReaderAt(t *testing.T) {
	dir := t.TempDir()
	db := openSQLite(t, dir, newBlobs(t, dir))
	sys := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(sys, "acme", store.User{Login: "alice", Email: "alice@acme.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	inbox, err := mail.Inbox(sys, db, "alice")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	att := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	var msg strings.Builder
	msg.WriteString("Subject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	// Twelve parts kept in files, more than a reader holds open at once.
	sizes := []int{200 << 10, 10 << 10, 100}
	for i := 0; i < 12; i++ {
		sizes = append(sizes, 70<<10)
	}
	for i, n := range sizes {
		fmt.Fprintf(&msg, "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", att(n+i))
	}
	msg.WriteString("--b--\r\n")
	want := []byte(msg.String())
	it, err := db.AppendItem(sys, inbox, store.NewItem{Content: bytes.NewReader(want)})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := db.OpenItem(sys, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	fds := func() int { es, _ := os.ReadDir("/proc/self/fd"); return len(es) }
	before := fds() // parts open lazily, as they are read
	if _, whole := rc.(*os.File); whole {
		t.Fatal("the message was stored whole, not split into parts")
	}
	ra, ok := rc.(io.ReaderAt)
	if !ok {
		t.Fatalf("a split message opens as %T, not an io.ReaderAt", rc)
	}
	for k := 0; k < 200; k++ {
		off := r.Int64N(int64(len(want)))
		n := 1 + r.IntN(100<<10)
		buf := make([]byte, n)
		got, err := ra.ReadAt(buf, off)
		end := min(off+int64(n), int64(len(want)))
		if int64(got) != end-off || !bytes.Equal(buf[:got], want[off:end]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; content differs", n, off, got, err)
		}
		if end < off+int64(n) && err != io.EOF {
			t.Fatalf("ReadAt past the end: err %v, want io.EOF", err)
		}
	}
	all, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(all, want) {
		t.Fatalf("sequential read: %d bytes, %v", len(all), err)
	}
	if after := fds(); after > before+8 {
		t.Fatalf("reading a 15-part message left %d more files open", after-before)
	}
}
