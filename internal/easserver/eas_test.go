package easserver_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/store"
)

func msg(subject, body string) string {
	return "From: Bob <bob@acme.test>\nTo: Alice <alice@acme.test>\nSubject: " + subject +
		"\nMessage-ID: <" + strings.ReplaceAll(subject, " ", "-") + "@acme.test>\nDate: Fri, 02 Jan 2026 03:04:05 +0000\n\n" + body + "\n"
}

func TestOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("OPTIONS", e.url+easserver.Path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("unauthenticated OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	req.SetBasicAuth("alice", "pw-alice")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("MS-ASProtocolVersions") != "12.1,14.0,14.1,16.0,16.1" ||
		!strings.Contains(resp.Header.Get("MS-ASProtocolCommands"), "Provision") {
		t.Fatalf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	req.SetBasicAuth("alice", "wrong")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("bad password: %d", resp.StatusCode)
	}
}

// Provisioning: nothing but Provision works before it (status 142, and
// HTTP 449 for 12.1); both phases give the final key; a wrong key is
// 144; the device is recorded with what it said of itself.
func TestProvisionAndFolderSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "ALICEPHONE1")
	if r := d.folderSync("0"); r.status() != "142" {
		t.Fatalf("unprovisioned FolderSync: %d %s", r.code, r.xml)
	}
	old := e.device("alice", "OLDPHONE")
	old.version = "12.1"
	if r := old.folderSync("0"); r.code != 449 {
		t.Fatalf("12.1 unprovisioned: %d", r.code)
	}
	d.provision()
	r := d.folderSync("0")
	if r.status() != "1" {
		t.Fatalf("FolderSync: %s", r.xml)
	}
	want := fmt.Sprintf(`<Add><ServerId>%d</ServerId><ParentId>0</ParentId><DisplayName>Inbox</DisplayName><Type>2</Type></Add>`, e.folder("alice", store.SpecialInbox).ID)
	if !strings.Contains(r.xml, want) || !strings.Contains(r.xml, "<Type>4</Type>") || !strings.Contains(r.xml, "<Type>5</Type>") {
		t.Fatalf("FolderSync lacks the special folders:\n%s", r.xml)
	}
	key := r.n.ChildText("SyncKey")
	// A folder made over IMAP (the store) reaches the device; a renamed
	// one is an Update, a deleted one a Delete.
	f, err := e.db.CreateFolder(e.as("alice"), e.folder("alice", store.SpecialInbox).StoreID, 0, "Projects", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	r = d.folderSync(key)
	if !strings.Contains(r.xml, fmt.Sprintf("<Count>1</Count><Add><ServerId>%d</ServerId><ParentId>0</ParentId><DisplayName>Projects</DisplayName><Type>12</Type></Add>", f.ID)) {
		t.Fatalf("incremental FolderSync:\n%s", r.xml)
	}
	key = r.n.ChildText("SyncKey")
	if r = d.folderSync(key); !strings.Contains(r.xml, "<Count>0</Count>") {
		t.Fatalf("no change:\n%s", r.xml)
	}
	// A store move's journal entry (no folder) is no folder change; it
	// was once sent as the Delete of folder 0.
	home := "node-b"
	if _, err := e.db.UpdateUser(store.SystemContext(context.Background()), "alice", store.UserUpdate{HomeNode: &home}); err != nil {
		t.Fatal(err)
	}
	if r = d.folderSync(key); !strings.Contains(r.xml, "<Count>0</Count>") {
		t.Fatalf("after a home node change:\n%s", r.xml)
	}
	key = r.n.ChildText("SyncKey")
	if _, err := e.db.RenameFolder(e.as("alice"), f.ID, 0, "Old projects"); err != nil {
		t.Fatal(err)
	}
	r = d.folderSync(key)
	if !strings.Contains(r.xml, "<Update><ServerId>"+id(f)+"</ServerId><ParentId>0</ParentId><DisplayName>Old projects</DisplayName>") {
		t.Fatalf("rename:\n%s", r.xml)
	}
	key = r.n.ChildText("SyncKey")
	if err := e.db.DeleteFolder(e.as("alice"), f.ID); err != nil {
		t.Fatal(err)
	}
	if r = d.folderSync(key); !strings.Contains(r.xml, "<Delete><ServerId>"+id(f)+"</ServerId></Delete>") {
		t.Fatalf("delete:\n%s", r.xml)
	}
	if r = d.folderSync("F99999999"); r.status() != "9" {
		t.Fatalf("future key: %s", r.xml)
	}
	// A wrong policy key.
	d2 := *d
	d2.key++
	if r = d2.folderSync("0"); r.status() != "144" {
		t.Fatalf("wrong policy key: %s", r.xml)
	}
	// The base64 request line works like the plain one.
	d.query = "base64"
	if r = d.folderSync("0"); r.status() != "1" {
		t.Fatalf("base64 query: %d %s", r.code, r.xml)
	}
	devs, err := e.listDevices("alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || devs[0].ID != "ALICEPHONE1" || devs[0].Model != "iPhone15,2" || devs[0].OS != "iOS 17.4" ||
		devs[0].PolicyKey != d.key || devs[0].UserAgent != "Apple-iPhone/1402.100" || devs[1].PolicyKey != 0 {
		t.Fatalf("devices: %+v", devs)
	}
}

// Sync of a mail folder: the initial load in windows with MoreAvailable,
// bodies as asked (plain truncated, MIME whole), then changes made by
// others (flags, deletes, new mail) and by the device (read, flag,
// delete as a move to Trash), each reaching the other side once.
func TestSyncMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "SYNCPHONE")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	var uids []uint32
	for i := 1; i <= 5; i++ {
		it := e.deliver("alice", store.SpecialInbox, msg(fmt.Sprintf("hello %d", i), strings.Repeat("word ", 100)))
		uids = append(uids, it.UID)
	}
	coll := id(inbox)
	r := d.sync(coll, "0", "")
	c := collection(r)
	if c.ChildText("Status") != "1" || c.Child("Commands") != nil {
		t.Fatalf("first Sync: %s", r.xml)
	}
	key := c.ChildText("SyncKey")
	opts := `<WindowSize>2</WindowSize><Options><MIMESupport>0</MIMESupport><airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type>` +
		`<airsyncbase:TruncationSize>100</airsyncbase:TruncationSize></airsyncbase:BodyPreference></Options>`
	var got []string
	for round := 0; ; round++ {
		if round > 5 {
			t.Fatal("the initial load does not end")
		}
		r = d.sync(coll, key, opts)
		c = collection(r)
		key = c.ChildText("SyncKey")
		adds := c.Child("Commands").All("Add")
		if len(adds) > 2 {
			t.Fatalf("window of 2 got %d", len(adds))
		}
		for _, a := range adds {
			got = append(got, a.ChildText("ServerId"))
			ad := a.Child("ApplicationData")
			b := ad.Child("Body")
			if ad.ChildText("Subject") == "" || ad.ChildText("Read") != "0" || b.ChildText("Type") != "1" ||
				b.ChildText("Truncated") != "1" || len(b.ChildText("Data")) > 100 || b.ChildText("EstimatedDataSize") == "" {
				t.Fatalf("item:\n%s", r.xml)
			}
		}
		if c.Child("MoreAvailable") == nil {
			break
		}
		if !strings.Contains(r.xml, "<MoreAvailable/><Commands>") {
			t.Fatalf("MoreAvailable must come before Commands:\n%s", r.xml)
		}
	}
	want := []string{}
	for _, u := range uids {
		want = append(want, fmt.Sprintf("%s:%d", coll, u))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("initial load %v, want %v", got, want)
	}
	// Nothing new: no commands, no MoreAvailable.
	r = d.sync(coll, key, "")
	if c = collection(r); c.Child("Commands") != nil || c.Child("MoreAvailable") != nil {
		t.Fatalf("idle Sync:\n%s", r.xml)
	}
	key = c.ChildText("SyncKey")
	// Changes by another client (IMAP through the store): a flag, a
	// delete, new mail.
	ctx := e.as("alice")
	if _, err := e.db.UpdateFlags(ctx, inbox.ID, []uint32{uids[0]}, store.FlagsAdd, []string{`\Seen`, `\Flagged`}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.DeleteItems(ctx, inbox.ID, []uint32{uids[1]}); err != nil {
		t.Fatal(err)
	}
	nw := e.deliver("alice", store.SpecialInbox, msg("new one", "fresh"))
	r = d.sync(coll, key, `<Options><MIMESupport>2</MIMESupport><airsyncbase:BodyPreference><airsyncbase:Type>4</airsyncbase:Type></airsyncbase:BodyPreference></Options>`)
	c = collection(r)
	cmds := c.Child("Commands")
	ch := cmds.Child("Change")
	if ch == nil || ch.ChildText("ServerId") != want[0] || ch.Child("ApplicationData").ChildText("Read") != "1" ||
		ch.Child("ApplicationData").Child("Flag").ChildText("FlagStatus") != "2" {
		t.Fatalf("flag change:\n%s", r.xml)
	}
	if del := cmds.Child("Delete"); del == nil || del.ChildText("ServerId") != want[1] {
		t.Fatalf("delete:\n%s", r.xml)
	}
	add := cmds.Child("Add")
	if add == nil || add.ChildText("ServerId") != fmt.Sprintf("%s:%d", coll, nw.UID) {
		t.Fatalf("new mail:\n%s", r.xml)
	}
	if b := add.Child("ApplicationData").Child("Body"); b.ChildText("Type") != "4" || !strings.Contains(b.ChildText("Data"), "Subject: new one") {
		t.Fatalf("MIME body:\n%s", r.xml)
	}
	key = c.ChildText("SyncKey")
	// The device marks one unread, flags another, deletes a third, and
	// fetches one.
	r = d.sync(coll, key, `<Commands>`+
		`<Change><ServerId>`+want[0]+`</ServerId><ApplicationData><email:Read>0</email:Read></ApplicationData></Change>`+
		`<Change><ServerId>`+want[2]+`</ServerId><ApplicationData><email:Flag><email:FlagStatus>2</email:FlagStatus></email:Flag></ApplicationData></Change>`+
		`<Delete><ServerId>`+want[3]+`</ServerId></Delete>`+
		`<Fetch><ServerId>`+want[4]+`</ServerId></Fetch>`+
		`<Change><ServerId>`+coll+`:999999</ServerId><ApplicationData><email:Read>1</email:Read></ApplicationData></Change>`+
		`</Commands>`)
	c = collection(r)
	if c.Child("Commands") != nil {
		t.Fatalf("the device's own changes came back:\n%s", r.xml)
	}
	resps := c.Child("Responses")
	if f := resps.Child("Fetch"); f == nil || f.ChildText("Status") != "1" || f.Child("ApplicationData").ChildText("Subject") != "hello 5" {
		t.Fatalf("fetch:\n%s", r.xml)
	}
	if bad := resps.Child("Change"); bad == nil || bad.ChildText("Status") != "8" {
		t.Fatalf("change of a missing item:\n%s", r.xml)
	}
	items, err := e.db.ListItems(ctx, inbox.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[uint32][]string{}
	for _, it := range items {
		flags[it.UID] = it.Flags
	}
	if slices.Contains(flags[uids[0]], `\Seen`) || !slices.Contains(flags[uids[2]], `\Flagged`) {
		t.Fatalf("flags in the store: %v", flags)
	}
	if _, ok := flags[uids[3]]; ok {
		t.Fatal("deleted item still in the inbox")
	}
	trash, err := e.db.ListItems(ctx, e.folder("alice", store.SpecialTrash).ID, 1, 0)
	if err != nil || len(trash) != 1 {
		t.Fatalf("trash: %v %v", trash, err)
	}
	// The same key again (a lost answer) repeats the same state; a key
	// of another folder, or garbage, is status 3.
	if r2 := d.sync(id(e.folder("alice", store.SpecialSent)), key, ""); collection(r2).ChildText("Status") != "3" {
		t.Fatalf("key of another folder:\n%s", r2.xml)
	}
	// GetItemEstimate counts what a Sync would bring.
	key = c.ChildText("SyncKey")
	e.deliver("alice", store.SpecialInbox, msg("estimate me", "x"))
	r = d.do("GetItemEstimate", `<GetItemEstimate xmlns="GetItemEstimate:" xmlns:airsync="AirSync:"><Collections><Collection>`+
		`<airsync:SyncKey>`+key+`</airsync:SyncKey><CollectionId>`+coll+`</CollectionId></Collection></Collections></GetItemEstimate>`)
	if !strings.Contains(r.xml, "<Estimate>1</Estimate>") {
		t.Fatalf("estimate:\n%s", r.xml)
	}
}
