package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestNodesAndLeases: the node registry and job leases on both backends.
// A lease is exclusive while its holder renews it and is taken over once
// it expired; drain flags travel through the registry.
func TestNodesAndLeases(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := testenv.Open(t, testenv.Options{Backend: backend})
			sys := testenv.Sys
			user := store.WithPrincipal(context.Background(), &store.Principal{Login: "someone"})
			if _, err := db.Nodes(user); !errors.Is(err, store.ErrPermission) {
				t.Errorf("Nodes as a user = %v, want ErrPermission", err)
			}
			started := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
			for _, name := range []string{"b", "a"} {
				if d, err := db.Heartbeat(sys, store.Node{Name: name, Address: name + ":1143", Roles: []string{"imap", "jobs"},
					Version: "v1", Started: started, Instance: "i-" + name}, time.Minute); err != nil || d {
					t.Fatalf("Heartbeat(%s) = %v, %v", name, d, err)
				}
			}
			if err := db.SetDraining(sys, "a", true); err != nil {
				t.Fatal(err)
			}
			if err := db.SetDraining(sys, "nobody", true); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("SetDraining(nobody) = %v, want ErrNotFound", err)
			}
			if d, err := db.Heartbeat(sys, store.Node{Name: "a", Address: "a:1143", Version: "v2", Started: started, Instance: "i-a"}, time.Minute); err != nil || !d {
				t.Errorf("Heartbeat after drain = %v, %v; want draining", d, err)
			}
			// Another process with the same name while a's heartbeat is
			// fresh: refused; once it is stale (a restarted process): taken.
			if _, err := db.Heartbeat(sys, store.Node{Name: "b", Version: "v9", Instance: "other"}, time.Minute); !errors.Is(err, store.ErrConflict) {
				t.Errorf("Heartbeat of a second process named b = %v, want ErrConflict", err)
			}
			if _, err := db.Heartbeat(sys, store.Node{Name: "b", Address: "b:1143", Roles: []string{"imap", "jobs"}, Version: "v1",
				Started: started, Instance: "i-b2", Endpoints: map[string]string{"imap": "b:1143", "lmtp": "b:24"}}, 0); err != nil {
				t.Errorf("Heartbeat of a restarted b: %v", err)
			}

			ok, err := db.AcquireLease(sys, "purge", "a", time.Hour)
			if err != nil || !ok {
				t.Fatalf("a takes the free lease: %v, %v", ok, err)
			}
			if ok, err := db.AcquireLease(sys, "purge", "b", time.Hour); err != nil || ok {
				t.Errorf("b takes a's live lease: %v, %v", ok, err)
			}
			if ok, err := db.AcquireLease(sys, "purge", "a", time.Hour); err != nil || !ok {
				t.Errorf("a renews its lease: %v, %v", ok, err)
			}
			// An expired lease (its holder died) is taken over.
			if ok, err := db.AcquireLease(sys, "quota", "a", time.Millisecond); err != nil || !ok {
				t.Fatalf("a takes quota: %v, %v", ok, err)
			}
			time.Sleep(5 * time.Millisecond)
			if ok, err := db.AcquireLease(sys, "quota", "b", time.Hour); err != nil || !ok {
				t.Errorf("b takes over the expired lease: %v, %v", ok, err)
			}
			nodes, err := db.Nodes(sys)
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes) != 2 || nodes[0].Name != "a" || nodes[1].Name != "b" {
				t.Fatalf("Nodes = %+v", nodes)
			}
			a, b := nodes[0], nodes[1]
			if !a.Draining || b.Draining || a.Version != "v2" || a.Address != "a:1143" || !a.Started.Equal(started) ||
				time.Since(a.Heartbeat) > time.Minute || strings.Join(b.Roles, ",") != "imap,jobs" ||
				b.Endpoints["imap"] != "b:1143" || b.Endpoints["lmtp"] != "b:24" || len(b.Endpoints) != 2 || a.Endpoints != nil {
				t.Errorf("nodes = %+v, %+v", a, b)
			}
			if strings.Join(a.Leases, ",") != "purge" || strings.Join(b.Leases, ",") != "quota" {
				t.Errorf("leases: a %v, b %v; want [purge], [quota]", a.Leases, b.Leases)
			}
			if err := db.ReleaseLeases(sys, "a"); err != nil {
				t.Fatal(err)
			}
			if ok, err := db.AcquireLease(sys, "purge", "b", time.Hour); err != nil || !ok {
				t.Errorf("b takes the released lease: %v, %v", ok, err)
			}
			if err := db.RemoveNode(sys, "a"); err != nil {
				t.Fatal(err)
			}
			if nodes, _ := db.Nodes(sys); len(nodes) != 1 {
				t.Errorf("after RemoveNode: %d nodes", len(nodes))
			}
		})
	}
}

