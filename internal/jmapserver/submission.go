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
	"strings"

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
	derived, err := c.addressIdentities()
	if err != nil {
		return nil, err
	}
	return c.withStoredIdentities(derived) // identity.go
}

// addressIdentities are the identities of the addresses the user may
// send from, before Identity/set's changes.
func (c *call) addressIdentities() ([]identity, error) {
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
	res := getResponse{AccountID: a.AccountID, State: identityState(ids), List: []any{}, NotFound: []string{}}
	_ = st
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
	if n := len(a.Create) + len(a.Update) + len(a.Destroy); n > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", n, c.s.o.MaxObjectsInSet)
	}
	st, recs0, seq0, _, err := c.submissionAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	_ = recs0
	// The state of EmailSubmission is its own counter (submissions.go).
	if a.IfInState != nil && *a.IfInState != subState(seq0) {
		return nil, jmap.Errorf(jmap.ErrStateMismatch, "state is %s, not %s", subState(seq0), *a.IfInState)
	}
	res := &setResponse{AccountID: a.AccountID, OldState: subState(seq0), Created: map[string]any{}, Updated: map[string]any{},
		Destroyed: []string{}, NotCreated: map[string]*jmap.SetError{}, NotUpdated: map[string]*jmap.SetError{},
		NotDestroyed: map[string]*jmap.SetError{}}
	emailOf := map[string]string{} // "#creation id" of a submission → email id
	for _, k := range sortedKeys(a.Create) {
		var sc submissionCreate
		dec := json.NewDecoder(bytes.NewReader(a.Create[k]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sc); err != nil {
			res.NotCreated[k] = invalidProps(err.Error())
			continue
		}
		obj, err := c.submitAndRecord(st, &sc)
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
	if err := c.updateDestroySubmissions(st, &a.setArgs, res); err != nil {
		return nil, err
	}
	_, seq1, _, err := c.s.subStore(c.ctx, st.ID)
	if err != nil {
		return nil, err
	}
	res.NewState = subState(seq1)
	var main any = res
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

// outgoing is a submission ready to send: checked and with its content.
type outgoing struct {
	from    string
	rcpts   []string
	content []byte
	item    *store.Item
}

func (c *call) prepare(st *store.Store, sc *submissionCreate) (*outgoing, error) {
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
	if len(rcpts) > maxSubmissionRcpts {
		return nil, &jmap.SetError{Type: "tooManyRecipients", Description: fmt.Sprintf("at most %d recipients", maxSubmissionRcpts)}
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
	return &outgoing{from: from, rcpts: rcpts, content: append(append([]byte{}, raw...), body...), item: it}, nil
}

// maxSubmissionRcpts bounds the recipients of one submission.
const maxSubmissionRcpts = 1000

// send puts a prepared submission into the outbound queue.
func (s *Server) send(ctx context.Context, og *outgoing) error {
	sub := queue.Submission{From: og.from, Content: bytes.NewReader(og.content)}
	for _, r := range og.rcpts {
		sub.Recipients = append(sub.Recipients, queue.Recipient{Addr: r})
	}
	_, err := s.o.Submitter.Submit(ctx, sub)
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
			return &jmap.SetError{Type: typ, Description: qe.Msg}
		}
		if errors.As(err, &qe) && qe.Err != nil {
			return fmt.Errorf("submit: %w", qe.Err)
		}
		return fmt.Errorf("submit: %w", err)
	}
	return nil
}
