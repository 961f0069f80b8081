package smtpserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/queue"
)

// chunkState is a BDAT transfer in progress (RFC 3030).
type chunkState struct {
	f     *os.File
	n     int64
	le    smtp.LineEndings
	hdr   headerBound
	error string // set once the transfer is refused; later chunks are discarded
	code  int
	enh   string
}

func (ss *subSession) abortChunks() {
	if ss.chunks != nil {
		ss.chunks.f.Close()
		os.Remove(ss.chunks.f.Name())
		ss.chunks = nil
	}
}

// DATA, RFC 5321 §4.1.1.4.
func (ss *subSession) cmdData(cmd smtp.Command) bool {
	if ss.from == nil || len(ss.rcpts) == 0 {
		return !ss.fail(503, "5.5.1", "no valid recipients")
	}
	if cmd.Arg != "" {
		return !ss.fail(501, "5.5.4", "DATA takes no argument")
	}
	f, err := ss.spoolFile()
	if err != nil {
		ss.log.Error("spool", "err", err)
		ss.reply(451, "4.3.0", "temporary failure, try again later")
		return true
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	ss.reply(354, "", "send the message, end with <CRLF>.<CRLF>")
	ss.c.SetReadDeadline(time.Now().Add(30 * time.Minute))
	d := smtp.NewDataReader(ss.r, ss.o.MaxMessageBytes)
	hb := headerBound{max: ss.o.MaxHeaderBytes}
	_, err = io.Copy(io.MultiWriter(f, &hb), d)
	switch {
	case errors.Is(err, smtp.ErrBareLineEnding):
		if d.Drain(ss.o.MaxMessageBytes*2) != nil {
			return false
		}
		ss.reset()
		ss.reply(550, "5.6.0", "message contains a bare CR or LF; refused")
		return true
	case errors.Is(err, smtp.ErrTooBig):
		if d.Drain(ss.o.MaxMessageBytes) != nil {
			ss.reply(552, "5.3.4", "message exceeds the size limit; closing connection")
			return false
		}
		ss.reset()
		ss.reply(552, "5.3.4", "message exceeds the size limit of %d bytes", ss.o.MaxMessageBytes)
		return true
	case err != nil:
		ss.log.Info("reading message data", "err", err)
		return false
	}
	ss.finish(f, &hb)
	return true
}

// BDAT, RFC 3030 §2.
func (ss *subSession) cmdBDAT(cmd smtp.Command) bool {
	size, last, err := smtp.ParseBDAT(cmd.Arg)
	if err != nil {
		// The chunk size is unknown, so the data that follows cannot be
		// skipped: end the session rather than read it as commands.
		ss.abortChunks()
		ss.reply(501, "5.5.4", "bad BDAT arguments; closing connection")
		return false
	}
	if ss.from == nil || len(ss.rcpts) == 0 {
		if !ss.discard(size) {
			return false
		}
		return !ss.fail(503, "5.5.1", "no valid recipients")
	}
	if ss.chunks == nil {
		f, err := ss.spoolFile()
		if err != nil {
			ss.log.Error("spool", "err", err)
			if !ss.discard(size) {
				return false
			}
			ss.reply(451, "4.3.0", "temporary failure, try again later")
			return true
		}
		ss.chunks = &chunkState{f: f, hdr: headerBound{max: ss.o.MaxHeaderBytes}}
	}
	cs := ss.chunks
	ss.c.SetReadDeadline(time.Now().Add(30 * time.Minute))
	switch {
	case cs.error != "":
		if !ss.discard(size) {
			return false
		}
	case cs.n+size > ss.o.MaxMessageBytes:
		if !ss.discard(size) {
			return false
		}
		cs.error, cs.code, cs.enh = "message exceeds the size limit", 552, "5.3.4"
	default:
		if _, err := io.CopyN(io.MultiWriter(cs.f, &cs.le, &cs.hdr), ss.r, size); err != nil {
			ss.log.Info("reading BDAT chunk", "err", err)
			return false
		}
		cs.n += size
	}
	return ss.endChunk(cs, last, fmt.Sprintf("%d octets received", size))
}

// endChunk answers a BDAT or BURL piece (RFC 3030 §2, RFC 4468 §3.1):
// ack, or the refusal a piece recorded, for one that is not the last;
// for the last, the submission of the whole message or why it is refused.
func (ss *subSession) endChunk(cs *chunkState, last bool, ack string) bool {
	if !last {
		if cs.error != "" {
			ss.reply(cs.code, cs.enh, "%s", cs.error)
			return true
		}
		ss.reply(250, "2.0.0", "%s", ack)
		return true
	}
	ss.chunks = nil
	defer func() {
		cs.f.Close()
		os.Remove(cs.f.Name())
	}()
	if cs.error != "" {
		ss.reset()
		ss.reply(cs.code, cs.enh, "%s", cs.error)
		return true
	}
	if !cs.le.Done() {
		ss.reset()
		ss.reply(550, "5.6.0", "message contains a bare CR or LF; refused")
		return true
	}
	ss.finish(cs.f, &cs.hdr)
	return true
}

// discard skips n octets of chunk data.
func (ss *subSession) discard(n int64) bool {
	_, err := io.CopyN(io.Discard, ss.r, n)
	return err == nil
}

// finish submits the received message and answers.
func (ss *subSession) finish(f *os.File, hb *headerBound) {
	defer ss.reset()
	if hb.tooBig() {
		ss.reply(552, "5.3.4", "header section exceeds %d bytes", ss.o.MaxHeaderBytes)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		ss.log.Error("spool", "err", err)
		ss.reply(451, "4.3.0", "temporary failure, try again later")
		return
	}
	sub := queue.Submission{From: *ss.from, EnvID: ss.envID, Ret: ss.ret, SentCopy: ss.o.SentCopy,
		Content: io.MultiReader(strings.NewReader(ss.received()), bufio.NewReader(f))}
	for _, r := range ss.rcpts {
		sub.Recipients = append(sub.Recipients, queue.Recipient{Addr: r.addr, Notify: r.notify, ORcpt: r.orcpt})
	}
	res, err := ss.o.Queue.Submit(ss.ctx, sub)
	if err != nil {
		ss.replyErr(err, "submit")
		return
	}
	ss.log.Info("submitted", "from", sub.From, "rcpts", len(sub.Recipients), "local", res.Local, "queued", res.Queued, "queue_id", res.QueueID)
	if res.QueueID != 0 {
		ss.reply(250, "2.0.0", "message accepted (queue id %d)", res.QueueID)
	} else {
		ss.reply(250, "2.0.0", "message delivered")
	}
}

// received is the trace field for the message (RFC 5321 §4.4), with the
// protocol type of RFC 3848.
func (ss *subSession) received() string {
	proto := "SMTP"
	if ss.esmtp {
		proto = "ESMTP"
		if ss.tls {
			proto += "S"
		}
		proto += "A"
	}
	ip := ss.c.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	return fmt.Sprintf("Received: from %s ([%s])\r\n\tby %s (Roost) with %s;\r\n\t%s\r\n",
		ss.heloName, ip, ss.o.Hostname, proto, time.Now().Format(time.RFC1123Z))
}

// headerBound watches the header section go by and notes whether its end
// (the first empty line) came within max bytes.
type headerBound struct {
	max   int64
	n     int64
	tail  [3]byte // the last bytes seen, to find CRLF CRLF across writes
	ended bool
}

func (h *headerBound) Write(p []byte) (int, error) {
	if h.ended || h.n > h.max {
		return len(p), nil
	}
	buf := append(h.tail[:0:0], h.tail[:]...)
	buf = append(buf, p...)
	if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
		h.ended = h.n-3+int64(i)+4 <= h.max
		if !h.ended {
			h.n = h.max + 1
		}
		return len(p), nil
	}
	if h.n == 0 && bytes.HasPrefix(p, []byte("\r\n")) {
		h.ended = true // no header at all
		return len(p), nil
	}
	h.n += int64(len(p))
	if len(buf) >= 3 {
		copy(h.tail[:], buf[len(buf)-3:])
	}
	return len(p), nil
}

// tooBig reports a header section over the bound (a message without any
// empty line is all header).
func (h *headerBound) tooBig() bool { return !h.ended && h.n > h.max }
