package queue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/mime"
)

// maxHeaderFields bounds the header fields of a submitted message.
const maxHeaderFields = 1000

// readBounded reads r into memory, refusing more than max bytes.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	if int64(len(b)) > max {
		return nil, reject(552, "5.3.4", "message exceeds the size limit of %d bytes", max)
	}
	return b, nil
}

// splitHeader returns the header block (with its blank line) and the body.
func splitHeader(msg []byte) (hdr, body []byte) {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return msg[:2], msg[2:]
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+4], msg[i+4:]
	}
	return msg, nil
}

// mailboxes returns the addresses of an address-list value.
func mailboxes(v string) []string {
	var out []string
	for _, a := range mime.ParseAddressList(v) {
		if a.Kind == mime.AddrMailbox {
			out = append(out, a.Mailbox+"@"+a.Host)
		}
	}
	return out
}

// checkHeader applies the sender rule to From: and Sender: and returns the
// header to send: Sender: rewritten for on-behalf sending, From:, Date:
// and Message-ID: added when missing (RFC 6409 §8). It also returns the
// From: domain, which signs the message.
func (q *Queue) checkHeader(ctx context.Context, s *sender, hdr []byte) (out []byte, fromDomain string, err error) {
	h, truncated := mime.ParseHeader(hdr, maxHeaderFields)
	if truncated {
		return nil, "", reject(552, "5.3.4", "too many header fields")
	}
	var froms []string
	for _, v := range h.Values("From") {
		froms = append(froms, mailboxes(v)...)
	}
	var add []string
	onBehalf := false
	if len(froms) == 0 {
		froms = []string{s.user.Email}
		add = append(add, "From: <"+s.user.Email+">")
	}
	for _, f := range froms {
		v, err := q.mayUse(ctx, s, f)
		if err != nil {
			return nil, "", err
		}
		if v.ID != s.user.ID {
			onBehalf = true
		}
	}
	fromDomain = domainOf(froms[0])
	rewriteSender := false
	if h.Has("Sender") {
		if onBehalf {
			rewriteSender = true
		} else {
			for _, a := range mailboxes(h.Get("Sender")) {
				if !owns(s.user, a) {
					return nil, "", reject(553, "5.7.1", "Sender: <%s> is not one of your addresses", a)
				}
			}
		}
	} else if len(froms) > 1 {
		// RFC 5322 §3.6.2: several authors need a Sender.
		add = append(add, "Sender: <"+s.user.Email+">")
	}
	if !h.Has("Date") {
		add = append(add, "Date: "+q.now().Format(time.RFC1123Z))
	}
	if !h.Has("Message-ID") {
		var b [16]byte
		rand.Read(b[:])
		add = append(add, "Message-ID: <"+hex.EncodeToString(b[:])+"@"+q.o.Hostname+">")
	}
	var buf bytes.Buffer
	for _, f := range h.Fields() {
		if rewriteSender && strings.EqualFold(f.Name, "Sender") {
			continue
		}
		buf.Write(f.Raw)
		if !bytes.HasSuffix(f.Raw, []byte("\n")) {
			buf.WriteString("\r\n")
		}
	}
	if rewriteSender {
		add = append(add, "Sender: <"+s.user.Email+">")
	}
	for _, a := range add {
		buf.WriteString(a + "\r\n")
	}
	buf.WriteString("\r\n")
	return buf.Bytes(), fromDomain, nil
}
