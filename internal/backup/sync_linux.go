package backup

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFSThreshold is how many new objects make one syncfs cheaper than an
// fsync per file and directory.
const syncFSThreshold = 128

// syncObjects makes the files written into dir durable: a few with an
// fsync each, many (a full run writes thousands) with one syncfs of the
// file system.
func syncObjects(dir string, files []string) error {
	if len(files) <= syncFSThreshold {
		return fsyncEach(files)
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
