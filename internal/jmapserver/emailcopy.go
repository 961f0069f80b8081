package jmapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// copyAccount resolves an account of Email/copy: the user's own, or a
// store of another user or a public store in which the store shows the
// user a folder through an ACL (a shared account, accounts.go). Anything
// else is accountNotFound. Reading and writing there is checked by the store
// (the read right on the source folder, insert on the target).
func (c *call) copyAccount(id string) (*store.Store, error) {
	return c.dataAccount(id)
}

type emailCopyArgs struct {
	FromAccountID            string                     `json:"fromAccountId"`
	IfFromInState            *string                    `json:"ifFromInState"`
	AccountID                string                     `json:"accountId"`
	IfInState                *string                    `json:"ifInState"`
	Create                   map[string]json.RawMessage `json:"create"`
	OnSuccessDestroyOriginal bool                       `json:"onSuccessDestroyOriginal"`
	DestroyFromIfInState     *string                    `json:"destroyFromIfInState"`
}

type emailCopyCreate struct {
	ID         string          `json:"id"`
	MailboxIDs map[string]bool `json:"mailboxIds"`
	Keywords   map[string]bool `json:"keywords"`
	ReceivedAt *time.Time      `json:"receivedAt"`
}

// emailCopy is Email/copy (RFC 8621 §4.7, RFC 8620 §5.4): the message is
// read from the source account and appended to the target mailbox.
func emailCopy(c *call, raw json.RawMessage) (any, error) {
	var a emailCopyArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.FromAccountID == a.AccountID {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "fromAccountId and accountId must differ (RFC 8620 §5.4)")
	}
	if len(a.Create) > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", len(a.Create), c.s.o.MaxObjectsInSet)
	}
	from, err := c.copyAccount(a.FromAccountID)
	if err != nil {
		return nil, err
	}
	to, err := c.copyAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	fromState, toState := jmap.FormatState(from.ModSeq), jmap.FormatState(to.ModSeq)
	if a.IfFromInState != nil && *a.IfFromInState != fromState {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "fromAccount state is %s, not %s", fromState, *a.IfFromInState)
	}
	if a.IfInState != nil && *a.IfInState != toState {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", toState, *a.IfInState)
	}
	res := map[string]any{"fromAccountId": a.FromAccountID, "accountId": a.AccountID, "oldState": toState}
	created, notCreated := map[string]any{}, map[string]*jmap.SetError{}
	var originals []string
	err = setEach(sortedKeys(a.Create), notCreated, func(k string) error {
		var cr emailCopyCreate
		if err := parseArgs(a.Create[k], &cr); err != nil {
			return invalidProps(err.Error())
		}
		src, err := c.copySource(from, cr.ID)
		if err != nil {
			return err
		}
		f, err := c.target(to, cr.MailboxIDs)
		if err != nil {
			return err
		}
		flags := src.Flags
		if cr.Keywords != nil {
			if flags, err = flagsOf(cr.Keywords); err != nil {
				return err
			}
		}
		received := src.InternalDate
		if cr.ReceivedAt != nil {
			received = *cr.ReceivedAt
		}
		rc, err := c.s.o.Store.OpenItem(c.ctx, src.ID)
		if err != nil {
			return err
		}
		defer rc.Close()
		it, err := c.s.o.Store.AppendItem(c.ctx, f.ID, store.NewItem{Content: rc, Flags: flags, InternalDate: received})
		if err != nil {
			return err
		}
		c.created[k] = jmap.FormatID('E', it.ID)
		created[k] = createdEmail(it)
		originals = append(originals, cr.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cur, err := c.s.o.Store.GetStore(c.ctx, to.ID)
	if err != nil {
		return nil, fmt.Errorf("store %d: %w", to.ID, err)
	}
	res["newState"] = jmap.FormatState(cur.ModSeq)
	res["created"], res["notCreated"] = created, notCreated
	if !a.OnSuccessDestroyOriginal || len(originals) == 0 {
		return res, nil
	}
	// RFC 8620 §5.4: an implicit /set destroying the originals in the
	// source account, answered as its own response.
	setRaw := rawJSON(map[string]any{"accountId": a.FromAccountID, "ifInState": a.DestroyFromIfInState, "destroy": originals})
	setRes, err := c.setInAccount(from, setRaw)
	if err != nil {
		var me *jmap.MethodError
		if errors.As(err, &me) {
			return extraResponses{main: res, extra: []jmap.Invocation{{Name: "error", Args: rawJSON(me)}}}, nil
		}
		return nil, err
	}
	return extraResponses{main: res, extra: []jmap.Invocation{{Name: "Email/set", Args: rawJSON(setRes)}}}, nil
}

// copySource finds the email to copy in the source account.
func (c *call) copySource(from *store.Store, id string) (*store.Item, error) {
	n, ok := jmap.ParseID('E', c.resolveID(id))
	if !ok {
		return nil, &jmap.SetError{Type: jmap.SetNotFound, Description: "no email " + id}
	}
	it, err := c.s.itemOf(c.ctx, from.ID, n)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
		return nil, &jmap.SetError{Type: jmap.SetNotFound, Description: "no email " + id}
	}
	return it, err
}

// setInAccount destroys emails of a (possibly shared) account: the
// implicit Email/set of onSuccessDestroyOriginal.
func (c *call) setInAccount(st *store.Store, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	state := jmap.FormatState(st.ModSeq)
	if a.IfInState != nil && *a.IfInState != state {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", state, *a.IfInState)
	}
	res := &setResponse{AccountID: a.AccountID, OldState: state, Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}
	err := setEach(a.Destroy, res.NotDestroyed, func(id string) error {
		it, err := c.emailItem(st, id)
		if err != nil {
			return err
		}
		if _, err := c.s.o.Store.DeleteItems(c.ctx, it.FolderID, []uint32{it.UID}); err != nil {
			return err
		}
		res.Destroyed = append(res.Destroyed, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.finishSet(st, res)
}

// Email/parse (RFC 8621 §4.9).
type emailParseArgs struct {
	AccountID           string    `json:"accountId"`
	BlobIDs             []string  `json:"blobIds"`
	Properties          *[]string `json:"properties"`
	BodyProperties      *[]string `json:"bodyProperties"`
	FetchTextBodyValues bool      `json:"fetchTextBodyValues"`
	FetchHTMLBodyValues bool      `json:"fetchHTMLBodyValues"`
	FetchAllBodyValues  bool      `json:"fetchAllBodyValues"`
	MaxBodyValueBytes   int       `json:"maxBodyValueBytes"`
}

// parseProperties is RFC 8621 §4.9's default: the Email/get default
// without the metadata a parsed blob has not.
var parseProperties = []string{"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
	"subject", "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments"}

// maxParseBytes bounds a blob Email/parse reads.
const maxParseBytes = 50 << 20

// readParseBlob reads a blob of the account whole for a /parse method
// (Email/parse, MDN/parse): found is false when the account has no such
// blob or may not read it (notFound); b is nil when the blob is larger
// than limit (notParsable).
func (c *call) readParseBlob(storeID int64, id string, limit int64) (b []byte, found bool, err error) {
	rc, size, _, err := c.s.openBlob(c.ctx, storeID, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("blob %s: %w", id, err)
	}
	defer rc.Close()
	if size > limit {
		return nil, true, nil
	}
	b, err = io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, true, fmt.Errorf("read blob %s: %w", id, err)
	}
	return b, true, nil
}

func emailParse(c *call, raw json.RawMessage) (any, error) {
	var a emailParseArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if len(a.BlobIDs) > c.s.o.MaxObjectsInGet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d blobs, at most %d (maxObjectsInGet)", len(a.BlobIDs), c.s.o.MaxObjectsInGet)
	}
	props, bodyProps, maxBytes, err := c.emailProps(a.Properties, parseProperties, a.BodyProperties, a.MaxBodyValueBytes)
	if err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	ga := &emailGetArgs{FetchTextBodyValues: a.FetchTextBodyValues, FetchHTMLBodyValues: a.FetchHTMLBodyValues, FetchAllBodyValues: a.FetchAllBodyValues}
	parsed, notParsable, notFound := map[string]any{}, []string{}, []string{}
	for _, id := range a.BlobIDs {
		id = c.resolveID(id)
		b, found, err := c.readParseBlob(st.ID, id, maxParseBytes)
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
		root, err := mime.Parse(b, mime.Limits{})
		var le *mime.LimitError
		if (err != nil && !errors.As(err, &le)) || !looksLikeMessage(root) {
			notParsable = append(notParsable, id)
			continue
		}
		m := &message{item: &store.Item{Size: int64(len(b))}, raw: bytes.NewReader(b), root: root, partBase: parsedPartBase(id)}
		o := c.emailObject(m, props, bodyProps, ga, maxBytes)
		// RFC 8621 §4.9: a parsed blob is in no mailbox and has no id.
		for _, k := range []string{"id", "mailboxIds", "keywords", "receivedAt", "threadId"} {
			if _, asked := o[k]; asked || k == "id" {
				o[k] = nil
			}
		}
		if slices.Contains(props, "blobId") {
			o["blobId"] = id
		}
		if a.Properties == nil || !slices.Contains(props, "id") {
			delete(o, "id")
		}
		parsed[id] = o
	}
	return map[string]any{"accountId": a.AccountID, "parsed": parsed, "notParsable": notParsable, "notFound": notFound}, nil
}

// parsedPartBase is the blob id prefix of the parts of a message parsed
// from blob id: the parts of a stored message or of one of its parts are
// IMAP sections of that message ("p<item>_<section>"); the parts of an
// upload are "Q<digest>_<section>".
func parsedPartBase(blobID string) string {
	switch {
	case strings.HasPrefix(blobID, "m"):
		return "p" + blobID[1:]
	case strings.HasPrefix(blobID, "G"):
		return "Q" + blobID[1:]
	}
	return blobID
}

// openUploadPart opens a part of an uploaded message by its blob id
// "Q<digest>_<section>" (Email/parse of an upload names its parts so).
func (s *Server) openUploadPart(ctx context.Context, storeID int64, blobID string) (io.ReadCloser, int64, string, error) {
	hash, rest, ok := strings.Cut(blobID[1:], "_")
	if !ok {
		return nil, 0, "", store.ErrNotFound
	}
	_, path, ok := parsePartBlobID("p1_" + rest)
	if !ok {
		return nil, 0, "", store.ErrNotFound
	}
	rc, size, _, err := s.openBlob(ctx, storeID, "G"+hash)
	if err != nil {
		return nil, 0, "", err
	}
	defer rc.Close()
	if size > maxParseBytes {
		return nil, 0, "", store.ErrNotFound
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxParseBytes))
	if err != nil {
		return nil, 0, "", fmt.Errorf("read upload: %w", err)
	}
	root, err := mime.Parse(b, mime.Limits{})
	var le *mime.LimitError
	if err != nil && !errors.As(err, &le) {
		return nil, 0, "", store.ErrNotFound
	}
	part, ok := root.Section(path)
	if !ok {
		return nil, 0, "", store.ErrNotFound
	}
	data, err := io.ReadAll(part.DecodedBody(bytes.NewReader(b)))
	if err != nil {
		return nil, 0, "", fmt.Errorf("decode part: %w", err)
	}
	return io.NopCloser(bytes.NewReader(data)), int64(len(data)), part.MediaType + "/" + part.SubType, nil
}

// looksLikeMessage: a blob is parsable as an email when its header is
// made of fields (RFC 5322 §2.2), not of arbitrary lines.
func looksLikeMessage(root *mime.Part) bool {
	fs := root.Header.Fields()
	if len(fs) == 0 {
		return false
	}
	for _, f := range fs {
		if f.Name == "" {
			return false
		}
		for i := 0; i < len(f.Name); i++ {
			if f.Name[i] < 33 || f.Name[i] > 126 {
				return false
			}
		}
	}
	return true
}
