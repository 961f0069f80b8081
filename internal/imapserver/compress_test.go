package imapserver_test

import (
	"bufio"
	"compress/flate"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// COMPRESS=DEFLATE, RFC 4978: a client that really compresses.

// deflateConn is the client side of a compressed connection: writes are
// deflated and sync-flushed; raw counts the compressed bytes read.
type deflateConn struct {
	net.Conn
	zw *flate.Writer
}

func (d *deflateConn) Write(p []byte) (int, error) {
	n, err := d.zw.Write(p)
	if err == nil {
		err = d.zw.Flush()
	}
	return n, err
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// compress switches the client to deflate after COMPRESS's OK and
// returns the count of compressed bytes read from then on.
func (c *client) compress(t *testing.T) *atomic.Int64 {
	t.Helper()
	raw := c.conn
	c.send("zz COMPRESS DEFLATE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "zz OK") {
		t.Fatalf("COMPRESS: %q", l)
	}
	if c.br.Buffered() != 0 {
		t.Fatalf("server sent %d bytes after COMPRESS's OK before any command", c.br.Buffered())
	}
	zw, err := flate.NewWriter(raw, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	c.br = bufio.NewReader(flate.NewReader(countReader{raw, &n}))
	c.conn = &deflateConn{Conn: raw, zw: zw}
	return &n
}

// switchWriter lets a compressor write to a buffer first, then the
// connection, as one stream.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func TestCompress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	big := "Subject: big\r\n\r\n" + strings.Repeat("All work and no play makes Jack a dull boy.\r\n", 2000)
	e.deliver(inbox.ID, big)
	c := e.login("alice")
	mustHave(t, c.ok("CAPABILITY"), "COMPRESS=DEFLATE")
	c.fail("BAD", "COMPRESS GZIP")
	wire := c.compress(t)

	mustNotHave(t, c.ok("CAPABILITY"), "COMPRESS=DEFLATE")
	if got := c.fail("NO", "COMPRESS DEFLATE"); !strings.Contains(got, "[COMPRESSIONACTIVE]") {
		t.Errorf("second COMPRESS: %q", got)
	}
	mustHave(t, c.ok("SELECT INBOX"), "* 1 EXISTS")

	// A large FETCH goes over the wire compressed.
	before := wire.Load()
	lines := c.ok("FETCH 1 BODY.PEEK[]")
	if !has(lines, "Jack a dull boy") || len(lines[0]) < len(big) {
		t.Fatalf("FETCH: %d bytes", len(strings.Join(lines, "")))
	}
	if n := wire.Load() - before; n > int64(len(big))/10 {
		t.Errorf("FETCH of %d bytes took %d compressed bytes", len(big), n)
	}

	// A synchronizing literal: the continuation request must be flushed
	// through the compressor.
	msg := "Subject: appended\r\n\r\nhello\r\n"
	c.send("ap APPEND INBOX {" + strconv.Itoa(len(msg)) + "}\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("continuation: %q", l)
	}
	c.send(msg + "\r\n")
	if _, st := c.until("ap"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("APPEND: %q", st)
	}

	// IDLE sees a delivery while compressed.
	c.send("id IDLE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	e.deliver(inbox.ID, testMsg(9))
	for {
		l := c.line()
		if l == "* 3 EXISTS" {
			break
		}
	}
	c.send("DONE\r\n")
	if _, st := c.until("id"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("IDLE: %q", st)
	}
	mustHave(t, c.ok("UID SEARCH SUBJECT appended"), "* SEARCH 2")
	c.send("lo LOGOUT\r\n")
	lines, st := c.until("lo")
	mustHave(t, lines, "* BYE")
	if !strings.HasPrefix(st, "OK") {
		t.Fatalf("LOGOUT: %q", st)
	}
}

// TestCompressPipelined sends compressed commands in the same packet as
// COMPRESS itself: the server must decompress bytes it had already
// buffered.
func TestCompressPipelined(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	var buf strings.Builder
	sw := &switchWriter{w: &buf}
	zw, _ := flate.NewWriter(sw, flate.DefaultCompression)
	zw.Write([]byte("p1 NOOP\r\np2 SELECT INBOX\r\n"))
	zw.Flush()
	c.send("z COMPRESS DEFLATE\r\n" + buf.String())
	if l := c.line(); !strings.HasPrefix(l, "z OK") {
		t.Fatalf("COMPRESS: %q", l)
	}
	sw.w = c.conn
	c.br = bufio.NewReader(flate.NewReader(c.br))
	c.conn = &deflateConn{Conn: c.conn, zw: zw}
	if _, st := c.until("p1"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("NOOP: %q", st)
	}
	if _, st := c.until("p2"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("SELECT: %q", st)
	}
	// The client's stream goes on where the pipelined part left it.
	mustHave(t, c.ok("STATUS INBOX (MESSAGES)"), "MESSAGES 0")
}

// TestCompressShutdown: a server shutting down says BYE through the
// compressor to a client idling on a compressed connection.
func TestCompressShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.login("alice")
	c.compress(t)
	c.ok("SELECT INBOX")
	c.send("id IDLE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	go e.srv.Close()
	for {
		l, err := c.readLine(10 * time.Second)
		if err != nil {
			t.Fatalf("no BYE before the connection ended: %v", err)
		}
		if strings.HasPrefix(l, "* BYE") {
			return
		}
	}
}
