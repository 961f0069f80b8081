package jmapserver_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

var subCaps = []string{"urn:ietf:params:jmap:submission"}

// draftTo makes a draft from alice to bob and returns its id.
func (e *env) draftTo(subject string) string {
	e.t.Helper()
	drafts := fmt.Sprintf("M%d", e.folder("alice", store.SpecialDrafts).ID)
	res := e.must("alice", "Email/set", map[string]any{"accountId": e.acct("alice"), "create": map[string]any{"d": map[string]any{
		"mailboxIds": map[string]any{drafts: true}, "from": []any{map[string]any{"email": "alice@acme.test"}},
		"to": []any{map[string]any{"email": "bob@acme.test"}}, "subject": subject}}})
	return res["created"].(map[string]any)["d"].(map[string]any)["id"].(string)
}

func (e *env) aliceIdentity() string {
	e.t.Helper()
	l := e.mustWith("alice", subCaps, "Identity/get", map[string]any{"accountId": e.acct("alice")})["list"].([]any)
	for _, x := range l {
		if m := x.(map[string]any); m["email"] == "alice@acme.test" && m["mayDelete"] == false {
			return m["id"].(string)
		}
	}
	e.t.Fatal("no identity")
	return ""
}

func (e *env) inboxCount(login string) int {
	e.t.Helper()
	items, err := e.db.ListItems(e.as(login), e.folder(login, store.SpecialInbox).ID, 1, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(items)
}

// A send delay holds submissions as pending: canceled, nothing is sent;
// not canceled, it is sent when the delay is over and becomes final.
// EmailSubmission/get, /changes and /query follow.
func TestDelayedSubmission(t *testing.T) {
	t.Parallel()
	// The delay is long enough for the cancel below to come first even
	// on a loaded machine under -race (CI saw 2 s pass before it did).
	e := newEnv(t, withQueue, func(o *jmapserver.Options) { o.SendDelay = 8 * time.Second })
	acct := e.acct("alice")
	sess := e.do("alice", "GET", "/jmap/session", nil).json(t)
	if c := sess["accounts"].(map[string]any)[acct].(map[string]any)["accountCapabilities"].(map[string]any)["urn:ietf:params:jmap:submission"].(map[string]any); c["maxDelayedSend"] != 8.0 {
		// the delay, in seconds
		t.Fatalf("capability %v", c)
	}
	ident := e.aliceIdentity()
	state := e.mustWith("alice", subCaps, "EmailSubmission/get", map[string]any{"accountId": acct, "ids": nil})["state"].(string)
	// Two submissions; the first is canceled at once.
	res := e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "create": map[string]any{
		"a": map[string]any{"identityId": ident, "emailId": e.draftTo("cancel me")},
		"b": map[string]any{"identityId": ident, "emailId": e.draftTo("send me")}}})
	ca := res["created"].(map[string]any)["a"].(map[string]any)
	cb := res["created"].(map[string]any)["b"].(map[string]any)
	if ca["undoStatus"] != "pending" || cb["undoStatus"] != "pending" || res["newState"] == state {
		t.Fatalf("created %v", res)
	}
	ida, idb := ca["id"].(string), cb["id"].(string)
	res = e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "update": map[string]any{ida: map[string]any{"undoStatus": "canceled"}}})
	if _, ok := res["updated"].(map[string]any)[ida]; !ok {
		t.Fatalf("cancel %v", res)
	}
	// Wait for b to be sent.
	deadline := time.Now().Add(40 * time.Second)
	for e.inboxCount("bob") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := e.mustWith("alice", subCaps, "EmailSubmission/get", map[string]any{"accountId": acct, "ids": []string{ida, idb}})
	st := map[string]any{}
	for _, x := range got["list"].([]any) {
		st[x.(map[string]any)["id"].(string)] = x.(map[string]any)["undoStatus"]
	}
	if st[ida] != "canceled" || st[idb] != "final" || e.inboxCount("bob") != 1 {
		t.Fatalf("after the delay: %v, bob has %d", got, e.inboxCount("bob"))
	}
	// Final cannot be undone.
	res = e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "update": map[string]any{idb: map[string]any{"undoStatus": "canceled"}}})
	if setErr(res, "notUpdated", idb) != "cannotUnsend" {
		t.Fatalf("undo final %v", res)
	}
	ch := e.mustWith("alice", subCaps, "EmailSubmission/changes", map[string]any{"accountId": acct, "sinceState": state})
	if len(ch["created"].([]any)) != 2 {
		t.Fatalf("changes %v", ch)
	}
	mid := ch["newState"].(string)
	q := e.mustWith("alice", subCaps, "EmailSubmission/query", map[string]any{"accountId": acct, "filter": map[string]any{"undoStatus": "final"}})
	if fmt.Sprint(q["ids"]) != "["+idb+"]" {
		t.Fatalf("query %v", q)
	}
	res = e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "destroy": []string{ida}})
	ch = e.mustWith("alice", subCaps, "EmailSubmission/changes", map[string]any{"accountId": acct, "sinceState": mid})
	if fmt.Sprint(ch["destroyed"]) != "["+ida+"]" {
		t.Fatalf("changes after destroy %v", ch)
	}
	for _, tc := range []struct {
		method string
		args   map[string]any
		err    string
	}{
		{"EmailSubmission/changes", map[string]any{"sinceState": "u999"}, "cannotCalculateChanges"},
		{"EmailSubmission/set", map[string]any{"ifInState": "u0"}, "stateMismatch"},
		{"EmailSubmission/query", map[string]any{"sort": []any{map[string]any{"property": "colour"}}}, "unsupportedSort"},
		{"EmailSubmission/get", map[string]any{"accountId": e.acct("bob")}, "accountNotFound"},
	} {
		args := map[string]any{"accountId": acct}
		for k, v := range tc.args {
			args[k] = v
		}
		if n, a := e.callWith("alice", subCaps, tc.method, args); errType(n, a) != tc.err {
			t.Errorf("%s %v: %s %v", tc.method, tc.args, n, a)
		}
	}
	// The canceled one was never sent.
	if e.inboxCount("bob") != 1 {
		t.Fatalf("bob has %d messages", e.inboxCount("bob"))
	}
}

