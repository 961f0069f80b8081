package jmapserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// defaultEmailProperties is RFC 8621 §4.2's default.
var defaultEmailProperties = []string{"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
	"hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments"}

var emailProperties = append(slices.Clone(defaultEmailProperties), "headers", "bodyStructure")

// metaProperties need no message parsing.
var metaProperties = []string{"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt"}

type emailGetArgs struct {
	getArgs
	BodyProperties      *[]string `json:"bodyProperties"`
	FetchTextBodyValues bool      `json:"fetchTextBodyValues"`
	FetchHTMLBodyValues bool      `json:"fetchHTMLBodyValues"`
	FetchAllBodyValues  bool      `json:"fetchAllBodyValues"`
	MaxBodyValueBytes   int       `json:"maxBodyValueBytes"`
}

// emailProps checks the properties, body properties and maxBodyValueBytes
// of Email/get and Email/parse (RFC 8621 §4.2, §4.9) and fills in the
// defaults; maxBytes is also capped by the server's limit.
func (c *call) emailProps(properties *[]string, defaults []string, bodyProperties *[]string, maxBodyValueBytes int) (props, bodyProps []string, maxBytes int, err error) {
	props = defaults
	if properties != nil {
		props = *properties
	}
	for _, p := range props {
		if !validEmailProperty(p) {
			return nil, nil, 0, jmap.Errorf(jmap.ErrInvalidArguments, "unknown property %q", p)
		}
	}
	bodyProps = defaultBodyProperties
	if bodyProperties != nil {
		bodyProps = *bodyProperties
		for _, p := range bodyProps {
			if !validBodyProperty(p) {
				return nil, nil, 0, jmap.Errorf(jmap.ErrInvalidArguments, "unknown body property %q", p)
			}
		}
	}
	if maxBodyValueBytes < 0 {
		return nil, nil, 0, jmap.Errorf(jmap.ErrInvalidArguments, "maxBodyValueBytes must not be negative")
	}
	maxBytes = c.s.o.MaxBodyValueBytes
	if maxBodyValueBytes > 0 && maxBodyValueBytes < maxBytes {
		maxBytes = maxBodyValueBytes
	}
	return props, bodyProps, maxBytes, nil
}

func validEmailProperty(p string) bool {
	if slices.Contains(emailProperties, p) {
		return true
	}
	_, _, _, ok := headerProperty(p)
	return ok
}

func validBodyProperty(p string) bool {
	if slices.Contains(defaultBodyProperties, p) || p == "headers" || p == "subParts" {
		return true
	}
	_, _, _, ok := headerProperty(p)
	return ok
}

func emailGet(c *call, raw json.RawMessage) (any, error) {
	var a emailGetArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a.getArgs, nil); err != nil {
		return nil, err
	}
	props, bodyProps, maxBytes, err := c.emailProps(a.Properties, defaultEmailProperties, a.BodyProperties, a.MaxBodyValueBytes)
	if err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	if a.IDs == nil {
		// RFC 8620 §5.1 allows a server to refuse ids null when there are
		// too many objects: a mailbox is usually larger than maxObjectsInGet.
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "Email/get needs ids")
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	needParse := false
	for _, p := range props {
		if !slices.Contains(metaProperties, p) {
			needParse = true
		}
	}
	for _, id := range *a.IDs {
		it, err := c.itemByID(st, 'E', id)
		if err != nil {
			return nil, err
		}
		if it == nil {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		var m *message
		if needParse {
			if m, err = c.s.loadMessage(c.ctx, it); err != nil {
				return nil, err
			}
		} else {
			m = &message{item: it}
		}
		res.List = append(res.List, c.emailObject(m, props, bodyProps, &a, maxBytes))
	}
	return res, nil
}

