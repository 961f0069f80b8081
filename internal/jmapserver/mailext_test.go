package jmapserver_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// RFC 8620 §5.6 for Email and Mailbox: replaying removed/added on the
// old results gives the new ones.
func TestMailQueryChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	inbox := e.folder("alice", store.SpecialInbox)
	a := e.deliver("alice", store.SpecialInbox, plainMsg)
	b := e.deliver("alice", store.SpecialInbox, mixedMsg)
	filter := map[string]any{"inMailbox": fmt.Sprintf("M%d", inbox.ID), "notKeyword": "$seen"}
	q := e.must("alice", "Email/query", map[string]any{"accountId": acct, "filter": filter})
	if q["canCalculateChanges"] != true {
		t.Fatalf("query %v", q)
	}
	old := ids(q["ids"])
	state := q["queryState"].(string)
	// Changes: a is read (leaves the results), c arrives, b is untouched.
	e.must("alice", "Email/set", map[string]any{"accountId": acct, "update": map[string]any{fmt.Sprintf("E%d", a.ID): map[string]any{"keywords/$seen": true}}})
	c := e.deliver("alice", store.SpecialInbox, plainMsg)
	now := ids(e.must("alice", "Email/query", map[string]any{"accountId": acct, "filter": filter})["ids"])
	qc := e.must("alice", "Email/queryChanges", map[string]any{"accountId": acct, "filter": filter, "sinceQueryState": state, "calculateTotal": true})
	replayed := replay(old, qc)
	if fmt.Sprint(replayed) != fmt.Sprint(now) || qc["total"] != float64(len(now)) {
		t.Fatalf("replayed %v, query says %v (%v)", replayed, now, qc)
	}
	if !strings.Contains(fmt.Sprint(qc["removed"]), fmt.Sprintf("E%d", a.ID)) || strings.Contains(fmt.Sprint(qc["removed"]), fmt.Sprintf("E%d", b.ID)) {
		t.Fatalf("removed %v", qc)
	}
	_ = c
	for _, tc := range []struct {
		name string
		args map[string]any
		err  string
	}{
		{"bad state", map[string]any{"sinceQueryState": "x"}, "cannotCalculateChanges"},
		{"too many", map[string]any{"sinceQueryState": state, "maxChanges": 1}, "tooManyChanges"},
		{"bad maxChanges", map[string]any{"sinceQueryState": state, "maxChanges": 0}, "invalidArguments"},
		{"bad sort", map[string]any{"sinceQueryState": state, "sort": []any{map[string]any{"property": "colour"}}}, "unsupportedSort"},
		{"other account", map[string]any{"sinceQueryState": state, "accountId": e.acct("eve")}, "accountNotFound"},
	} {
		args := map[string]any{"accountId": acct}
		for k, v := range tc.args {
			args[k] = v
		}
		if n, r := e.call1("alice", "Email/queryChanges", args); errType(n, r) != tc.err {
			t.Errorf("%s: %s %v, want %s", tc.name, n, r, tc.err)
		}
	}
	// Mailbox/queryChanges: a new mailbox is added at its place.
	mq := e.must("alice", "Mailbox/query", map[string]any{"accountId": acct, "sort": []any{map[string]any{"property": "name"}}})
	mold := ids(mq["ids"])
	e.must("alice", "Mailbox/set", map[string]any{"accountId": acct, "create": map[string]any{"n": map[string]any{"name": "Aardvarks"}}})
	mnow := ids(e.must("alice", "Mailbox/query", map[string]any{"accountId": acct, "sort": []any{map[string]any{"property": "name"}}})["ids"])
	mqc := e.must("alice", "Mailbox/queryChanges", map[string]any{"accountId": acct, "sort": []any{map[string]any{"property": "name"}}, "sinceQueryState": mq["queryState"]})
	if fmt.Sprint(replay(mold, mqc)) != fmt.Sprint(mnow) || len(mqc["added"].([]any)) != 1 {
		t.Fatalf("mailbox queryChanges %v: %v vs %v", mqc, replay(mold, mqc), mnow)
	}
}

