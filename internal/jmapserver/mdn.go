package jmapserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/mdn"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// CapMDN is RFC 9007 §1.3: MDN/send and MDN/parse.
const CapMDN = "urn:ietf:params:jmap:mdn"

var mdnMethods = map[string]method{
	"MDN/send":  {CapMDN, mdnSend},
	"MDN/parse": {CapMDN, mdnParse},
}

// mdnCapability adds RFC 9007's capability (empty objects) when the
// server sends mail: MDN/parse alone would be of little use.
func (s *Server) mdnCapability(caps, accountCaps map[string]any, primary map[string]string, acct string) {
	if s.o.Submitter == nil {
		return
	}
	caps[CapMDN] = map[string]any{}
	accountCaps[CapMDN] = map[string]any{}
	primary[CapMDN] = acct
}

// mdnDisposition is RFC 9007 §2's Disposition.
type mdnDisposition struct {
	ActionMode  string `json:"actionMode"`
	SendingMode string `json:"sendingMode"`
	Type        string `json:"type"`
}

// mdnObject is RFC 9007 §2's MDN. Pointers tell an absent property
// from a default.
type mdnObject struct {
	ForEmailID             *string           `json:"forEmailId"`
	Subject                *string           `json:"subject"`
	TextBody               *string           `json:"textBody"`
	IncludeOriginalMessage *bool             `json:"includeOriginalMessage"`
	ReportingUA            *string           `json:"reportingUA"`
	Disposition            *mdnDisposition   `json:"disposition"`
	MDNGateway             *string           `json:"mdnGateway"`
	OriginalRecipient      *string           `json:"originalRecipient"`
	FinalRecipient         *string           `json:"finalRecipient"`
	OriginalMessageID      *string           `json:"originalMessageId"`
	Error                  []string          `json:"error"`
	ExtensionFields        map[string]string `json:"extensionFields"`
}

// Bounds on what a client sends in one MDN.
const (
	maxMDNText       = 64 << 10
	maxMDNExtensions = 32
)

