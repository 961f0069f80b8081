package jmapserver_test

import (
	"io"
	"time"
)

func ioPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

// waitABit yields to the server goroutines while polling for a state.
func waitABit() { time.Sleep(5 * time.Millisecond) }
