package mdn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
)

// Message is an MDN message to build (RFC 8098 §3: a multipart/report
// with report-type disposition-notification).
type Message struct {
	From, To  string // header field values, already formatted
	Subject   string // unencoded; RFC 2047-encoded when not ASCII
	Date      time.Time
	MessageID string // without angle brackets
	// InReplyTo is the original's Message-ID (without brackets), also
	// put in References, so the MDN threads with the message.
	InReplyTo string
	Text      string // the human-readable part
	Report    *Report
	// Original, when set, is the original message, sent as the third
	// part (message/rfc822).
	Original []byte
}

// Build returns the message with CRLF line ends.
func Build(m Message) []byte {
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := "=_mdn_" + hex.EncodeToString(rnd[:])
	var b bytes.Buffer
	h := func(name, v string) {
		if v = clean(v); v != "" {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	h("From", m.From)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.Format(time.RFC1123Z))
	if m.MessageID != "" {
		h("Message-ID", "<"+m.MessageID+">")
	}
	if m.InReplyTo != "" {
		h("In-Reply-To", "<"+m.InReplyTo+">")
		h("References", "<"+m.InReplyTo+">")
	}
	h("Auto-Submitted", autoSubmitted(m.Report))
	h("MIME-Version", "1.0")
	h("Content-Type", `multipart/report; report-type=disposition-notification; boundary="`+boundary+`"`)
	b.WriteString("\r\n")

	b.WriteString("--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")))
	qp.Close()
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: message/disposition-notification\r\n\r\n")
	b.Write(m.Report.Format())
	if m.Original != nil {
		b.WriteString("\r\n--" + boundary + "\r\n")
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
		b.Write(m.Original)
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}

// autoSubmitted is RFC 3834 §5's field for an MDN sent automatically
// (RFC 8098 §3: such MDNs are auto-replied).
func autoSubmitted(r *Report) string {
	if r != nil && strings.EqualFold(r.Disposition.SendingMode, "mdn-sent-automatically") {
		return "auto-replied"
	}
	return ""
}
