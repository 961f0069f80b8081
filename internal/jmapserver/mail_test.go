package jmapserver_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

const plainMsg = `From: Joe Bloggs <joe@example.com>
To: Alice <alice@acme.test>, "Team" <team@acme.test>
Subject: =?UTF-8?Q?Caf=C3=A9?= plans
Date: Fri, 02 Jan 2026 10:00:00 +0100
Message-ID: <m1@example.com>
X-Custom:  some   value
Content-Type: text/plain; charset=utf-8

Hello Alice, see you at the café.
`

const mixedMsg = `From: bob@acme.test
To: alice@acme.test
Subject: report
Message-ID: <m2@example.com>
In-Reply-To: <m1@example.com>
References: <m0@example.com> <m1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=us-ascii

plain body
--b2
Content-Type: text/html; charset=us-ascii

<p>html body</p>
--b2--
--b1
Content-Type: application/pdf; name="r.pdf"
Content-Disposition: attachment; filename="r.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
`

func ids(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestMailboxGetQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	e.deliver("alice", store.SpecialInbox, plainMsg)
	e.deliver("alice", store.SpecialInbox, mixedMsg, `\Seen`)
	res := e.must("alice", "Mailbox/get", map[string]any{"accountId": acct, "ids": nil})
	if res["state"] == "" || len(res["notFound"].([]any)) != 0 {
		t.Fatalf("%v", res)
	}
	byRole := map[string]map[string]any{}
	for _, x := range res["list"].([]any) {
		mb := x.(map[string]any)
		if r, ok := mb["role"].(string); ok {
			byRole[r] = mb
		}
	}
	for _, r := range []string{"inbox", "drafts", "sent", "trash", "junk", "archive"} {
		if byRole[r] == nil {
			t.Errorf("no mailbox with role %s", r)
		}
	}
	inbox := byRole["inbox"]
	if inbox["totalEmails"] != 2.0 || inbox["unreadEmails"] != 1.0 || inbox["isSubscribed"] != true || inbox["parentId"] != nil {
		t.Fatalf("inbox %v", inbox)
	}
	rights := inbox["myRights"].(map[string]any)
	for _, k := range []string{"mayReadItems", "mayAddItems", "mayRemoveItems", "maySetSeen", "maySetKeywords", "mayCreateChild", "mayRename", "mayDelete"} {
		if rights[k] != true {
			t.Errorf("owner lacks %s", k)
		}
	}
	// Calendars and contacts are not mailboxes.
	for _, x := range res["list"].([]any) {
		if n := x.(map[string]any)["name"]; n == e.folder("alice", store.SpecialCalendar).Name {
			t.Fatal("calendar listed as a mailbox")
		}
	}
	// ids and properties
	res = e.must("alice", "Mailbox/get", map[string]any{"accountId": acct, "ids": []string{inbox["id"].(string), "M999999", "E1"}, "properties": []string{"name"}})
	l := res["list"].([]any)
	if len(l) != 1 || len(l[0].(map[string]any)) != 2 || fmt.Sprint(res["notFound"]) != "[M999999 E1]" {
		t.Fatalf("%v", res)
	}
	// Mailbox/query with filters and sort
	q := e.must("alice", "Mailbox/query", map[string]any{"accountId": acct, "filter": map[string]any{"role": "inbox"}})
	if fmt.Sprint(q["ids"]) != fmt.Sprint([]any{inbox["id"]}) {
		t.Fatalf("role filter %v", q)
	}
	q = e.must("alice", "Mailbox/query", map[string]any{"accountId": acct, "filter": map[string]any{"parentId": nil, "isSubscribed": true},
		"sort": []any{map[string]any{"property": "sortOrder"}, map[string]any{"property": "name"}}, "calculateTotal": true})
	if q["total"] != 7.0 || ids(q["ids"])[0] != inbox["id"] {
		t.Fatalf("query %v", q)
	}
	q = e.must("alice", "Mailbox/query", map[string]any{"accountId": acct, "filter": map[string]any{"name": "NBOX"}})
	if len(q["ids"].([]any)) != 1 {
		t.Fatalf("name filter %v", q)
	}
	n, a := e.call1("alice", "Mailbox/query", map[string]any{"accountId": acct, "sort": []any{map[string]any{"property": "totalEmails"}}})
	if n != "error" || a["type"] != "unsupportedSort" {
		t.Fatalf("%s %v", n, a)
	}
	n, a = e.call1("alice", "Mailbox/query", map[string]any{"accountId": acct, "filter": map[string]any{"colour": "red"}})
	if n != "error" || a["type"] != "unsupportedFilter" {
		t.Fatalf("%s %v", n, a)
	}
}

func TestEmailGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	m1 := e.deliver("alice", store.SpecialInbox, plainMsg, `\Seen`, "$Forwarded", `\Deleted`)
	m2 := e.deliver("alice", store.SpecialInbox, mixedMsg)
	id1, id2 := fmt.Sprintf("E%d", m1.ID), fmt.Sprintf("E%d", m2.ID)
	res := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{id1, id2, "E999999", "M1"},
		"fetchTextBodyValues": true})
	if fmt.Sprint(res["notFound"]) != "[E999999 M1]" {
		t.Fatalf("notFound %v", res["notFound"])
	}
	l := res["list"].([]any)
	e1, e2 := l[0].(map[string]any), l[1].(map[string]any)
	if e1["id"] != id1 || e1["subject"] != "Café plans" || e1["size"] != float64(m1.Size) || e1["receivedAt"] != "2026-01-02T03:04:05Z" {
		t.Fatalf("e1 %v", e1)
	}
	if fmt.Sprint(e1["keywords"]) != "map[$forwarded:true $seen:true]" {
		t.Fatalf("keywords %v", e1["keywords"])
	}
	if fmt.Sprint(e1["mailboxIds"]) != fmt.Sprintf("map[M%d:true]", e.folder("alice", store.SpecialInbox).ID) {
		t.Fatalf("mailboxIds %v", e1["mailboxIds"])
	}
	if fmt.Sprint(e1["from"]) != "[map[email:joe@example.com name:Joe Bloggs]]" ||
		fmt.Sprint(e1["to"]) != "[map[email:alice@acme.test name:Alice] map[email:team@acme.test name:Team]]" || e1["cc"] != nil {
		t.Fatalf("addresses %v %v %v", e1["from"], e1["to"], e1["cc"])
	}
	if e1["sentAt"] != "2026-01-02T10:00:00+01:00" || fmt.Sprint(e1["messageId"]) != "[m1@example.com]" || e1["hasAttachment"] != false {
		t.Fatalf("e1 %v", e1)
	}
	if !strings.HasPrefix(e1["preview"].(string), "Hello Alice, see you at the café.") {
		t.Fatalf("preview %q", e1["preview"])
	}
	tb := e1["textBody"].([]any)[0].(map[string]any)
	bv := e1["bodyValues"].(map[string]any)[tb["partId"].(string)].(map[string]any)
	if bv["value"] != "Hello Alice, see you at the café.\n" || bv["isTruncated"] != false {
		t.Fatalf("bodyValues %v", e1["bodyValues"])
	}
	// multipart: textBody, htmlBody, attachments (RFC 8621 §4.1.4)
	if fmt.Sprint(e2["references"]) != "[m0@example.com m1@example.com]" || fmt.Sprint(e2["inReplyTo"]) != "[m1@example.com]" || e2["hasAttachment"] != true {
		t.Fatalf("e2 %v", e2)
	}
	types := func(v any) (out []string) {
		for _, p := range v.([]any) {
			out = append(out, p.(map[string]any)["type"].(string))
		}
		return
	}
	if fmt.Sprint(types(e2["textBody"])) != "[text/plain]" || fmt.Sprint(types(e2["htmlBody"])) != "[text/html]" ||
		fmt.Sprint(types(e2["attachments"])) != "[application/pdf]" {
		t.Fatalf("bodies %v %v %v", e2["textBody"], e2["htmlBody"], e2["attachments"])
	}
	att := e2["attachments"].([]any)[0].(map[string]any)
	if att["name"] != "r.pdf" || att["disposition"] != "attachment" || att["size"] != 9.0 {
		t.Fatalf("attachment %v", att)
	}
	// The attachment downloads decoded, with the name and type asked for.
	r := e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/%s/r.pdf?type=application/pdf", acct, att["blobId"]), nil)
	if r.code != 200 || string(r.body) != "%PDF-1.4\n" || r.hdr.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(r.hdr.Get("Content-Disposition"), "r.pdf") {
		t.Fatalf("download %d %q %v", r.code, r.body, r.hdr)
	}
	// The whole message by its blobId.
	r = e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/%s/m.eml", acct, e2["blobId"]), nil)
	if r.code != 200 || int64(len(r.body)) != m2.Size {
		t.Fatalf("message download %d", r.code)
	}

	// Properties, header forms, bodyStructure, maxBodyValueBytes.
	res = e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{id1, id2},
		"properties": []string{"header:X-Custom", "header:X-Custom:asText", "header:Subject:asText", "header:To:asAddresses",
			"header:To:asGroupedAddresses", "header:Message-ID:asMessageIds", "header:Date:asDate", "header:Received:all", "bodyStructure", "bodyValues", "headers"},
		"fetchHTMLBodyValues": true, "maxBodyValueBytes": 5})
	g1 := res["list"].([]any)[0].(map[string]any)
	if g1["header:X-Custom"] != "  some   value" || g1["header:X-Custom:asText"] != "some   value" || g1["header:Subject:asText"] != "Café plans" {
		t.Fatalf("header forms %v", g1)
	}
	if fmt.Sprint(g1["header:Received:all"]) != "[]" || g1["header:Date:asDate"] != "2026-01-02T10:00:00+01:00" || len(g1) != 12 {
		t.Fatalf("header forms %v", g1)
	}
	g2 := res["list"].([]any)[1].(map[string]any)
	bs := g2["bodyStructure"].(map[string]any)
	if bs["type"] != "multipart/mixed" || len(bs["subParts"].([]any)) != 2 || bs["partId"] != nil {
		t.Fatalf("bodyStructure %v", bs)
	}
	var html map[string]any
	for _, v := range g2["bodyValues"].(map[string]any) {
		html = v.(map[string]any)
	}
	if html["value"] != "<p>ht" || html["isTruncated"] != true {
		t.Fatalf("html value %v", g2["bodyValues"])
	}
	// Bad arguments.
	for _, args := range []map[string]any{
		{"accountId": acct, "ids": []string{id1}, "properties": []string{"nope"}},
		{"accountId": acct, "ids": []string{id1}, "properties": []string{"header:X:asBogus"}},
		{"accountId": acct, "ids": []string{id1}, "bodyProperties": []string{"x"}},
	} {
		if n, a := e.call1("alice", "Email/get", args); n != "error" || a["type"] != "invalidArguments" {
			t.Errorf("%v: %s %v", args, n, a)
		}
	}
}

