// Package sqlstore implements store.Backend on SQLite (modernc, pure Go)
// and PostgreSQL (pgx) with one schema and one set of queries.
//
// Writes on SQLite go through a single writer goroutine that groups the
// writes waiting at the same time into one transaction (group commit): each
// write runs in its own SAVEPOINT, so one failing write does not undo the
// others, and one fsync makes the whole batch durable before any caller is
// answered. PostgreSQL handles concurrent writers itself; there each write
// is its own transaction, retried on serialization failures.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/store"
)

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// maxBatch bounds how many writes share one SQLite transaction.
const maxBatch = 256

// DB is a store.Backend on SQL.
type DB struct {
	dialect dialect
	rdb     *sql.DB // readers
	wdb     *sql.DB // the writer (SQLite: one connection)
	wconn   *sql.Conn
	path    string // SQLite database file
	blobs   blob.Store
	log     *slog.Logger
	clock   func() time.Time // Options.Clock

	mu       sync.RWMutex
	defaults store.Defaults

	// onChange is called after a commit for every journal entry written.
	onChange func(storeID int64, seq uint64)
	// recordCutoff overrides the age after which the purge forgets
	// RecordOnce records (tests).
	recordCutoff func() time.Time
	grace        time.Duration

	rstmts, wstmts sync.Map // SQLite prepared statements by query

	lists *listCache // listings of large folders

	inflight    inflights     // large content being stored (content.go)
	orphanGrace time.Duration // blobsweep.go; 0 = an hour, < 0 = none (tests)
	filesSwept  atomic.Int64  // when sweepFiles last started (Unix ns; blobsweep.go)
	// stmts counts the SQL statements run (Statements).
	stmts atomic.Uint64

	// pgDSN, channel and sender serve change notifications across nodes
	// (PostgreSQL; notify.go).
	pgDSN, channel, sender string

	writes chan *writeReq // SQLite group commit
	done   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

type writeReq struct {
	ctx  context.Context
	fn   func(*tx) error
	errc chan error
}

// Options configure Open.
type Options struct {
	// Driver is "sqlite" or "postgres"; DSN is a file path for SQLite or a
	// postgres:// URL.
	Driver   string
	DSN      string
	Blobs    blob.Store
	Logger   *slog.Logger
	Defaults store.Defaults
	// OnChange, if set, is called after each commit for every change
	// journal entry it wrote (change notifications, IMAP IDLE).
	OnChange func(storeID int64, seq uint64)
	// BlobGrace is how long an unreferenced blob survives before a purge
	// removes its file: 0 means one minute, a negative value none.
	BlobGrace time.Duration
	// Clock is this node's clock; nil is time.Now. Tests skew it to show
	// that what nodes decide together does not depend on it.
	Clock func() time.Time
}

// Open connects, applies pending migrations and starts the writer.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Blobs == nil {
		return nil, errors.New("sqlstore: no blob store")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &DB{blobs: o.Blobs, log: o.Logger, clock: o.Clock, defaults: o.Defaults, onChange: o.OnChange, done: make(chan struct{}),
		lists: newListCache(2_000_000)}
	d.grace = o.BlobGrace
	if d.grace == 0 {
		d.grace = time.Minute
	} else if d.grace < 0 {
		d.grace = 0
	}
	if d.defaults.Locale == "" {
		d.defaults.Locale = "en_US"
	}
	var err error
	switch o.Driver {
	case "sqlite":
		d.dialect = sqlite
		// WAL with synchronous=FULL: a commit is on disk when it returns.
		path, query, _ := strings.Cut(o.DSN, "?")
		d.path = path
		if err := privateSQLite(path); err != nil { // filemode.go
			return nil, err
		}
		if query != "" {
			query += "&"
		}
		dsn := "file:" + path + "?" + query + "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
			"&_pragma=busy_timeout(30000)&_pragma=foreign_keys(0)&_txlock=immediate"
		if d.wdb, err = sql.Open("sqlite", dsn); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", o.DSN, err)
		}
		d.wdb.SetMaxOpenConns(1)
		d.wdb.SetConnMaxLifetime(0)
		d.wdb.SetMaxIdleConns(1)
		if d.rdb, err = sql.Open("sqlite", dsn+"&mode=ro"); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", o.DSN, err)
		}
		d.rdb.SetMaxOpenConns(8)
		d.rdb.SetMaxIdleConns(8)
	case "postgres":
		d.dialect = postgres
		dsn, conns, err := poolSize(o.DSN)
		if err != nil {
			return nil, err
		}
		if d.wdb, err = sql.Open("pgx", dsn); err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		d.wdb.SetMaxOpenConns(conns)
		d.wdb.SetMaxIdleConns(conns)
		d.rdb = d.wdb
		d.pgDSN = dsn
	default:
		return nil, fmt.Errorf("sqlstore: unknown driver %q", o.Driver)
	}
	if err := d.wdb.PingContext(ctx); err != nil {
		d.closeDBs()
		if d.dialect == postgres {
			return nil, pgConnectError(err)
		}
		return nil, fmt.Errorf("connect %s: %w", o.Driver, err)
	}
	if err := d.migrate(ctx); err != nil {
		d.closeDBs()
		return nil, err
	}
	if d.dialect == postgres {
		if err := d.initChannel(ctx); err != nil {
			d.closeDBs()
			return nil, err
		}
	}
	if d.dialect == sqlite {
		if d.wconn, err = d.wdb.Conn(ctx); err != nil {
			d.closeDBs()
			return nil, fmt.Errorf("sqlite writer connection: %w", err)
		}
		d.writes = make(chan *writeReq, maxBatch)
		d.wg.Add(1)
		go d.writer()
	}
	return d, nil
}

