package easserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// A 12.1 device sends mail as a message/rfc822 body with SaveInSent=T in
// the request line, and gets HTTP statuses instead of common status codes.
func TestSendMail121(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "OLDPHONE")
	d.version = "12.1"
	d.provision()
	r := d.post("SendMail", []byte("From: alice@acme.test\nTo: bob@acme.test\nSubject: from 12.1\n\nhello\n"),
		"Content-Type", "message/rfc822")
	if r.code != 200 {
		t.Fatalf("SendMail 12.1: %d %s", r.code, r.xml)
	}
	if got := e.read("bob", e.folder("bob", store.SpecialInbox)); len(got) != 1 || !strings.Contains(got[0], "Subject: from 12.1\r\n") {
		t.Fatalf("bob got %q", got)
	}
	if sent := e.read("alice", e.folder("alice", store.SpecialSent)); len(sent) != 0 {
		t.Fatalf("a Sent copy without SaveInSent: %d", len(sent))
	}
	// Without recipients: refused, as HTTP for 12.1.
	if r := d.post("SendMail", []byte("From: alice@acme.test\nSubject: nobody\n\nx\n"), "Content-Type", "message/rfc822"); r.code == 200 {
		t.Fatalf("no recipients: %d", r.code)
	}
	// The Sync answer of 12.1 names the class.
	inbox := id(e.folder("alice", store.SpecialInbox))
	if r := d.sync(inbox, "0", ""); collection(r).ChildText("Class") != "Email" {
		t.Fatalf("12.1 Sync: %s", r.xml)
	}
}

// A Sync with HeartbeatInterval waits like a Ping: with nothing new it
// parks, and a delivery makes it answer with the new mail.
func TestSyncWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "WAITPHONE")
	d.provision()
	inboxF := e.folder("alice", store.SpecialInbox)
	inbox := id(inboxF)
	key := collection(d.sync(inbox, "0", "")).ChildText("SyncKey")
	key = collection(d.sync(inbox, key, "")).ChildText("SyncKey")
	doc := `<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>` + key + `</SyncKey><CollectionId>` + inbox +
		`</CollectionId></Collection></Collections><HeartbeatInterval>%s</HeartbeatInterval></Sync>`
	// Nothing within the interval: an empty answer.
	if r := d.do("Sync", strings.Replace(doc, "%s", "1", 1)); r.code != 200 || len(r.raw) != 0 {
		t.Fatalf("idle waiting Sync: %d %s", r.code, r.xml)
	}
	done := make(chan reply, 1)
	go func() { done <- d.do("Sync", strings.Replace(doc, "%s", "300", 1)) }()
	for i := 0; e.hub.Subscribers(inboxF.StoreID) == 0; i++ {
		if i > 500 {
			t.Fatal("the Sync never waited")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.deliver("alice", store.SpecialInbox, msg("while waiting", "x"))
	select {
	case r := <-done:
		if !strings.Contains(r.xml, ">while waiting</Subject>") {
			t.Fatalf("woken Sync: %s", r.xml)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery did not wake the Sync")
	}
	if r := d.do("Sync", strings.Replace(doc, "%s", "99999", 1)); r.status() != "14" {
		t.Fatalf("bad heartbeat: %s", r.xml)
	}
}
