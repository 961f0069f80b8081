package queue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// TestArchiveOnSend: with archive on send, the Sent copy is archived
// before the message goes anywhere; when the archive cannot be written
// the submission is refused with 451 and nothing was delivered, queued or
// kept in Sent.
func TestArchiveOnSend(t *testing.T) {
	t.Parallel()
	var faulty *storefault.Backend
	on := true
	e := newEnv(t, func(o *queue.Options) {
		faulty = storefault.New(o.Store)
		a := &mail.Archiver{Store: faulty}
		o.ArchiveOnSend = func() bool { return on }
		o.ArchiveSent = func(ctx context.Context, login string, folderID int64, uid uint32) error {
			return a.ArchiveNew(ctx, login, folderID, []uint32{uid})
		}
	})
	arch, err := e.db.AttachArchive(sys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	sentCopy := func(s *queue.Submission) { s.SentCopy = true }
	rcpts := []string{"bob@acme.test", "x@remote.test"}

	faulty.Fail(nil, "ArchiveItems")
	_, err = e.submit("alice", "alice@acme.test", rcpts, msg("alice@acme.test", "bob@acme.test", "refused"), sentCopy)
	if !isQueueErr(err, 451) {
		t.Fatalf("submission with a broken archive: %v", err)
	}
	if n := len(e.folder("bob", store.SpecialInbox)); n != 0 || e.queueLen() != 0 || len(e.folder("alice", store.SpecialSent)) != 0 {
		t.Fatalf("something went out unarchived: bob %d, queue %d", n, e.queueLen())
	}

	faulty.Heal()
	if _, err := e.submit("alice", "alice@acme.test", rcpts, msg("alice@acme.test", "bob@acme.test", "archived"), sentCopy); err != nil {
		t.Fatal(err)
	}
	if sent := e.folder("alice", store.SpecialSent); len(sent) != 1 || !strings.Contains(sent[0], "Subject: archived") {
		t.Fatalf("sent %q", sent)
	}
	if len(e.folder("bob", store.SpecialInbox)) != 1 || e.queueLen() != 1 {
		t.Fatal("the archived message was not sent")
	}
	fs, err := e.db.ListFolders(sys, arch.ID)
	if err != nil || len(fs) != 1 || fs[0].Messages != 1 {
		t.Fatalf("archive folders %+v %v", fs, err)
	}
	// With the flag off the Sent copy is made after sending, as before,
	// and not archived.
	on = false
	if _, err := e.submit("alice", "alice@acme.test", rcpts[:1], msg("alice@acme.test", "bob@acme.test", "plain"), sentCopy); err != nil {
		t.Fatal(err)
	}
	if fs, _ := e.db.ListFolders(sys, arch.ID); fs[0].Messages != 1 || len(e.folder("alice", store.SpecialSent)) != 2 {
		t.Fatal("archived with archive_on_send off")
	}
}
