package jmapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

const mdnUsing = `["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail","urn:ietf:params:jmap:submission","urn:ietf:params:jmap:mdn"]`

func (e *env) mdnCall(login, calls string) []any {
	e.t.Helper()
	r := e.do(login, "POST", "/jmap/api/", strings.NewReader(`{"using":`+mdnUsing+`,"methodCalls":`+calls+`}`), "Content-Type", "application/json")
	if r.code != 200 {
		e.t.Fatalf("API %d: %s", r.code, r.body)
	}
	return r.json(e.t)["methodResponses"].([]any)
}

func args(out []any, i int) (string, map[string]any) {
	inv := out[i].([]any)
	return inv[0].(string), inv[1].(map[string]any)
}

// Bob reads alice's message that asks for a receipt and sends an MDN
// (RFC 9007 MDN/send) through the queue; the implicit Email/set sets
// $mdnsent. The MDN arrives in alice's inbox, where MDN/parse finds the
// report and the sent message it is about; a second MDN is refused.
func TestMDNSendAndParse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withQueue)
	s := e.do("bob", "GET", "/jmap/session", nil).json(t)
	if s["capabilities"].(map[string]any)["urn:ietf:params:jmap:mdn"] == nil {
		t.Fatal("no mdn capability")
	}
	const orig = "From: Alice <alice@acme.test>\nTo: bob@acme.test\nSubject: contract\nMessage-ID: <contract-1@acme.test>\n" +
		"Disposition-Notification-To: Alice <alice@acme.test>\nOriginal-Recipient: rfc822;bob@acme.test\n\nplease confirm\n"
	sentCopy := e.deliver("alice", store.SpecialSent, orig)
	got := e.deliver("bob", store.SpecialInbox, orig)
	plain := e.deliver("bob", store.SpecialInbox, "From: alice@acme.test\nSubject: no receipt\nMessage-ID: <x@acme.test>\n\nhi\n")
	bob, alice := e.acct("bob"), e.acct("alice")
	out := e.mdnCall("bob", fmt.Sprintf(`[["Identity/get",{"accountId":%q},"i"]]`, bob))
	_, ia := args(out, 0)
	ident := ia["list"].([]any)[0].(map[string]any)["id"].(string)

	disp := `{"actionMode":"manual-action","sendingMode":"mdn-sent-manually","type":"displayed"}`
	out = e.mdnCall("bob", fmt.Sprintf(`[["MDN/send",{"accountId":%q,"identityId":%q,"send":{
		"k1":{"forEmailId":"E%d","disposition":%s,"reportingUA":"roost-test; 1.0","extensionFields":{"X-Note":"seen on phone"}}},
		"onSuccessUpdateEmail":{"#k1":{"keywords/$mdnsent":true}}},"m"]]`, bob, ident, got.ID, disp))
	if len(out) != 2 {
		t.Fatalf("want MDN/send and the implicit Email/set: %v", out)
	}
	n, res := args(out, 0)
	if n != "MDN/send" || res["notSent"] != nil {
		t.Fatalf("%s %v", n, res)
	}
	k1 := res["sent"].(map[string]any)["k1"].(map[string]any)
	if k1["finalRecipient"] != "rfc822; bob@acme.test" || k1["originalMessageId"] != "<contract-1@acme.test>" ||
		k1["originalRecipient"] != "rfc822;bob@acme.test" || k1["subject"] != "Read: contract" || k1["includeOriginalMessage"] != false {
		t.Fatalf("server-set properties %v", k1)
	}
	if n, es := args(out, 1); n != "Email/set" || !hasKey(es["updated"], fmt.Sprintf("E%d", got.ID)) {
		t.Fatalf("implicit Email/set %s %v", n, es)
	}
	kw := e.must("bob", "Email/get", map[string]any{"accountId": bob, "ids": []string{fmt.Sprintf("E%d", got.ID)}, "properties": []string{"keywords"}})
	if kw["list"].([]any)[0].(map[string]any)["keywords"].(map[string]any)["$mdnsent"] != true {
		t.Fatalf("no $mdnsent: %v", kw)
	}

	// Alice finds the MDN in her inbox (delivered by the queue) and
	// parses it.
	q := e.must("alice", "Email/query", map[string]any{"accountId": alice, "filter": map[string]any{"inMailbox": fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)}})
	ids := q["ids"].([]any)
	if len(ids) != 1 {
		t.Fatalf("alice's inbox %v", q)
	}
	g := e.must("alice", "Email/get", map[string]any{"accountId": alice, "ids": ids, "properties": []string{"blobId", "subject", "from", "inReplyTo"}})
	em := g["list"].([]any)[0].(map[string]any)
	if em["subject"] != "Read: contract" || em["from"].([]any)[0].(map[string]any)["email"] != "bob@acme.test" {
		t.Fatalf("MDN email %v", em)
	}
	out = e.mdnCall("alice", fmt.Sprintf(`[["MDN/parse",{"accountId":%q,"blobIds":[%q,"m%d","Gnope"]},"p"]]`, alice, em["blobId"], sentCopy.ID))
	_, pr := args(out, 0)
	parsed := pr["parsed"].(map[string]any)[em["blobId"].(string)].(map[string]any)
	want := map[string]any{"forEmailId": fmt.Sprintf("E%d", sentCopy.ID), "finalRecipient": "rfc822; bob@acme.test",
		"originalMessageId": "<contract-1@acme.test>", "originalRecipient": "rfc822;bob@acme.test", "reportingUA": "roost-test; 1.0",
		"subject": "Read: contract", "includeOriginalMessage": false}
	for k, v := range want {
		if parsed[k] != v {
			t.Errorf("%s = %v, want %v", k, parsed[k], v)
		}
	}
	if d := parsed["disposition"].(map[string]any); d["type"] != "displayed" || d["actionMode"] != "manual-action" || d["sendingMode"] != "mdn-sent-manually" {
		t.Errorf("disposition %v", d)
	}
	if x := parsed["extensionFields"].(map[string]any); x["X-Note"] != "seen on phone" {
		t.Errorf("extensionFields %v", x)
	}
	if !strings.Contains(parsed["textBody"].(string), "displayed") {
		t.Errorf("textBody %v", parsed["textBody"])
	}
	if np := pr["notParsable"].([]any); len(np) != 1 || np[0] != fmt.Sprintf("m%d", sentCopy.ID) {
		t.Errorf("notParsable %v", pr["notParsable"])
	}
	if nf := pr["notFound"].([]any); len(nf) != 1 || nf[0] != "Gnope" {
		t.Errorf("notFound %v", pr["notFound"])
	}

	// Refusals, each with RFC 9007's SetError, and nothing sent.
	send := func(obj string) map[string]any {
		t.Helper()
		out := e.mdnCall("bob", fmt.Sprintf(`[["MDN/send",{"accountId":%q,"identityId":%q,"send":{"x":%s}},"m"]]`, bob, ident, obj))
		n, r := args(out, 0)
		if n != "MDN/send" || r["sent"] != nil {
			t.Fatalf("%s %v", n, r)
		}
		return r["notSent"].(map[string]any)["x"].(map[string]any)
	}
	for _, tc := range []struct{ obj, typ string }{
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":%s}`, got.ID, disp), "mdnAlreadySent"},
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":%s}`, sentCopy.ID, disp), "notFound"}, // alice's email
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":%s}`, plain.ID, disp), "invalidProperties"},
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":%s,"originalMessageId":"<a@b>"}`, plain.ID, disp), "invalidProperties"},
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":{"actionMode":"x","sendingMode":"mdn-sent-manually","type":"displayed"}}`, plain.ID), "invalidProperties"},
		{fmt.Sprintf(`{"forEmailId":"E%d"}`, plain.ID), "invalidProperties"},
		{fmt.Sprintf(`{"disposition":%s}`, disp), "invalidProperties"},
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":%s,"finalRecipient":"rfc822; alice@acme.test"}`, plain.ID, disp), "forbiddenFrom"},
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":%s,"extensionFields":{"Disposition":"x"}}`, plain.ID, disp), "invalidProperties"},
		{fmt.Sprintf(`{"forEmailId":"E%d","disposition":%s,"unknown":1}`, plain.ID, disp), "invalidProperties"},
	} {
		if se := send(tc.obj); se["type"] != tc.typ {
			t.Errorf("%s: %v, want %s", tc.obj, se, tc.typ)
		}
	}
	// An unknown identity rejects the call (RFC 9007 §2.1); without the
	// capability in using the method is unknown.
	out = e.mdnCall("bob", fmt.Sprintf(`[["MDN/send",{"accountId":%q,"identityId":"Inope","send":{}},"m"]]`, bob))
	if n, r := args(out, 0); n != "error" || r["type"] != "invalidArguments" {
		t.Fatalf("%s %v", n, r)
	}
	if n, r := e.call1("bob", "MDN/parse", map[string]any{"accountId": bob, "blobIds": []string{}}); n != "error" || r["type"] != "unknownMethod" {
		t.Fatalf("%s %v", n, r)
	}
	if q := e.must("alice", "Email/query", map[string]any{"accountId": alice, "filter": map[string]any{"inMailbox": fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)}}); len(q["ids"].([]any)) != 1 {
		t.Fatalf("a refused MDN was sent: %v", q)
	}
}

func hasKey(m any, k string) bool {
	mm, ok := m.(map[string]any)
	if !ok {
		return false
	}
	_, ok = mm[k]
	return ok
}
