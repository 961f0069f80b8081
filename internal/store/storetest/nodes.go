package storetest

import (
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// testNodeURLs: the URLs a node registers for HTTP clients (public_url,
// proxy_url: the sharded mode's redirect mode) are kept, listed, changed
// by the next heartbeat and cleared by one without them.
func testNodeURLs(t *testing.T, in *Instance) {
	cl, ok := in.Backend.(store.Cluster)
	if !ok {
		t.Fatal("the backend keeps no node registry (store.Cluster)")
	}
	n := store.Node{Name: "node-u", Roles: []string{"backend"}, Instance: "i-u",
		PublicURL: "https://node-u.example.org", ProxyURL: "https://proxy.example.org:8443/node-u"}
	must(cl.Heartbeat(sys, n, time.Minute))
	must(cl.Heartbeat(sys, store.Node{Name: "node-v", Roles: []string{"frontend"}, Instance: "i-v"}, time.Minute))
	get := func(name string) *store.Node {
		t.Helper()
		for _, n := range must(cl.Nodes(sys)) {
			if n.Name == name {
				return n
			}
		}
		t.Fatalf("node %s not listed", name)
		return nil
	}
	if g := get("node-u"); g.PublicURL != n.PublicURL || g.ProxyURL != n.ProxyURL {
		t.Fatalf("node-u: public %q proxy %q", g.PublicURL, g.ProxyURL)
	}
	if g := get("node-v"); g.PublicURL != "" || g.ProxyURL != "" {
		t.Fatalf("node-v without URLs: public %q proxy %q", g.PublicURL, g.ProxyURL)
	}
	n.PublicURL, n.ProxyURL = "http://127.0.0.9:8080", ""
	must(cl.Heartbeat(sys, n, time.Minute))
	if g := get("node-u"); g.PublicURL != "http://127.0.0.9:8080" || g.ProxyURL != "" {
		t.Fatalf("node-u after a heartbeat with other URLs: public %q proxy %q", g.PublicURL, g.ProxyURL)
	}
	// Another process with the node's name changes nothing.
	if _, err := cl.Heartbeat(sys, store.Node{Name: "node-u", Instance: "other", PublicURL: "https://evil.example"}, time.Minute); err == nil {
		t.Fatal("a second process named node-u was accepted")
	}
	if g := get("node-u"); g.PublicURL != "http://127.0.0.9:8080" {
		t.Fatalf("node-u after a refused heartbeat: public %q", g.PublicURL)
	}
}
