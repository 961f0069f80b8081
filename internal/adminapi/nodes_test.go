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
		Started: time.Now(), Instance: "x"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AcquireLease(sys, "purge", "n1", time.Hour); err != nil {
		t.Fatal(err)
	}
	var list []adminapi.Node
	e.call("GET", "/v1/nodes", nil, 200, &list)
	if len(list) != 1 || list[0].Name != "n1" || list[0].Address != "10.0.0.1" || list[0].Draining ||
		len(list[0].Leases) != 1 || list[0].Leases[0] != "purge" || time.Since(list[0].Heartbeat) > time.Minute {
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