// Identity/set: another identity for one's own address, changes to an
// address's identity; someone else's address is forbiddenFrom.
func TestIdentitySet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withQueue)
	acct := e.acct("alice")
	ident := e.aliceIdentity()
	res := e.mustWith("alice", subCaps, "Identity/set", map[string]any{"accountId": acct,
		"create": map[string]any{
			"n":   map[string]any{"email": "ALICE@acme.test", "name": "Alice at work", "textSignature": "-- \nAlice"},
			"bad": map[string]any{"email": "bob@acme.test", "name": "Not Bob"},
			"big": map[string]any{"email": "alice@acme.test", "htmlSignature": string(make([]byte, 70000))},
		},
		"update":  map[string]any{ident: map[string]any{"name": "Alice A.", "replyTo": []any{map[string]any{"email": "help@acme.test"}}}},
		"destroy": []string{ident}})
	if setErr(res, "notCreated", "bad") != "forbiddenFrom" || setErr(res, "notCreated", "big") != "invalidProperties" ||
		setErr(res, "notDestroyed", ident) != "forbidden" {
		t.Fatalf("Identity/set %v", res)
	}
	nid := res["created"].(map[string]any)["n"].(map[string]any)["id"].(string)
	l := e.mustWith("alice", subCaps, "Identity/get", map[string]any{"accountId": acct, "ids": []string{ident, nid}})["list"].([]any)
	a, n := l[0].(map[string]any), l[1].(map[string]any)
	if a["name"] != "Alice A." || fmt.Sprint(a["replyTo"]) != "[map[email:help@acme.test]]" ||
		n["name"] != "Alice at work" || n["email"] != "alice@acme.test" || n["mayDelete"] != true || n["textSignature"] != "-- \nAlice" {
		t.Fatalf("identities %v", l)
	}
	// The new identity sends.
	res = e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "create": map[string]any{
		"s": map[string]any{"identityId": nid, "emailId": e.draftTo("from work")}}})
	if res["created"].(map[string]any)["s"] == nil || e.inboxCount("bob") != 1 {
		t.Fatalf("submit with created identity %v", res)
	}
	res = e.mustWith("alice", subCaps, "Identity/set", map[string]any{"accountId": acct, "destroy": []string{nid}})
	if fmt.Sprint(res["destroyed"]) != "["+nid+"]" {
		t.Fatalf("destroy %v", res)
	}
	// Bob does not see alice's identities.
	if l := e.mustWith("bob", subCaps, "Identity/get", map[string]any{"accountId": e.acct("bob"), "ids": []string{ident}}); len(l["list"].([]any)) != 0 {
		t.Fatalf("bob sees %v", l)
	}
}

