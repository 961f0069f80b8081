package adminapi_test

import (
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/store"
)

// TestNodes: GET /v1/nodes, drain and undrain; only the system principal
// may use them (the store refuses others), and without a registry the API
// answers 501.
func TestNodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *adminapi.Options, e *env) { o.Cluster = e.db })
	e.fixture()
	if _, err := e.db.Heartbeat(sys, store.Node{Name: "n1", Address: "10.0.0.1", Roles: []string{"all"}, Version: "v1",
		Started: time.Now(), Instance: "x", PublicURL: "https://n1.example.org", ProxyURL: "https://proxy.example.org/n1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AcquireLease(sys, "purge", "n1", time.Hour); err != nil {
		t.Fatal(err)
	}
	var list []adminapi.Node
	e.call("GET", "/v1/nodes", nil, 200, &list)
	if len(list) != 1 || list[0].Name != "n1" || list[0].Address != "10.0.0.1" || list[0].Draining ||
		len(list[0].Leases) != 1 || list[0].Leases[0] != "purge" || time.Since(list[0].Heartbeat) > time.Minute ||
		list[0].PublicURL != "https://n1.example.org" || list[0].ProxyURL != "https://proxy.example.org/n1" {
		t.Fatalf("nodes = %+v", list)
	}
	e.call("POST", "/v1/nodes/n1/drain", nil, 200, nil)
	e.call("GET", "/v1/nodes", nil, 200, &list)
	if !list[0].Draining {
		t.Error("drain did not set the flag")
	}
	e.call("POST", "/v1/nodes/n1/undrain", nil, 200, nil)
	e.call("GET", "/v1/nodes", nil, 200, &list)
	if list[0].Draining {
		t.Error("undrain did not clear the flag")
	}
	if r := e.req("", "POST", "/v1/nodes/nobody/drain", nil); r.status != 404 {
		t.Errorf("drain of an unknown node: %d %s", r.status, r.body)
	}
	// The message names the verb the administrator ran.
	e.wantErr("", "POST", "/v1/nodes/nobody/undrain", nil, 404, `undrain node nobody: node "nobody": not found`)
	if r := e.req("alice", "GET", "/v1/nodes", nil); r.status != 403 {
		t.Errorf("a user lists nodes: %d %s", r.status, r.body)
	}
	if r := e.req("alice", "POST", "/v1/nodes/n1/drain", nil); r.status != 403 {
		t.Errorf("a user drains a node: %d %s", r.status, r.body)
	}

	none := newEnv(t)
	if r := none.req("", "GET", "/v1/nodes", nil); r.status != 501 {
		t.Errorf("without a registry: %d %s", r.status, r.body)
	}
}

// TestMoveStore: POST /v1/users/{login}/move switches the home node for
// the system principal; an unknown node is 404, a frontend or draining
// node 400, a tenant administrator or user 403, a missing target 400.
func TestMoveStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *adminapi.Options, e *env) { o.Cluster = e.db })
	e.fixture()
	for _, n := range []store.Node{
		{Name: "b1", Roles: []string{"all", "backend"}, Instance: "1"},
		{Name: "b2", Roles: []string{"all", "backend"}, Instance: "2"},
		{Name: "f1", Roles: []string{"all", "frontend"}, Instance: "3"},
	} {
		if _, err := e.db.Heartbeat(sys, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.SetDraining(sys, "b2", true); err != nil {
		t.Fatal(err)
	}
	var m adminapi.MoveResult
	e.call("POST", "/v1/users/alice/move", adminapi.StoreMove{To: "b1"}, 200, &m)
	if m.Login != "alice" || m.From != "" || m.To != "b1" || m.Seconds <= 0 {
		t.Errorf("move = %+v", m)
	}
	var u adminapi.User
	e.call("GET", "/v1/users/alice", nil, 200, &u)
	if u.HomeNode != "b1" {
		t.Errorf("home node after the move: %q", u.HomeNode)
	}
	for _, c := range []struct {
		who, to string
		status  int
	}{
		{"", "nowhere", 404}, {"", "f1", 400}, {"", "b2", 400}, {"", "b1", 400}, {"", "", 400}, {"alice", "b1", 403},
	} {
		if r := e.req(c.who, "POST", "/v1/users/alice/move", adminapi.StoreMove{To: c.to}); r.status != c.status {
			t.Errorf("move to %q as %q: %d %s, want %d", c.to, c.who, r.status, r.body, c.status)
		}
	}
	if r := e.req("", "POST", "/v1/users/nobody/move", adminapi.StoreMove{To: "b1"}); r.status != 404 {
		t.Errorf("move of an unknown user: %d %s", r.status, r.body)
	}
}
