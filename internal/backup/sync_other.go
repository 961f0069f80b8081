//go:build !linux

package backup

import (
	"os"
	"path/filepath"
)

// syncObjects fsyncs each file and each directory that received one.
func syncObjects(dir string, files []string) error {
	dirs := map[string]bool{}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}
