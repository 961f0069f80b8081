package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// Request smuggling guard (RFC 9112 §6.1, §11.2).
//
// A request with both Transfer-Encoding and Content-Length is read by
// net/http as chunked, and net/http removes Content-Length before a
// handler sees the request. Behind a proxy that frames by Content-Length
// (the documented setup for http_listen) the bytes after the chunked body
// would then be served as a second request the proxy never saw. RFC 9112
// §6.1: such a request "ought to be handled as an error" and the server
// MUST close the connection after answering it.
//
// Because the header is gone by the time a handler runs, every HTTP
// connection is wrapped in a frameConn that watches the bytes net/http
// reads and frames the requests itself, just far enough to see each
// request's header block: it records per request whether the block has
// Transfer-Encoding, Content-Length or both. guardFraming pops that
// verdict for each request, answers 400 with Connection: close to both,
// and closes the connection after any request with Transfer-Encoding
// (the framing of what follows is then no longer watched), and after any
// request it has no verdict for.

// frameVerdict is what the header block of one request held.
type frameVerdict struct {
	te, cl bool // Transfer-Encoding, Content-Length present
	lost   bool // the watcher gave up: close after this request
}

const (
	frameHeader  = iota // reading a header block
	frameBody           // skipping a Content-Length body
	frameStopped        // no longer framing this connection
)

// frameMaxHeader bounds a header block the watcher frames; net/http
// refuses blocks larger than its MaxHeaderBytes (1 MiB) plus 4 KiB.
const frameMaxHeader = 1<<20 + 8<<10

// frameConn is a net.Conn whose reads are watched for request framing.
type frameConn struct {
	net.Conn
	tls *tls.Conn // the TLS layer under the watcher, nil for plain text

	mu       sync.Mutex
	state    int
	line     []byte // the start of the current header line
	lineLen  int    // the length of the current line so far
	hdrBytes int    // bytes of the current header block
	started  bool   // the block has a non-empty line
	cur      frameVerdict
	clValue  int64 // Content-Length of the current block, -1 invalid
	remain   int64 // body bytes left to skip
	verdicts []frameVerdict
}

func (c *frameConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.watch(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite lets net/http half-close the connection when it can.
func (c *frameConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// watch advances the framing over b.
func (c *frameConn) watch(b []byte) {
	for len(b) > 0 {
		switch c.state {
		case frameStopped:
			return
		case frameBody:
			k := int64(len(b))
			if k > c.remain {
				k = c.remain
			}
			c.remain -= k
			b = b[k:]
			if c.remain == 0 {
				c.state = frameHeader
			}
		case frameHeader:
			i := bytes.IndexByte(b, '\n')
			chunk := b
			if i >= 0 {
				chunk = b[:i]
				c.hdrBytes++
			}
			c.hdrBytes += len(chunk)
			if room := 256 - len(c.line); room > 0 {
				c.line = append(c.line, chunk[:min(room, len(chunk))]...)
			}
			c.lineLen += len(chunk)
			if c.hdrBytes > frameMaxHeader {
				c.stop()
				return
			}
			if i < 0 {
				return
			}
			b = b[i+1:]
			c.endLine()
		}
	}
}

// endLine handles one complete header line (without its LF).
func (c *frameConn) endLine() {
	line := bytes.TrimSuffix(c.line, []byte("\r"))
	long := c.lineLen > 256 // longer than line holds
	c.line, c.lineLen = c.line[:0], 0
	if len(line) == 0 && !long {
		if !c.started {
			c.hdrBytes = 0 // empty lines before a request line
			return
		}
		c.endBlock()
		return
	}
	if !c.started {
		c.started = true // the request line
		return
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return
	}
	switch {
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		c.cur.te = true
	case bytes.EqualFold(name, []byte("Content-Length")):
		v, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
		if long || err != nil || v < 0 || c.cur.cl && v != c.clValue {
			c.clValue = -1
		} else {
			c.clValue = v
		}
		c.cur.cl = true
	}
}

// endBlock records the verdict of a complete header block and moves past
// its body.
func (c *frameConn) endBlock() {
	v := c.cur
	c.cur, c.started, c.hdrBytes = frameVerdict{}, false, 0
	switch {
	case v.te:
		// Framing by chunks: net/http closes or we do after this one.
		v.lost = true
		c.verdicts = append(c.verdicts, v)
		c.state = frameStopped
	case v.cl && c.clValue < 0:
		// net/http refuses it and closes.
		v.lost = true
		c.verdicts = append(c.verdicts, v)
		c.state = frameStopped
	case v.cl && c.clValue > 0:
		c.verdicts = append(c.verdicts, v)
		c.remain, c.state = c.clValue, frameBody
	default:
		c.verdicts = append(c.verdicts, v)
	}
	c.clValue = 0
}

func (c *frameConn) stop() {
	c.state = frameStopped
	c.line = nil
}

// next returns the verdict of the next request; ok is false when the
// watcher has none.
func (c *frameConn) next() (frameVerdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.verdicts) == 0 {
		return frameVerdict{}, false
	}
	v := c.verdicts[0]
	c.verdicts = c.verdicts[1:]
	return v, true
}

// frameListener wraps accepted connections in a frameConn, doing TLS
// itself (under the watcher) when tlsConf is set.
type frameListener struct {
	net.Listener
	tlsConf *tls.Config
}

func (l *frameListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := &frameConn{Conn: c}
	if l.tlsConf != nil {
		fc.tls = tls.Server(c, l.tlsConf)
		fc.Conn = fc.tls
	}
	return fc, nil
}

type frameConnKey struct{}

// frameContext puts the connection into the context of its requests
// (http.Server.ConnContext).
func frameContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*frameConn); ok {
		return context.WithValue(ctx, frameConnKey{}, fc)
	}
	return ctx
}

// guardFraming refuses requests with both Transfer-Encoding and
// Content-Length and closes connections whose framing it no longer
// watches; it also gives handlers the TLS state that net/http cannot see
// through the wrapper.
func guardFraming(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc, _ := r.Context().Value(frameConnKey{}).(*frameConn)
		if fc == nil {
			h.ServeHTTP(w, r)
			return
		}
		v, ok := fc.next()
		if v.te && v.cl {
			w.Header().Set("Connection", "close")
			http.Error(w, "request has both Transfer-Encoding and Content-Length", http.StatusBadRequest)
			return
		}
		if !ok || v.lost || v.te {
			w.Header().Set("Connection", "close")
		}
		if r.Method == http.MethodOptions && r.RequestURI == "*" {
			// What net/http answers itself when it routes "OPTIONS *".
			w.Header().Set("Content-Length", "0")
			return
		}
		if fc.tls != nil && r.TLS == nil {
			cs := fc.tls.ConnectionState()
			r = r.WithContext(r.Context())
			r.TLS = &cs
		}
		h.ServeHTTP(w, r)
	})
}
