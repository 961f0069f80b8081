package imap

import (
	"bufio"
	"errors"
)

// errDetached is the error of writing to a Writer without a buffer.
var errDetached = errors.New("imap: write to a detached Writer")

// Detach flushes the Writer and hands back its buffer, so that a session
// that sits idle for a long time (IDLE) need not hold it; Attach gives the
// Writer a buffer again. Writing while detached records an error.
func (w *Writer) Detach() (*bufio.Writer, error) {
	err := w.Flush()
	bw := w.bw
	w.bw, w.buf = nil, nil // the scratch line may have grown to 64 KiB
	return bw, err
}

// Attach makes the Writer write through bw (reset to the connection by the
// caller). The error state of the Writer is kept.
func (w *Writer) Attach(bw *bufio.Writer) { w.bw = bw }

// Shrink drops the Reader's scratch buffers if a large command grew them,
// for a session about to sit idle; they grow again on demand.
func (r *Reader) Shrink() {
	if cap(r.line) > 1024 {
		r.line = nil
	}
}
