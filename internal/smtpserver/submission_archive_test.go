package smtpserver_test

import (
	"context"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// TestSubmissionArchiveOnSend: with archive on send, a message whose Sent
// copy cannot be archived is refused with 451 4.3.0 and goes nowhere;
// once the archive works it is sent and archived.
func TestSubmissionArchiveOnSend(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	e := startSubmission(t, func(_ *smtpserver.SubmissionOptions, qo *queue.Options) {
		f = storefault.New(qo.Store)
		a := &mail.Archiver{Store: f}
		qo.ArchiveOnSend = func() bool { return true }
		qo.ArchiveSent = func(ctx context.Context, login string, folderID int64, uid uint32) error {
			return a.ArchiveNew(ctx, login, folderID, []uint32{uid})
		}
	})
	arch, err := e.db.AttachArchive(subSys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	f.Fail(nil, "ArchiveItems")
	s := e.login("alice")
	send := func(want string) {
		t.Helper()
		s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
		s.cmd("RCPT TO:<bob@acme.test>", "250 ")
		s.cmd("DATA", "354 ")
		s.send("From: <alice@acme.test>\r\nTo: <bob@acme.test>\r\nSubject: archived\r\n\r\nhi\r\n.")
		s.expect(want)
	}
	send("451 4.3.0 ")
	if n := len(e.messages("bob", store.SpecialInbox)); n != 0 || len(e.messages("alice", store.SpecialSent)) != 0 {
		t.Fatalf("sent unarchived: bob has %d", n)
	}
	f.Heal()
	send("250 2.0.0 ")
	if len(e.messages("bob", store.SpecialInbox)) != 1 || len(e.messages("alice", store.SpecialSent)) != 1 {
		t.Fatal("the archived message was not sent")
	}
	fs, err := e.db.ListFolders(subSys, arch.ID)
	if err != nil || len(fs) != 1 || fs[0].Messages != 1 {
		t.Fatalf("archive %+v %v", fs, err)
	}
}
