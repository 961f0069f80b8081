package jmapserver_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// flagsOf reads an item's flags as IMAP FETCH FLAGS sees them: from the
// store's listing of the folder.
func (e *env) flagsOf(login string, folderID int64, itemID int64) []string {
	e.t.Helper()
	items, err := e.db.ListItems(e.as(login), folderID, 1, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == itemID {
			return it.Flags
		}
	}
	return nil
}

func TestEmailSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	inbox := e.folder("alice", store.SpecialInbox)
	archive := e.folder("alice", store.SpecialArchive)
	it := e.deliver("alice", store.SpecialInbox, plainMsg, `\Deleted`)
	id := fmt.Sprintf("E%d", it.ID)
	state := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)

	// Keywords set in JMAP are IMAP flags; \Deleted (no keyword) stays.
	res := e.must("alice", "Email/set", map[string]any{"accountId": acct, "ifInState": state,
		"update": map[string]any{id: map[string]any{"keywords": map[string]any{"$seen": true, "$Label1": true}}}})
	if _, ok := res["updated"].(map[string]any)[id]; !ok || res["oldState"] != state || res["newState"] == state {
		t.Fatalf("update %v", res)
	}
	if got := fmt.Sprint(e.flagsOf("alice", inbox.ID, it.ID)); got != `[$label1 \Deleted \Seen]` && got != `[$Label1 \Deleted \Seen]` {
		t.Fatalf("IMAP flags %s", got)
	}
	res = e.must("alice", "Email/set", map[string]any{"accountId": acct,
		"update": map[string]any{id: map[string]any{"keywords/$flagged": true, "keywords/$seen": nil}}})
	if got := e.flagsOf("alice", inbox.ID, it.ID); !slices.Contains(got, `\Flagged`) || slices.Contains(got, `\Seen`) {
		t.Fatalf("patched flags %v", got)
	}
	// A stale ifInState refuses the call.
	n, a := e.call1("alice", "Email/set", map[string]any{"accountId": acct, "ifInState": state,
		"update": map[string]any{id: map[string]any{"keywords/$seen": true}}})
	if n != "error" || a["type"] != "stateMismatch" {
		t.Fatalf("stale ifInState: %s %v", n, a)
	}
	// Move by mailboxIds: the email keeps its id.
	res = e.must("alice", "Email/set", map[string]any{"accountId": acct,
		"update": map[string]any{id: map[string]any{"mailboxIds": map[string]any{fmt.Sprintf("M%d", archive.ID): true}}}})
	got := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{id}, "properties": []string{"mailboxIds", "keywords"}})
	if fmt.Sprint(got["list"].([]any)[0].(map[string]any)["mailboxIds"]) != fmt.Sprintf("map[M%d:true]", archive.ID) {
		t.Fatalf("after move %v", got)
	}
	// Errors per object.
	res = e.must("alice", "Email/set", map[string]any{"accountId": acct, "update": map[string]any{
		"E999999": map[string]any{"keywords/$seen": true},
		id:        map[string]any{"subject": "x"},
	}, "destroy": []string{"E999998"}})
	nu := res["notUpdated"].(map[string]any)
	if nu["E999999"].(map[string]any)["type"] != "notFound" || nu[id].(map[string]any)["type"] != "invalidProperties" ||
		res["notDestroyed"].(map[string]any)["E999998"].(map[string]any)["type"] != "notFound" {
		t.Fatalf("errors %v", res)
	}
	res = e.must("alice", "Email/set", map[string]any{"accountId": acct, "update": map[string]any{
		id: map[string]any{"mailboxIds": map[string]any{fmt.Sprintf("M%d", archive.ID): true, fmt.Sprintf("M%d", inbox.ID): true}}}})
	if res["notUpdated"].(map[string]any)[id].(map[string]any)["type"] != "tooManyMailboxes" {
		t.Fatalf("two mailboxes %v", res)
	}
	// Bob's email is not found for alice.
	bobs := e.deliver("bob", store.SpecialInbox, plainMsg)
	res = e.must("alice", "Email/set", map[string]any{"accountId": acct, "destroy": []string{fmt.Sprintf("E%d", bobs.ID)}})
	if res["notDestroyed"].(map[string]any)[fmt.Sprintf("E%d", bobs.ID)].(map[string]any)["type"] != "notFound" {
		t.Fatalf("bob's email %v", res)
	}
	// Destroy is a soft delete, as EXPUNGE makes it.
	res = e.must("alice", "Email/set", map[string]any{"accountId": acct, "destroy": []string{id}})
	if fmt.Sprint(res["destroyed"]) != "["+id+"]" {
		t.Fatalf("destroy %v", res)
	}
	del, err := e.db.ListDeletedItems(e.as("alice"), archive.ID)
	if err != nil || len(del) != 1 || del[0].ID != it.ID {
		t.Fatalf("soft-deleted: %v %v", del, err)
	}
	ch := e.must("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": state})
	if fmt.Sprint(ch["destroyed"]) != "["+id+"]" {
		t.Fatalf("changes %v", ch)
	}
}

func TestMaxObjectsInSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxObjectsInSet = 2 })
	n, a := e.call1("alice", "Email/set", map[string]any{"accountId": e.acct("alice"), "destroy": []string{"E1", "E2", "E3"}})
	if n != "error" || a["type"] != "requestTooLarge" {
		t.Fatalf("%s %v", n, a)
	}
}

// Upload → Email/import → Email/query + Email/get by back-reference; and
// Email/set create from parts with an attachment.
func TestImportAndCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	drafts := fmt.Sprintf("M%d", e.folder("alice", store.SpecialDrafts).ID)
	r := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader(strings.ReplaceAll(mixedMsg, "\n", "\r\n")), "Content-Type", "message/rfc822")
	blobID := r.json(t)["blobId"].(string)
	out := e.call("alice", fmt.Sprintf(`[
		["Email/import",{"accountId":%q,"emails":{"k1":{"blobId":%q,"mailboxIds":{%q:true},"keywords":{"$seen":true},"receivedAt":"2025-05-05T05:05:05Z"}}},"a"],
		["Email/query",{"accountId":%q,"filter":{"inMailbox":%q}},"b"],
		["Email/get",{"accountId":%q,"#ids":{"resultOf":"b","name":"Email/query","path":"/ids"},"properties":["subject","keywords","receivedAt"]},"c"]
	]`, acct, blobID, inbox, acct, inbox, acct))
	imp := out[0].([]any)[1].(map[string]any)
	created := imp["created"].(map[string]any)["k1"].(map[string]any)
	list := out[2].([]any)[1].(map[string]any)["list"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != created["id"] || list[0].(map[string]any)["subject"] != "report" ||
		list[0].(map[string]any)["receivedAt"] != "2025-05-05T05:05:05Z" {
		t.Fatalf("import then get: %v", out)
	}
	n, a := e.call1("alice", "Email/import", map[string]any{"accountId": acct, "emails": map[string]any{"k": map[string]any{"blobId": "G" + strings.Repeat("0", 64), "mailboxIds": map[string]any{inbox: true}}}})
	if n != "Email/import" || a["notCreated"].(map[string]any)["k"].(map[string]any)["type"] != "blobNotFound" {
		t.Fatalf("unknown blob: %s %v", n, a)
	}

	att := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader("attached bytes"), "Content-Type", "text/csv").json(t)["blobId"].(string)
	out = e.call("alice", fmt.Sprintf(`[
		["Email/set",{"accountId":%q,"create":{"d1":{"mailboxIds":{%q:true},"keywords":{"$draft":true},
			"from":[{"name":"Alice Ä","email":"alice@acme.test"}],"to":[{"email":"bob@acme.test"}],"subject":"Grüße",
			"textBody":[{"partId":"t","type":"text/plain"}],"htmlBody":[{"partId":"h","type":"text/html"}],
			"bodyValues":{"t":{"value":"plain text ü"},"h":{"value":"<b>html</b>"}},
			"attachments":[{"blobId":%q,"type":"text/csv","name":"data.csv"}]}}},"a"],
		["Email/get",{"accountId":%q,"ids":["#d1"],"properties":["subject","from","to","keywords","textBody","htmlBody","attachments","bodyValues","mailboxIds"],"fetchAllBodyValues":true},"b"]
	]`, acct, drafts, att, acct))
	if out[0].([]any)[0] != "Email/set" {
		t.Fatalf("create: %v", out[0])
	}
	got := out[1].([]any)[1].(map[string]any)["list"].([]any)
	if len(got) != 1 {
		t.Fatalf("get created: %v", out[1])
	}
	m := got[0].(map[string]any)
	if m["subject"] != "Grüße" || fmt.Sprint(m["from"]) != "[map[email:alice@acme.test name:Alice Ä]]" ||
		fmt.Sprint(m["keywords"]) != "map[$draft:true]" || len(m["attachments"].([]any)) != 1 {
		t.Fatalf("created email %v", m)
	}
	vals := fmt.Sprint(m["bodyValues"])
	if !strings.Contains(vals, "plain text ü") || !strings.Contains(vals, "<b>html</b>") {
		t.Fatalf("bodyValues %s", vals)
	}
	a1 := m["attachments"].([]any)[0].(map[string]any)
	r = e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/%s/x", acct, a1["blobId"]), nil)
	if a1["name"] != "data.csv" || string(r.body) != "attached bytes" {
		t.Fatalf("attachment %v %q", a1, r.body)
	}
	// Header injection through a created email is refused.
	n, a = e.call1("alice", "Email/set", map[string]any{"accountId": acct, "create": map[string]any{"x": map[string]any{
		"mailboxIds": map[string]any{drafts: true}, "messageId": []string{"a>\r\nBcc: <evil@example.com"}}}})
	if n != "Email/set" || a["notCreated"].(map[string]any)["x"].(map[string]any)["type"] != "invalidProperties" {
		t.Fatalf("injection: %s %v", n, a)
	}
}

func TestMailboxSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	out := e.call("alice", fmt.Sprintf(`[
		["Mailbox/set",{"accountId":%q,"create":{"p":{"name":"Projects"},"c":{"name":"Roost","parentId":"#p","isSubscribed":false}}},"a"],
		["Mailbox/get",{"accountId":%q,"ids":["#p","#c"],"properties":["name","parentId","isSubscribed"]},"b"]
	]`, acct, acct))
	cr := out[0].([]any)[1].(map[string]any)["created"].(map[string]any)
	pid, cid := cr["p"].(map[string]any)["id"].(string), cr["c"].(map[string]any)["id"].(string)
	l := out[1].([]any)[1].(map[string]any)["list"].([]any)
	if len(l) != 2 || l[1].(map[string]any)["parentId"] != pid || l[1].(map[string]any)["isSubscribed"] != false {
		t.Fatalf("created %v", out)
	}
	// Duplicate name: alreadyExists.
	res := e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "create": map[string]any{"d": map[string]any{"name": "Projects"}}})
	if res["notCreated"].(map[string]any)["d"].(map[string]any)["type"] != "alreadyExists" {
		t.Fatalf("duplicate %v", res)
	}
	// Rename and move to the top.
	e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "update": map[string]any{cid: map[string]any{"name": "Roost 2", "parentId": nil}}})
	g := e.must("alice", "Mailbox/get", map[string]any{"accountId": acct, "ids": []string{cid}})
	if mb := g["list"].([]any)[0].(map[string]any); mb["name"] != "Roost 2" || mb["parentId"] != nil {
		t.Fatalf("renamed %v", mb)
	}
	// A mailbox with a child or with email is not destroyed unless asked.
	e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "update": map[string]any{cid: map[string]any{"parentId": pid}}})
	res = e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "destroy": []string{pid}})
	if res["notDestroyed"].(map[string]any)[pid].(map[string]any)["type"] != "mailboxHasChild" {
		t.Fatalf("has child %v", res)
	}
	var cidN int64
	fmt.Sscanf(cid, "M%d", &cidN)
	if _, err := e.db.AppendItem(e.as("alice"), cidN, store.NewItem{Content: strings.NewReader("Subject: x\r\n\r\nx\r\n")}); err != nil {
		t.Fatal(err)
	}
	res = e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "destroy": []string{cid}})
	if res["notDestroyed"].(map[string]any)[cid].(map[string]any)["type"] != "mailboxHasEmail" {
		t.Fatalf("has email %v", res)
	}
	res = e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "destroy": []string{cid}, "onDestroyRemoveEmails": true})
	if fmt.Sprint(res["destroyed"]) != "["+cid+"]" {
		t.Fatalf("destroy %v", res)
	}
	g = e.must("alice", "Mailbox/get", map[string]any{"accountId": acct, "ids": []string{cid}})
	if fmt.Sprint(g["notFound"]) != "["+cid+"]" {
		t.Fatalf("after destroy %v", g)
	}
	// Another user's mailbox is notFound.
	bobInbox := fmt.Sprintf("M%d", e.folder("bob", store.SpecialInbox).ID)
	res = e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "update": map[string]any{bobInbox: map[string]any{"name": "x"}}, "destroy": []string{bobInbox}})
	if res["notUpdated"].(map[string]any)[bobInbox].(map[string]any)["type"] != "notFound" || res["notDestroyed"].(map[string]any)[bobInbox].(map[string]any)["type"] != "notFound" {
		t.Fatalf("bob's inbox %v", res)
	}
}

