package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

// maxQueueRecipients bounds the recipients of one queued message.
const maxQueueRecipients = 10000

const queueCols = `id, tenant, sender, mail_from, rcpts, size, envid, ret, attempts, last_error, created, next_attempt, expires`

func scanQueued(sc interface{ Scan(...any) error }) (*store.QueuedMessage, error) {
	var m store.QueuedMessage
	var rcpts string
	var created, next, exp int64
	if err := sc.Scan(&m.ID, &m.Tenant, &m.Sender, &m.From, &rcpts, &m.Size, &m.EnvID, &m.Ret, &m.Attempts, &m.LastError,
		&created, &next, &exp); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(rcpts), &m.Recipients); err != nil {
		return nil, fmt.Errorf("queued message %d: recipients: %w", m.ID, err)
	}
	m.Created, m.NextAttempt, m.Expires = fromMicro(created), fromMicro(next), fromMicro(exp)
	return &m, nil
}

func requireSystem(ctx context.Context, what string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	if !p.System {
		return fmt.Errorf("%s: %w", what, store.ErrPermission)
	}
	return nil
}

// queueAdmin checks that p may see and manage m: the system, system
// admins, and admins of the message's tenant.
func (t *tx) queueAdmin(p *store.Principal, m *store.QueuedMessage) bool {
	if p.IsSystemAdmin() {
		return true
	}
	if p.Admin < store.AdminTenant || m.Tenant == "" {
		return false
	}
	tn, err := t.tenantByName(m.Tenant)
	return err == nil && p.AdministersTenant(tn.ID)
}

