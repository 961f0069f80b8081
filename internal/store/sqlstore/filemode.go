package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// privateSQLite creates the SQLite database file with mode 0600 before
// SQLite opens it, and narrows the mode of existing database files (the
// database holds password hashes). SQLite creates its -wal and -shm files
// with the mode of the database file, so they are private too, whatever
// the mode of the directory they are in.
func privateSQLite(path string) error {
	if path == "" || strings.HasPrefix(path, ":") {
		return nil // in memory
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite file %s: %w", p, err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, info.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("sqlite file %s: %w", p, err)
			}
		}
	}
	return nil
}
