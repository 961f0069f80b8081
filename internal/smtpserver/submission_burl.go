package smtpserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/roost-mail/roost/internal/mail/urlauth"
	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/store"
)

// BURL, RFC 4468: the message (or a piece of it) comes from an IMAP URL
// instead of the client. "BURL imap" is offered: the URL is resolved by
// mail/urlauth straight from the store with the authenticated user's
// principal — a URLAUTH URL with a "submit+user" access and a valid
// token, or a plain URL of the user's own mailbox (RFC 4468 §3.3) —
// never through an IMAP connection to this server. BURL and BDAT pieces
// may alternate (RFC 4468 §3.1); LAST submits.
func (ss *subSession) cmdBURL(cmd smtp.Command) bool {
	if ss.o.URLs == nil {
		return !ss.fail(502, "5.5.1", "BURL is not offered")
	}
	url, last := strings.TrimSpace(cmd.Arg), false
	if u, rest, ok := strings.Cut(url, " "); ok {
		if !strings.EqualFold(strings.TrimSpace(rest), "LAST") {
			return !ss.fail(501, "5.5.4", "syntax: BURL imap-url [LAST]")
		}
		url, last = u, true
	}
	if url == "" {
		return !ss.fail(501, "5.5.4", "syntax: BURL imap-url [LAST]")
	}
	if ss.p == nil || ss.from == nil || len(ss.rcpts) == 0 {
		return !ss.fail(503, "5.5.1", "no valid recipients")
	}
	data, err := ss.o.URLs.FetchFor(ss.ctx, ss.p, url, true)
	if err != nil {
		ss.abortChunks()
		ss.reset()
		if errors.Is(err, urlauth.ErrInvalid) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			ss.log.Info("BURL", "url", url, "err", err)
			ss.reply(554, "5.6.6", "IMAP URL resolution failed")
			return true
		}
		ss.log.Error("BURL", "url", url, "err", err)
		ss.reply(451, "4.3.0", "temporary failure, try again later")
		return true
	}
	if ss.chunks == nil {
		f, err := ss.spoolFile()
		if err != nil {
			ss.log.Error("spool", "err", err)
			ss.reset()
			ss.reply(451, "4.3.0", "temporary failure, try again later")
			return true
		}
		ss.chunks = &chunkState{f: f, hdr: headerBound{max: ss.o.MaxHeaderBytes}}
	}
	cs := ss.chunks
	switch {
	case cs.error != "":
	case cs.n+int64(len(data)) > ss.o.MaxMessageBytes:
		cs.error, cs.code, cs.enh = "message exceeds the size limit", 552, "5.3.4"
	default:
		if _, err := io.Copy(io.MultiWriter(cs.f, &cs.le, &cs.hdr), bytes.NewReader(data)); err != nil {
			ss.log.Error("spool", "err", err)
			cs.error, cs.code, cs.enh = "temporary failure, try again later", 451, "4.3.0"
		}
		cs.n += int64(len(data))
	}
	return ss.endChunk(cs, last, fmt.Sprintf("%d octets appended", len(data)))
}
