package jmapserver

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// emailCreate is the subset of Email properties Email/set create accepts
// (RFC 8621 §4.6): headers in parsed form, textBody/htmlBody with
// bodyValues, attachments by blobId.
type emailCreate struct {
	MailboxIDs  map[string]bool            `json:"mailboxIds"`
	Keywords    map[string]bool            `json:"keywords"`
	ReceivedAt  *time.Time                 `json:"receivedAt"`
	From        []emailAddress             `json:"from"`
	Sender      []emailAddress             `json:"sender"`
	To          []emailAddress             `json:"to"`
	Cc          []emailAddress             `json:"cc"`
	Bcc         []emailAddress             `json:"bcc"`
	ReplyTo     []emailAddress             `json:"replyTo"`
	Subject     *string                    `json:"subject"`
	SentAt      *time.Time                 `json:"sentAt"`
	MessageID   []string                   `json:"messageId"`
	InReplyTo   []string                   `json:"inReplyTo"`
	References  []string                   `json:"references"`
	TextBody    []createPart               `json:"textBody"`
	HTMLBody    []createPart               `json:"htmlBody"`
	Attachments []createPart               `json:"attachments"`
	BodyValues  map[string]json.RawMessage `json:"bodyValues"`
}

type createPart struct {
	PartID      string  `json:"partId"`
	BlobID      string  `json:"blobId"`
	Type        string  `json:"type"`
	Name        *string `json:"name"`
	Disposition *string `json:"disposition"`
	Cid         *string `json:"cid"`
	Charset     *string `json:"charset"`
	Size        *int64  `json:"size"`
}

// target returns the one mailbox of mailboxIds.
func (c *call) target(st *store.Store, ids map[string]bool) (*store.Folder, error) {
	if len(ids) == 0 {
		return nil, invalidProps("mailboxIds is required", "mailboxIds")
	}
	if len(ids) > 1 {
		return nil, &jmap.SetError{Type: jmap.SetTooManyMailboxes, Description: "an email is in exactly one mailbox"}
	}
	for id, on := range ids {
		f, err := c.mailboxOf(st, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrPermission) {
			return nil, err // the store failed: serverFail, not a bad mailbox id
		}
		if err != nil || !on {
			return nil, invalidProps("no mailbox "+id, "mailboxIds")
		}
		return f, nil
	}
	return nil, nil
}

func flagsOf(kws map[string]bool) ([]string, error) {
	var out []string
	for k, on := range kws {
		if !on || !validKeyword(k) {
			return nil, invalidProps("bad keyword "+k, "keywords")
		}
		out = append(out, flagOf(k))
	}
	return out, nil
}

func (c *call) createEmail(st *store.Store, raw json.RawMessage) (map[string]any, error) {
	var e emailCreate
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, invalidProps(err.Error())
	}
	f, err := c.target(st, e.MailboxIDs)
	if err != nil {
		return nil, err
	}
	flags, err := flagsOf(e.Keywords)
	if err != nil {
		return nil, err
	}
	msg, err := c.buildMessage(st, &e)
	if err != nil {
		return nil, err
	}
	it := store.NewItem{Content: bytes.NewReader(msg), Flags: flags}
	if e.ReceivedAt != nil {
		it.InternalDate = *e.ReceivedAt
	}
	item, err := c.s.o.Store.AppendItem(c.ctx, f.ID, it)
	if err != nil {
		return nil, err
	}
	return createdEmail(item), nil
}

func createdEmail(it *store.Item) map[string]any {
	return map[string]any{"id": jmap.FormatID('E', it.ID), "blobId": jmap.FormatID('m', it.ID),
		"threadId": jmap.FormatID('T', it.ThreadID), "size": it.Size}
}

func formatAddresses(as []emailAddress) string {
	var out []string
	for _, a := range as {
		if a.Name != nil && *a.Name != "" {
			out = append(out, mime.QEncoding.Encode("utf-8", *a.Name)+" <"+a.Email+">")
		} else {
			out = append(out, a.Email)
		}
	}
	return strings.Join(out, ", ")
}

func msgIDs(ids []string) string {
	var out []string
	for _, id := range ids {
		out = append(out, "<"+id+">")
	}
	return strings.Join(out, " ")
}