func (c *call) emailObject(m *message, props, bodyProps []string, a *emailGetArgs, maxBytes int) map[string]any {
	it := m.item
	o := map[string]any{"id": jmap.FormatID('E', it.ID)}
	h := func() *headerSet { return &headerSet{m} }
	for _, p := range props {
		switch p {
		case "id":
		case "blobId":
			o[p] = jmap.FormatID('m', it.ID)
		case "threadId":
			o[p] = jmap.FormatID('T', it.ThreadID)
		case "mailboxIds":
			o[p] = map[string]bool{jmap.FormatID('M', it.FolderID): true}
		case "keywords":
			o[p] = keywords(it.Flags)
		case "size":
			o[p] = it.Size
		case "receivedAt":
			o[p] = utcDate(it.InternalDate)
		case "messageId", "inReplyTo", "references":
			name := map[string]string{"messageId": "Message-ID", "inReplyTo": "In-Reply-To", "references": "References"}[p]
			o[p] = h().get(name, "MessageIds")
		case "sender", "from", "to", "cc", "bcc", "replyTo":
			name := map[string]string{"sender": "Sender", "from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc", "replyTo": "Reply-To"}[p]
			o[p] = h().get(name, "Addresses")
		case "subject":
			o[p] = h().get("Subject", "Text")
		case "sentAt":
			o[p] = h().get("Date", "Date")
		case "headers":
			o[p] = rawHeaders(&m.root.Header)
		case "hasAttachment":
			o[p] = m.hasAttachment()
		case "preview":
			o[p] = m.preview()
		case "bodyStructure":
			o[p] = m.partObject(m.structure(), append(slices.Clone(bodyProps), "subParts"))
		case "textBody", "htmlBody", "attachments":
			text, html, att := m.bodies()
			l := map[string][]*bodyPart{"textBody": text, "htmlBody": html, "attachments": att}[p]
			out := []map[string]any{}
			for _, bp := range l {
				out = append(out, m.partObject(bp, bodyProps))
			}
			o[p] = out
		case "bodyValues":
			text, html, _ := m.bodies()
			vals := map[string]bodyValue{}
			add := func(l []*bodyPart) {
				for _, bp := range l {
					if bp.p.MediaType == "text" {
						vals[partID(bp.path)] = m.bodyValue(bp, maxBytes)
					}
				}
			}
			if a.FetchTextBodyValues || a.FetchAllBodyValues {
				add(text)
			}
			if a.FetchHTMLBodyValues || a.FetchAllBodyValues {
				add(html)
			}
			if a.FetchAllBodyValues {
				var all []*bodyPart
				var walk func(bp *bodyPart)
				walk = func(bp *bodyPart) {
					if bp.subs == nil {
						all = append(all, bp)
					}
					for _, s := range bp.subs {
						walk(s)
					}
				}
				walk(m.structure())
				add(all)
			}
			o[p] = vals
		default:
			if name, form, all, ok := headerProperty(p); ok {
				o[p] = headerValue(&m.root.Header, name, form, all)
			}
		}
	}
	return o
}

// headerSet answers the convenience properties from the top-level header.
type headerSet struct{ m *message }

func (h *headerSet) get(name, form string) any {
	return headerValue(&h.m.root.Header, name, form, false)
}

func emailChanges(c *call, raw json.RawMessage) (any, error) {
	return itemChanges(c, raw, 'E')
}

// itemChanges serves Email/changes from the journal (Thread/changes
// folds its answer into threads, threads.go).
func itemChanges(c *call, raw json.RawMessage, kind byte) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	since, max, err := a.check()
	if err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	types, err := c.folderTypes(st)
	if err != nil {
		return nil, err
	}
	created, updated, destroyed, newState, more, err := c.journalDiff(st, since, max, func(ch store.Change) (string, store.ChangeKind) {
		if ch.ItemID == 0 {
			return "", ""
		}
		if t := types[ch.FolderID]; t != "" && t != store.FolderMail {
			return "", ""
		}
		switch ch.Kind {
		case store.ChangeItemCreated, store.ChangeItemUpdated, store.ChangeItemDeleted:
			return jmap.FormatID(kind, ch.ItemID), ch.Kind
		}
		return "", ""
	})
	if err != nil {
		return nil, err
	}
	return changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: jmap.FormatState(newState),
		HasMoreChanges: more, Created: created, Updated: updated, Destroyed: destroyed}, nil
}

// itemByID returns the message an Email ('E') or Thread ('T') id names
// in the account, or nil when there is none the caller may see.
func (c *call) itemByID(st *store.Store, kind byte, id string) (*store.Item, error) {
	n, ok := jmap.ParseID(kind, id)
	if !ok {
		return nil, nil
	}
	it, err := c.s.itemOf(c.ctx, st.ID, n)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%c%d: %w", kind, n, err)
	}
	return it, nil
}
