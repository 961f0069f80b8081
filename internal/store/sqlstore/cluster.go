package sqlstore

// The node registry and job leases (store.Cluster, docs/cluster.md).
//
// Every node upserts its row in nodes on each heartbeat; other nodes and
// `roost admin node list` read it. A run-once job (purge, quota monitor)
// runs only on the node holding its row in leases, taken or renewed with
// one conditional upsert whose WHERE re-checks the holder and the expiry
// (docs/architecture.md, "What a transaction must lock", rule 2), so two
// nodes can never both believe they hold a lease.
//
// Heartbeats and lease expiries are written and compared in the database's
// clock (dbNow), never a node's: with a node whose clock runs an hour
// behind, its leases would look expired to the others at once, and one an
// hour ahead would take over every live lease and name.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

var _ store.Cluster = (*DB)(nil)

// Heartbeat implements store.Cluster.
func (d *DB) Heartbeat(ctx context.Context, n store.Node, stale time.Duration) (bool, error) {
	if err := requireSystem(ctx, "node heartbeat"); err != nil {
		return false, err
	}
	if n.Name == "" {
		return false, fmt.Errorf("node heartbeat: no node name: %w", store.ErrInvalid)
	}
	var draining int64
	err := d.write(ctx, func(t *tx) error {
		err := t.row(`INSERT INTO nodes (name, address, roles, version, started, heartbeat, instance, endpoints, public_url, proxy_url) VALUES (?, ?, ?, ?, ?, `+d.dbNow()+`, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET address = excluded.address, roles = excluded.roles, version = excluded.version, endpoints = excluded.endpoints,
				public_url = excluded.public_url, proxy_url = excluded.proxy_url,
				started = excluded.started, heartbeat = excluded.heartbeat, instance = excluded.instance
				WHERE nodes.instance = excluded.instance OR nodes.heartbeat < `+d.dbNow()+` - ?
			RETURNING draining`,
			n.Name, n.Address, strings.Join(n.Roles, ","), n.Version, n.Started.UnixMicro(), n.Instance, joinEndpoints(n.Endpoints), n.PublicURL, n.ProxyURL, stale.Microseconds()).Scan(&draining)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("another process with the node name %q beat its heart less than %s ago (node_name must be unique; a node restarted at once waits that long): %w", n.Name, stale, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("node heartbeat %s: %w", n.Name, err)
	}
	return draining != 0, nil
}

// Nodes implements store.Cluster.
func (d *DB) Nodes(ctx context.Context) ([]*store.Node, error) {
	if err := requireSystem(ctx, "list nodes"); err != nil {
		return nil, err
	}
	var out []*store.Node
	err := d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT name, address, roles, version, started, heartbeat, ` + d.dbNow() + ` - heartbeat, draining, endpoints, public_url, proxy_url FROM nodes ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		byName := map[string]*store.Node{}
		for rows.Next() {
			var n store.Node
			var roles, endpoints string
			var started, hb, age, draining int64
			if err := rows.Scan(&n.Name, &n.Address, &roles, &n.Version, &started, &hb, &age, &draining, &endpoints, &n.PublicURL, &n.ProxyURL); err != nil {
				return err
			}
			if roles != "" {
				n.Roles = strings.Split(roles, ",")
			}
			n.Endpoints = splitEndpoints(endpoints)
			n.Started, n.Heartbeat, n.Draining = fromMicro(started), fromMicro(hb), draining != 0
			n.Age = time.Duration(max(age, 0)) * time.Microsecond
			out = append(out, &n)
			byName[n.Name] = &n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		lr, err := t.query(`SELECT job, holder FROM leases WHERE expires > ` + d.dbNow())
		if err != nil {
			return err
		}
		defer lr.Close()
		for lr.Next() {
			var job, holder string
			if err := lr.Scan(&job, &holder); err != nil {
				return err
			}
			if n := byName[holder]; n != nil {
				// The per-store leases of the search indexer
				// ("index:STORE") show as one job, "index".
				if strings.HasPrefix(job, "index:") {
					if slices.Contains(n.Leases, "index") {
						continue
					}
					job = "index"
				}
				n.Leases = append(n.Leases, job)
			}
		}
		return lr.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range out {
		sort.Strings(n.Leases)
	}
	return out, nil
}

// SetDraining implements store.Cluster.
func (d *DB) SetDraining(ctx context.Context, name string, draining bool) error {
	if err := requireSystem(ctx, "drain node"); err != nil {
		return err
	}
	v := 0
	if draining {
		v = 1
	}
	err := d.write(ctx, func(t *tx) error {
		res, err := t.exec(`UPDATE nodes SET draining = ? WHERE name = ?`, v, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("node %q: %w", name, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		verb := "drain"
		if !draining {
			verb = "undrain"
		}
		return fmt.Errorf("%s node %s: %w", verb, name, err)
	}
	return nil
}

// AcquireLease implements store.Cluster.
func (d *DB) AcquireLease(ctx context.Context, job, holder string, ttl time.Duration) (bool, error) {
	if err := requireSystem(ctx, "lease"); err != nil {
		return false, err
	}
	var got string
	err := d.write(ctx, func(t *tx) error {
		err := t.row(`INSERT INTO leases (job, holder, expires) VALUES (?, ?, `+d.dbNow()+` + ?)
			ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
				WHERE leases.holder = excluded.holder OR leases.expires <= `+d.dbNow()+`
			RETURNING holder`, job, holder, ttl.Microseconds()).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // held by another node
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", job, err)
	}
	return got == holder, nil
}

// ReleaseLeases implements store.Cluster.
func (d *DB) ReleaseLeases(ctx context.Context, holder string) error {
	if err := requireSystem(ctx, "release leases"); err != nil {
		return err
	}
	if err := d.write(ctx, func(t *tx) error {
		_, err := t.exec(`DELETE FROM leases WHERE holder = ?`, holder)
		return err
	}); err != nil {
		return fmt.Errorf("release leases of %s: %w", holder, err)
	}
	return nil
}

// RemoveNode implements store.Cluster.
func (d *DB) RemoveNode(ctx context.Context, name string) error {
	if err := requireSystem(ctx, "remove node"); err != nil {
		return err
	}
	err := d.write(ctx, func(t *tx) error {
		if _, err := t.exec(`DELETE FROM leases WHERE holder = ?`, name); err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM nodes WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("node %q: %w", name, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove node %s: %w", name, err)
	}
	return nil
}

// dbNow is the database's clock in microseconds since the epoch, as an SQL
// expression: the one clock all nodes share. PostgreSQL's now() is the
// start of the transaction; SQLite's 'now' that of the statement.
func (d *DB) dbNow() string {
	if d.dialect == postgres {
		return `CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)`
	}
	return `CAST(unixepoch('subsec') * 1000000 AS INTEGER)`
}

// Ping checks that the database answers (readiness probes).
func (d *DB) Ping(ctx context.Context) error {
	if err := d.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// joinEndpoints stores a node's endpoints as "proto=addr,proto=addr",
// sorted by protocol.
func joinEndpoints(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// splitEndpoints reads what joinEndpoints wrote.
func splitEndpoints(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(p, "="); ok {
			m[k] = v
		}
	}
	return m
}

// MoveHome implements store.Cluster.
func (d *DB) MoveHome(ctx context.Context, login, node string, stale time.Duration) (*store.Move, error) {
	if err := requireSystem(ctx, "move store"); err != nil {
		return nil, err
	}
	var out *store.Move
	err := d.write(ctx, func(t *tx) error {
		u, err := t.userByLogin(login)
		if err != nil {
			return err
		}
		// The store first, then the user (the lock order of every write):
		// two moves of one user, or a move and a change of home_node,
		// take turns, and the second reads what the first wrote.
		if u.StoreID != 0 {
			if err := t.lockStore(u.StoreID); err != nil {
				return err
			}
			if u, err = t.userByID(u.ID); err != nil {
				return err
			}
		}
		if err := t.checkHomeTarget(node, stale); err != nil {
			return err
		}
		if u.HomeNode == node {
			return fmt.Errorf("the home node of %s is %s already: %w", u.Login, node, store.ErrInvalid)
		}
		m := &store.Move{Login: u.Login, From: u.HomeNode, To: node, StoreID: u.StoreID}
		if _, err := t.exec(`UPDATE users SET home_node = ? WHERE id = ?`, node, u.ID); err != nil {
			return fmt.Errorf("home node of %s: %w", u.Login, err)
		}
		if m.Seq, err = t.journalHome(u.StoreID); err != nil {
			return err
		}
		if u.StoreID != 0 {
			s, err := t.storeByID(u.StoreID)
			if err != nil {
				return err
			}
			m.Messages = s.Messages
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("move %s to %s: %w", login, node, err)
	}
	return out, nil
}

// checkHomeTarget checks, inside a move's transaction, that node can be a
// home node: registered, a backend, not draining, alive. On PostgreSQL
// the row is read FOR SHARE, so a drain of the node waits for the move
// to commit (and the drain's own checks then see the user at home there).
func (t *tx) checkHomeTarget(node string, stale time.Duration) error {
	q := `SELECT roles, draining, ` + t.d.dbNow() + ` - heartbeat FROM nodes WHERE name = ?`
	if t.d.dialect == postgres {
		q += ` FOR SHARE`
	}
	var roles string
	var draining, age int64
	err := t.row(q, node).Scan(&roles, &draining, &age)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("node %q is not in the node registry: %w", node, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	switch {
	case !slices.Contains(strings.Split(roles, ","), "backend"):
		return fmt.Errorf("node %s does not have the backend role (roles %s): %w", node, roles, store.ErrInvalid)
	case draining != 0:
		return fmt.Errorf("node %s is draining: %w", node, store.ErrInvalid)
	case time.Duration(age)*time.Microsecond > stale:
		return fmt.Errorf("node %s is not alive: its last heartbeat was %s ago: %w", node,
			(time.Duration(age) * time.Microsecond).Truncate(time.Second), store.ErrInvalid)
	}
	return nil
}

// journalHome records in a user's private store that its owner's home
// node changed (store.ChangeHomeNode); the caller locked the store. It
// returns the entry's sequence, 0 for a user without a store yet.
func (t *tx) journalHome(storeID int64) (uint64, error) {
	if storeID == 0 {
		return 0, nil
	}
	seq, err := t.nextModSeq(storeID, 1)
	if err != nil {
		return 0, err
	}
	return seq, t.journal(storeID, seq, store.ChangeHomeNode, 0, 0, 0)
}
