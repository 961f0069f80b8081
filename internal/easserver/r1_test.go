package easserver_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// Only the owner (or an administrator) may wipe or remove a device: for
// another user of the tenant or another tenant's user, alice's device is
// "not found", and the store refuses, not the protocol code.
func TestWipeOtherUsersDevice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "ALICEPHONE")
	d.provision()
	for _, who := range []string{"bob", "eve"} {
		_, err := mail.RequestWipe(e.as(who), e.db, "alice", "ALICEPHONE", false, who, time.Now())
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s wipes alice's device: %v", who, err)
		}
		if err := mail.RemoveDevice(e.as(who), e.db, "alice", "ALICEPHONE"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s removes alice's device: %v", who, err)
		}
		if ds, err := mail.Devices(e.as(who), e.db, "alice"); err == nil && len(ds) > 0 {
			t.Errorf("%s lists alice's devices: %+v", who, ds)
		}
	}
	if r := d.folderSync("0"); r.status() != "1" {
		t.Fatalf("alice's device after the attempts: %s", r.xml)
	}
}

// MoveItems and SmartForward with another user's or tenant's folder and
// item ids: "not found" answers, and nothing moves.
func TestMoveAndForwardOtherUsersItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "MOVEPHONE")
	d.provision()
	mine := e.deliver("alice", store.SpecialInbox, msg("mine", "x"))
	inbox := id(e.folder("alice", store.SpecialInbox))
	for _, who := range []string{"bob", "eve"} {
		theirs := e.deliver(who, store.SpecialInbox, msg("theirs", "y"))
		their := id(e.folder(who, store.SpecialInbox))
		r := d.do("MoveItems", `<MoveItems xmlns="Move:">`+
			`<Move><SrcMsgId>`+their+`:`+itoa(theirs.UID)+`</SrcMsgId><SrcFldId>`+their+`</SrcFldId><DstFldId>`+inbox+`</DstFldId></Move>`+
			`<Move><SrcMsgId>`+inbox+`:`+itoa(mine.UID)+`</SrcMsgId><SrcFldId>`+inbox+`</SrcFldId><DstFldId>`+their+`</DstFldId></Move>`+
			`<Move><SrcMsgId>`+their+`:`+itoa(theirs.UID)+`</SrcMsgId><SrcFldId>`+inbox+`</SrcFldId><DstFldId>`+inbox+`</DstFldId></Move>`+
			`</MoveItems>`)
		rs := r.n.All("Response")
		if len(rs) != 3 || rs[0].ChildText("Status") != "1" || rs[1].ChildText("Status") != "2" || rs[2].ChildText("Status") != "1" {
			t.Fatalf("MoveItems with %s's ids: %s", who, r.xml)
		}
		if got := e.read(who, e.folder(who, store.SpecialInbox)); len(got) != 1 {
			t.Fatalf("%s's inbox changed: %d messages", who, len(got))
		}
		r = d.do("SmartForward", `<SmartForward xmlns="ComposeMail:"><ClientId>f-`+who+`</ClientId><Source><FolderId>`+their+
			`</FolderId><ItemId>`+their+`:`+itoa(theirs.UID)+`</ItemId></Source><MIME>`+"From: alice@acme.test\r\nTo: alice@acme.test\r\nSubject: fw\r\n\r\nhi\r\n"+`</MIME></SmartForward>`)
		if r.status() != "150" {
			t.Fatalf("SmartForward of %s's item: %d %s", who, r.code, r.xml)
		}
	}
	if got := e.read("alice", e.folder("alice", store.SpecialInbox)); len(got) != 1 {
		t.Fatalf("alice's inbox: %d messages", len(got))
	}
}

// A Sync may not ask for the same message thousands of times: the
// Fetch commands of one request are bounded like a window (512), so a
// small request cannot make a response of thousands of message bodies.
func TestSyncFetchBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "FETCHPHONE")
	d.provision()
	it := e.deliver("alice", store.SpecialInbox, msg("fetch me", strings.Repeat("body ", 200)))
	inbox := id(e.folder("alice", store.SpecialInbox))
	r := d.sync(inbox, "0", "")
	key := collection(r).ChildText("SyncKey")
	fetches := func(n int) string {
		return `<Commands>` + strings.Repeat(`<Fetch><ServerId>`+inbox+`:`+itoa(it.UID)+`</ServerId></Fetch>`, n) + `</Commands>`
	}
	// Within the bound, every Fetch is answered.
	r = d.sync(inbox, key, fetches(3))
	if got := len(collection(r).Child("Responses").All("Fetch")); got != 3 {
		t.Fatalf("3 fetches: %d answers: %s", got, r.xml)
	}
	// Spread over collections naming the same folder, past the bound: a
	// protocol error, and no bodies.
	col := `<Collection><SyncKey>` + collection(r).ChildText("SyncKey") + `</SyncKey><CollectionId>` + inbox + `</CollectionId>` + fetches(300) + `</Collection>`
	r = d.do("Sync", `<Sync xmlns="AirSync:"><Collections>`+col+col+col+`</Collections></Sync>`)
	if r.n.ChildText("Status") != "4" || len(r.raw) > 4096 {
		t.Fatalf("900 fetches: %d bytes, status %q", len(r.raw), r.n.ChildText("Status"))
	}
	if r := d.folderSync("0"); r.status() != "1" {
		t.Fatalf("the server stopped serving: %s", r.xml)
	}
}

