package jmapserver_test

import (
	"fmt"
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
