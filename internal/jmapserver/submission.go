package jmapserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/store"
)

// CapSubmission is RFC 8621 §1.3.2.
const CapSubmission = "urn:ietf:params:jmap:submission"

// Submitter is the outbound mail service (*queue.Queue): the same sender
// checks and queue as SMTP submission.
type Submitter interface {
	CheckSender(ctx context.Context, from string) error
	Submit(ctx context.Context, m queue.Submission) (queue.Result, error)
}

// identity is RFC 8621 §6.
type identity struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	ReplyTo       any     `json:"replyTo"`
	Bcc           any     `json:"bcc"`
	TextSignature string  `json:"textSignature"`
	HTMLSignature string  `json:"htmlSignature"`
	MayDelete     bool    `json:"mayDelete"`
	user          *string // login the address belongs to
}

func identityID(addr string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(addr)))
	return "I" + hex.EncodeToString(sum[:8])
}

// identities are the addresses the user may send from: its own primary
// address and aliases, and those of users whose send-as list names it
// (the queue's sender rule, package queue).
func (c *call) identities() ([]identity, error) {
	sys := store.SystemContext(c.ctx)
	u, err := c.s.o.Store.GetUser(sys, c.p.Login)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", c.p.Login, err)
	}
	var out []identity
	add := func(owner *store.User, addr string) {
		if addr == "" || slices.ContainsFunc(out, func(i identity) bool { return strings.EqualFold(i.Email, addr) }) {
			return
		}
		out = append(out, identity{ID: identityID(addr), Name: owner.FullName, Email: addr, user: &owner.Login})
	}
	add(u, u.Email)
	for _, a := range u.Aliases {
		add(u, a)
	}
	others, err := c.s.o.Store.ListUsers(sys, u.Tenant)
	if err != nil {
		return nil, fmt.Errorf("users of %s: %w", u.Tenant, err)
	}
	for _, v := range others {
		if v.ID != u.ID && slices.ContainsFunc(v.SendAs, func(l string) bool { return strings.EqualFold(l, u.Login) }) {
			add(v, v.Email)
			for _, a := range v.Aliases {
				add(v, a)
			}
		}
	}
	return out, nil
}

func identityGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, []string{"id", "name", "email", "replyTo", "bcc", "textSignature", "htmlSignature", "mayDelete"}); err != nil {
		return nil, err
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	ids, err := c.identities()
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	for _, i := range ids {
		if a.IDs == nil || slices.Contains(*a.IDs, i.ID) {
			res.List = append(res.List, i)
		}
	}
	if a.IDs != nil {
		for _, id := range *a.IDs {
			if !slices.ContainsFunc(ids, func(i identity) bool { return i.ID == id }) {
				res.NotFound = append(res.NotFound, id)
			}
		}
	}
	return res, nil
}

type submissionCreate struct {
	IdentityID string `json:"identityId"`
	EmailID    string `json:"emailId"`
	Envelope   *struct {
		MailFrom struct {
			Email string `json:"email"`
		} `json:"mailFrom"`
		RcptTo []struct {
			Email string `json:"email"`
		} `json:"rcptTo"`
	} `json:"envelope"`
}

// extraResponses lets a method answer with more than one response (the
// implicit Email/set of EmailSubmission/set, RFC 8621 §7.5).
type extraResponses struct {
	main  any
	extra []jmap.Invocation
}

