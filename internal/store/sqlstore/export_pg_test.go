package sqlstore

import (
	"context"
	"database/sql"
)

// MaxOpenConns is the size of a database's connection pool.
func MaxOpenConns(d *DB) int { return d.wdb.Stats().MaxOpenConnections }

// QueryRowForTest runs a query on the database's pool.
func (d *DB) QueryRowForTest(ctx context.Context, q string, args ...any) *sql.Row {
	return d.wdb.QueryRowContext(ctx, q, args...)
}