// mdnSend is MDN/send (RFC 9007 §2.1): each MDN is built as RFC 8098's
// multipart/report and sent to the original's Disposition-Notification-To
// through the outbound queue, from the identity's address, with the same
// sender checks as EmailSubmission. onSuccessUpdateEmail (keys "#<creation
// id>") patches the emails of the MDNs sent, as an implicit Email/set: the
// client sets "$mdnsent" that way (RFC 9007 §2.1); an email that already
// has it is mdnAlreadySent.
func mdnSend(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID            string                     `json:"accountId"`
		IdentityID           string                     `json:"identityId"`
		Send                 map[string]json.RawMessage `json:"send"`
		OnSuccessUpdateEmail map[string]map[string]any  `json:"onSuccessUpdateEmail"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	if c.s.o.Submitter == nil {
		return nil, jmap.Errorf(jmap.ErrForbidden, "this server does not send mail")
	}
	if len(a.Send) > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d MDNs, at most %d (maxObjectsInSet)", len(a.Send), c.s.o.MaxObjectsInSet)
	}
	ids, err := c.identities()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ids, func(x identity) bool { return x.ID == a.IdentityID })
	if i < 0 {
		// RFC 9007 §2.1: an unknown identityId rejects the call.
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "no identity %q", a.IdentityID)
	}
	ident := ids[i]
	sent, notSent := map[string]any{}, map[string]*jmap.SetError{}
	emailOf := map[string]string{}
	for _, k := range sortedKeys(a.Send) {
		obj, emailID, err := c.sendMDN(st, &ident, ids, a.Send[k])
		if err != nil {
			if err := notDone(notSent, k, err); err != nil {
				return nil, err
			}
			continue
		}
		sent[k] = obj
		emailOf["#"+k] = emailID
	}
	res := map[string]any{"accountId": a.AccountID, "sent": nullIfNone(sent), "notSent": nullIfNone(notSent)}
	if len(a.OnSuccessUpdateEmail) == 0 {
		return res, nil
	}
	es := setArgs{AccountID: a.AccountID, Update: map[string]map[string]any{}}
	for ref, patch := range a.OnSuccessUpdateEmail {
		if id, ok := emailOf[ref]; ok {
			es.Update[id] = patch
		}
	}
	if len(es.Update) == 0 {
		return res, nil
	}
	b, _ := json.Marshal(es)
	setRes, err := emailSet(c, b)
	if err != nil {
		return nil, err
	}
	return extraResponses{main: res, extra: []jmap.Invocation{{Name: "Email/set", Args: rawJSON(setRes)}}}, nil
}

func nullIfNone[V any](m map[string]V) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// sendMDN checks, builds and sends one MDN; it returns the properties
// the server set (RFC 9007 §2.1's "sent") and the email's id.
func (c *call) sendMDN(st *store.Store, ident *identity, ids []identity, raw json.RawMessage) (map[string]any, string, error) {
	var o mdnObject
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, "", invalidProps(err.Error())
	}
	// Server-set properties (RFC 9007 §2).
	switch {
	case o.MDNGateway != nil:
		return nil, "", invalidProps("mdnGateway is set by the server", "mdnGateway")
	case o.OriginalRecipient != nil:
		return nil, "", invalidProps("originalRecipient is set by the server", "originalRecipient")
	case o.OriginalMessageID != nil:
		return nil, "", invalidProps("originalMessageId is set by the server", "originalMessageId")
	case o.Error != nil:
		return nil, "", invalidProps("error is set by the server", "error")
	case o.ForEmailID == nil:
		return nil, "", invalidProps("forEmailId is required", "forEmailId")
	case o.Disposition == nil:
		return nil, "", invalidProps("disposition is required", "disposition")
	}
	disp := mdn.Disposition{ActionMode: o.Disposition.ActionMode, SendingMode: o.Disposition.SendingMode, Type: o.Disposition.Type}
	if !disp.Valid() {
		return nil, "", invalidProps("disposition is not one RFC 8098 defines", "disposition")
	}
	if (o.Subject != nil && len(*o.Subject) > 998) || (o.TextBody != nil && len(*o.TextBody) > maxMDNText) ||
		(o.ReportingUA != nil && len(*o.ReportingUA) > 998) {
		return nil, "", &jmap.SetError{Type: jmap.SetTooLarge, Description: "subject, textBody or reportingUA too long"}
	}
	if len(o.ExtensionFields) > maxMDNExtensions {
		return nil, "", invalidProps(fmt.Sprintf("at most %d extension fields", maxMDNExtensions), "extensionFields")
	}
	for n, v := range o.ExtensionFields {
		if !mdn.ValidFieldName(n) || len(v) > 998 {
			return nil, "", invalidProps("bad extension field "+n, "extensionFields")
		}
	}
	final := "rfc822; " + ident.Email
	if o.FinalRecipient != nil {
		// RFC 9007 §5: a client-chosen final recipient must be one of the
		// user's own addresses, or the MDN would speak for someone else.
		typ, addr, _ := strings.Cut(*o.FinalRecipient, ";")
		addr = strings.TrimSpace(addr)
		if !strings.EqualFold(strings.TrimSpace(typ), "rfc822") ||
			!slices.ContainsFunc(ids, func(x identity) bool { return strings.EqualFold(x.Email, addr) }) {
			return nil, "", &jmap.SetError{Type: "forbiddenFrom", Description: "finalRecipient is not an address of the user", Properties: []string{"finalRecipient"}}
		}
		final = "rfc822; " + addr
	}
	emailID := c.resolveID(*o.ForEmailID)
	it, err := c.emailItem(st, emailID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", &jmap.SetError{Type: jmap.SetNotFound, Description: "no email " + emailID}
		}
		return nil, "", err
	}
	if slices.ContainsFunc(it.Flags, func(f string) bool { return strings.EqualFold(f, "$mdnsent") }) {
		return nil, "", &jmap.SetError{Type: "mdnAlreadySent", Description: "the email has $mdnsent"}
	}
	m, err := c.s.loadMessage(c.ctx, it)
	if err != nil {
		return nil, "", err
	}
	h := &m.root.Header
	var rcpts []string
	for _, v := range h.Values("Disposition-Notification-To") {
		for _, ad := range addresses(v) {
			if ad.Email != "" && !slices.Contains(rcpts, ad.Email) {
				rcpts = append(rcpts, ad.Email)
			}
		}
	}
	if len(rcpts) == 0 {
		return nil, "", invalidProps("the email asks for no disposition notification (no Disposition-Notification-To)", "forEmailId")
	}
	if len(rcpts) > maxSubmissionRcpts {
		return nil, "", &jmap.SetError{Type: "tooManyRecipients", Description: fmt.Sprintf("at most %d recipients", maxSubmissionRcpts)}
	}
	if err := c.s.o.Submitter.CheckSender(c.ctx, ident.Email); err != nil {
		var qe *queue.Error
		if errors.As(err, &qe) && !qe.Temporary() {
			return nil, "", &jmap.SetError{Type: "forbiddenFrom", Description: qe.Msg}
		}
		return nil, "", err
	}
	origSubject := asText(h.Get("Subject"))
	origID, _ := mime.ParseMessageID(h.Get("Message-ID"))
	rep := &mdn.Report{FinalRecipient: final, Disposition: disp, Extensions: o.ExtensionFields}
	if o.ReportingUA != nil {
		rep.ReportingUA = *o.ReportingUA
	}
	// RFC 8098 §3.2.3: Original-Recipient is copied from the message's
	// field when the MTA added one.
	if v := strings.TrimSpace(h.Get("Original-Recipient")); v != "" {
		rep.OriginalRecipient = v
	}
	if origID != "" {
		rep.OriginalMessageID = "<" + origID + ">"
	}
	serverSet := map[string]any{"finalRecipient": final, "originalRecipient": nullIfEmpty(rep.OriginalRecipient),
		"originalMessageId": nullIfEmpty(rep.OriginalMessageID), "mdnGateway": nil, "error": nil}
	subject := ""
	if o.Subject != nil {
		subject = *o.Subject
	} else {
		subject = mdnSubject(disp.Type, origSubject)
		serverSet["subject"] = subject
	}
	text := ""
	if o.TextBody != nil {
		text = *o.TextBody
	} else {
		text = fmt.Sprintf("The message sent to %s with the subject %q was %s (%s).\n", ident.Email, origSubject, disp.Type, disp.ActionMode)
		serverSet["textBody"] = text
	}
	if o.ReportingUA == nil {
		serverSet["reportingUA"] = nil
	}
	var original []byte
	if o.IncludeOriginalMessage != nil && *o.IncludeOriginalMessage {
		original = make([]byte, m.raw.Size())
		if _, err := m.raw.ReadAt(original, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, "", fmt.Errorf("read email %d: %w", it.ID, err)
		}
	} else if o.IncludeOriginalMessage == nil {
		serverSet["includeOriginalMessage"] = false
	}
	if o.ExtensionFields == nil {
		serverSet["extensionFields"] = nil
	}
	from := ident.Email
	if ident.Name != "" {
		from = formatAddresses([]emailAddress{{Name: &ident.Name, Email: ident.Email}})
	}
	content := mdn.Build(mdn.Message{From: from, To: strings.Join(rcpts, ", "), Subject: subject, Date: c.s.o.Now(),
		MessageID: randomHex(12) + "@" + domainPart(ident.Email), InReplyTo: origID, Text: text, Report: rep, Original: original})
	// The envelope sender is the identity's address, not RFC 8098 §3's
	// null sender: submission refuses the null sender (queue.Submit).
	if err := c.s.send(c.ctx, &outgoing{from: ident.Email, rcpts: rcpts, content: content, item: it}); err != nil {
		return nil, "", err
	}
	return serverSet, emailID, nil
}

func mdnSubject(typ, orig string) string {
	if typ == "displayed" {
		return "Read: " + orig
	}
	return "Disposition notification (" + typ + "): " + orig
}

func domainPart(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// Bounds of MDN/parse.
const maxMDNParseBytes = 10 << 20

// mdnParse is MDN/parse (RFC 9007 §2.2): blobs that are multipart/report
// messages with a disposition-notification part give MDN objects;
// forEmailId is the account's email whose Message-ID the report names.
func mdnParse(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string   `json:"accountId"`
		BlobIDs   []string `json:"blobIds"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if len(a.BlobIDs) > c.s.o.MaxObjectsInGet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d blobs, at most %d (maxObjectsInGet)", len(a.BlobIDs), c.s.o.MaxObjectsInGet)
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	parsed, notParsable, notFound := map[string]any{}, []string{}, []string{}
	for _, id := range a.BlobIDs {
		id = c.resolveID(id)
		b, found, err := c.readParseBlob(st.ID, id, maxMDNParseBytes)
		if err != nil {
			return nil, err
		}
		if !found {
			notFound = append(notFound, id)
			continue
		}
		if b == nil {
			notParsable = append(notParsable, id)
			continue
		}
		obj, ok, err := c.parseMDN(st, b)
		if err != nil {
			return nil, err
		}
		if !ok {
			notParsable = append(notParsable, id)
			continue
		}
		parsed[id] = obj
	}
	return map[string]any{"accountId": a.AccountID, "parsed": nullIfNone(parsed), "notParsable": nilIfEmptyList(notParsable),
		"notFound": nilIfEmptyList(notFound)}, nil
}

