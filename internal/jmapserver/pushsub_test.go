package jmapserver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// pushSink is a push gateway on 127.0.0.1 recording what it receives.
type pushSink struct {
	url string
	got chan map[string]any
}

func newPushSink(t *testing.T) *pushSink {
	ps := &pushSink{got: make(chan map[string]any, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		ps.got <- m
	}))
	t.Cleanup(srv.Close)
	ps.url = srv.URL + "/push"
	return ps
}

func (ps *pushSink) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-ps.got:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no push arrived")
		return nil
	}
}

// RFC 8620 §7.2: a subscription is verified through its URL before it
// pushes; expiry is bounded; callbacks to inner addresses are refused.
func TestPushSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) {
		o.PushAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	sink := newPushSink(t)
	far := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	res := e.must("alice", "PushSubscription/set", map[string]any{"create": map[string]any{
		"p": map[string]any{"deviceClientId": "phone", "url": sink.url, "types": []string{"Email"}, "expires": far},
		"k": map[string]any{"deviceClientId": "phone", "url": sink.url, "keys": map[string]any{"p256dh": "x", "auth": "y"}},
		"n": map[string]any{"url": sink.url},
	}})
	cr := res["created"].(map[string]any)["p"].(map[string]any)
	id := cr["id"].(string)
	if exp, _ := time.Parse(time.RFC3339, cr["expires"].(string)); exp.After(time.Now().Add(8 * 24 * time.Hour)) {
		t.Fatalf("expiry not bounded: %v", cr)
	}
	if setErr(res, "notCreated", "k") != "invalidProperties" || setErr(res, "notCreated", "n") != "invalidProperties" {
		t.Fatalf("bad creations %v", res)
	}
	v := sink.next(t)
	if v["@type"] != "PushVerification" || v["pushSubscriptionId"] != id || v["verificationCode"] == "" {
		t.Fatalf("verification %v", v)
	}
	got := e.must("alice", "PushSubscription/get", map[string]any{"ids": nil})
	o := got["list"].([]any)[0].(map[string]any)
	if o["verificationCode"] != nil || o["url"] != nil || o["deviceClientId"] != "phone" {
		t.Fatalf("get before verification %v", got)
	}
	// Unverified: a change pushes nothing; a wrong code is refused.
	res = e.must("alice", "PushSubscription/set", map[string]any{"update": map[string]any{id: map[string]any{"verificationCode": "nope"}}})
	if setErr(res, "notUpdated", id) != "invalidProperties" {
		t.Fatalf("wrong code %v", res)
	}
	res = e.must("alice", "PushSubscription/set", map[string]any{"update": map[string]any{id: map[string]any{"verificationCode": v["verificationCode"]}}})
	if _, ok := res["updated"].(map[string]any)[id]; !ok {
		t.Fatalf("verify %v", res)
	}
	e.deliver("alice", store.SpecialInbox, plainMsg)
	sc := sink.next(t)
	changed := sc["changed"].(map[string]any)[e.acct("alice")].(map[string]any)
	if sc["@type"] != "StateChange" || len(changed) != 1 || changed["Email"] == nil {
		t.Fatalf("state change %v", sc)
	}
	// Bob cannot see or change alice's subscription.
	if r := e.must("bob", "PushSubscription/get", map[string]any{"ids": []string{id}}); fmt.Sprint(r["notFound"]) != "["+id+"]" {
		t.Fatalf("bob sees %v", r)
	}
	if r := e.must("bob", "PushSubscription/set", map[string]any{"destroy": []string{id}}); setErr(r, "notDestroyed", id) != "notFound" {
		t.Fatalf("bob destroys %v", r)
	}
	res = e.must("alice", "PushSubscription/set", map[string]any{"destroy": []string{id}})
	if fmt.Sprint(res["destroyed"]) != "["+id+"]" {
		t.Fatalf("destroy %v", res)
	}
}

