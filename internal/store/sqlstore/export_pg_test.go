package sqlstore

// MaxOpenConns is the size of a database's connection pool.
func MaxOpenConns(d *DB) int { return d.wdb.Stats().MaxOpenConnections }