// replay applies a queryChanges response to old results (RFC 8620 §5.6).
func replay(old []string, qc map[string]any) []string {
	removed := map[string]bool{}
	for _, r := range qc["removed"].([]any) {
		removed[r.(string)] = true
	}
	var out []string
	for _, id := range old {
		if !removed[id] {
			out = append(out, id)
		}
	}
	for _, x := range qc["added"].([]any) {
		m := x.(map[string]any)
		i := int(m["index"].(float64))
		if i > len(out) {
			i = len(out)
		}
		out = append(out[:i], append([]string{m["id"].(string)}, out[i:]...)...)
	}
	return out
}

// Email/copy between accounts: from a mailbox bob shares with alice
// into alice's own, and refusals.
func TestEmailCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct, bobAcct := e.acct("alice"), e.acct("bob")
	bobInbox := e.folder("bob", store.SpecialInbox)
	bobMsg := e.deliver("bob", store.SpecialInbox, mixedMsg, `\Flagged`)
	bobID := fmt.Sprintf("E%d", bobMsg.ID)
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	create := map[string]any{"c": map[string]any{"id": bobID, "mailboxIds": map[string]any{inbox: true}}}
	// Not shared yet: bob's account does not exist for alice.
	if n, r := e.call1("alice", "Email/copy", map[string]any{"fromAccountId": bobAcct, "accountId": acct, "create": create}); errType(n, r) != "accountNotFound" {
		t.Fatalf("unshared: %s %v", n, r)
	}
	if err := e.db.SetACL(e.as("bob"), bobInbox.ID, store.UserSubject("alice"), "lr"); err != nil {
		t.Fatal(err)
	}
	res := e.must("alice", "Email/copy", map[string]any{"fromAccountId": bobAcct, "accountId": acct, "create": create})
	cr, _ := res["created"].(map[string]any)["c"].(map[string]any)
	if cr == nil || cr["id"] == bobID {
		t.Fatalf("copy %v", res)
	}
	got := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []any{cr["id"]}, "properties": []string{"subject", "keywords", "mailboxIds"}})
	o := got["list"].([]any)[0].(map[string]any)
	if o["subject"] != "report" || fmt.Sprint(o["keywords"]) != "map[$flagged:true]" || fmt.Sprint(o["mailboxIds"]) != "map["+inbox+":true]" {
		t.Fatalf("copied email %v", o)
	}
	for _, tc := range []struct {
		name  string
		args  map[string]any
		err   string
		field string
		typ   string
	}{
		{"same account", map[string]any{"fromAccountId": acct, "accountId": acct}, "invalidArguments", "", ""},
		{"other tenant", map[string]any{"fromAccountId": e.acct("eve"), "accountId": acct}, "accountNotFound", "", ""},
		{"no insert right", map[string]any{"fromAccountId": acct, "accountId": bobAcct,
			"create": map[string]any{"c": map[string]any{"id": cr["id"], "mailboxIds": map[string]any{fmt.Sprintf("M%d", bobInbox.ID): true}}}}, "", "notCreated", "forbidden"},
		{"unknown email", map[string]any{"fromAccountId": bobAcct, "accountId": acct,
			"create": map[string]any{"c": map[string]any{"id": "E999999", "mailboxIds": map[string]any{inbox: true}}}}, "", "notCreated", "notFound"},
		{"no mailbox", map[string]any{"fromAccountId": bobAcct, "accountId": acct,
			"create": map[string]any{"c": map[string]any{"id": bobID, "mailboxIds": map[string]any{}}}}, "", "notCreated", "invalidProperties"},
		{"stale ifInState", map[string]any{"fromAccountId": bobAcct, "accountId": acct, "ifInState": "1", "create": create}, "stateMismatch", "", ""},
	} {
		n, r := e.call1("alice", "Email/copy", tc.args)
		if tc.err != "" {
			if errType(n, r) != tc.err {
				t.Errorf("%s: %s %v, want %s", tc.name, n, r, tc.err)
			}
			continue
		}
		if n == "error" || setErr(r, tc.field, "c") != tc.typ {
			t.Errorf("%s: %s %v, want %s", tc.name, n, r, tc.typ)
		}
	}
	// onSuccessDestroyOriginal without the right to delete in bob's
	// inbox: the copy is made, the implicit Email/set reports the refusal.
	out := e.call("alice", mustJSON([]any{[]any{"Email/copy", map[string]any{"fromAccountId": bobAcct, "accountId": acct, "create": create,
		"onSuccessDestroyOriginal": true}, "x"}}))
	if len(out) != 2 || out[1].([]any)[0] != "Email/set" {
		t.Fatalf("implicit set %v", out)
	}
	if nd := out[1].([]any)[1].(map[string]any)["notDestroyed"].(map[string]any)[bobID]; nd == nil {
		t.Fatalf("destroyed bob's original without the right: %v", out)
	}
}