func (d *DB) closeDBs() {
	for _, m := range []*sync.Map{&d.rstmts, &d.wstmts} {
		m.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); return true })
	}
	if d.wconn != nil {
		d.wconn.Close()
	}
	d.wdb.Close()
	if d.rdb != d.wdb {
		d.rdb.Close()
	}
}

// Close stops the writer after the queued writes and closes the database.
func (d *DB) Close() error {
	d.closed.Do(func() {
		close(d.done)
		d.wg.Wait()
		d.closeDBs()
	})
	return nil
}

// SetDefaults implements store.Backend.
func (d *DB) SetDefaults(def store.Defaults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if def.Locale == "" {
		def.Locale = d.defaults.Locale
	}
	d.defaults = def
}

func (d *DB) getDefaults() store.Defaults {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.defaults
}

// tx wraps a transaction (or the reader pool) and rewrites "?" placeholders
// for PostgreSQL.
type tx struct {
	d   *DB
	ctx context.Context
	q   interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}
	writer bool // on SQLite's writer connection, inside its transaction
	afters []func()
	// heads are the journal heads this transaction wrote, by store, sent
	// with the commit to other nodes (PostgreSQL; notify.go).
	heads map[int64]uint64
}

func (t *tx) rebind(q string) string {
	if t.d.dialect != postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// stmt returns a prepared statement for q on SQLite, where parsing SQL is
// a large part of a small write's cost; nil elsewhere (pgx caches
// statements itself).
func (t *tx) stmt(q string) *sql.Stmt {
	if t.d.dialect != sqlite {
		return nil
	}
	prep, cache := t.d.rdb.PrepareContext, &t.d.rstmts
	if t.writer {
		prep, cache = t.d.wconn.PrepareContext, &t.d.wstmts
	}
	if v, ok := cache.Load(q); ok {
		return v.(*sql.Stmt)
	}
	st, err := prep(context.Background(), q)
	if err != nil {
		return nil // let the unprepared call report the error
	}
	if v, ok := cache.LoadOrStore(q, st); ok {
		st.Close()
		return v.(*sql.Stmt)
	}
	return st
}

// Statements returns how many SQL statements the store has run since it
// was opened: tests bound the queries of one protocol command with it.
func (d *DB) Statements() uint64 { return d.stmts.Load() }

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	t.d.stmts.Add(1)
	if st := t.stmt(q); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.q.ExecContext(t.ctx, t.rebind(q), args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	t.d.stmts.Add(1)
	if st := t.stmt(q); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.q.QueryContext(t.ctx, t.rebind(q), args...)
}

func (t *tx) row(q string, args ...any) *sql.Row {
	t.d.stmts.Add(1)
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.q.QueryRowContext(t.ctx, t.rebind(q), args...)
}

// after registers fn to run once the transaction has committed.
func (t *tx) after(fn func()) { t.afters = append(t.afters, fn) }

// read runs fn against the reader pool.
func (d *DB) read(ctx context.Context, fn func(*tx) error) error {
	return fn(&tx{d: d, ctx: ctx, q: d.rdb})
}

// write runs fn in a transaction and returns once it is durably committed.
func (d *DB) write(ctx context.Context, fn func(*tx) error) error {
	if d.dialect == sqlite {
		r := &writeReq{ctx: ctx, fn: fn, errc: make(chan error, 1)}
		select {
		case d.writes <- r:
		case <-ctx.Done():
			return ctx.Err()
		case <-d.done:
			return errors.New("store closed")
		}
		// Once queued the write is carried out even if ctx ends: the
		// caller must learn whether it was committed.
		return <-r.errc
	}
	var err error
	for attempt := 0; attempt < pgAttempts; attempt++ {
		err = d.pgWrite(ctx, fn)
		if !retryable(err) {
			return err
		}
		// Back off a little more each time, with jitter so that the
		// writers that collided do not collide again.
		wait := time.Duration(attempt+1)*5*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), err)
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", pgAttempts, err)
}