// TestLeaseRace: of many nodes asking for one free lease at once, exactly
// one gets it.
func TestLeaseRace(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := testenv.Open(t, testenv.Options{Backend: backend})
			var mu sync.Mutex
			winners := 0
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					ok, err := db.AcquireLease(testenv.Sys, "race", string(rune('a'+i)), time.Hour)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						winners++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if winners != 1 {
				t.Errorf("%d nodes hold the lease, want 1", winners)
			}
		})
	}
}

// TestListenChanges: two handles on one PostgreSQL database are two
// nodes. A commit on B reaches A's hub; a commit made while A's listener
// is down is caught up from the journal heads when it reconnects.
func TestListenChanges(t *testing.T) {
	t.Parallel()
	dsn := testenv.NewPostgresSchema(t)
	open := func() *sqlstore.DB {
		db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn, Blobs: newBlobs(t, t.TempDir())})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	s := &testenv.Store{DB: b}
	s.Tenants(t, "t")
	s.User(t, "t", store.User{Login: "alice", Active: true}, "pw")
	ctx := testenv.As(t, b, "alice")
	st, err := b.UserStore(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	inbox := testenv.Folder(t, ctx, b, "alice", "inbox")

	hub := events.NewHub()
	got := make(chan events.Change, 16)
	sub := hub.SubscribeFunc(st.ID, func(c events.Change) { got <- c })
	defer sub.Close()
	synced := make(chan bool, 16)
	lctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() { stop(); <-done }()
	go func() {
		defer close(done)
		a.ListenChanges(lctx, sqlstore.ChangeListener{Publish: hub.Publish, Stores: hub.Stores,
			Synced: func(ok bool) { hub.SetSynced(ok); synced <- ok }})
	}()
	waitSynced := func() {
		t.Helper()
		for {
			select {
			case ok := <-synced:
				if ok {
					return
				}
			case <-time.After(30 * time.Second):
				t.Fatal("listener never synced")
			}
		}
	}
	waitSynced()
	// Drain the catch-up publish of the initial head.
	for len(got) > 0 {
		<-got
	}
	it, err := b.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader("Subject: x\r\n\r\nhello\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	waitChange := func(want uint64) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case c := <-got:
				if c.Seq >= want {
					return
				}
			case <-deadline:
				t.Fatalf("no change notification up to %d from the other node", want)
			}
		}
	}
	waitChange(it.ModSeq)

	// The listener's connection is cut (a PostgreSQL restart, a network
	// failure); a commit while it is away is caught up on reconnect.
	var schema string
	if err := b.QueryRowForTest(context.Background(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRowForTest(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"roost listener roost_changes:"+schema).Scan(new(int)); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for down := false; !down; {
		select {
		case ok := <-synced:
			down = !ok
		case <-deadline:
			t.Fatal("the listener did not notice its connection was cut")
		}
	}
	if g := hub.Gen(); hub.StoreGen(st.ID+1000) <= g {
		t.Error("hub without its listener claims store unchanged")
	}
	it2, err := b.AppendItem(ctx, inbox.ID, store.NewItem{Content: strings.NewReader("Subject: y\r\n\r\nhello\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	waitSynced()
	waitChange(it2.ModSeq)

	// A's own commits are not echoed back through the listener.
	for len(got) > 0 {
		<-got
	}
	if _, err := a.AppendItem(testenv.As(t, a, "alice"), inbox.ID, store.NewItem{Content: strings.NewReader("Subject: z\r\n\r\n.\r\n")}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-got:
		t.Errorf("own commit echoed: %+v", c)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestClusterUsesDatabaseClock: two nodes whose clocks are two hours
// apart still agree on who holds a lease and whether a node name is live,
// because heartbeats and expiries are written and compared in the
// database's clock. With the nodes' own clocks, the slow node's fresh
// lease and heartbeat looked two hours old to the other (taken over at
// once) and the fast node took over the other's live lease.
func TestClusterUsesDatabaseClock(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			sys := testenv.Sys
			slow := testenv.Open(t, testenv.Options{Backend: backend, Clock: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
			fast := slow.Node(t, testenv.Options{Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }})
			right := slow.Node(t, testenv.Options{})

			if ok, err := slow.AcquireLease(sys, "purge", "slow", time.Minute); err != nil || !ok {
				t.Fatalf("slow takes the free lease: %v, %v", ok, err)
			}
			if ok, err := right.AcquireLease(sys, "purge", "right", time.Minute); err != nil || ok {
				t.Errorf("a node takes the slow node's live lease: %v, %v", ok, err)
			}
			if ok, err := fast.AcquireLease(sys, "purge", "fast", time.Minute); err != nil || ok {
				t.Errorf("the fast node takes the slow node's live lease: %v, %v", ok, err)
			}
			nodes := func(db *testenv.Store) []*store.Node {
				ns, err := db.Nodes(sys)
				if err != nil {
					t.Fatal(err)
				}
				return ns
			}

			if _, err := slow.Heartbeat(sys, store.Node{Name: "n", Instance: "i-slow"}, time.Minute); err != nil {
				t.Fatal(err)
			}
			if _, err := right.Heartbeat(sys, store.Node{Name: "n", Instance: "i-right"}, time.Minute); !errors.Is(err, store.ErrConflict) {
				t.Errorf("second process named n while the slow one is live = %v, want ErrConflict", err)
			}
			if _, err := fast.Heartbeat(sys, store.Node{Name: "n", Instance: "i-fast"}, time.Minute); !errors.Is(err, store.ErrConflict) {
				t.Errorf("fast process named n while the slow one is live = %v, want ErrConflict", err)
			}
			// Every node sees the heartbeat as fresh and the lease as held.
			for _, db := range []*testenv.Store{slow, fast, right} {
				ns := nodes(db)
				if len(ns) != 1 {
					t.Fatalf("Nodes = %+v", ns)
				}
				if ns[0].Age > time.Minute {
					t.Errorf("the slow node's fresh heartbeat is %s old", ns[0].Age)
				}
			}
		})
	}
}

// TestQueueClaimUsesDatabaseClock: a message one node's queue claimed is
// not claimed again by a node whose clock runs two hours ahead (it would
// deliver it a second time); once the claim's lease has passed in the
// database's clock (its node died), another node takes it.
func TestQueueClaimUsesDatabaseClock(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := testenv.Open(t, testenv.Options{Backend: backend})
			sys := testenv.Sys
			m, err := db.Enqueue(sys, store.QueuedMessage{From: "a@example.test", Recipients: []store.QueueRecipient{{Addr: "b@example.test"}},
				Created: time.Now(), NextAttempt: time.Now(), Expires: time.Now().Add(time.Hour)}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := db.ClaimDue(sys, time.Now(), 10, 30*time.Minute); err != nil || len(got) != 1 || got[0].ID != m.ID {
				t.Fatalf("first claim: %v %v", got, err)
			}
			if got, err := db.ClaimDue(sys, time.Now().Add(2*time.Hour), 10, 30*time.Minute); err != nil || len(got) != 0 {
				t.Fatalf("a node two hours ahead claims a message another node delivers: %d, %v", len(got), err)
			}
			// A claim whose node died: its lease passes in the database.
			m2, err := db.Enqueue(sys, store.QueuedMessage{From: "a@example.test", Recipients: []store.QueueRecipient{{Addr: "c@example.test"}},
				Created: time.Now(), NextAttempt: time.Now(), Expires: time.Now().Add(time.Hour)}, strings.NewReader("Subject: y\r\n\r\ny\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := db.ClaimDue(sys, time.Now(), 10, time.Millisecond); err != nil || len(got) != 1 || got[0].ID != m2.ID {
				t.Fatalf("claim with a short lease: %v %v", got, err)
			}
			time.Sleep(5 * time.Millisecond)
			if got, err := db.ClaimDue(sys, time.Now(), 10, time.Minute); err != nil || len(got) != 1 || got[0].ID != m2.ID {
				t.Fatalf("after the lease: %v %v", got, err)
			}
		})
	}
}
