package jmapserver_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// withQueue wires the real outbound queue with local delivery, as the app
// does, so that mail to local users is delivered at once.
func withQueue(o *jmapserver.Options) {
	b := o.Store
	d := &mail.Deliverer{Store: b}
	local := func(ctx context.Context, from string, rcpts []string, open func() (io.ReadCloser, error)) []error {
		errs := make([]error, len(rcpts))
		for i, r := range rcpts {
			users, err := b.Recipients(store.SystemContext(ctx), r)
			if err != nil {
				errs[i] = err
				continue
			}
			for _, res := range d.DeliverMessage(ctx, from, []mail.Recipient{{Addr: r, Users: users}}, open) {
				if res.Err != nil {
					errs[i] = res.Err
				}
			}
		}
		return errs
	}
	o.Submitter = queue.New(queue.Options{Store: b, Hostname: "mx.acme.test", Local: local,
		RetryBase: time.Minute, RetryMax: 10 * time.Minute, Lifetime: time.Hour})
}

// Identity/get lists the user's addresses; EmailSubmission/set sends a
// draft through the queue (same sender checks as SMTP submission) to a
// local user, who finds it in the inbox as IMAP would; the implicit
// Email/set moves the draft to Sent.
func TestEmailSubmission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withQueue)
	acct := e.acct("alice")
	drafts := fmt.Sprintf("M%d", e.folder("alice", store.SpecialDrafts).ID)
	sent := fmt.Sprintf("M%d", e.folder("alice", store.SpecialSent).ID)
	s := e.do("alice", "GET", "/jmap/session", nil).json(t)
	if s["capabilities"].(map[string]any)["urn:ietf:params:jmap:submission"] == nil {
		t.Fatal("no submission capability")
	}
	bobState := e.must("bob", "Email/get", map[string]any{"accountId": e.acct("bob"), "ids": []string{}})["state"].(string)
	subUsing := `["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail","urn:ietf:params:jmap:submission"]`
	post := func(calls string) []any {
		r := e.do("alice", "POST", "/jmap/api/", strings.NewReader(`{"using":`+subUsing+`,"methodCalls":`+calls+`}`), "Content-Type", "application/json")
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		return r.json(t)["methodResponses"].([]any)
	}
	out := post(fmt.Sprintf(`[["Identity/get",{"accountId":%q},"i"]]`, acct))
	idl := out[0].([]any)[1].(map[string]any)["list"].([]any)
	if len(idl) != 1 || idl[0].(map[string]any)["email"] != "alice@acme.test" {
		t.Fatalf("identities %v", out)
	}
	ident := idl[0].(map[string]any)["id"].(string)

	out = post(fmt.Sprintf(`[
		["Email/set",{"accountId":%q,"create":{"d":{"mailboxIds":{%q:true},"keywords":{"$draft":true},
			"from":[{"email":"alice@acme.test"}],"to":[{"email":"bob@acme.test"}],"bcc":[{"email":"carol-not-here@acme.test"}],
			"subject":"lunch?","textBody":[{"partId":"t","type":"text/plain"}],"bodyValues":{"t":{"value":"at noon"}}}}},"a"],
		["EmailSubmission/set",{"accountId":%q,"create":{"s":{"identityId":%q,"emailId":"#d",
			"envelope":{"mailFrom":{"email":"alice@acme.test"},"rcptTo":[{"email":"bob@acme.test"}]}}},
			"onSuccessUpdateEmail":{"#s":{"mailboxIds/%s":null,"mailboxIds/%s":true,"keywords/$draft":null}}},"b"]
	]`, acct, drafts, acct, ident, drafts, sent))
	if len(out) != 3 || out[1].([]any)[0] != "EmailSubmission/set" || out[2].([]any)[0] != "Email/set" {
		t.Fatalf("responses %v", out)
	}
	sub := out[1].([]any)[1].(map[string]any)
	if sub["created"].(map[string]any)["s"].(map[string]any)["undoStatus"] != "final" {
		t.Fatalf("submission %v", sub)
	}
	if len(out[2].([]any)[1].(map[string]any)["updated"].(map[string]any)) != 1 {
		t.Fatalf("implicit Email/set %v", out[2])
	}
	// Bob has it, without the Bcc header.
	items, err := e.db.ListItems(e.as("bob"), e.folder("bob", store.SpecialInbox).ID, 1, 0)
	if err != nil || len(items) != 1 {
		t.Fatalf("bob's inbox: %v %v", items, err)
	}
	rc, err := e.db.OpenItem(e.as("bob"), items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(b), "Subject: lunch?") || strings.Contains(string(b), "carol-not-here") {
		t.Fatalf("bob got:\n%s", b)
	}
	// Local delivery (the LMTP path, mail.Deliverer) is in bob's Email/changes.
	bc := e.must("bob", "Email/changes", map[string]any{"accountId": e.acct("bob"), "sinceState": bobState})
	if fmt.Sprint(bc["created"]) != fmt.Sprintf("[E%d]", items[0].ID) {
		t.Fatalf("bob's changes %v", bc)
	}
	// Alice's draft moved to Sent.
	sentItems, _ := e.db.ListItems(e.as("alice"), e.folder("alice", store.SpecialSent).ID, 1, 0)
	if len(sentItems) != 1 {
		t.Fatalf("sent %v", sentItems)
	}
	// The queue's sender rule refuses another user's address.
	out = post(fmt.Sprintf(`[
		["Email/set",{"accountId":%q,"create":{"d":{"mailboxIds":{%q:true},"from":[{"email":"bob@acme.test"}],"to":[{"email":"bob@acme.test"}],"subject":"x"}}},"a"],
		["EmailSubmission/set",{"accountId":%q,"create":{"s":{"identityId":%q,"emailId":"#d",
			"envelope":{"mailFrom":{"email":"bob@acme.test"},"rcptTo":[{"email":"bob@acme.test"}]}}}},"b"]
	]`, acct, drafts, acct, ident))
	nc := out[1].([]any)[1].(map[string]any)["notCreated"].(map[string]any)["s"].(map[string]any)
	if nc["type"] != "forbiddenMailFrom" {
		t.Fatalf("foreign sender: %v", nc)
	}
	out = post(fmt.Sprintf(`[["EmailSubmission/set",{"accountId":%q,"create":{"s":{"identityId":"Inope","emailId":"E1"}}},"b"]]`, acct))
	if out[0].([]any)[1].(map[string]any)["notCreated"].(map[string]any)["s"].(map[string]any)["type"] != "invalidProperties" {
		t.Fatalf("bad identity %v", out)
	}
}