// TestResumeTakesOverStalledSend: the node that decided to send a
// delayed submission stopped before recording it final (and so before
// sending it). Resuming nodes take it over: it is sent once, not left
// pending forever, and a second resuming node does not send it again.
func TestResumeTakesOverStalledSend(t *testing.T) {
	t.Parallel()
	var opts jmapserver.Options
	e := newEnv(t, withQueue, func(o *jmapserver.Options) { o.SendDelay = time.Hour; opts = *o })
	acct := e.acct("alice")
	res := e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "create": map[string]any{
		"s": map[string]any{"identityId": e.aliceIdentity(), "emailId": e.draftTo("decided, then the node died")}}})
	id := res["created"].(map[string]any)["s"].(map[string]any)["id"].(string)
	sys := store.SystemContext(context.Background())
	st, err := e.db.UserStore(sys, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// The dead node's decision.
	if got, err := e.db.AddStoreProp(sys, st.ID, "jmap/subfate/"+id, "sent:0dead"); err != nil || got != "sent:0dead" {
		t.Fatalf("decide as the dead node: %q %v", got, err)
	}
	later := opts
	later.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	var sent atomic.Int32
	later.Submitter = countingSubmitter{opts.Submitter, &sent}
	for range 2 { // two nodes resume it, one after the other
		b := jmapserver.New(later)
		b.Resume()
		deadline := time.Now().Add(20 * time.Second)
		for e.inboxCount("bob") == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		b.Close()
	}
	got := e.mustWith("alice", subCaps, "EmailSubmission/get", map[string]any{"accountId": acct, "ids": []string{id}})
	if n := e.inboxCount("bob"); n != 1 || sent.Load() != 1 || got["list"].([]any)[0].(map[string]any)["undoStatus"] != "final" {
		t.Fatalf("after two resumes: bob has %d, sent %d times, %v", n, sent.Load(), got)
	}
}

// After a restart (or on another node), Resume sends a submission still
// pending a minute after its time, and push delivery resumes.
func TestResumeAfterRestart(t *testing.T) {
	t.Parallel()
	var opts jmapserver.Options
	e := newEnv(t, withQueue, func(o *jmapserver.Options) { o.SendDelay = time.Hour; opts = *o })
	acct := e.acct("alice")
	res := e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "create": map[string]any{
		"s": map[string]any{"identityId": e.aliceIdentity(), "emailId": e.draftTo("held over a restart")}}})
	id := res["created"].(map[string]any)["s"].(map[string]any)["id"].(string)
	if e.inboxCount("bob") != 0 {
		t.Fatal("sent before its time")
	}
	// The "restarted" server, two hours later.
	later := opts
	later.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	b := jmapserver.New(later)
	t.Cleanup(func() { b.Close() })
	b.Resume()
	deadline := time.Now().Add(20 * time.Second)
	for e.inboxCount("bob") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := e.mustWith("alice", subCaps, "EmailSubmission/get", map[string]any{"accountId": acct, "ids": []string{id}})
	if e.inboxCount("bob") != 1 || got["list"].([]any)[0].(map[string]any)["undoStatus"] != "final" {
		t.Fatalf("after resume: bob has %d, %v", e.inboxCount("bob"), got)
	}
}
