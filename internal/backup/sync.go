package backup

import (
	"os"
	"path/filepath"
)

// fsyncEach fsyncs each file and each directory that received one.
func fsyncEach(files []string) error {
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