// Email/parse of a stored message, of one of its parts (an attached
// message) and of an upload; Blob/upload, Blob/get, Blob/lookup,
// Blob/copy (RFC 9404, RFC 8620 §6.3).
func TestParseAndBlobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	it := e.deliver("alice", store.SpecialInbox, mixedMsg)
	r := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader(strings.ReplaceAll(plainMsg, "\n", "\r\n")), "Content-Type", "message/rfc822")
	up := r.json(t)["blobId"].(string)
	junk := e.do("alice", "POST", "/jmap/upload/"+acct+"/", strings.NewReader("\xff\xfe not a message"), "Content-Type", "application/octet-stream").json(t)["blobId"].(string)
	res := e.must("alice", "Email/parse", map[string]any{"accountId": acct, "blobIds": []string{fmt.Sprintf("m%d", it.ID), up, junk, "Gnope"},
		"properties": []string{"subject", "from", "attachments", "threadId"}, "fetchTextBodyValues": true})
	parsed := res["parsed"].(map[string]any)
	m := parsed[fmt.Sprintf("m%d", it.ID)].(map[string]any)
	if m["subject"] != "report" || m["threadId"] != nil || len(m["attachments"].([]any)) != 1 {
		t.Fatalf("parse stored %v", m)
	}
	u := parsed[up].(map[string]any)
	if u["subject"] != "Café plans" || fmt.Sprint(res["notFound"]) != "[Gnope]" || fmt.Sprint(res["notParsable"]) != "["+junk+"]" {
		t.Fatalf("parse %v", res)
	}
	att := m["attachments"].([]any)[0].(map[string]any)["blobId"].(string)
	if d := e.do("alice", "GET", "/jmap/download/"+acct+"/"+att+"/r.pdf", nil); d.code != 200 || !strings.HasPrefix(string(d.body), "%PDF") {
		t.Fatalf("attachment of a parsed email %d %q", d.code, d.body)
	}
	blobCaps := []string{"urn:ietf:params:jmap:blob"}
	// Blob/upload from text, base64 and a range of another blob.
	bu := e.mustWith("alice", blobCaps, "Blob/upload", map[string]any{"accountId": acct, "create": map[string]any{
		"b": map[string]any{"data": []any{map[string]any{"data:asText": "Hello "}, map[string]any{"data:asBase64": base64.StdEncoding.EncodeToString([]byte("big "))},
			map[string]any{"blobId": up, "offset": 0, "length": 5}}, "type": "text/plain"},
		"bad":   map[string]any{"data": []any{map[string]any{"blobId": up, "offset": 1 << 30, "length": 5}}},
		"none":  map[string]any{"data": []any{map[string]any{"blobId": "Gnope"}}},
		"empty": map[string]any{"data": []any{}},
	}})
	b := bu["created"].(map[string]any)["b"].(map[string]any)
	nc := bu["notCreated"].(map[string]any)
	if b["size"] != 15.0 || setErr(bu, "notCreated", "bad") != "invalidProperties" || setErr(bu, "notCreated", "none") != "blobNotFound" || nc["empty"] == nil {
		t.Fatalf("Blob/upload %v", bu)
	}
	bid := b["id"].(string)
	g := e.mustWith("alice", blobCaps, "Blob/get", map[string]any{"accountId": acct, "ids": []string{bid, "Gnope"},
		"properties": []string{"data:asText", "digest:sha-256", "size"}})
	obj := g["list"].([]any)[0].(map[string]any)
	sum := sha256.Sum256([]byte("Hello big From:"))
	if obj["data:asText"] != "Hello big From:" || obj["digest:sha-256"] != base64.StdEncoding.EncodeToString(sum[:]) || obj["size"] != 15.0 ||
		fmt.Sprint(g["notFound"]) != "[Gnope]" {
		t.Fatalf("Blob/get %v", g)
	}
	g = e.mustWith("alice", blobCaps, "Blob/get", map[string]any{"accountId": acct, "ids": []string{bid}, "properties": []string{"data"}, "offset": 6, "length": 100})
	obj = g["list"].([]any)[0].(map[string]any)
	if obj["data:asText"] != "big From:" || obj["isTruncated"] != true {
		t.Fatalf("Blob/get range %v", g)
	}
	// A length so large that offset+length overflows is still a range
	// past the end: truncated for Blob/get, refused for Blob/upload.
	g = e.mustWith("alice", blobCaps, "Blob/get", map[string]any{"accountId": acct, "ids": []string{bid}, "properties": []string{"data"}, "offset": 6, "length": int64(math.MaxInt64)})
	obj = g["list"].([]any)[0].(map[string]any)
	if obj["data:asText"] != "big From:" || obj["isTruncated"] != true {
		t.Fatalf("Blob/get huge range %v", g)
	}
	bu = e.mustWith("alice", blobCaps, "Blob/upload", map[string]any{"accountId": acct, "create": map[string]any{
		"huge": map[string]any{"data": []any{map[string]any{"blobId": bid, "offset": 6, "length": int64(math.MaxInt64)}}}}})
	if setErr(bu, "notCreated", "huge") != "invalidProperties" {
		t.Fatalf("Blob/upload huge range %v", bu)
	}
	g = e.mustWith("alice", blobCaps, "Blob/get", map[string]any{"accountId": acct, "ids": []string{junk}, "properties": []string{"data:asText"}})
	if obj = g["list"].([]any)[0].(map[string]any); obj["isEncodingProblem"] != true || obj["data:asText"] != nil {
		t.Fatalf("Blob/get binary %v", g)
	}
	lk := e.mustWith("alice", blobCaps, "Blob/lookup", map[string]any{"accountId": acct, "typeNames": []string{"Email", "Mailbox"}, "ids": []string{att, bid}})
	l0 := lk["list"].([]any)[0].(map[string]any)["matchedIds"].(map[string]any)
	l1 := lk["list"].([]any)[1].(map[string]any)["matchedIds"].(map[string]any)
	if fmt.Sprint(l0["Email"]) != fmt.Sprintf("[E%d]", it.ID) || len(l1["Email"].([]any)) != 0 {
		t.Fatalf("Blob/lookup %v", lk)
	}
	if n, a := e.callWith("alice", blobCaps, "Blob/lookup", map[string]any{"accountId": acct, "typeNames": []string{"Widget"}, "ids": []string{bid}}); errType(n, a) != "unknownDataType" {
		t.Fatalf("lookup unknown type %s %v", n, a)
	}
	// Bob cannot read alice's blobs; Blob/copy from an account he cannot
	// see is accountNotFound.
	if n, a := e.callWith("bob", blobCaps, "Blob/get", map[string]any{"accountId": e.acct("bob"), "ids": []string{fmt.Sprintf("m%d", it.ID)}}); n == "error" || len(a["notFound"].([]any)) != 1 {
		t.Fatalf("bob reads alice's blob: %s %v", n, a)
	}
	if n, a := e.call1("bob", "Blob/copy", map[string]any{"fromAccountId": acct, "accountId": e.acct("bob"), "blobIds": []string{bid}}); errType(n, a) != "accountNotFound" {
		t.Fatalf("bob copies from alice: %s %v", n, a)
	}
	if err := e.db.SetACL(e.as("alice"), e.folder("alice", store.SpecialInbox).ID, store.UserSubject("bob"), "lr"); err != nil {
		t.Fatal(err)
	}
	cp := e.must("bob", "Blob/copy", map[string]any{"fromAccountId": acct, "accountId": e.acct("bob"), "blobIds": []string{fmt.Sprintf("m%d", it.ID), "Gnope"}})
	nb := cp["copied"].(map[string]any)[fmt.Sprintf("m%d", it.ID)].(string)
	if d := e.do("bob", "GET", "/jmap/download/"+e.acct("bob")+"/"+nb+"/m.eml", nil); d.code != 200 || !strings.Contains(string(d.body), "Subject: report") {
		t.Fatalf("copied blob %d %s (%v)", d.code, d.body, cp)
	}
	if setErr(cp, "notCopied", "Gnope") != "blobNotFound" {
		t.Fatalf("Blob/copy %v", cp)
	}
	// A shared folder shares its messages, not the owner's uploads.
	cp = e.must("bob", "Blob/copy", map[string]any{"fromAccountId": acct, "accountId": e.acct("bob"), "blobIds": []string{up, bid}})
	if setErr(cp, "notCopied", up) != "blobNotFound" || setErr(cp, "notCopied", bid) != "blobNotFound" {
		t.Fatalf("bob copies alice's uploads: %v", cp)
	}
	// Nor can bob put uploads into alice's account (they would push
	// hers out of the per-account upload table).
	if n, a := e.call1("bob", "Blob/copy", map[string]any{"fromAccountId": acct, "accountId": acct, "blobIds": []string{fmt.Sprintf("m%d", it.ID)}}); errType(n, a) != "accountNotFound" {
		t.Fatalf("bob copies into alice's account: %s %v", n, a)
	}
}

