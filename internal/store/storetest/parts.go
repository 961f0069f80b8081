package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// blobBytes is the size of everything in the blob store.
func blobBytes(t *testing.T, bs blob.Store) int64 {
	t.Helper()
	var total int64
	check(bs.Walk(context.Background(), func(id blob.ID) error {
		n, err := bs.Stat(context.Background(), id)
		total += n
		return err
	}))
	return total
}

// attachment is n random bytes, base64 in 76-column lines (as most
// mailers write it).
func attachment(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(enc) > 76 {
		out.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc + "\r\n")
	return out.String()
}

func mixed(from, subject, text string, parts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: someone@acme.test\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b%s\"\r\n\r\n", from, subject, subject)
	fmt.Fprintf(&b, "--=b%s\r\nContent-Type: text/plain\r\n\r\n%s\r\n", subject, text)
	for i, p := range parts {
		fmt.Fprintf(&b, "--=b%s\r\nContent-Type: application/octet-stream; name=\"f%d.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s", subject, i, p)
	}
	fmt.Fprintf(&b, "--=b%s--\r\n", subject)
	return b.String()
}

// testPartSingleInstance: a large attachment in different messages, of
// different users and tenants, is stored once; every message reads back
// byte for byte; purging frees the parts only with their last message.
func testPartSingleInstance(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	big := attachment(1, 300<<10)  // a file blob
	small := attachment(2, 20<<10) // a part kept in its database row
	msgA := mixed("a@example.test", "first", "Please find the report attached.", big, small)
	base := blobBytes(t, in.Blobs)
	a := appendMsg(t, b, f.alice, f.aliceInbox.ID, msgA)
	afterA := blobBytes(t, in.Blobs)
	if grown := afterA - base; grown < int64(len(big))-1024 || grown > int64(len(msgA))+1024 {
		t.Fatalf("first message grew the blob store by %d bytes (message %d, attachment %d)", grown, len(msgA), len(big))
	}
	// Another message, other headers and text, the same attachments: to
	// bob, and to eve in another tenant.
	msgB := mixed("b@example.test", "second", "Forwarding the report, see below.", small, big)
	bi := appendMsg(t, b, f.bob, f.bobInbox.ID, msgB)
	ei := appendMsg(t, b, f.eve, f.eveInbox.ID, msgB+"\r\n")
	// And the very same message again (stored whole, then found split).
	again := appendMsg(t, b, f.bob, f.bobInbox.ID, msgA)
	if grown := blobBytes(t, in.Blobs) - afterA; grown > 8<<10 {
		t.Fatalf("the same attachment in three more messages grew the blob store by %d bytes", grown)
	}
	if got := readItem(t, b, f.bob, again.ID); got != msgA {
		t.Fatal("a message stored a second time reads back changed")
	}
	must(b.DeleteItems(f.bob, f.bobInbox.ID, []uint32{again.UID}))
	for _, c := range []struct {
		ctx  context.Context
		id   int64
		want string
	}{{f.alice, a.ID, msgA}, {f.bob, bi.ID, msgB}, {f.eve, ei.ID, msgB + "\r\n"}} {
		if got := readItem(t, b, c.ctx, c.id); got != c.want {
			t.Fatalf("item %d read back %d bytes, want %d identical ones", c.id, len(got), len(c.want))
		}
		if it := must(b.GetItem(c.ctx, c.id)); it.Size != int64(len(c.want)) {
			t.Fatalf("item %d size %d, want %d", c.id, it.Size, len(c.want))
		}
	}
	// Copies and the queue share the message.
	must(b.CopyItems(f.alice, f.aliceInbox.ID, []uint32{a.UID}, f.aliceInbox.ID))
	q := must(b.Enqueue(sys, store.QueuedMessage{Recipients: []store.QueueRecipient{{Addr: "x@remote.test"}}}, strings.NewReader(msgB)))
	r := must(b.OpenQueued(sys, q.ID))
	var qb bytes.Buffer
	qb.ReadFrom(r)
	r.Close()
	if qb.String() != msgB {
		t.Fatal("queued split message changed")
	}
	check(b.DeleteQueued(sys, q.ID))
	// Purging alice's messages keeps the parts bob and eve still hold.
	must(b.DeleteItems(f.alice, f.aliceInbox.ID, []uint32{a.UID, a.UID + 1}))
	must(b.PurgeDeleted(sys, 0))
	must(b.PurgeDeleted(sys, 0))
	if got := readItem(t, b, f.bob, bi.ID); got != msgB {
		t.Fatal("bob's message changed after alice's was purged")
	}
	must(b.DeleteItems(f.bob, f.bobInbox.ID, []uint32{bi.UID}))
	must(b.DeleteItems(f.eve, f.eveInbox.ID, []uint32{ei.UID}))
	must(b.PurgeDeleted(sys, 0))
	must(b.PurgeDeleted(sys, 0))
	if left := blobBytes(t, in.Blobs) - base; left != 0 {
		t.Fatalf("%d bytes of blobs left after every message was purged", left)
	}
}
