package imapserver

import (
	"bufio"
	"compress/flate"
	"io"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// COMPRESS DEFLATE, RFC 4978. After the tagged OK, which is the last
// uncompressed response, both directions are raw deflate streams (RFC
// 1951, no zlib header). Every response is flushed to the client with a
// sync flush (RFC 4978 §4), so a client never waits for a full deflate
// block.
func (s *session) cmdCompress(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.CompressCmd)
	if a.Algorithm != "DEFLATE" {
		return "", bad(imap.CodeCannot, "Unsupported compression algorithm")
	}
	if s.compressed {
		return "", no(imap.CodeCompressionActive, "Compression is already active")
	}
	s.w.Tagged(c.Tag, imap.OK, "", "DEFLATE active")
	if err := s.flush(); err != nil {
		return "", err
	}
	// The client may have sent compressed bytes right after COMPRESS: they
	// are in s.br, under the decompressor, which reads it byte by byte
	// (see inflater for why not compress/flate's reader).
	s.br = bufio.NewReader(newInflater(s.br))
	s.r.Reset(s.br)
	// A compressor per session costs memory; BestSpeed keeps it small and
	// fast, and IMAP text compresses well at any level.
	zw, err := flate.NewWriter(&deadlineWriter{c: s.conn()}, flate.BestSpeed)
	if err != nil {
		return "", &ioError{err}
	}
	s.w.Reset(bufio.NewWriterSize(&syncFlushWriter{zw: zw}, 32<<10))
	s.compressed = true
	s.log.Debug("compression active")
	return "", errResponded
}

// syncFlushWriter compresses what the session's buffered writer hands it
// (one call per Flush, or per oversized write) and sync-flushes it.
type syncFlushWriter struct{ zw *flate.Writer }

func (w *syncFlushWriter) Write(p []byte) (int, error) {
	n, err := w.zw.Write(p)
	if err == nil {
		err = w.zw.Flush()
	}
	return n, err
}

var _ io.Writer = (*syncFlushWriter)(nil)
