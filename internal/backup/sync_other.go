//go:build !linux

package backup

// syncObjects fsyncs each file and each directory that received one.
func syncObjects(_ string, files []string) error { return fsyncEach(files) }