// noCRLF refuses header values that would inject header lines.
func noCRLF(s string) bool { return !strings.ContainsAny(s, "\r\n") }

func (c *call) buildMessage(st *store.Store, e *emailCreate) ([]byte, error) {
	var b bytes.Buffer
	hdr := func(name, v string) error {
		if v == "" {
			return nil
		}
		if !noCRLF(v) {
			return invalidProps("line break in "+name, strings.ToLower(name))
		}
		fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		return nil
	}
	date := time.Now()
	if e.SentAt != nil {
		date = *e.SentAt
	}
	mid := e.MessageID
	if len(mid) == 0 {
		var r [12]byte
		rand.Read(r[:])
		mid = []string{hex.EncodeToString(r[:]) + "@roost"}
	}
	subject := ""
	if e.Subject != nil {
		subject = mime.QEncoding.Encode("utf-8", *e.Subject)
	}
	for _, h := range [][2]string{{"From", formatAddresses(e.From)}, {"Sender", formatAddresses(e.Sender)}, {"To", formatAddresses(e.To)},
		{"Cc", formatAddresses(e.Cc)}, {"Bcc", formatAddresses(e.Bcc)}, {"Reply-To", formatAddresses(e.ReplyTo)},
		{"Subject", subject}, {"Date", date.Format(time.RFC1123Z)}, {"Message-ID", msgIDs(mid)},
		{"In-Reply-To", msgIDs(e.InReplyTo)}, {"References", msgIDs(e.References)}, {"MIME-Version", "1.0"}} {
		if err := hdr(h[0], h[1]); err != nil {
			return nil, err
		}
	}
	value := func(p createPart) (string, error) {
		raw, ok := e.BodyValues[p.PartID]
		if !ok {
			return "", invalidProps("no bodyValue for part "+p.PartID, "bodyValues")
		}
		var bv struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(raw, &bv); err != nil {
			return "", invalidProps("bad bodyValue", "bodyValues")
		}
		return bv.Value, nil
	}
	textPart := func(p createPart, sub string) ([]byte, error) {
		v, err := value(p)
		if err != nil {
			return nil, err
		}
		var pb bytes.Buffer
		fmt.Fprintf(&pb, "Content-Type: text/%s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", sub)
		qp := quotedprintable.NewWriter(&pb)
		qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", "\r\n")))
		qp.Close()
		return pb.Bytes(), nil
	}
	if len(e.TextBody) > 1 || len(e.HTMLBody) > 1 {
		return nil, invalidProps("at most one textBody and one htmlBody part", "textBody", "htmlBody")
	}
	var body []byte
	switch {
	case len(e.TextBody) == 1 && len(e.HTMLBody) == 1:
		t, err := textPart(e.TextBody[0], "plain")
		if err != nil {
			return nil, err
		}
		h, err := textPart(e.HTMLBody[0], "html")
		if err != nil {
			return nil, err
		}
		body = multipart("alternative", [][]byte{t, h})
	case len(e.HTMLBody) == 1:
		h, err := textPart(e.HTMLBody[0], "html")
		if err != nil {
			return nil, err
		}
		body = h
	case len(e.TextBody) == 1:
		t, err := textPart(e.TextBody[0], "plain")
		if err != nil {
			return nil, err
		}
		body = t
	default:
		body = []byte("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	}
	if len(e.Attachments) > 0 {
		parts := [][]byte{body}
		budget := c.s.o.MaxSizeAttachmentsPerEmail
		for _, a := range e.Attachments {
			p, err := c.attachmentPart(st, a, &budget)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		}
		body = multipart("mixed", parts)
	}
	b.Write(body)
	return b.Bytes(), nil
}

func multipart(sub string, parts [][]byte) []byte {
	var r [12]byte
	rand.Read(r[:])
	boundary := "=_roost_" + hex.EncodeToString(r[:])
	var b bytes.Buffer
	fmt.Fprintf(&b, "Content-Type: multipart/%s; boundary=\"%s\"\r\n\r\n", sub, boundary)
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\r\n", boundary)
		b.Write(p)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

// attachmentPart is the MIME part of attachment a; budget is what is
// left of maxSizeAttachmentsPerEmail, and the attachment's size is taken
// from it.
func (c *call) attachmentPart(st *store.Store, a createPart, budget *int64) ([]byte, error) {
	rc, _, typ, err := c.s.openBlob(c.ctx, st.ID, a.BlobID)
	if err != nil {
		if se, ok := setError(err); ok && se.Type == jmap.SetNotFound {
			return nil, &jmap.SetError{Type: jmap.SetBlobNotFound, Description: "no blob " + a.BlobID}
		}
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, *budget+1))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", a.BlobID, err)
	}
	if int64(len(data)) > *budget {
		// RFC 8621 §4.6: over maxSizeAttachmentsPerEmail is tooLarge.
		return nil, &jmap.SetError{Type: jmap.SetTooLarge, Description: fmt.Sprintf(
			"the attachments are larger than maxSizeAttachmentsPerEmail (%d bytes)", c.s.o.MaxSizeAttachmentsPerEmail)}
	}
	*budget -= int64(len(data))
	if a.Type != "" {
		typ = a.Type
	}
	if _, _, err := mime.ParseMediaType(typ); err != nil || !noCRLF(typ) {
		return nil, invalidProps("bad type "+typ, "attachments")
	}
	disp := "attachment"
	if a.Disposition != nil && *a.Disposition == "inline" {
		disp = "inline"
	}
	params := map[string]string{}
	if a.Name != nil {
		params["filename"] = *a.Name
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Disposition: %s\r\nContent-Transfer-Encoding: base64\r\n", typ, mime.FormatMediaType(disp, params))
	if a.Cid != nil && noCRLF(*a.Cid) {
		fmt.Fprintf(&b, "Content-ID: <%s>\r\n", *a.Cid)
	}
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes(), nil
}

// emailImport is Email/import (RFC 8621 §4.8): a message from a blob.
func emailImport(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string  `json:"accountId"`
		IfInState *string `json:"ifInState"`
		Emails    map[string]struct {
			BlobID     string          `json:"blobId"`
			MailboxIDs map[string]bool `json:"mailboxIds"`
			Keywords   map[string]bool `json:"keywords"`
			ReceivedAt *time.Time      `json:"receivedAt"`
		} `json:"emails"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	sa := setArgs{AccountID: a.AccountID, IfInState: a.IfInState, Create: map[string]json.RawMessage{}}
	for k := range a.Emails {
		sa.Create[k] = nil
	}
	st, res, err := c.beginSet(&sa)
	if err != nil {
		return nil, err
	}
	err = setEach(sortedKeys(a.Emails), res.NotCreated, func(k string) error {
		e := a.Emails[k]
		item, err := c.importOne(st, e.BlobID, e.MailboxIDs, e.Keywords, e.ReceivedAt)
		if err != nil {
			return err
		}
		c.created[k] = jmap.FormatID('E', item.ID)
		res.Created[k] = createdEmail(item)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, err := c.finishSet(st, res)
	if err != nil {
		return nil, err
	}
	r := out.(*setResponse)
	return map[string]any{"accountId": r.AccountID, "oldState": r.OldState, "newState": r.NewState,
		"created": r.Created, "notCreated": r.NotCreated}, nil
}

func (c *call) importOne(st *store.Store, blobID string, mailboxes, kws map[string]bool, received *time.Time) (*store.Item, error) {
	f, err := c.target(st, mailboxes)
	if err != nil {
		return nil, err
	}
	flags, err := flagsOf(kws)
	if err != nil {
		return nil, err
	}
	rc, _, _, err := c.s.openBlob(c.ctx, st.ID, c.resolveID(blobID))
	if err != nil {
		if se, ok := setError(err); ok && se.Type == jmap.SetNotFound {
			return nil, &jmap.SetError{Type: jmap.SetBlobNotFound, Description: "no blob " + blobID}
		}
		return nil, err
	}
	defer rc.Close()
	it := store.NewItem{Content: rc, Flags: flags}
	if received != nil {
		it.InternalDate = *received
	}
	return c.s.o.Store.AppendItem(c.ctx, f.ID, it)
}
