package smtpserver_test

import (
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// TestLMTPArchiveOnDelivery: with archive on delivery, a recipient whose
// archive cannot be written gets 451 4.3.0 and keeps no copy, while a
// recipient without an archive gets the message; once the archive works
// the retry is delivered and archived.
func TestLMTPArchiveOnDelivery(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	e := start(t, 2, func(o *smtpserver.Options) {
		f = storefault.New(o.Store)
		o.Deliverer = &mail.Deliverer{Store: o.Store, Archiver: &mail.Archiver{Store: f},
			ArchiveOnDelivery: func() bool { return true }}
	})
	arch, err := e.db.AttachArchive(sys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	f.Fail(nil, "ArchiveItems")
	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<x@example.test>", "250 ")
	c.cmd("RCPT TO:<alice@acme.test>", "250 ")
	c.cmd("RCPT TO:<bob@acme.test>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: hi\r\n\r\nbody\r\n.")
	c.expect("451 4.3.0 <alice@acme.test>")
	c.expect("250 2.0.0 <bob@acme.test>")
	if n := inboxCount(t, e.db, "alice"); n != 0 {
		t.Errorf("alice kept %d unarchived messages", n)
	}
	f.Heal()
	c.cmd("MAIL FROM:<x@example.test>", "250 ")
	c.cmd("RCPT TO:<alice@acme.test>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: hi\r\n\r\nbody\r\n.")
	c.expect("250 2.0.0 <alice@acme.test>")
	if n := inboxCount(t, e.db, "alice"); n != 1 {
		t.Errorf("alice has %d messages after the retry", n)
	}
	fs, err := e.db.ListFolders(sys, arch.ID)
	if err != nil || len(fs) != 1 || fs[0].Messages != 1 {
		t.Fatalf("archive %+v %v", fs, err)
	}
}
