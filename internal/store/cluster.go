package store

import (
	"context"
	"time"
)

// Node is one Roost process of a cluster, as registered in the database
// it shares with the others (docs/cluster.md).
type Node struct {
	Name    string   `json:"name"`    // node_name, unique in the cluster
	Address string   `json:"address"` // node_address: where the node is reached
	Roles   []string `json:"roles"`
	Version string   `json:"version"`
	// Started is when the process started; Heartbeat its latest sign of
	// life.
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
	// Age is how long ago the latest heartbeat was, in the database's
	// clock: judge staleness by it, not by time.Since(Heartbeat), since
	// this node's clock may disagree with the database's.
	Age time.Duration `json:"-"`
	// Draining: the node accepts no new sessions and ends the ones it has
	// after a grace period (roost admin node drain).
	Draining bool `json:"draining"`
	// Leases are the run-once jobs the node holds (purge, quota, …).
	Leases []string `json:"leases,omitempty"`
	// Endpoints are the addresses a frontend of the sharded mode proxies
	// to, by protocol ("imap", "lmtp", "http"): a backend registers them
	// (docs/cluster.md).
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// PublicURL is the node's own URL for HTTP clients (public_url, e.g.
	// "https://node-b.example.com"), ProxyURL its URL through the
	// operator's reverse proxy (proxy_url, e.g.
	// "https://proxy.example.com/node-b"): where a frontend in the
	// redirect mode sends a user's clients (docs/cluster.md). "" for
	// none.
	PublicURL string `json:"public_url,omitempty"`
	ProxyURL  string `json:"proxy_url,omitempty"`
	// Instance tells two processes apart (random per process start); it
	// is not listed.
	Instance string `json:"-"`
}

// Cluster is the node registry and the leases of jobs that run on one
// node at a time. Every method needs the system principal.
type Cluster interface {
	// Heartbeat registers the node or refreshes it (address, roles,
	// version, heartbeat) and returns its draining flag, which other
	// nodes may have set. A row of another instance whose heartbeat is
	// younger than stale is another live process with the same name:
	// ErrConflict, and nothing is changed.
	Heartbeat(ctx context.Context, n Node, stale time.Duration) (draining bool, err error)
	// Nodes lists every registered node with its leases, by name.
	Nodes(ctx context.Context) ([]*Node, error)
	// SetDraining sets a node's draining flag; ErrNotFound if no node has
	// that name.
	SetDraining(ctx context.Context, name string, draining bool) error
	// AcquireLease takes or renews the lease of job for holder until ttl
	// from now, and reports whether holder has it: a lease held by
	// another node is taken over only once it expired (its holder stopped
	// renewing it: it died or was drained).
	AcquireLease(ctx context.Context, job, holder string, ttl time.Duration) (bool, error)
	// ReleaseLeases gives up every lease holder has.
	ReleaseLeases(ctx context.Context, holder string) error
	// RemoveNode forgets a node and its leases (a node removed for good).
	RemoveNode(ctx context.Context, name string) error
	// MoveHome makes node the home node of login's user (the sharded
	// mode's online store move, docs/cluster.md) in one transaction that
	// also checks the target: node must be registered (ErrNotFound), have
	// the backend role, not be draining and have beaten its heart less
	// than stale ago (ErrInvalid otherwise, as for a user already at
	// home there). The move is journaled in the user's private store
	// (ChangeHomeNode), whose notification reaches every node with the
	// commit. No content is copied: every backend reads the one database
	// and bucket, so UIDVALIDITY, UIDs and MODSEQs are those of the same
	// rows.
	MoveHome(ctx context.Context, login, node string, stale time.Duration) (*Move, error)
}

// Move is what Cluster.MoveHome did.
type Move struct {
	Login string `json:"login"`
	From  string `json:"from"` // the former home node; "" for none
	To    string `json:"to"`
	// StoreID is the user's private store (0: not created yet, nothing
	// journaled), Messages the messages in it, Seq the journal entry of
	// the move.
	StoreID  int64  `json:"store_id"`
	Messages int64  `json:"messages"`
	Seq      uint64 `json:"seq"`
}
