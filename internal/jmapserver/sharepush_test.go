package jmapserver_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestSharePushedWebSocket: WebSocket push (RFC 8887) tells bob of a
// share given to him (his ShareNotification state), follows alice's
// shared store once push is enabled again, and its pushState records
// both accounts, so a client coming back with it gets only what moved.
func TestSharePushedWebSocket(t *testing.T) { eachBackend(t, testSharePushedWebSocket) }

func testSharePushedWebSocket(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	c, _, err := e.dialWS("bob", "jmap")
	if err != nil {
		t.Fatal(err)
	}
	seq := 0
	sync := func() {
		t.Helper()
		seq++
		id := fmt.Sprintf("s%d", seq)
		wsSend(t, c, `{"@type":"Request","id":"`+id+`","using":["urn:ietf:params:jmap:core"],"methodCalls":[]}`)
		if r := wsRecv(t, c); r["requestId"] != id {
			t.Fatalf("expected the response %s, got %v", id, r)
		}
	}
	changed := func() (map[string]any, string) {
		t.Helper()
		sc := wsRecv(t, c)
		if sc["@type"] != "StateChange" {
			t.Fatalf("not a StateChange: %v", sc)
		}
		return sc["changed"].(map[string]any), sc["pushState"].(string)
	}
	wsSend(t, c, `{"@type":"WebSocketPushEnable","dataTypes":["Email","ShareNotification"]}`)
	sync()
	proj, err := e.db.CreateFolder(e.as("alice"), e.storeOf("alice").ID, 0, "Projects", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetACL(e.as("alice"), proj.ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	ch, ps1 := changed()
	if ch[bob] == nil || ch[bob].(map[string]any)["ShareNotification"] == nil || len(ch) != 1 || strings.Contains(ps1, ",") {
		t.Fatalf("push of the share: %v %s", ch, ps1)
	}
	// Enabled again with that pushState: alice's account is followed
	// now, and the client did not know its state.
	wsSend(t, c, `{"@type":"WebSocketPushEnable","dataTypes":["Email","ShareNotification"],"pushState":"`+ps1+`"}`)
	ch, ps2 := changed()
	if a, _ := ch[alice].(map[string]any); len(ch) != 1 || a["Email"] == nil || a["ShareNotification"] != nil ||
		!strings.HasPrefix(ps2, ps1+","+alice+"=") {
		t.Fatalf("catch-up of the shared account: %v %s", ch, ps2)
	}
	// Mail in the shared folder: alice's account only.
	it, err := e.db.AppendItem(e.as("alice"), proj.ID, store.NewItem{Content: strings.NewReader(crlfs(plainMsg))})
	if err != nil {
		t.Fatal(err)
	}
	ch, ps3 := changed()
	if a, _ := ch[alice].(map[string]any); len(ch) != 1 || a["Email"] != fmt.Sprint(it.ModSeq) ||
		ps3 != ps1+","+alice+"="+fmt.Sprint(it.ModSeq) {
		t.Fatalf("push of mail in the shared account: %v %s", ch, ps3)
	}
	// A current pushState gets nothing; one stale for alice's account
	// only gets that account.
	wsSend(t, c, `{"@type":"WebSocketPushEnable","dataTypes":["Email","ShareNotification"],"pushState":"`+ps3+`"}`)
	sync()
	wsSend(t, c, `{"@type":"WebSocketPushEnable","dataTypes":["Email","ShareNotification"],"pushState":"`+ps2+`"}`)
	if ch, ps := changed(); len(ch) != 1 || ch[alice] == nil || ps != ps3 {
		t.Fatalf("catch-up from a stale shared state: %v %s", ch, ps)
	}
	// Disabled: nothing from the shared account either.
	wsSend(t, c, `{"@type":"WebSocketPushDisable"}`)
	sync()
	if _, err := e.db.AppendItem(e.as("alice"), proj.ID, store.NewItem{Content: strings.NewReader(crlfs(plainMsg))}); err != nil {
		t.Fatal(err)
	}
	sync()
}

// TestSharePushedSubscription: a PushSubscription (RFC 8620 §7.2)
// carries bob's shared accounts too: a share given after the
// subscription was made is followed from then on, and a revoked one no
// longer pushes.
func TestSharePushedSubscription(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b, func(t *testing.T) {
			e := newGWEnv(t, b, func(o *jmapserver.Options) {
				o.PushAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			})
			testSharePushedSubscription(t, e)
		})
	}
}