func nilIfEmptyList(l []string) any {
	if len(l) == 0 {
		return nil
	}
	return l
}

// parseMDN reads an MDN message; ok false when it is none.
func (c *call) parseMDN(st *store.Store, b []byte) (map[string]any, bool, error) {
	root, err := mime.Parse(b, mime.Limits{})
	var le *mime.LimitError
	if (err != nil && !errors.As(err, &le)) || root == nil {
		return nil, false, nil
	}
	report := findReport(root)
	if report == nil || len(report.Children) < 2 {
		return nil, false, nil
	}
	var text, fields *mime.Part
	var includeOriginal bool
	for _, p := range report.Children {
		switch {
		case p.MediaType == "message" && (p.SubType == "disposition-notification" || p.SubType == "global-disposition-notification"):
			if fields == nil {
				fields = p
			}
		case p.MediaType == "text" && p.SubType == "plain" && text == nil && fields == nil:
			text = p
		case p.IsMessage() || (p.MediaType == "text" && p.SubType == "rfc822-headers"):
			includeOriginal = p.IsMessage()
		}
	}
	if fields == nil {
		return nil, false, nil
	}
	raw := bytes.NewReader(b)
	body, err := io.ReadAll(io.LimitReader(fields.DecodedBody(raw), mdn.MaxFieldsSize+1))
	if err != nil {
		return nil, false, nil
	}
	rep, err := mdn.Parse(body)
	if err != nil {
		return nil, false, nil
	}
	m := &message{raw: raw, root: root}
	obj := map[string]any{
		"forEmailId": nil, "subject": nullIfEmpty(asText(root.Header.Get("Subject"))), "textBody": nil,
		"includeOriginalMessage": includeOriginal, "reportingUA": nullIfEmpty(rep.ReportingUA),
		"disposition": mdnDisposition{ActionMode: rep.Disposition.ActionMode, SendingMode: rep.Disposition.SendingMode, Type: rep.Disposition.Type},
		"mdnGateway":  nullIfEmpty(rep.MDNGateway), "originalRecipient": nullIfEmpty(rep.OriginalRecipient),
		"finalRecipient": nullIfEmpty(rep.FinalRecipient), "originalMessageId": nullIfEmpty(rep.OriginalMessageID),
		"error": nil, "extensionFields": nil,
	}
	if len(rep.Errors) > 0 {
		obj["error"] = rep.Errors
	}
	if len(rep.Extensions) > 0 {
		obj["extensionFields"] = rep.Extensions
	}
	if text != nil {
		obj["textBody"] = m.bodyValue(&bodyPart{p: text}, maxMDNText).Value
	}
	if mid, ok := mime.ParseMessageID(rep.OriginalMessageID); ok {
		id, err := c.emailByMessageID(st, mid)
		if err != nil {
			return nil, false, err
		}
		obj["forEmailId"] = nullIfEmpty(id)
	}
	return obj, true, nil
}