// Enqueue implements store.Queue.
func (d *DB) Enqueue(ctx context.Context, m store.QueuedMessage, content io.Reader) (*store.QueuedMessage, error) {
	if err := requireSystem(ctx, "enqueue"); err != nil {
		return nil, err
	}
	if len(m.Recipients) == 0 || len(m.Recipients) > maxQueueRecipients {
		return nil, fmt.Errorf("a queued message needs 1 to %d recipients: %w", maxQueueRecipients, store.ErrInvalid)
	}
	for i := range m.Recipients {
		if m.Recipients[i].Addr == "" {
			return nil, fmt.Errorf("empty recipient: %w", store.ErrInvalid)
		}
		if m.Recipients[i].State == "" {
			m.Recipients[i].State = store.QueuePending
		}
	}
	rcpts, err := json.Marshal(m.Recipients)
	if err != nil {
		return nil, err
	}
	c, err := d.storeContent(ctx, content)
	if err != nil {
		return nil, err
	}
	m.Size = c.size
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = m.Created
	}
	if m.Expires.IsZero() {
		m.Expires = m.Created.Add(5 * 24 * time.Hour)
	}
	err = d.write(ctx, func(t *tx) error {
		if err := t.refNew(c); err != nil {
			return err
		}
		return t.row(`INSERT INTO queue (tenant, sender, mail_from, rcpts, blob, size, envid, ret, attempts, last_error, created, next_attempt, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.Tenant, m.Sender, m.From, string(rcpts), string(c.id), c.size, m.EnvID, m.Ret, m.Attempts, m.LastError,
			m.Created.UnixMicro(), m.NextAttempt.UnixMicro(), m.Expires.UnixMicro()).Scan(&m.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	m.Created, m.NextAttempt, m.Expires = fromMicro(m.Created.UnixMicro()), fromMicro(m.NextAttempt.UnixMicro()), fromMicro(m.Expires.UnixMicro())
	return &m, nil
}

// ClaimDue implements store.Queue.
func (d *DB) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*store.QueuedMessage, error) {
	if err := requireSystem(ctx, "claim queue"); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var out []*store.QueuedMessage
	err := d.write(ctx, func(t *tx) error {
		out = out[:0]
		// On PostgreSQL runners claiming at once skip each other's rows
		// instead of all reading the same ones and all but one coming back
		// empty while other messages are due.
		lock := ""
		if t.d.dialect == postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		// Due by the node's schedule (next_attempt, its own clock) and
		// not claimed: a claim runs until a time in the database's clock,
		// so a node whose clock runs ahead cannot take over another
		// node's message while that one still delivers it.
		rows, err := t.query(`SELECT `+queueCols+` FROM queue WHERE next_attempt <= ? AND claimed_until <= `+d.dbNow()+` ORDER BY next_attempt, id LIMIT ?`+lock, now.UnixMicro(), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			m, err := scanQueued(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range out {
			// The condition, re-read under the row's lock, keeps two
			// nodes from claiming the same message.
			res, err := t.exec(`UPDATE queue SET claimed_until = `+d.dbNow()+` + ? WHERE id = ? AND claimed_until <= `+d.dbNow(), lease.Microseconds(), m.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				m.ID = 0
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	claimed := out[:0]
	for _, m := range out {
		if m.ID != 0 {
			claimed = append(claimed, m)
		}
	}
	return claimed, nil
}

func (t *tx) queuedByID(id int64) (*store.QueuedMessage, blob.ID, error) {
	var b string
	var m *store.QueuedMessage
	row := t.row(`SELECT `+queueCols+`, blob FROM queue WHERE id = ?`, id)
	m, err := scanQueued(scanExtra{row, &b})
	if isNoRows(err) {
		return nil, "", fmt.Errorf("queued message %d: %w", id, store.ErrNotFound)
	}
	return m, blob.ID(b), err
}

// scanExtra scans queueCols and then one more column.
type scanExtra struct {
	sc    interface{ Scan(...any) error }
	extra any
}

func (s scanExtra) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.extra)...) }

// OpenQueued implements store.Queue.
func (d *DB) OpenQueued(ctx context.Context, id int64) (io.ReadCloser, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var b blob.ID
	if err := d.read(ctx, func(t *tx) error {
		m, bid, err := t.queuedByID(id)
		if err != nil {
			return err
		}
		if !p.System && !t.queueAdmin(p, m) {
			return fmt.Errorf("queued message %d: %w", id, store.ErrNotFound)
		}
		b = bid
		return nil
	}); err != nil {
		return nil, err
	}
	r, err := d.openBlob(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("queued message %d content: %w", id, err)
	}
	return r, nil
}

// GetQueued implements store.Queue.
func (d *DB) GetQueued(ctx context.Context, id int64) (*store.QueuedMessage, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.QueuedMessage
	err = d.read(ctx, func(t *tx) error {
		m, _, err := t.queuedByID(id)
		if err != nil {
			return err
		}
		if !t.queueAdmin(p, m) {
			return fmt.Errorf("queued message %d: %w", id, store.ErrNotFound)
		}
		out = m
		return nil
	})
	return out, err
}

// ListQueue implements store.Queue.
func (d *DB) ListQueue(ctx context.Context) ([]*store.QueuedMessage, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsSystemAdmin() && p.Admin < store.AdminTenant {
		return nil, fmt.Errorf("list queue: %w", store.ErrPermission)
	}
	var out []*store.QueuedMessage
	err = d.read(ctx, func(t *tx) error {
		out = out[:0]
		rows, err := t.query(`SELECT ` + queueCols + ` FROM queue ORDER BY id LIMIT 100000`)
		if err != nil {
			return err
		}
		var all []*store.QueuedMessage
		for rows.Next() {
			m, err := scanQueued(rows)
			if err != nil {
				rows.Close()
				return err
			}
			all = append(all, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range all {
			if t.queueAdmin(p, m) {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

// UpdateQueued implements store.Queue.
func (d *DB) UpdateQueued(ctx context.Context, m *store.QueuedMessage) error {
	if err := requireSystem(ctx, "update queue"); err != nil {
		return err
	}
	if len(m.Recipients) == 0 || len(m.Recipients) > maxQueueRecipients {
		return fmt.Errorf("a queued message needs 1 to %d recipients: %w", maxQueueRecipients, store.ErrInvalid)
	}
	rcpts, err := json.Marshal(m.Recipients)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		// The attempt is over: the claim ends with it.
		res, err := t.exec(`UPDATE queue SET rcpts = ?, attempts = ?, last_error = ?, next_attempt = ?, claimed_until = 0 WHERE id = ?`,
			string(rcpts), m.Attempts, m.LastError, m.NextAttempt.UnixMicro(), m.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("queued message %d: %w", m.ID, store.ErrNotFound)
		}
		return nil
	})
}

// RetryQueued implements store.Queue.
func (d *DB) RetryQueued(ctx context.Context, id int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		m, _, err := t.queuedByID(id)
		if err != nil {
			return err
		}
		if !t.queueAdmin(p, m) {
			return fmt.Errorf("queued message %d: %w", id, store.ErrNotFound)
		}
		_, err = t.exec(`UPDATE queue SET next_attempt = ? WHERE id = ?`, t.now(), id)
		return err
	})
}

// DeleteQueued implements store.Queue.
func (d *DB) DeleteQueued(ctx context.Context, id int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		m, b, err := t.queuedByID(id)
		if err != nil {
			return err
		}
		if !t.queueAdmin(p, m) {
			return fmt.Errorf("queued message %d: %w", id, store.ErrNotFound)
		}
		if _, err := t.exec(`DELETE FROM queue WHERE id = ?`, id); err != nil {
			return err
		}
		return t.unrefBlob(string(b), 1)
	})
}

// QueueStats implements store.Queue.
func (d *DB) QueueStats(ctx context.Context) (int, time.Time, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	if !p.IsSystemAdmin() {
		return 0, time.Time{}, fmt.Errorf("queue stats: %w", store.ErrPermission)
	}
	var n int
	var oldest sql.NullInt64
	err = d.read(ctx, func(t *tx) error {
		return t.row(`SELECT COUNT(*), MIN(created) FROM queue`).Scan(&n, &oldest)
	})
	if err != nil || !oldest.Valid {
		return n, time.Time{}, err
	}
	return n, fromMicro(oldest.Int64), nil
}