func testSharePushedSubscription(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	sink := newPushSink(t)
	res := e.must("bob", "PushSubscription/set", map[string]any{"create": map[string]any{
		"p": map[string]any{"deviceClientId": "phone", "url": sink.url, "types": []string{"Email", "ShareNotification"}}}})
	id := res["created"].(map[string]any)["p"].(map[string]any)["id"].(string)
	v := sink.next(t)
	e.must("bob", "PushSubscription/set", map[string]any{"update": map[string]any{id: map[string]any{"verificationCode": v["verificationCode"]}}})
	next := func() map[string]any {
		t.Helper()
		sc := sink.next(t)
		if sc["@type"] != "StateChange" {
			t.Fatalf("not a StateChange: %v", sc)
		}
		return sc["changed"].(map[string]any)
	}
	proj, err := e.db.CreateFolder(e.as("alice"), e.storeOf("alice").ID, 0, "Projects", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetACL(e.as("alice"), proj.ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	if ch := next(); len(ch) != 1 || ch[bob] == nil || ch[bob].(map[string]any)["ShareNotification"] == nil {
		t.Fatalf("push of the share: %v", ch)
	}
	// Mail in the shared account pushes. The subscription starts to
	// follow alice's store when it hears of the share, just after the
	// push above: a message appended in between is not pushed (bob's
	// client reads the new account whole on the ShareNotification), so
	// one more is appended until a push names alice's Email state.
	var states []string
	var ch map[string]any
	for try := 0; ch == nil; try++ {
		if try == 5 {
			t.Fatalf("no push of mail in the shared account after %d messages", try)
		}
		it, err := e.db.AppendItem(e.as("alice"), proj.ID, store.NewItem{Content: strings.NewReader(crlfs(plainMsg))})
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, fmt.Sprint(it.ModSeq))
		select {
		case sc := <-sink.got:
			ch = sc["changed"].(map[string]any)
		case <-time.After(3 * time.Second):
		}
	}
	if len(ch) != 1 || ch[alice] == nil || !slices.Contains(states, fmt.Sprint(ch[alice].(map[string]any)["Email"])) ||
		ch[alice].(map[string]any)["ShareNotification"] != nil {
		t.Fatalf("push of mail in the shared account: %v (states %v)", ch, states)
	}
	// A late push of an earlier message, if any, is not the revocation's.
	for drained := false; !drained; {
		select {
		case sc := <-sink.got:
			if c := sc["changed"].(map[string]any); len(c) != 1 || c[alice] == nil {
				t.Fatalf("push after the shared account's mail: %v", c)
			}
		case <-time.After(time.Second):
			drained = true
		}
	}
	// Revoked: bob hears of it, then nothing more from alice's store;
	// his own mail still pushes.
	if err := e.db.SetACL(e.as("alice"), proj.ID, "user:bob", ""); err != nil {
		t.Fatal(err)
	}
	if ch := next(); len(ch) != 1 || ch[bob] == nil {
		t.Fatalf("push of the revocation: %v", ch)
	}
	if _, err := e.db.AppendItem(e.as("alice"), proj.ID, store.NewItem{Content: strings.NewReader(crlfs(plainMsg))}); err != nil {
		t.Fatal(err)
	}
	e.deliver("bob", store.SpecialInbox, plainMsg)
	if ch := next(); len(ch) != 1 || ch[bob] == nil {
		t.Fatalf("after the revocation: %v", ch)
	}
	select {
	case m := <-sink.got:
		t.Fatalf("unexpected push %v", m)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestShareNotificationOfGroup: shareWith naming a group principal
// gives each member a ShareNotification (and not the sharer), and
// pushes it to them.
func TestShareNotificationOfGroup(t *testing.T) { eachBackend(t, testShareNotificationOfGroup) }

func testShareNotificationOfGroup(t *testing.T, e *gwEnv) {
	alice, bob := e.acct("alice"), e.acct("bob")
	g, err := e.db.CreateGroup(sys, "acme", store.Group{Name: "crew", Kind: store.GroupSecurity})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddGroupMember(sys, "acme", "crew", "bob"); err != nil {
		t.Fatal(err)
	}
	s0 := e.shMust("bob", "ShareNotification/get", map[string]any{"accountId": bob})["state"]
	set := e.shMust("alice", "Mailbox/set", map[string]any{"accountId": alice, "create": map[string]any{
		"p": map[string]any{"name": "Crew", "shareWith": map[string]any{fmt.Sprintf("G%d", g.ID): map[string]any{"mayReadItems": true}}}}})
	mbox := set["created"].(map[string]any)["p"].(map[string]any)["id"].(string)
	ch := e.shMust("bob", "ShareNotification/changes", map[string]any{"accountId": bob, "sinceState": s0})
	if len(ch["created"].([]any)) != 1 {
		t.Fatalf("bob's notification changes: %v", ch)
	}
	n := firstOf(t, e.shMust("bob", "ShareNotification/get", map[string]any{"accountId": bob}))
	nr, _ := n["newRights"].(map[string]any)
	if n["objectId"] != mbox || n["objectAccountId"] != alice || n["objectType"] != "Mailbox" || nr["mayReadItems"] != true || n["oldRights"] != nil {
		t.Fatalf("bob's notification: %v", n)
	}
	if l := e.shMust("alice", "ShareNotification/get", map[string]any{"accountId": alice})["list"].([]any); len(l) != 0 {
		t.Fatalf("the sharer's notifications: %v", l)
	}
}

// countShared counts the store's SharedFolders reads.
type countShared struct {
	store.Backend
	n *atomic.Int32
}

func (c countShared) SharedFolders(ctx context.Context) ([]store.SharedFolder, error) {
	c.n.Add(1)
	return c.Backend.SharedFolders(ctx)
}

// A push subscription's watcher reads the user's shared accounts again
// when a ShareNotification is among the changes, not on every change of
// the user's store (each delivery would cost the ACL queries).
func TestPushSubscriptionReadsSharesWhenMoved(t *testing.T) {
	var n atomic.Int32
	e := newGWEnv(t, testenv.SQLite, func(o *jmapserver.Options) {
		o.PushAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.Store = countShared{Backend: o.Store, n: &n}
	})
	bob := e.acct("bob")
	sink := newPushSink(t)
	res := e.must("bob", "PushSubscription/set", map[string]any{"create": map[string]any{
		"p": map[string]any{"deviceClientId": "phone", "url": sink.url, "types": []string{"Email", "ShareNotification"}}}})
	id := res["created"].(map[string]any)["p"].(map[string]any)["id"].(string)
	v := sink.next(t)
	e.must("bob", "PushSubscription/set", map[string]any{"update": map[string]any{id: map[string]any{"verificationCode": v["verificationCode"]}}})
	pushed := func(what string) {
		t.Helper()
		sc := sink.next(t)
		if ch := sc["changed"].(map[string]any); sc["@type"] != "StateChange" || ch[bob] == nil {
			t.Fatalf("push of %s: %v", what, sc)
		}
	}
	// settled waits until the count stays the same for 300 ms.
	settled := func() int32 {
		t.Helper()
		last := n.Load()
		for {
			time.Sleep(300 * time.Millisecond)
			now := n.Load()
			if now == last {
				return now
			}
			last = now
		}
	}
	// The first change read the accounts (the watcher had none).
	e.deliver("bob", store.SpecialInbox, plainMsg)
	pushed("the first message")
	n0 := settled()
	for i := range 3 {
		e.deliver("bob", store.SpecialInbox, plainMsg)
		pushed(fmt.Sprintf("message %d", i+2))
	}
	if got := settled(); got != n0 {
		t.Fatalf("three deliveries read the shared folders %d times, want none", got-n0)
	}
	proj, err := e.db.CreateFolder(e.as("alice"), e.storeOf("alice").ID, 0, "Projects", store.FolderMail)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetACL(e.as("alice"), proj.ID, "user:bob", "lr"); err != nil {
		t.Fatal(err)
	}
	pushed("the share")
	if got := settled(); got != n0+1 {
		t.Fatalf("a share read the shared folders %d times, want once", got-n0)
	}
}