// One ItemOperations may not fetch the same big attachment a hundred
// times: the attachment data of one answer is bounded (32 MiB), the
// fetches past it get status 11 (too large).
func TestItemOperationsAttachmentBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "ATTPHONE")
	d.provision()
	att := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("0123456789abcdef"), 11<<16)) // 11 MiB
	var wrapped strings.Builder
	for len(att) > 76 {
		wrapped.WriteString(att[:76] + "\n")
		att = att[76:]
	}
	wrapped.WriteString(att + "\n")
	it := e.deliver("alice", store.SpecialInbox, "From: bob@acme.test\nTo: alice@acme.test\nSubject: big\n"+
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nbig.\n"+
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=big.bin\nContent-Transfer-Encoding: base64\n\n"+wrapped.String()+"--b--\n")
	ref := id(e.folder("alice", store.SpecialInbox)) + ":" + itoa(it.UID) + ":3"
	one := `<Fetch><Store>Mailbox</Store><airsyncbase:FileReference>` + ref + `</airsyncbase:FileReference></Fetch>`
	r := d.do("ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsyncbase="AirSyncBase:">`+one+one+one+`</ItemOperations>`)
	fs := r.n.Child("Response").All("Fetch")
	if len(fs) != 3 || fs[0].ChildText("Status") != "1" || fs[1].ChildText("Status") != "1" || fs[2].ChildText("Status") != "11" {
		var st []string
		for _, f := range fs {
			st = append(st, f.ChildText("Status"))
		}
		t.Fatalf("three fetches of 11 MiB: statuses %v, %d bytes %.2000s", st, len(r.raw), r.xml)
	}
	if len(fs[0].Child("Properties").ChildText("Data")) < 11<<20 {
		t.Fatalf("first fetch: %d bytes of data", len(fs[0].Child("Properties").ChildText("Data")))
	}
}

// ResolveRecipients naming one user a hundred times with Availability
// reads the user's calendars once, not a hundred times.
func TestResolveRecipientsRepeated(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	e := newEnv(t, func(o *easOptions) {
		f = storefault.New(o.Store)
		o.Store = f
	})
	d := e.device("alice", "REPEATPHONE")
	d.provision()
	before := f.Calls("ListObjects")
	r := d.do("ResolveRecipients", `<ResolveRecipients xmlns="ResolveRecipients:">`+strings.Repeat(`<To>bob@acme.test</To>`, 100)+
		`<Options><Availability><StartTime>2026-02-10T10:00:00.000Z</StartTime><EndTime>2026-02-10T14:00:00.000Z</EndTime></Availability></Options></ResolveRecipients>`)
	rs := r.n.All("Response")
	if len(rs) != 100 || rs[99].Child("Recipient").Child("Availability").ChildText("MergedFreeBusy") != "00000000" {
		t.Fatalf("ResolveRecipients: %d answers %.500s", len(rs), r.xml)
	}
	if n := f.Calls("ListObjects") - before; n < 1 || n > 5 {
		t.Fatalf("bob's calendars were listed %d times for one request", n)
	}
}

// A Sync's Wait (minutes) parks no longer than the configured
// MaxHeartbeat, like a Ping: with a 1-second maximum, Wait=1 answers
// after a second, not a minute.
func TestSyncWaitBoundedByMaxHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *easOptions) { o.MaxHeartbeat = 1 })
	d := e.device("alice", "WAITMAXPHONE")
	d.provision()
	inbox := id(e.folder("alice", store.SpecialInbox))
	key := collection(d.sync(inbox, "0", "")).ChildText("SyncKey")
	key = collection(d.sync(inbox, key, "")).ChildText("SyncKey")
	done := make(chan reply, 1)
	go func() {
		done <- d.do("Sync", `<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+inbox+
			`</CollectionId></Collection></Collections><Wait>1</Wait></Sync>`)
	}()
	select {
	case r := <-done:
		if r.code != 200 || len(r.raw) != 0 {
			t.Fatalf("idle waiting Sync: %d %s", r.code, r.xml)
		}
	case <-time.After(45 * time.Second): // a minute without the bound
		t.Fatal("the Sync parked past MaxHeartbeat")
	}
}

// EmptyFolderContents empties the user's own folder; another user's or
// tenant's folder is not found and keeps its mail.
func TestEmptyFolderContents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "EMPTYPHONE")
	d.provision()
	for i := 0; i < 3; i++ {
		e.deliver("alice", store.SpecialTrash, msg("old", "x"))
		e.deliver("bob", store.SpecialTrash, msg("old", "x"))
		e.deliver("eve", store.SpecialTrash, msg("old", "x"))
	}
	empty := func(coll string) string {
		r := d.do("ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:airsync="AirSync:"><EmptyFolderContents>`+
			`<airsync:CollectionId>`+coll+`</airsync:CollectionId></EmptyFolderContents></ItemOperations>`)
		return r.n.Child("Response").Child("EmptyFolderContents").ChildText("Status")
	}
	for _, who := range []string{"bob", "eve"} {
		if st := empty(id(e.folder(who, store.SpecialTrash))); st != "6" {
			t.Errorf("emptying %s's trash: status %q", who, st)
		}
		if got := e.read(who, e.folder(who, store.SpecialTrash)); len(got) != 3 {
			t.Errorf("%s's trash: %d messages", who, len(got))
		}
	}
	if st := empty(id(e.folder("alice", store.SpecialTrash))); st != "1" {
		t.Fatalf("emptying alice's trash: status %q", st)
	}
	if got := e.read("alice", e.folder("alice", store.SpecialTrash)); len(got) != 0 {
		t.Fatalf("alice's trash: %d messages", len(got))
	}
}