// An id of another user or tenant is notFound, never forbidden, and its
// blob does not download.
func TestEmailOtherAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bobs := e.deliver("bob", store.SpecialInbox, plainMsg)
	eves := e.deliver("eve", store.SpecialInbox, plainMsg)
	res := e.must("alice", "Email/get", map[string]any{"accountId": e.acct("alice"), "ids": []string{fmt.Sprintf("E%d", bobs.ID), fmt.Sprintf("E%d", eves.ID)}})
	if len(res["list"].([]any)) != 0 || len(res["notFound"].([]any)) != 2 {
		t.Fatalf("%v", res)
	}
	if r := e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/m%d/x", e.acct("alice"), bobs.ID), nil); r.code != 404 {
		t.Fatalf("other user's blob: %d", r.code)
	}
	if r := e.do("alice", "GET", fmt.Sprintf("/jmap/download/%s/m%d/x", e.acct("bob"), bobs.ID), nil); r.code != 404 {
		t.Fatalf("other account: %d", r.code)
	}
	// A calendar item is not an Email.
	cal := e.folder("alice", store.SpecialCalendar)
	it, err := e.db.AppendItem(e.as("alice"), cal.ID, store.NewItem{Content: strings.NewReader("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), Name: "x.ics"})
	if err != nil {
		t.Fatal(err)
	}
	res = e.must("alice", "Email/get", map[string]any{"accountId": e.acct("alice"), "ids": []string{fmt.Sprintf("E%d", it.ID)}})
	if len(res["notFound"].([]any)) != 1 {
		t.Fatalf("calendar item as email: %v", res)
	}
}

func TestEmailQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	var all []string
	for i := 0; i < 5; i++ {
		msg := strings.Replace(plainMsg, "plans", fmt.Sprintf("plans %d", i), 1)
		flags := []string{}
		if i%2 == 0 {
			flags = append(flags, `\Flagged`)
		}
		it, err := e.db.AppendItem(e.as("alice"), e.folder("alice", store.SpecialInbox).ID, store.NewItem{
			Content: strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n") + strings.Repeat("x", i*10)), Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fmt.Sprintf("E%d", it.ID))
	}
	sent := e.deliver("alice", store.SpecialSent, mixedMsg)
	q := func(args map[string]any) map[string]any {
		args["accountId"] = acct
		return e.must("alice", "Email/query", args)
	}
	r := q(map[string]any{"filter": map[string]any{"inMailbox": inbox}, "sort": []any{map[string]any{"property": "size", "isAscending": false}}, "calculateTotal": true})
	if fmt.Sprint(ids(r["ids"])) != fmt.Sprint([]string{all[4], all[3], all[2], all[1], all[0]}) || r["total"] != 5.0 || r["queryState"] == "" {
		t.Fatalf("size sort %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"hasKeyword": "$flagged"}, "sort": []any{map[string]any{"property": "size"}}})
	if fmt.Sprint(ids(r["ids"])) != fmt.Sprint([]string{all[0], all[2], all[4]}) {
		t.Fatalf("hasKeyword %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"operator": "AND", "conditions": []any{
		map[string]any{"notKeyword": "$flagged"}, map[string]any{"inMailbox": inbox}}}})
	if len(ids(r["ids"])) != 2 {
		t.Fatalf("notKeyword %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"from": "bob@acme"}})
	if fmt.Sprint(ids(r["ids"])) != fmt.Sprintf("[E%d]", sent.ID) {
		t.Fatalf("from %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"subject": "café PLANS 3"}})
	if fmt.Sprint(ids(r["ids"])) != fmt.Sprint([]string{all[3]}) {
		t.Fatalf("subject %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"text": "html body"}})
	if len(ids(r["ids"])) != 1 {
		t.Fatalf("text %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"to": "team@"}, "sort": []any{map[string]any{"property": "subject"}},
		"position": 1, "limit": 2, "calculateTotal": true})
	if fmt.Sprint(ids(r["ids"])) != fmt.Sprint([]string{all[1], all[2]}) || r["position"] != 1.0 || r["total"] != 5.0 {
		t.Fatalf("paging %v", r)
	}
	// A header sort after another: each comparator compares its own key.
	r = q(map[string]any{"filter": map[string]any{"to": "team@"}, "sort": []any{
		map[string]any{"property": "hasKeyword", "keyword": "$flagged", "isAscending": false},
		map[string]any{"property": "subject", "isAscending": false}}})
	if fmt.Sprint(ids(r["ids"])) != fmt.Sprint([]string{all[4], all[2], all[0], all[3], all[1]}) {
		t.Fatalf("hasKeyword then subject %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"inMailbox": inbox}, "sort": []any{map[string]any{"property": "size"}},
		"anchor": all[3], "anchorOffset": -1, "limit": 2})
	if fmt.Sprint(ids(r["ids"])) != fmt.Sprint([]string{all[2], all[3]}) || r["position"] != 2.0 {
		t.Fatalf("anchor %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"inMailbox": inbox}, "anchor": all[3], "anchorOffset": math.MaxInt64})
	if len(ids(r["ids"])) != 0 || r["position"] != 5.0 {
		t.Fatalf("anchorOffset past the end %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"before": "2000-01-01T00:00:00Z"}})
	if len(ids(r["ids"])) != 0 {
		t.Fatalf("before %v", r)
	}
	r = q(map[string]any{"filter": map[string]any{"after": "2000-01-01T00:00:00Z"}})
	if len(ids(r["ids"])) != 6 {
		t.Fatalf("after %v", r)
	}
	for _, tc := range []struct {
		args map[string]any
		typ  string
	}{
		{map[string]any{"anchor": "E999999"}, "anchorNotFound"},
		{map[string]any{"sort": []any{map[string]any{"property": "colour"}}}, "unsupportedSort"},
		{map[string]any{"filter": map[string]any{"colour": "red"}}, "unsupportedFilter"},
		{map[string]any{"filter": map[string]any{"operator": "XOR", "conditions": []any{}}}, "unsupportedFilter"},
		{map[string]any{"limit": -1}, "invalidArguments"},
		// Each condition is tested against every message: their number is bounded.
		{map[string]any{"filter": map[string]any{"operator": "OR", "conditions": manyConditions(1001)}}, "unsupportedFilter"},
		{map[string]any{"filter": map[string]any{"inMailboxOtherThan": make([]string, 1001)}}, "unsupportedFilter"},
	} {
		tc.args["accountId"] = acct
		if n, a := e.call1("alice", "Email/query", tc.args); n != "error" || a["type"] != tc.typ {
			t.Errorf("%v: %s %v", tc.args, n, a)
		}
	}
	// Email/query + Email/get with a back-reference (RFC 8620 §3.7 example).
	out := e.call("alice", fmt.Sprintf(`[
		["Email/query",{"accountId":%q,"filter":{"inMailbox":%q},"sort":[{"property":"receivedAt","isAscending":false}],"limit":2},"t0"],
		["Email/get",{"accountId":%q,"#ids":{"resultOf":"t0","name":"Email/query","path":"/ids"},"properties":["threadId","subject"]},"t1"],
		["Thread/get",{"accountId":%q,"#ids":{"resultOf":"t1","name":"Email/get","path":"/list/*/threadId"}},"t2"]
	]`, acct, inbox, acct, acct))
	if got := out[1].([]any)[1].(map[string]any)["list"].([]any); len(got) != 2 {
		t.Fatalf("Email/get by reference: %v", out[1])
	}
	th := out[2].([]any)[1].(map[string]any)["list"].([]any)
	if len(th) != 2 || len(th[0].(map[string]any)["emailIds"].([]any)) != 1 {
		t.Fatalf("Thread/get: %v", out[2])
	}
}

// Changes come from the one journal: what another protocol did (an
// append as LMTP and IMAP APPEND make it, flags as IMAP STORE sets them,
// an EXPUNGE) shows in Email/changes and Mailbox/changes.
func TestChangesFromJournal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	inbox := e.folder("alice", store.SpecialInbox)
	old := e.deliver("alice", store.SpecialInbox, plainMsg)
	state := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)
	mstate := e.must("alice", "Mailbox/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)

	res := e.must("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": state})
	if res["newState"] != state || len(res["created"].([]any))+len(res["updated"].([]any))+len(res["destroyed"].([]any)) != 0 {
		t.Fatalf("no changes yet: %v", res)
	}
	added := e.deliver("alice", store.SpecialInbox, mixedMsg)
	if _, err := e.db.UpdateFlags(e.as("alice"), inbox.ID, []uint32{old.UID}, store.FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	gone := e.deliver("alice", store.SpecialInbox, plainMsg)
	if _, err := e.db.DeleteItems(e.as("alice"), inbox.ID, []uint32{gone.UID}); err != nil {
		t.Fatal(err)
	}
	// A calendar change moves the state but is no Email change.
	if _, err := e.db.AppendItem(e.as("alice"), e.folder("alice", store.SpecialCalendar).ID, store.NewItem{Content: strings.NewReader("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), Name: "c.ics"}); err != nil {
		t.Fatal(err)
	}
	res = e.must("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": state})
	if fmt.Sprint(res["created"]) != fmt.Sprintf("[E%d]", added.ID) || fmt.Sprint(res["updated"]) != fmt.Sprintf("[E%d]", old.ID) ||
		len(res["destroyed"].([]any)) != 0 || res["newState"] == state || res["hasMoreChanges"] != false {
		t.Fatalf("changes %v", res)
	}
	newState := res["newState"].(string)
	// maxChanges pages through the same changes.
	var seen []string
	since := state
	for i := 0; i < 10; i++ {
		r := e.must("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": since, "maxChanges": 1})
		for _, k := range []string{"created", "updated", "destroyed"} {
			seen = append(seen, ids(r[k])...)
		}
		since = r["newState"].(string)
		if r["hasMoreChanges"] == false {
			break
		}
	}
	if since != newState || !slices.Contains(seen, fmt.Sprintf("E%d", added.ID)) || !slices.Contains(seen, fmt.Sprintf("E%d", old.ID)) {
		t.Fatalf("paged changes %v ending at %s", seen, since)
	}
	// A message that existed and is expunged is destroyed; moved is updated.
	if _, err := e.db.MoveItems(e.as("alice"), inbox.ID, []uint32{old.UID}, e.folder("alice", store.SpecialArchive).ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.DeleteItems(e.as("alice"), inbox.ID, []uint32{added.UID}); err != nil {
		t.Fatal(err)
	}
	res = e.must("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": newState})
	if fmt.Sprint(res["updated"]) != fmt.Sprintf("[E%d]", old.ID) || fmt.Sprint(res["destroyed"]) != fmt.Sprintf("[E%d]", added.ID) {
		t.Fatalf("move/expunge %v", res)
	}
	tr := e.must("alice", "Thread/changes", map[string]any{"accountId": acct, "sinceState": newState})
	if fmt.Sprint(tr["destroyed"]) != fmt.Sprintf("[T%d]", added.ID) || len(tr["updated"].([]any)) != 0 {
		t.Fatalf("thread changes %v", tr)
	}
	// Mailbox/changes: counts changed in inbox and archive; a new folder.
	f, err := e.db.CreateFolder(e.as("alice"), e.storeOf("alice").ID, 0, "Projects", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	mres := e.must("alice", "Mailbox/changes", map[string]any{"accountId": acct, "sinceState": mstate})
	if fmt.Sprint(mres["created"]) != fmt.Sprintf("[M%d]", f.ID) || !slices.Contains(ids(mres["updated"]), fmt.Sprintf("M%d", inbox.ID)) ||
		slices.Contains(ids(mres["updated"]), fmt.Sprintf("M%d", e.folder("alice", store.SpecialCalendar).ID)) {
		t.Fatalf("mailbox changes %v", mres)
	}
	// Unknown and future states cannot be calculated.
	for _, s := range []string{"x", "99999999", ""} {
		if n, a := e.call1("alice", "Email/changes", map[string]any{"accountId": acct, "sinceState": s}); n != "error" || a["type"] != "cannotCalculateChanges" {
			t.Errorf("state %q: %s %v", s, n, a)
		}
	}
}

// manyConditions is n hasKeyword conditions.
func manyConditions(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"hasKeyword": fmt.Sprintf("k%d", i)}
	}
	return out
}

// A store move's journal entry (store.ChangeHomeNode) changes no object:
// Mailbox/changes and Email/changes move the state and report nothing
// (the entry has no folder, and was once reported as mailbox "M0").
func TestChangesSkipHomeNode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	e.deliver("alice", store.SpecialInbox, plainMsg)
	mstate := e.must("alice", "Mailbox/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)
	estate := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)
	home := "node-b"
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{HomeNode: &home}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, since string }{{"Mailbox/changes", mstate}, {"Email/changes", estate}} {
		res := e.must("alice", c.method, map[string]any{"accountId": acct, "sinceState": c.since})
		if res["newState"] == c.since || len(ids(res["created"]))+len(ids(res["updated"]))+len(ids(res["destroyed"])) != 0 {
			t.Errorf("%s after a home node change: %v", c.method, res)
		}
	}
}
