package sqlstore

import (
	"context"
	"fmt"
)

// DatabaseInfo is what `roost stats` shows of the metadata database.
type DatabaseInfo struct {
	Driver string // "sqlite" or "postgres"
	Bytes  int64  // the database's size on disk
}

// DatabaseInfo returns the driver and the database's size: SQLite's pages
// (page_count × page_size, the WAL not included), PostgreSQL's
// pg_database_size of the current database.
func (d *DB) DatabaseInfo(ctx context.Context) (DatabaseInfo, error) {
	info := DatabaseInfo{Driver: "sqlite"}
	if d.dialect == postgres {
		info.Driver = "postgres"
	}
	err := d.read(ctx, func(t *tx) error {
		if d.dialect == postgres {
			return t.row(`SELECT pg_database_size(current_database())`).Scan(&info.Bytes)
		}
		var pages, size int64
		if err := t.row(`SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pages, &size); err != nil {
			return err
		}
		info.Bytes = pages * size
		return nil
	})
	if err != nil {
		return info, fmt.Errorf("database size: %w", err)
	}
	return info, nil
}
