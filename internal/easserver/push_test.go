package easserver_test

import (
	"context"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// A Ping parks until a delivery (through the delivery pipeline, as LMTP
// does) lands in a watched folder, then names that folder; with nothing
// new it ends at the heartbeat with status 1; a Sync brings the mail and
// the next Ping parks again.
func TestPingWokenByDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "PINGPHONE")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	coll := id(inbox)
	r := d.sync(coll, "0", "")
	r = d.sync(coll, collection(r).ChildText("SyncKey"), "")
	key := collection(r).ChildText("SyncKey")
	_ = key
	pingDoc := `<Ping xmlns="Ping:"><HeartbeatInterval>%d</HeartbeatInterval><Folders><Folder><Id>` + coll +
		`</Id><Class>Email</Class></Folder></Folders></Ping>`
	// Nothing new: the heartbeat ends it.
	if r := d.do("Ping", strings.ReplaceAll(pingDoc, "%d", "1")); r.status() != "1" {
		t.Fatalf("idle Ping: %s", r.xml)
	}
	done := make(chan reply, 1)
	go func() { done <- d.do("Ping", strings.ReplaceAll(pingDoc, "%d", "300")) }()
	// Wait until the Ping is parked on the hub.
	st := inbox.StoreID
	for i := 0; e.hub.Subscribers(st) == 0; i++ {
		if i > 500 {
			t.Fatal("the Ping never parked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	dl := &mail.Deliverer{Store: e.db}
	open := func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(strings.ReplaceAll(msg("pushed", "hi"), "\n", "\r\n"))), nil
	}
	u, err := e.db.GetUser(store.SystemContext(context.Background()), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range dl.DeliverMessage(context.Background(), "bob@acme.test", []mail.Recipient{{Addr: "alice@acme.test", Users: []*store.User{u}}}, open) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	select {
	case r := <-done:
		if r.status() != "2" || !strings.Contains(r.xml, "<Folders><Folder>"+coll+"</Folder></Folders>") {
			t.Fatalf("woken Ping: %s", r.xml)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery did not wake the Ping")
	}
	if n := e.hub.Subscribers(st); n != 0 {
		t.Fatalf("%d subscriptions left after the Ping", n)
	}
	// An empty Ping repeats the last folders and heartbeat: the change is
	// still unsynced, so it answers at once.
	if r := d.do("Ping", ""); r.status() != "2" {
		t.Fatalf("repeated Ping: %s", r.xml)
	}
	// Out-of-range heartbeat and unknown folder.
	if r := d.do("Ping", strings.ReplaceAll(pingDoc, "%d", "99999")); r.status() != "5" || r.n.ChildText("HeartbeatInterval") != "3540" {
		t.Fatalf("long heartbeat: %s", r.xml)
	}
	if r := d.do("Ping", `<Ping xmlns="Ping:"><HeartbeatInterval>60</HeartbeatInterval><Folders><Folder><Id>`+id(e.folder("bob", store.SpecialInbox))+
		`</Id><Class>Email</Class></Folder></Folders></Ping>`); r.status() != "7" {
		t.Fatalf("another user's folder: %s", r.xml)
	}
}

// SendMail goes through the queue's sender checks to another user, with
// a copy in Sent; a forged sender is refused; SmartReply quotes the
// original and SmartForward attaches it.
func TestSendMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "SENDPHONE")
	d.provision()
	mime := "From: alice@acme.test\r\nTo: Bob <bob@acme.test>\r\nBcc: eve@globex.test\r\nSubject: from my phone\r\n\r\nSent from the phone.\r\n"
	r := d.do("SendMail", `<SendMail xmlns="ComposeMail:"><ClientId>c1</ClientId><SaveInSentItems/><MIME>`+
		base64.StdEncoding.EncodeToString([]byte(mime))+`</MIME></SendMail>`)
	if r.code != 200 || len(r.raw) != 0 {
		t.Fatalf("SendMail: %d %s", r.code, r.xml)
	}
	bobInbox := e.folder("bob", store.SpecialInbox)
	got := e.read("bob", bobInbox)
	if len(got) != 1 || !strings.Contains(got[0], "Subject: from my phone") || strings.Contains(got[0], "Bcc:") ||
		!strings.Contains(got[0], "Message-ID:") {
		t.Fatalf("bob got %q", got)
	}
	if sent := e.read("alice", e.folder("alice", store.SpecialSent)); len(sent) != 1 {
		t.Fatalf("Sent has %d", len(sent))
	}
	if eve := e.read("eve", e.folder("eve", store.SpecialInbox)); len(eve) != 1 {
		t.Fatalf("the Bcc recipient got %d", len(eve))
	}
	// Sending as bob is refused by the queue's sender rule.
	forged := "From: bob@acme.test\r\nTo: eve@globex.test\r\nSubject: forged\r\n\r\nx\r\n"
	r = d.do("SendMail", `<SendMail xmlns="ComposeMail:"><ClientId>c2</ClientId><MIME>`+base64.StdEncoding.EncodeToString([]byte(forged))+`</MIME></SendMail>`)
	if r.status() == "" || r.status() == "1" {
		t.Fatalf("forged sender: %d %s", r.code, r.xml)
	}
	// SmartReply and SmartForward of a message in alice's inbox.
	orig := e.deliver("alice", store.SpecialInbox, msg("question", "Are you coming?"))
	inbox := id(e.folder("alice", store.SpecialInbox))
	src := `<Source><FolderId>` + inbox + `</FolderId><ItemId>` + inbox + ":" + itoa(orig.UID) + `</ItemId></Source>`
	rep := "From: alice@acme.test\r\nTo: bob@acme.test\r\nSubject: Re: question\r\n\r\nYes.\r\n"
	r = d.do("SmartReply", `<SmartReply xmlns="ComposeMail:"><ClientId>c3</ClientId>`+src+`<MIME>`+base64.StdEncoding.EncodeToString([]byte(rep))+`</MIME></SmartReply>`)
	if r.code != 200 || len(r.raw) != 0 {
		t.Fatalf("SmartReply: %d %s", r.code, r.xml)
	}
	fwd := "From: alice@acme.test\r\nTo: bob@acme.test\r\nSubject: Fwd: question\r\n\r\nSee below.\r\n"
	r = d.do("SmartForward", `<SmartForward xmlns="ComposeMail:"><ClientId>c4</ClientId>`+src+`<MIME>`+base64.StdEncoding.EncodeToString([]byte(fwd))+`</MIME></SmartForward>`)
	if r.code != 200 || len(r.raw) != 0 {
		t.Fatalf("SmartForward: %d %s", r.code, r.xml)
	}
	got = e.read("bob", bobInbox)
	if len(got) != 3 || !strings.Contains(got[1], "> Are you coming?") || !strings.Contains(got[1], "In-Reply-To: <question@acme.test>") ||
		!strings.Contains(got[2], "multipart/mixed") || !strings.Contains(got[2], "message/rfc822") || !strings.Contains(got[2], "See below.") {
		t.Fatalf("reply and forward:\n%s\n----\n%s", got[1], got[2])
	}
}

// read returns the messages of a folder.
func (e *env) read(login string, f *store.Folder) []string {
	e.t.Helper()
	ctx := e.as(login)
	items, err := e.db.ListItems(ctx, f.ID, 1, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		rc, err := e.db.OpenItem(ctx, it.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out = append(out, string(b))
	}
	return out
}