// The attachments of a created email are bounded by
// maxSizeAttachmentsPerEmail (RFC 8621 §4.6: tooLarge): one blob named
// many times does not build an email of any size in memory, and a blob
// larger than the limit is refused, not cut short.
func TestMaxSizeAttachmentsPerEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxSizeAttachmentsPerEmail = 100 })
	acct := e.acct("alice")
	drafts := fmt.Sprintf("M%d", e.folder("alice", store.SpecialDrafts).ID)
	blob := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader(strings.Repeat("a", 60)), "Content-Type", "text/plain").json(t)["blobId"]
	big := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader(strings.Repeat("b", 101)), "Content-Type", "text/plain").json(t)["blobId"]
	att := func(ids ...any) map[string]any {
		var as []any
		for _, id := range ids {
			as = append(as, map[string]any{"blobId": id, "type": "text/plain"})
		}
		return map[string]any{"mailboxIds": map[string]any{drafts: true}, "subject": "s", "attachments": as}
	}
	_, a := e.call1("alice", "Email/set", map[string]any{"accountId": acct, "create": map[string]any{
		"one": att(blob), "two": att(blob, blob), "big": att(big)}})
	if a["created"].(map[string]any)["one"] == nil {
		t.Fatalf("one attachment under the limit: %v", a)
	}
	for _, k := range []string{"two", "big"} {
		if se, _ := a["notCreated"].(map[string]any)[k].(map[string]any); se["type"] != "tooLarge" {
			t.Errorf("%s: %v", k, a)
		}
	}
	s := e.do("alice", "GET", "/jmap/session", nil).json(t)
	mail := s["accounts"].(map[string]any)[acct].(map[string]any)["accountCapabilities"].(map[string]any)["urn:ietf:params:jmap:mail"].(map[string]any)
	if mail["maxSizeAttachmentsPerEmail"] != 100.0 {
		t.Errorf("advertised %v", mail["maxSizeAttachmentsPerEmail"])
	}
}