// Without an allowed network, callbacks to loopback, private, link-local
// and multicast addresses are refused when the subscription is made.
func TestPushSubscriptionRefusesInnerAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sink := newPushSink(t)
	for _, u := range []string{sink.url, "http://[::1]/x", "http://10.1.2.3/x", "http://192.168.1.1/x", "http://169.254.169.254/latest",
		"http://[fe80::1]/x", "http://224.0.0.1/x", "http://0.0.0.0/x", "http://localhost/x", "ftp://example.com/x", "http://user:pw@example.com/"} {
		res := e.must("alice", "PushSubscription/set", map[string]any{"create": map[string]any{"p": map[string]any{"deviceClientId": "d", "url": u}}})
		if setErr(res, "notCreated", "p") != "invalidProperties" {
			t.Errorf("%s: %v", u, res)
		}
	}
	select {
	case m := <-sink.got:
		t.Fatalf("the refused callback was called: %v", m)
	default:
	}
	if n, a := e.call1("alice", "PushSubscription/set", map[string]any{"ifInState": "x"}); errType(n, a) != "stateMismatch" {
		t.Fatalf("ifInState: %s %v", n, a)
	}
	var _ = strings.Contains
}

// A slow callback gets one post at a time per subscription: changes
// made while a post is under way are coalesced into one StateChange
// with the latest state, sent when the post ends (no goroutine and
// connection per change piling up behind it).
func TestPushCoalescesWhileSlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) {
		o.PushAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	release := make(chan struct{})
	got := make(chan map[string]any, 100)
	var blocked atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		got <- m
		if m["@type"] == "StateChange" && blocked.CompareAndSwap(false, true) {
			<-release // the first StateChange hangs until released
		}
	}))
	defer srv.Close()
	defer close(release)
	next := func() map[string]any {
		t.Helper()
		select {
		case m := <-got:
			return m
		case <-time.After(20 * time.Second):
			t.Fatal("no push arrived")
			return nil
		}
	}
	res := e.must("alice", "PushSubscription/set", map[string]any{"create": map[string]any{
		"p": map[string]any{"deviceClientId": "phone", "url": srv.URL, "types": []string{"Email"}}}})
	id := res["created"].(map[string]any)["p"].(map[string]any)["id"].(string)
	v := next()
	e.must("alice", "PushSubscription/set", map[string]any{"update": map[string]any{id: map[string]any{"verificationCode": v["verificationCode"]}}})
	e.deliver("alice", store.SpecialInbox, plainMsg)
	if m := next(); m["@type"] != "StateChange" {
		t.Fatalf("first push %v", m)
	}
	for range 10 {
		e.deliver("alice", store.SpecialInbox, plainMsg)
	}
	select {
	case m := <-got:
		t.Fatalf("a second post while the first is under way: %v", m)
	case <-time.After(2 * time.Second):
	}
	want := e.must("alice", "Email/get", map[string]any{"accountId": e.acct("alice"), "ids": []string{}})["state"]
	release <- struct{}{}
	for {
		m := next()
		if m["changed"].(map[string]any)[e.acct("alice")].(map[string]any)["Email"] == want {
			break
		}
	}
}

// Expired subscriptions do not count against the per-user limit: a
// client that never destroyed its old ones can still subscribe.
func TestPushExpiredFreeTheLimit(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	e := newEnv(t, func(o *jmapserver.Options) {
		o.PushAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.Now = func() time.Time { return time.Unix(0, now.Load()) }
	})
	sink := newPushSink(t)
	create := map[string]any{}
	for i := range 16 {
		create[fmt.Sprint("p", i)] = map[string]any{"deviceClientId": "phone", "url": sink.url}
	}
	res := e.must("alice", "PushSubscription/set", map[string]any{"create": create})
	if len(res["created"].(map[string]any)) != 16 {
		t.Fatalf("create 16: %v", res)
	}
	one := map[string]any{"create": map[string]any{"x": map[string]any{"deviceClientId": "phone", "url": sink.url}}}
	if res := e.must("alice", "PushSubscription/set", one); setErr(res, "notCreated", "x") != "overQuota" {
		t.Fatalf("17th: %v", res)
	}
	now.Add(int64(8 * 24 * time.Hour)) // all 16 have expired
	if res := e.must("alice", "PushSubscription/set", one); res["created"].(map[string]any)["x"] == nil {
		t.Fatalf("after expiry: %v", res)
	}
}
