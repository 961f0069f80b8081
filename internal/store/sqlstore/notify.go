package sqlstore

// Change notifications across nodes (PostgreSQL LISTEN/NOTIFY).
//
// A write transaction that adds journal entries sends, before it commits,
// one NOTIFY on the installation's channel with the journal head it wrote
// per store ("<sender> <store>:<seq> …"). PostgreSQL delivers a NOTIFY
// only if and when its transaction commits, so a node never hears of a
// change it cannot read yet, and a node that crashes after committing has
// notified already. The sender is a random token of this DB handle, so
// the listener skips its own commits (they were published locally).
//
// ListenChanges keeps a dedicated connection in LISTEN. Whenever it
// (re)connects it first LISTENs, then re-reads the journal heads of the
// stores that have subscribers (stores.modseq, the last sequence of each
// store's journal) and publishes them: a commit before the LISTEN is in
// those heads, a commit after it is notified, so nothing is missed across
// a reconnect. It keeps no per-store state of its own.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxPayload keeps a NOTIFY payload under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

func newSender() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// channel is the NOTIFY channel of the installation: channels are
// database-wide, and one database may hold several installations (test
// schemas), so the schema names it.
func (d *DB) initChannel(ctx context.Context) error {
	var schema string
	if err := d.wdb.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("current schema: %w", err)
	}
	d.channel = "roost_changes:" + schema
	if len(d.channel) > 63 {
		d.channel = d.channel[:63]
	}
	d.sender = newSender()
	return nil
}

// notifyNodes sends the transaction's journal heads to the other nodes
// (inside the transaction: delivered on commit).
func (t *tx) notifyNodes() error {
	if len(t.heads) == 0 {
		return nil
	}
	var b strings.Builder
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		_, err := t.q.ExecContext(t.ctx, `SELECT pg_notify($1, $2)`, t.d.channel, t.d.sender+b.String())
		b.Reset()
		if err != nil {
			return fmt.Errorf("notify nodes: %w", err)
		}
		return nil
	}
	for id, seq := range t.heads {
		fmt.Fprintf(&b, " %d:%d", id, seq)
		if b.Len() > maxPayload {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// ChangeListener is what ListenChanges reports to (the events hub).
type ChangeListener struct {
	// Publish is called for every change another node committed.
	Publish func(storeID int64, seq uint64)
	// Stores returns the stores whose journal heads are re-read after a
	// reconnect (those with subscribers).
	Stores func() []int64
	// Synced is called with false when the connection is lost (changes of
	// other nodes may go unheard) and with true once listening again and
	// caught up.
	Synced func(bool)
}

// ListenChanges hears of the commits of other nodes until ctx ends. It
// does nothing on SQLite (one node). Connection failures are logged and
// retried with backoff; it returns only when ctx ends.
func (d *DB) ListenChanges(ctx context.Context, l ChangeListener) {
	if d.dialect != postgres {
		return
	}
	l.Synced(false)
	for attempt := 0; ; attempt++ {
		err := d.listenOnce(ctx, l)
		l.Synced(false)
		if ctx.Err() != nil {
			return
		}
		wait := min(100*time.Millisecond<<min(attempt, 6), 5*time.Second)
		d.log.Warn("change listener lost its connection; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (d *DB) listenOnce(ctx context.Context, l ChangeListener) error {
	cfg, err := pgx.ParseConfig(d.pgDSN)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// Named in pg_stat_activity, for operators (and tests) to find it.
	cfg.RuntimeParams["application_name"] = d.listenerName()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{d.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Catch up: whatever was committed before the LISTEN is in the heads.
	if ids := l.Stores(); len(ids) > 0 {
		rows, err := conn.Query(ctx, `SELECT id, modseq FROM stores WHERE id = ANY($1)`, ids)
		if err != nil {
			return fmt.Errorf("journal heads: %w", err)
		}
		heads := map[int64]uint64{}
		for rows.Next() {
			var id, seq int64
			if err := rows.Scan(&id, &seq); err != nil {
				rows.Close()
				return fmt.Errorf("journal heads: %w", err)
			}
			heads[id] = uint64(seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("journal heads: %w", err)
		}
		// Every watched store is woken: its subscribers read the journal
		// from their own position, so a store that did not change costs
		// one read, once per reconnect.
		for id, seq := range heads {
			l.Publish(id, seq)
		}
	}
	l.Synced(true)
	d.log.Debug("listening for changes of other nodes", "channel", d.channel)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		sender, rest, _ := strings.Cut(n.Payload, " ")
		if sender == d.sender {
			continue
		}
		for _, f := range strings.Fields(rest) {
			a, b, ok := strings.Cut(f, ":")
			id, err1 := strconv.ParseInt(a, 10, 64)
			seq, err2 := strconv.ParseUint(b, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				d.log.Warn("malformed change notification", "payload", f)
				continue
			}
			l.Publish(id, seq)
		}
	}
}

// listenerName is the application_name of the listener's connection.
func (d *DB) listenerName() string {
	n := "roost listener " + d.channel
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}
