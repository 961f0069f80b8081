package easserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// maxRecipients bounds the recipients of one message from a device.
const maxRecipients = 500

func sendMail(c *call, req *wbxml.Node) (*wbxml.Node, error)   { return c.compose(req, "SendMail") }
func smartReply(c *call, req *wbxml.Node) (*wbxml.Node, error) { return c.compose(req, "SmartReply") }
func smartForward(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	return c.compose(req, "SmartForward")
}

// compose is SendMail, SmartReply and SmartForward ([MS-ASCMD] §2.2.1.17,
// 2.2.1.18, 2.2.1.19): the device's MIME message goes through the
// outbound queue's sender checks (own addresses, send-as) and quota, and a
// copy to Sent when asked. SmartReply quotes the original's text in a
// plain-text reply; SmartForward attaches the original message. With
// ReplaceMime the device's message goes as it is.
func (c *call) compose(req *wbxml.Node, cmd string) (*wbxml.Node, error) {
	fail := func(code int) (*wbxml.Node, error) {
		return nil, errStatus(code, 500)
	}
	var raw []byte
	saveSent := c.q.SaveInSent
	var src *wbxml.Node
	replace := false
	if req != nil {
		mimeNode := req.Child("MIME")
		if mimeNode == nil {
			return nil, errStatus(eas.StatusInvalidContent, 400)
		}
		raw = []byte(mimeNode.Content())
		saveSent = req.Child("SaveInSentItems") != nil
		src = req.Child("Source")
		replace = req.Child("ReplaceMime") != nil
	} else {
		// 12.1: the body is the message (Content-Type message/rfc822).
		raw = c.body
		if c.q.ItemID != "" {
			src = wbxml.El(eas.ComposeMail, "Source", wbxml.Str(eas.ComposeMail, "FolderId", c.q.CollectionID),
				wbxml.Str(eas.ComposeMail, "ItemId", c.q.ItemID))
		}
	}
	if len(raw) == 0 {
		return nil, errStatus(eas.StatusInvalidContent, 400)
	}
	if c.s.o.Submitter == nil {
		return fail(eas.StatusMailSubmissionFailed)
	}
	raw = crlf(raw)
	msg, err := mime.Parse(raw, mime.DefaultLimits())
	if err != nil {
		return nil, errStatus(eas.StatusInvalidContent, 400)
	}
	if cmd != "SendMail" && src != nil && !replace {
		orig, err := c.source(src)
		if err != nil {
			return nil, err
		}
		if orig == nil {
			return fail(eas.StatusItemNotFound)
		}
		if cmd == "SmartForward" {
			raw = forward(raw, msg, orig)
		} else {
			raw = reply(raw, msg, orig)
		}
		if msg, err = mime.Parse(raw, mime.DefaultLimits()); err != nil {
			return nil, fmt.Errorf("reparse composed message: %w", err)
		}
	}
	u, err := c.s.o.Store.GetUser(store.SystemContext(c.ctx), c.p.Login)
	if err != nil {
		return nil, err
	}
	from := u.Email
	if fs := mime.ParseAddressList(msg.Header.Get("From")); len(fs) == 1 && fs[0].Kind == 0 {
		from = fs[0].Mailbox + "@" + fs[0].Host
	}
	var rcpts []queue.Recipient
	for _, h := range []string{"To", "Cc", "Bcc"} {
		for _, v := range msg.Header.Values(h) {
			for _, a := range mime.ParseAddressList(v) {
				if a.Kind != 0 || a.Host == mime.MissingDomain || a.Mailbox == mime.MissingMailbox {
					continue
				}
				addr := a.Mailbox + "@" + a.Host
				if !slices.ContainsFunc(rcpts, func(r queue.Recipient) bool { return strings.EqualFold(r.Addr, addr) }) {
					rcpts = append(rcpts, queue.Recipient{Addr: addr})
				}
			}
		}
	}
	if len(rcpts) == 0 || len(rcpts) > maxRecipients {
		return fail(eas.StatusInvalidRecipients)
	}
	if err := c.s.o.Submitter.CheckSender(c.ctx, from); err != nil {
		return c.submitError(err)
	}
	// Bcc is not sent (RFC 5322 §3.6.3); a missing From, Date or
	// Message-ID is added as a submission server does (RFC 6409 §8).
	head := msg.Header.Filter([]string{"Bcc"}, true)
	var extra bytes.Buffer
	if !msg.Header.Has("From") {
		fmt.Fprintf(&extra, "From: %s\r\n", from)
	}
	if !msg.Header.Has("Message-ID") {
		fmt.Fprintf(&extra, "Message-ID: <%s@%s>\r\n", randomID(), domainOf(u.Email))
	}
	if !msg.Header.Has("Date") {
		fmt.Fprintf(&extra, "Date: %s\r\n", c.s.o.Now().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	content := append(append(extra.Bytes(), head...), raw[msg.BodyStart:]...)
	_, err = c.s.o.Submitter.Submit(c.ctx, queue.Submission{From: from, Recipients: rcpts,
		Content: bytes.NewReader(content), SentCopy: saveSent})
	if err != nil {
		return c.submitError(err)
	}
	return nil, nil // success is an empty 200 answer
}

// submitError maps a queue refusal to a SendMail status; anything else
// is a temporary failure.
func (c *call) submitError(err error) (*wbxml.Node, error) {
	var qe *queue.Error
	if errors.As(err, &qe) && !qe.Temporary() {
		code := eas.StatusMailSubmissionFailed
		switch {
		case strings.HasPrefix(qe.Enhanced, "5.1."):
			code = eas.StatusInvalidRecipients
		case strings.HasPrefix(qe.Enhanced, "5.7."):
			code = eas.StatusAccessDenied
		case strings.HasPrefix(qe.Enhanced, "5.3.4"):
			code = eas.StatusMessageTooLarge
		case strings.HasPrefix(qe.Enhanced, "5.2.2"):
			code = eas.StatusSendQuotaExceeded
		}
		c.log.Info("ActiveSync submission refused", "err", err)
		return nil, errStatus(code, 403)
	}
	return nil, err
}

// source reads the original message of a SmartReply/SmartForward (nil
// when it is not an item of the user's folders).
func (c *call) source(src *wbxml.Node) (*message, error) {
	f, err := c.folder(src.ChildText("FolderId"))
	if err != nil || f == nil {
		return nil, err
	}
	uid, ok := parseServerID(src.ChildText("ItemId"), f.ID)
	if !ok {
		return nil, nil
	}
	it, err := c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.readMessage(c.ctx, it.ID)
}

func crlf(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) || bytes.Count(b, []byte("\r\n")) == bytes.Count(b, []byte("\n")) {
		return b
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// headerWithout returns the header block without Content-* and
// MIME-Version fields (ended by CRLF, without the blank line).
func headerWithout(msg *mime.Part) []byte {
	var out bytes.Buffer
	for _, f := range msg.Header.Fields() {
		n := strings.ToLower(f.Name)
		if strings.HasPrefix(n, "content-") || n == "mime-version" {
			continue
		}
		out.Write(f.Raw)
	}
	return out.Bytes()
}

// forward attaches the original message to the device's message.
func forward(raw []byte, msg *mime.Part, orig *message) []byte {
	boundary := "roost-" + randomID()
	var b bytes.Buffer
	b.Write(headerWithout(msg))
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\n", boundary)
	for _, f := range msg.Header.Fields() {
		if strings.HasPrefix(strings.ToLower(f.Name), "content-") {
			b.Write(f.Raw)
		}
	}
	b.WriteString("\r\n")
	b.Write(raw[msg.BodyStart:])
	name := strings.NewReplacer("\"", "", "\r", "", "\n", "").Replace(orig.header("Subject"))
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"%s.eml\"\r\n\r\n", boundary, mime.BaseSubject(name))
	b.Write(orig.raw)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes()
}

// reply quotes the original's text below a plain-text reply and sets
// In-Reply-To and References; a reply of another type goes as it is.
func reply(raw []byte, msg *mime.Part, orig *message) []byte {
	id := orig.root.Header.Get("Message-ID")
	var b bytes.Buffer
	for _, f := range msg.Header.Fields() {
		b.Write(f.Raw)
	}
	if id != "" && !msg.Header.Has("In-Reply-To") {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\n", strings.TrimSpace(id))
		refs := strings.TrimSpace(orig.root.Header.Get("References"))
		fmt.Fprintf(&b, "References: %s\r\n", strings.TrimSpace(refs+" "+strings.TrimSpace(id)))
	}
	b.WriteString("\r\n")
	b.Write(raw[msg.BodyStart:])
	if msg.MediaType == "text" && msg.SubType == "plain" && (msg.Encoding == "7bit" || msg.Encoding == "8bit") {
		if !bytes.HasSuffix(raw, []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "\r\n%s wrote:\r\n", orig.header("From"))
		for _, l := range strings.Split(strings.ReplaceAll(orig.plain(), "\r\n", "\n"), "\n") {
			b.WriteString("> " + l + "\r\n")
		}
	}
	return b.Bytes()
}
