package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// Everything Roost writes in the data directory is private to the user it
// runs as (hardening 9.13): files 0600, directories 0700, whatever the mode
// of a data directory the operator created. The database holds password
// hashes and the blobs hold mail.

// initialPasswordFile is where the first start leaves the administrator's
// password (hardening 9.3: standard output ends up in a service manager's
// journal).
const initialPasswordFile = "initial-admin-password"

// checkDataDir warns when other users can read or enter the data
// directory, and makes the directories Roost owns in it private.
func checkDataDir(dir string, log *slog.Logger) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		log.Warn("the data directory is accessible to other users: its files are private, but run chmod 700 on it",
			"dir", dir, "mode", fmt.Sprintf("%04o", perm))
	}
	for _, sub := range []string{"blobs", "blobs/tmp", "tls", "spool"} {
		p := filepath.Join(dir, sub)
		if err := os.Chmod(p, 0o700); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	return nil
}

// writePrivateFile writes data to path with mode 0600 (also when the file
// exists with another mode) and syncs it.
func writePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
