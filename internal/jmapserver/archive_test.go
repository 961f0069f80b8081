package jmapserver_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// TestArchiveAccount: the user's archive store is a second, read-only
// Mail account: Mailbox/get, Email/query and Email/get read it, and every
// /set is refused per object.
func TestArchiveAccount(t *testing.T) {
	e := newEnv(t)
	sess := e.do("alice", "GET", "/jmap/session", nil).json(t)
	if n := len(sess["accounts"].(map[string]any)); n != 1 {
		t.Fatalf("accounts before attach: %d", n)
	}
	state0 := sess["state"]

	arch, err := e.db.AttachArchive(sys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	it := e.deliver("alice", store.SpecialInbox, "From: bob@acme.test\r\nSubject: kept\r\n\r\nhello\r\n", `\Seen`)
	inbox := e.folder("alice", store.SpecialInbox)
	dest, err := e.db.CreateFolder(sys, arch.ID, 0, "Inbox", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ArchiveItems(sys, inbox.ID, []uint32{it.UID}, dest.ID); err != nil {
		t.Fatal(err)
	}
	aid := fmt.Sprintf("A%d", arch.ID)

	sess = e.do("alice", "GET", "/jmap/session", nil).json(t)
	acc, ok := sess["accounts"].(map[string]any)[aid].(map[string]any)
	if !ok || acc["isReadOnly"] != true || sess["state"] == state0 {
		t.Fatalf("session %v", sess)
	}
	if caps := acc["accountCapabilities"].(map[string]any); len(caps) != 1 || caps["urn:ietf:params:jmap:mail"] == nil {
		t.Fatalf("archive capabilities %v", caps)
	}
	if sess["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:mail"] == aid {
		t.Fatal("the archive is the primary account")
	}

	mb := e.must("alice", "Mailbox/get", map[string]any{"accountId": aid})
	list := mb["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("mailboxes %v", list)
	}
	box := list[0].(map[string]any)
	rights := box["myRights"].(map[string]any)
	if box["name"] != "Inbox" || rights["mayReadItems"] != true || rights["mayAddItems"] != false || rights["mayDelete"] != false {
		t.Fatalf("archive mailbox %v", box)
	}
	q := e.must("alice", "Email/query", map[string]any{"accountId": aid})
	ids := q["ids"].([]any)
	if len(ids) != 1 {
		t.Fatalf("query %v", q)
	}
	g := e.must("alice", "Email/get", map[string]any{"accountId": aid, "ids": ids, "properties": []string{"subject", "keywords"}})
	em := g["list"].([]any)[0].(map[string]any)
	if em["subject"] != "kept" || em["keywords"].(map[string]any)["$seen"] != true {
		t.Fatalf("archived email %v", em)
	}

	// Writes are refused object by object.
	id := ids[0].(string)
	set := e.must("alice", "Email/set", map[string]any{"accountId": aid,
		"update": map[string]any{id: map[string]any{"keywords/$flagged": true}}, "destroy": []string{id}})
	if set["notUpdated"].(map[string]any)[id] == nil || set["notDestroyed"].(map[string]any)[id] == nil {
		t.Fatalf("Email/set on the archive %v", set)
	}
	ms := e.must("alice", "Mailbox/set", map[string]any{"accountId": aid, "create": map[string]any{"n": map[string]any{"name": "Mine"}}})
	if ms["notCreated"].(map[string]any)["n"] == nil {
		t.Fatalf("Mailbox/set on the archive %v", ms)
	}
	for _, v := range set["notUpdated"].(map[string]any) {
		if v.(map[string]any)["type"] != "forbidden" {
			t.Fatalf("notUpdated %v", v)
		}
	}
	// Non-mail methods do not take the archive account.
	n, _ := e.call1("alice", "Identity/get", map[string]any{"accountId": aid})
	if n != "error" {
		t.Fatalf("Identity/get on the archive: %s", n)
	}
	// bob has no such account.
	n, a := e.call1("bob", "Email/query", map[string]any{"accountId": aid})
	if n != "error" || a["type"] != "accountNotFound" {
		t.Fatalf("bob on alice's archive: %s %v", n, a)
	}
}

// TestArchiveAccountShared: the archive is one more account of the
// sharing code's list, next to a store shared with the user: both in
// the session and its state, the archive personal and named after the
// user; downloads, Email/copy out of it and push take its id like a
// shared account's; data types it does not carry are
// accountNotSupportedByMethod; detaching it removes the account.
func TestArchiveAccountShared(t *testing.T) {
	e := newEnv(t)
	acct, bobAcct := e.acct("alice"), e.acct("bob")
	arch, err := e.db.AttachArchive(sys, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	aid := fmt.Sprintf("A%d", arch.ID)
	it := e.deliver("alice", store.SpecialInbox, "From: bob@acme.test\r\nSubject: kept\r\n\r\nhello archive\r\n")
	dest, err := e.db.CreateFolder(sys, arch.ID, 0, "Inbox", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.db.ArchiveItems(sys, it.FolderID, []uint32{it.UID}, dest.ID)
	if err != nil || len(m) != 1 {
		t.Fatalf("archive: %v %v", m, err)
	}
	sess := e.do("alice", "GET", "/jmap/session", nil).json(t)
	acc := sess["accounts"].(map[string]any)[aid].(map[string]any)
	if acc["name"] != "alice (archive)" || acc["isPersonal"] != true || acc["isReadOnly"] != true {
		t.Fatalf("archive account %v", acc)
	}
	archOnly := sess["state"]

	// bob shares his inbox: three accounts, and a new state.
	if err := e.db.SetACL(e.as("bob"), e.folder("bob", store.SpecialInbox).ID, store.UserSubject("alice"), "lr"); err != nil {
		t.Fatal(err)
	}
	sess = e.do("alice", "GET", "/jmap/session", nil).json(t)
	accts := sess["accounts"].(map[string]any)
	if len(accts) != 3 || accts[aid] == nil || accts[bobAcct] == nil || sess["state"] == archOnly {
		t.Fatalf("session with a share and the archive: %v", sess)
	}
	if b := accts[bobAcct].(map[string]any); b["isPersonal"] != false || b["name"] != "bob" {
		t.Fatalf("bob's account %v", b)
	}
	both := sess["state"]

	// Downloads: alice's archived message, not for bob.
	q := e.must("alice", "Email/query", map[string]any{"accountId": aid})
	eid := q["ids"].([]any)[0].(string)
	path := fmt.Sprintf("/jmap/download/%s/m%s/x.eml", aid, eid[1:])
	if r := e.do("alice", "GET", path, nil); r.code != 200 || !strings.Contains(string(r.body), "hello archive") {
		t.Fatalf("download from the archive: %d %s", r.code, r.body)
	}
	if r := e.do("bob", "GET", path, nil); r.code != 404 {
		t.Fatalf("bob's download from alice's archive: %d", r.code)
	}
	// Uploads into the read-only archive are refused.
	if r := e.do("alice", "POST", "/jmap/upload/"+aid+"/", strings.NewReader("x")); r.code < 400 {
		t.Fatalf("upload into the archive: %d", r.code)
	}

	// Email/copy out of the archive into alice's own inbox.
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	cp := e.must("alice", "Email/copy", map[string]any{"fromAccountId": aid, "accountId": acct,
		"create": map[string]any{"c": map[string]any{"id": eid, "mailboxIds": map[string]any{inbox: true}}}})
	if cp["created"].(map[string]any)["c"] == nil {
		t.Fatalf("Email/copy out of the archive %v", cp)
	}
	// ... and not into it.
	cp = e.must("alice", "Email/copy", map[string]any{"fromAccountId": acct, "accountId": aid,
		"create": map[string]any{"c": map[string]any{"id": fmt.Sprintf("E%d", it.ID), "mailboxIds": map[string]any{fmt.Sprintf("M%d", dest.ID): true}}}})
	if cp["notCreated"].(map[string]any)["c"] == nil {
		t.Fatalf("Email/copy into the archive %v", cp)
	}

	// Data types the archive does not carry.
	for _, tc := range []struct {
		caps []string
		name string
	}{
		{[]string{"urn:ietf:params:jmap:calendars"}, "Calendar/get"},
		{[]string{"urn:ietf:params:jmap:contacts"}, "AddressBook/get"},
		{[]string{"urn:ietf:params:jmap:blob"}, "Blob/get"},
	} {
		if n, a := e.callWith("alice", tc.caps, tc.name, map[string]any{"accountId": aid, "ids": []string{"m1"}}); n != "error" || a["type"] != "accountNotSupportedByMethod" {
			t.Fatalf("%s on the archive: %s %v", tc.name, n, a)
		}
	}

	// Push: a change in the archive's journal reaches an open
	// EventSource under the archive's account id.
	req, _ := http.NewRequest("GET", e.url+"/jmap/eventsource/?types=Email,Mailbox&closeafter=state&ping=0", nil)
	req.SetBasicAuth("alice", password("alice"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("eventsource %d", res.StatusCode)
	}
	if _, err := e.db.CreateFolder(sys, arch.ID, 0, "2025", store.FolderMail); err != nil {
		t.Fatal(err)
	}
	typ, data := readEvent(t, bufio.NewReader(res.Body))
	var sc struct {
		Changed map[string]map[string]string `json:"changed"`
	}
	if err := json.Unmarshal([]byte(data), &sc); err != nil || typ != "state" || sc.Changed[aid]["Mailbox"] == "" {
		t.Fatalf("event %s %s", typ, data)
	}

	// Detached: the account is gone and the state changes.
	if err := e.db.DetachArchive(sys, "alice"); err != nil {
		t.Fatal(err)
	}
	sess = e.do("alice", "GET", "/jmap/session", nil).json(t)
	if _, ok := sess["accounts"].(map[string]any)[aid]; ok || sess["state"] == both {
		t.Fatalf("session after detach %v", sess)
	}
	if n, a := e.call1("alice", "Mailbox/get", map[string]any{"accountId": aid}); n != "error" || a["type"] != "accountNotFound" {
		t.Fatalf("Mailbox/get after detach: %s %v", n, a)
	}
}
