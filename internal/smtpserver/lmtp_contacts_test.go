package smtpserver_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// outbox records what the delivery pipeline hands to the outbound queue
// (the queue itself is driven end to end in cmd/roost); fail makes it
// refuse, as a queue whose database is down would.
type outbox struct {
	mu   sync.Mutex
	fail bool
	sent []sentMsg
}

type sentMsg struct {
	from string
	to   []string
	msg  string
}

func (o *outbox) Send(_ context.Context, from string, to []string, msg []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return errors.New("queue unavailable")
	}
	o.sent = append(o.sent, sentMsg{from, slices.Clone(to), string(msg)})
	return nil
}

func (o *outbox) all() []sentMsg {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.sent)
}

func (o *outbox) setFail(v bool) {
	o.mu.Lock()
	o.fail = v
	o.mu.Unlock()
}

// TestGroupContacts: mail to a group goes out to its contact members
// (once, with a Delivered-To naming the group) and to its users; a group
// of contacts only is a recipient too; when the queue refuses, the
// recipient fails temporarily and no member gets a copy (the retry
// duplicates nothing); a message that already went through the group is
// not sent out again.
func TestGroupContacts(t *testing.T) {
	ob := &outbox{}
	e := start(t, 2, func(o *smtpserver.Options) {
		o.Deliverer = &mail.Deliverer{Store: o.Store, Log: testenv.Logger(t), Outbound: ob,
			Spam: mail.SpamOptions{Headers: mail.DefaultSpamHeaders}}
	})
	db := e.db
	for _, c := range []string{"ann@partner.example", "sam@supplier.example"} {
		if _, err := db.CreateContact(sys, "acme", store.Contact{Email: c}); err != nil {
			t.Fatal(err)
		}
	}
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := db.CreateGroup(sys, "acme", store.Group{Name: "project", Email: "project@acme.test", Kind: store.GroupDistribution})
	mustDo(err)
	mustDo(db.AddGroupMember(sys, "acme", "project", "alice"))
	mustDo(db.AddGroupContact(sys, "acme", "project", "ann@partner.example"))
	mustDo(db.AddGroupContact(sys, "acme", "project", "sam@supplier.example"))
	_, err = db.CreateGroup(sys, "acme", store.Group{Name: "outside", Email: "outside@acme.test", Kind: store.GroupDistribution})
	mustDo(err)
	mustDo(db.AddGroupContact(sys, "acme", "outside", "ann@partner.example"))

	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<boss@example.test>", "250")
	c.cmd("RCPT TO:<project@acme.test>", "250")
	c.cmd("RCPT TO:<outside+news@acme.test>", "250")
	c.cmd("RCPT TO:<bob@acme.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: kickoff\r\n\r\nhello\r\n.")
	c.expect("250 2.0.0 <project@acme.test>")
	c.expect("250 2.0.0 <outside+news@acme.test>")
	c.expect("250 2.0.0 <bob@acme.test>")
	if n := inboxCount(t, db, "alice"); n != 1 {
		t.Fatalf("alice has %d messages", n)
	}
	sent := ob.all()
	if len(sent) != 2 {
		t.Fatalf("sent out %+v", sent)
	}
	byGroup := map[string]sentMsg{}
	for _, m := range sent {
		first, _, _ := strings.Cut(m.msg, "\r\n")
		byGroup[first] = m
		if m.from != "boss@example.test" || !strings.HasSuffix(m.msg, "Subject: kickoff\r\n\r\nhello\r\n") {
			t.Fatalf("sent %+v", m)
		}
	}
	if m := byGroup["Delivered-To: project@acme.test"]; !slices.Equal(m.to, []string{"ann@partner.example", "sam@supplier.example"}) {
		t.Fatalf("project's contacts got %+v", sent)
	}
	if m := byGroup["Delivered-To: outside+news@acme.test"]; !slices.Equal(m.to, []string{"ann@partner.example"}) {
		t.Fatalf("outside's contacts got %+v", sent)
	}

	// The queue refuses: 451 for the group, its user gets nothing; the
	// other recipient is delivered.
	ob.setFail(true)
	c.cmd("MAIL FROM:<boss@example.test>", "250")
	c.cmd("RCPT TO:<project@acme.test>", "250")
	c.cmd("RCPT TO:<bob@acme.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: second\r\n\r\nhello\r\n.")
	c.expect("451 4.3.0 <project@acme.test>")
	c.expect("250 2.0.0 <bob@acme.test>")
	if n := inboxCount(t, db, "alice"); n != 1 {
		t.Fatalf("alice has %d messages after the refused forward", n)
	}
	ob.setFail(false)

	// A message that went through the group already: delivered to its
	// users, not sent out again.
	c.cmd("MAIL FROM:<boss@example.test>", "250")
	c.cmd("RCPT TO:<project@acme.test>", "250")
	c.cmd("DATA", "354")
	c.send("Delivered-To: project@acme.test\r\nSubject: again\r\n\r\nhello\r\n.")
	c.expect("250 2.0.0 <project@acme.test>")
	if n := len(ob.all()); n != 2 {
		t.Fatalf("a looping message was sent out again (%d sent)", n)
	}
	if n := inboxCount(t, db, "alice"); n != 2 {
		t.Fatalf("alice has %d messages after the looping one", n)
	}
	// Spam is not sent out; the user gets it (in Junk).
	c.cmd("MAIL FROM:<spammer@example.test>", "250")
	c.cmd("RCPT TO:<project@acme.test>", "250")
	c.cmd("DATA", "354")
	c.send("X-Spam-Flag: YES\r\nSubject: cheap\r\n\r\nbuy\r\n.")
	c.expect("250 2.0.0 <project@acme.test>")
	if n := len(ob.all()); n != 2 {
		t.Fatalf("spam was sent out to the group's contacts (%d sent)", n)
	}
	// A group without members of either kind is no recipient.
	_, err = db.CreateGroup(sys, "acme", store.Group{Name: "empty", Email: "empty@acme.test"})
	mustDo(err)
	c.cmd("MAIL FROM:<boss@example.test>", "250")
	c.cmd("RCPT TO:<empty@acme.test>", "550 5.1.1")
	c.cmd("QUIT", "221")
}