// RFC 8621 §5: SearchSnippet/get marks the filter's text terms, escaped
// as HTML.
func TestSearchSnippet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxObjectsInGet = 3 })
	acct := e.acct("alice")
	a := e.deliver("alice", store.SpecialInbox, plainMsg)
	b := e.deliver("alice", store.SpecialInbox, "From: x@example.com\nSubject: <b>cafe</b> & more\n\nnothing here\n")
	bobs := e.deliver("bob", store.SpecialInbox, plainMsg)
	E := func(it *store.Item) string { return fmt.Sprintf("E%d", it.ID) }
	res := e.must("alice", "SearchSnippet/get", map[string]any{"accountId": acct,
		"filter":   map[string]any{"operator": "OR", "conditions": []any{map[string]any{"text": "CAFÉ"}, map[string]any{"subject": "cafe"}}},
		"emailIds": []string{E(a), E(b), E(bobs)}})
	l := res["list"].([]any)
	sa, sb := l[0].(map[string]any), l[1].(map[string]any)
	if sa["subject"] != "<mark>Café</mark> plans" || !strings.Contains(fmt.Sprint(sa["preview"]), "at the <mark>café</mark>.") {
		t.Fatalf("snippet a %v", sa)
	}
	if sb["subject"] != "&lt;b&gt;<mark>cafe</mark>&lt;/b&gt; &amp; more" || sb["preview"] != nil {
		t.Fatalf("snippet b %v", sb)
	}
	if fmt.Sprint(res["notFound"]) != "["+E(bobs)+"]" {
		t.Fatalf("notFound %v", res)
	}
	// Terms under NOT are not highlighted.
	res = e.must("alice", "SearchSnippet/get", map[string]any{"accountId": acct,
		"filter": map[string]any{"operator": "NOT", "conditions": []any{map[string]any{"text": "café"}}}, "emailIds": []string{E(a)}})
	if s := res["list"].([]any)[0].(map[string]any); s["subject"] != nil || s["preview"] != nil {
		t.Fatalf("NOT %v", s)
	}
	if n, r := e.call1("alice", "SearchSnippet/get", map[string]any{"accountId": acct, "emailIds": []string{"E1", "E2", "E3", "E4"}}); errType(n, r) != "requestTooLarge" {
		t.Fatalf("too many: %s %v", n, r)
	}
	if n, r := e.call1("alice", "SearchSnippet/get", map[string]any{"accountId": acct, "filter": map[string]any{"colour": "red"}, "emailIds": []string{}}); errType(n, r) != "unsupportedFilter" {
		t.Fatalf("bad filter: %s %v", n, r)
	}
}
