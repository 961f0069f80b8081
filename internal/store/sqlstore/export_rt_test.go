package sqlstore

// Statements is how many statements the database ran through its
// transactions and reads so far (BEGIN and COMMIT not counted).
func Statements(d *DB) int64 { return int64(d.Statements()) }
