package jmapserver_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
	"github.com/roost-mail/roost/internal/testenv"
)

// countingSubmitter counts the messages a node hands to its queue.
type countingSubmitter struct {
	jmapserver.Submitter
	n *atomic.Int32
}

func (c countingSubmitter) Submit(ctx context.Context, m queue.Submission) (queue.Result, error) {
	c.n.Add(1)
	return c.Submitter.Submit(ctx, m)
}

// TestDelayedSubmissionTwoNodes: two nodes on one database (two store
// handles). Node B takes over a pending submission (Resume) and is about
// to send it when the user cancels it on node A. Exactly one of them wins,
// decided in the database: the cancel, answered as done, means nothing is
// sent. Under a per-process lock both won: the user was told "canceled"
// and node B sent the message anyway.
func TestDelayedSubmissionTwoNodes(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			hub := events.NewHub()
			s := testenv.Open(t, testenv.Options{Backend: backend, BlobGrace: -1, OnChange: hub.Publish})
			s.Tenants(t, "acme", "globex")
			for _, u := range []struct{ tenant, login string }{{"acme", "alice"}, {"acme", "bob"}, {"globex", "eve"}} {
				s.User(t, u.tenant, store.User{Login: u.login, Active: true}, password(u.login))
			}
			oa := jmapserver.Options{Store: s.DB, Blobs: s.Blobs, Hub: hub, Logger: testLogger(),
				Authenticate: testenv.Authenticator(s.DB, false), SendDelay: time.Hour}
			withQueue(&oa)
			var sentA, sentB atomic.Int32
			oa.Submitter = countingSubmitter{oa.Submitter, &sentA}
			a := jmapserver.New(oa)
			t.Cleanup(func() { a.Close() })
			srv := httptest.NewServer(a)
			t.Cleanup(srv.Close)
			e := &env{t: t, db: s.DB, hub: hub, url: srv.URL}

			// Node B: its own handle; its first write (the send decision)
			// waits until node A has answered the cancel.
			fb := storefault.New(s.Node(t, testenv.Options{BlobGrace: -1}).DB)
			reached, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			fb.SetHook(func(ctx context.Context, method string) error {
				if method == "SetStoreProps" || method == "AddStoreProp" {
					once.Do(func() {
						close(reached)
						<-release
					})
				}
				return nil
			})
			ob := oa
			ob.Store, ob.Hub, ob.Authenticate = fb, nil, testenv.Authenticator(fb, false)
			ob.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			withQueue(&ob)
			ob.Submitter = countingSubmitter{ob.Submitter, &sentB}
			b := jmapserver.New(ob)
			t.Cleanup(func() { b.Close() })

			acct := e.acct("alice")
			res := e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct, "create": map[string]any{
				"s": map[string]any{"identityId": e.aliceIdentity(), "emailId": e.draftTo("sent or canceled, not both")}}})
			id := res["created"].(map[string]any)["s"].(map[string]any)["id"].(string)

			b.Resume() // two hours later: the submission is past its time
			select {
			case <-reached:
			case <-time.After(30 * time.Second):
				t.Fatal("node B never tried to send the pending submission")
			}
			res = e.mustWith("alice", subCaps, "EmailSubmission/set", map[string]any{"accountId": acct,
				"update": map[string]any{id: map[string]any{"undoStatus": "canceled"}}})
			_, canceled := res["updated"].(map[string]any)[id]
			close(release)
			if !canceled {
				t.Fatalf("node A's cancel, before node B decided to send, lost: %v", res)
			}
			// Give node B the time to send, which it must not.
			for deadline := time.Now().Add(3 * time.Second); sentB.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if n := sentA.Load() + sentB.Load(); n != 0 {
				t.Fatalf("the user was told the submission is canceled, yet it was sent %d times", n)
			}
			got := e.mustWith("alice", subCaps, "EmailSubmission/get", map[string]any{"accountId": acct, "ids": []string{id}})
			if st := got["list"].([]any)[0].(map[string]any)["undoStatus"]; st != "canceled" {
				t.Errorf("undoStatus %v, want canceled", st)
			}
		})
	}
}