// pgAttempts bounds how often a PostgreSQL write is tried.
const pgAttempts = 8

// retryable reports whether a PostgreSQL write failed only because it
// raced with another one, so that running it again is the right answer:
// serialization failures (40001), deadlocks (40P01), and unique violations
// (23505) that a write did not turn into a store error itself — a row
// another transaction inserted between this one's read and its insert,
// which the next attempt reads. Write paths lock what their reads decide
// (docs/architecture.md), so these are rare.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01":
		return true
	case "23505":
		return !errors.Is(err, store.ErrConflict)
	}
	return false
}

func (d *DB) pgWrite(ctx context.Context, fn func(*tx) error) error {
	stx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{d: d, ctx: ctx, q: stx}
	if err := fn(t); err != nil {
		stx.Rollback()
		return err
	}
	if err := t.notifyNodes(); err != nil {
		stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, a := range t.afters {
		a()
	}
	return nil
}

// writer is SQLite's single writer: it batches queued writes into one
// transaction with a savepoint per write.
func (d *DB) writer() {
	defer d.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-d.writes:
		case <-d.done:
			// Drain what is queued, then stop.
			for {
				select {
				case r := <-d.writes:
					d.runBatch([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch := []*writeReq{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-d.writes:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		d.runBatch(batch)
	}
}

func (d *DB) runBatch(batch []*writeReq) {
	ctx := context.Background()
	c := d.wconn
	fail := func(err error) {
		for _, r := range batch {
			r.errc <- err
		}
	}
	// The writer connection is SQLite's only writer, so the transaction is
	// driven with plain statements; prepared statements stay valid across
	// batches on this one connection.
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	rollback := func() { c.ExecContext(ctx, "ROLLBACK") }
	errs := make([]error, len(batch))
	var afters []func()
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := c.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		t := &tx{d: d, ctx: r.ctx, q: c, writer: true}
		errs[i] = runGuarded(r.fn, t)
		if errs[i] != nil {
			if _, err := c.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				rollback()
				fail(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		} else {
			afters = append(afters, t.afters...)
		}
		if _, err := c.ExecContext(ctx, "RELEASE w"); err != nil {
			rollback()
			fail(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		rollback()
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for _, a := range afters {
		a()
	}
	for i, r := range batch {
		r.errc <- errs[i]
	}
}

// runGuarded runs fn, turning a panic into an error so that one bad write
// cannot take the writer, and every queued caller, down.
func runGuarded(fn func(*tx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store write panicked: %v", p)
		}
	}()
	return fn(t)
}

// SchemaVersion is the database schema version this build of Roost
// writes: the number of migrations it knows.
func SchemaVersion() int { return len(migrations) }

// ErrSchemaNewer is returned by Open when the database was upgraded by a
// newer Roost than this one.
var ErrSchemaNewer = errors.New("database schema is newer than this roost")

// migrationLock is the PostgreSQL advisory lock key that serialises
// migrations of nodes starting at once ("roostmig" in ASCII).
const migrationLock = 0x726f6f73746d6967

// migrate brings the schema to SchemaVersion. Each migration runs in one
// transaction together with the version bump, so a crash or an error
// leaves the database at the last fully applied version, never between
// two (SQLite and PostgreSQL both roll DDL back). On PostgreSQL every
// step takes an advisory lock and rereads the version inside its
// transaction, so nodes starting together apply each step once. Before
// changing an existing SQLite schema it copies the database next to it.
func (d *DB) migrate(ctx context.Context) error {
	v, err := d.readSchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return d.schemaNewer(v)
	}
	if v > 0 && v < len(migrations) && d.dialect == sqlite && d.path != "" {
		// Never change an existing schema without a copy to go back to.
		bak := fmt.Sprintf("%s.before-v%d.bak", d.path, len(migrations))
		if _, err := os.Stat(bak); err == nil {
			// An earlier attempt failed after the copy: that copy is the
			// older state still, keep it.
			d.log.Warn("database backup from an earlier upgrade attempt kept", "backup", bak)
		} else if _, err := d.wdb.ExecContext(ctx, `VACUUM INTO ?`, bak); err != nil {
			return fmt.Errorf("migrate: backup to %s before upgrading: %w", bak, err)
		} else {
			d.log.Info("database backed up before schema upgrade", "backup", bak, "from", v, "to", len(migrations))
		}
	}
	for {
		done, err := d.migrateStep(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (d *DB) schemaNewer(v int) error {
	hint := "restore the copy of the database taken before that upgrade (see docs/operations.md, Rollback)"
	if d.dialect == sqlite && d.path != "" {
		hint = fmt.Sprintf("restore %s.before-v%d.bak, the copy taken before that upgrade (see docs/operations.md, Rollback)", d.path, v)
	}
	return fmt.Errorf("%w: the database has schema version %d but this roost binary knows only versions up to %d; "+
		"a newer roost has upgraded it. Run that newer roost (or a later one), or, to go back to this one, %s",
		ErrSchemaNewer, v, len(migrations), hint)
}

// lockMigrations serialises migrations across PostgreSQL nodes for the
// rest of the transaction.
func (d *DB) lockMigrations(ctx context.Context, stx *sql.Tx) error {
	if d.dialect != postgres {
		return nil // _txlock=immediate: the transaction holds SQLite's write lock
	}
	_, err := stx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+fmt.Sprint(migrationLock)+`)`)
	return err
}

// readSchemaVersion creates the version table on a new database and
// returns the version.
func (d *DB) readSchemaVersion(ctx context.Context) (int, error) {
	stx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	defer stx.Rollback()
	if err := d.lockMigrations(ctx, stx); err != nil {
		return 0, fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := stx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	var v int
	err = stx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := stx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return 0, fmt.Errorf("migrate: %w", err)
		}
	} else if err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	if err := stx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return v, nil
}

// migrateStep applies the next migration, if any, in one transaction.
func (d *DB) migrateStep(ctx context.Context) (done bool, err error) {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT" // ids are never reused (caches key on them)
	bytesType := "BLOB"
	searchDoc, searchIndex := "", sqliteSearchTable // search.go
	if d.dialect == postgres {
		id = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
		bytesType = "BYTEA"
		searchDoc, searchIndex = ",\n\tdoc tsvector NOT NULL", pgSearchIndex
	}
	stx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer stx.Rollback()
	if err := d.lockMigrations(ctx, stx); err != nil {
		return false, fmt.Errorf("migrate: lock: %w", err)
	}
	var v int
	if err := stx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	if v > len(migrations) {
		return false, d.schemaNewer(v) // another node, newer, got there first
	}
	if v == len(migrations) {
		return true, nil
	}
	for _, stmt := range strings.Split(strings.NewReplacer("{{id}}", id, "{{bytes}}", bytesType, "{{search_doc}}", searchDoc, "{{search_index}}", searchIndex).Replace(migrations[v]), ";") {
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		if _, err := stx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migrate %d: %w\n%s", v+1, err, stmt)
		}
	}
	if _, err := stx.ExecContext(ctx, `UPDATE schema_version SET version = `+fmt.Sprint(v+1)); err != nil {
		return false, fmt.Errorf("migrate %d: %w", v+1, err)
	}
	if err := stx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %d: commit: %w", v+1, err)
	}
	d.log.Info("database schema migrated", "version", v+1)
	return false, nil
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// now is the node's clock in microseconds, for the times the store
// records (creation, deletion, journal dates). Decisions shared between
// nodes (leases, heartbeats, claims) use the database's clock instead
// (dbNow), since the nodes' clocks may disagree.
func (d *DB) now() int64 {
	if d.clock != nil {
		return d.clock().UnixMicro()
	}
	return time.Now().UnixMicro()
}

func (t *tx) now() int64 { return t.d.now() }

func fromMicro(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "constraint failed: UNIQUE")
}