// findReport finds the multipart/report with report-type
// disposition-notification: the message itself or, for an MDN that was
// forwarded, one level down.
func findReport(p *mime.Part) *mime.Part {
	isReport := func(p *mime.Part) bool {
		return p.MediaType == "multipart" && p.SubType == "report" && strings.EqualFold(p.Params.Get("report-type"), "disposition-notification")
	}
	if isReport(p) {
		return p
	}
	for _, ch := range p.Children {
		if isReport(ch) {
			return ch
		}
	}
	return nil
}

// emailByMessageID finds the account's live email with that Message-ID
// (the sent message an MDN reports on); "" when there is none. It uses
// Email/query's header filter, so it reads at most what a query reads.
func (c *call) emailByMessageID(st *store.Store, mid string) (string, error) {
	q, err := json.Marshal(map[string]any{"accountId": jmap.FormatID('A', st.ID),
		"filter": map[string]any{"header": []string{"Message-ID", "<" + mid + ">"}}, "limit": 1})
	if err != nil {
		return "", err
	}
	res, err := emailQuery(c, q)
	if err != nil {
		var me *jmap.MethodError
		if errors.As(err, &me) {
			return "", nil
		}
		return "", err
	}
	b, _ := json.Marshal(res)
	var out struct {
		IDs []string `json:"ids"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.IDs) == 0 {
		return "", nil
	}
	return out.IDs[0], nil
}