// emailSubmissionSet is EmailSubmission/set create (RFC 8621 §7.5):
// the email is submitted through the outbound queue at once
// (undoStatus "final"); onSuccessUpdateEmail and onSuccessDestroyEmail
// run as an implicit Email/set.
func emailSubmissionSet(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		setArgs
		OnSuccessUpdateEmail  map[string]map[string]any `json:"onSuccessUpdateEmail"`
		OnSuccessDestroyEmail []string                  `json:"onSuccessDestroyEmail"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if c.s.o.Submitter == nil {
		return nil, jmap.Errorf(jmap.ErrForbidden, "this server does not send mail")
	}
	st, res, err := c.beginSet(&a.setArgs)
	if err != nil {
		return nil, err
	}
	for id := range a.Update {
		res.NotUpdated[id] = &jmap.SetError{Type: jmap.SetNotFound, Description: "submissions are final"}
	}
	for _, id := range a.Destroy {
		res.NotDestroyed[id] = &jmap.SetError{Type: jmap.SetNotFound, Description: "submissions are final"}
	}
	emailOf := map[string]string{} // "#creation id" of a submission → email id
	for _, k := range sortedKeys(a.Create) {
		var sc submissionCreate
		dec := json.NewDecoder(bytes.NewReader(a.Create[k]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sc); err != nil {
			res.NotCreated[k] = invalidProps(err.Error())
			continue
		}
		obj, err := c.submit(st, &sc)
		if err != nil {
			if err := notDone(res.NotCreated, k, err); err != nil {
				return nil, err
			}
			continue
		}
		c.created[k] = obj["id"].(string)
		res.Created[k] = obj
		emailOf["#"+k] = c.resolveID(sc.EmailID)
	}
	main, err := c.finishSet(st, res)
	if err != nil {
		return nil, err
	}
	if len(a.OnSuccessUpdateEmail) == 0 && len(a.OnSuccessDestroyEmail) == 0 {
		return main, nil
	}
	// The implicit Email/set acts on emails of successful submissions only.
	es := setArgs{AccountID: a.AccountID, Update: map[string]map[string]any{}}
	for ref, patch := range a.OnSuccessUpdateEmail {
		if id, ok := emailOf[ref]; ok {
			es.Update[id] = patch
		}
	}
	for _, ref := range a.OnSuccessDestroyEmail {
		if id, ok := emailOf[ref]; ok {
			es.Destroy = append(es.Destroy, id)
		}
	}
	b, _ := json.Marshal(es)
	setRes, err := emailSet(c, b)
	if err != nil {
		return nil, err
	}
	return extraResponses{main: main, extra: []jmap.Invocation{{Name: "Email/set", Args: rawJSON(setRes)}}}, nil
}

func (c *call) submit(st *store.Store, sc *submissionCreate) (map[string]any, error) {
	ids, err := c.identities()
	if err != nil {
		return nil, err
	}
	var ident *identity
	for i := range ids {
		if ids[i].ID == sc.IdentityID {
			ident = &ids[i]
		}
	}
	if ident == nil {
		return nil, invalidProps("no identity "+sc.IdentityID, "identityId")
	}
	it, err := c.emailItem(st, c.resolveID(sc.EmailID))
	if err != nil {
		return nil, invalidProps("no email "+sc.EmailID, "emailId")
	}
	m, err := c.s.loadMessage(c.ctx, it)
	if err != nil {
		return nil, err
	}
	from := ident.Email
	var rcpts []string
	if sc.Envelope != nil {
		from = sc.Envelope.MailFrom.Email
		for _, r := range sc.Envelope.RcptTo {
			rcpts = append(rcpts, r.Email)
		}
	} else {
		// RFC 8621 §7: without an envelope, the recipients are the
		// addresses of To, Cc and Bcc.
		for _, h := range []string{"To", "Cc", "Bcc"} {
			for _, v := range m.root.Header.Values(h) {
				for _, ad := range addresses(v) {
					if !slices.Contains(rcpts, ad.Email) {
						rcpts = append(rcpts, ad.Email)
					}
				}
			}
		}
	}
	if len(rcpts) == 0 {
		return nil, &jmap.SetError{Type: "noRecipients", Description: "the email has no recipients"}
	}
	if err := c.s.o.Submitter.CheckSender(c.ctx, from); err != nil {
		var qe *queue.Error
		if errors.As(err, &qe) && !qe.Temporary() {
			return nil, &jmap.SetError{Type: "forbiddenMailFrom", Description: qe.Msg}
		}
		return nil, err
	}
	// Bcc is not sent (RFC 5322 §3.6.3).
	raw := m.root.Header.Filter([]string{"Bcc"}, true)
	body := make([]byte, m.raw.Size()-m.root.BodyStart)
	if _, err := m.raw.ReadAt(body, m.root.BodyStart); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read email %d: %w", it.ID, err)
	}
	content := append(append([]byte{}, raw...), body...)
	sub := queue.Submission{From: from, Content: bytes.NewReader(content)}
	for _, r := range rcpts {
		sub.Recipients = append(sub.Recipients, queue.Recipient{Addr: r})
	}
	_, err = c.s.o.Submitter.Submit(c.ctx, sub)
	if err != nil {
		var qe *queue.Error
		if errors.As(err, &qe) && !qe.Temporary() {
			typ := "forbiddenToSend"
			switch {
			case strings.HasPrefix(qe.Enhanced, "5.1."):
				typ = "invalidRecipients"
			case strings.HasPrefix(qe.Enhanced, "5.6."):
				typ = "invalidEmail"
			case strings.HasPrefix(qe.Enhanced, "5.3.4"):
				typ = jmap.SetTooLarge
			}
			return nil, &jmap.SetError{Type: typ, Description: qe.Msg}
		}
		if errors.As(err, &qe) && qe.Err != nil {
			return nil, fmt.Errorf("submit: %w", qe.Err)
		}
		return nil, fmt.Errorf("submit: %w", err)
	}
	now := c.s.o.Now()
	return map[string]any{"id": "S" + strconv.FormatInt(it.ID, 10) + "_" + strconv.FormatInt(now.UnixNano(), 36),
		"undoStatus": "final", "sendAt": now.UTC().Format(time.RFC3339)}, nil
}
