package jmapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// method is one JMAP method. It returns the response arguments, or an
// error: a *jmap.MethodError is sent as is, a store sentinel is mapped in
// methodError, anything else is serverFail and logged.
type method struct {
	capability string
	fn         func(c *call, args json.RawMessage) (any, error)
}

// methods is the dispatch table: the core and mail methods below, the
// extensions (extensions.go) and calendars and contacts (calendar.go).
// It is never written after initialisation.
var methods = joinMethods(coreMethods, extensionMethods, groupwareMethods, principalMethods, shareMethods, mdnMethods, calNotifyMethods, taskMethods)

var coreMethods = map[string]method{
	"Core/echo":           {jmap.CapCore, echo},
	"Mailbox/get":         {jmap.CapMail, mailboxGet},
	"Mailbox/changes":     {jmap.CapMail, mailboxChanges},
	"Mailbox/query":       {jmap.CapMail, mailboxQuery},
	"Email/get":           {jmap.CapMail, emailGet},
	"Email/changes":       {jmap.CapMail, emailChanges},
	"Email/query":         {jmap.CapMail, emailQuery},
	"Thread/get":          {jmap.CapMail, threadGet},
	"Thread/changes":      {jmap.CapMail, threadChanges},
	"Email/set":           {jmap.CapMail, emailSet},
	"Email/import":        {jmap.CapMail, emailImport},
	"Mailbox/set":         {jmap.CapMail, mailboxSet},
	"Identity/get":        {CapSubmission, identityGet},
	"EmailSubmission/set": {CapSubmission, emailSubmissionSet},
}

var knownCapabilities = slices.Concat([]string{jmap.CapCore, jmap.CapMail, CapSubmission},
	extensionCapabilities, groupwareCaps, []string{CapTasks, CapPrincipals, CapPrincipalOwner, CapMDN})

// joinMethods merges method tables; a name in two tables is a
// programming error.
func joinMethods(tables ...map[string]method) map[string]method {
	out := map[string]method{}
	for _, t := range tables {
		for name, m := range t {
			if _, dup := out[name]; dup {
				panic("jmapserver: method " + name + " registered twice")
			}
			out[name] = m
		}
	}
	return out
}

// call is the context of one method call.
type call struct {
	ctx     context.Context
	s       *Server
	p       *store.Principal
	name    string
	cap     string                // the method's capability
	created map[string]string     // creation ids of the request
	acct    *store.Store          // the principal's private store, loaded once
	shared  []*sharedAccount      // stores shared with the principal (accounts.go), loaded once
	dir     []*principal          // the tenant's principals (principal.go), loaded once
	dirKey  map[string]*principal // dir by id and by ACL subject
	r       *http.Request
}

// account checks an accountId argument and returns its store. Roost has
// one account per user: any other id is accountNotFound.
func (c *call) account(id string) (*store.Store, error) {
	if id == "" {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "accountId is required")
	}
	if c.acct == nil {
		st, err := c.s.o.Store.UserStore(c.ctx, c.p.Login)
		if err != nil {
			return nil, fmt.Errorf("user store of %s: %w", c.p.Login, err)
		}
		c.acct = st
	}
	if n, ok := jmap.ParseID('A', id); !ok || n != c.acct.ID {
		return nil, jmap.Errorf(jmap.ErrAccountNotFound, "no account %q", id)
	}
	// Reload: the state must be current for every call.
	st, err := c.s.o.Store.GetStore(c.ctx, c.acct.ID)
	if err != nil {
		return nil, fmt.Errorf("store %d: %w", c.acct.ID, err)
	}
	c.acct = st
	return st, nil
}

// api serves the API endpoint (RFC 8620 §3).
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	p := store.PrincipalFrom(r.Context())
	if !s.acquire(s.requests, p.Login, s.o.MaxConcurrentRequests) {
		problem(w, &jmap.Problem{Type: jmap.ProblemLimit, Status: http.StatusTooManyRequests, Limit: "maxConcurrentRequests",
			Detail: fmt.Sprintf("at most %d concurrent requests", s.o.MaxConcurrentRequests)})
		return
	}
	defer s.release(s.requests, p.Login)
	// The Content-Type is not checked: the body must be JSON whatever it
	// says (curl -d labels it a form).
	body, err := io.ReadAll(io.LimitReader(r.Body, s.o.MaxSizeRequest+1))
	if err != nil {
		problem(w, &jmap.Problem{Type: jmap.ProblemNotJSON, Status: http.StatusBadRequest, Detail: "cannot read the request body"})
		return
	}
	req, err := jmap.ParseRequest(body, jmap.Limits{MaxSize: s.o.MaxSizeRequest, MaxCalls: s.o.MaxCallsInRequest})
	if err != nil {
		var pr *jmap.Problem
		if errors.As(err, &pr) {
			problem(w, pr)
			return
		}
		s.internalError(w, r, "parse request", err)
		return
	}
	res, pr := s.execute(r, p, req)
	if pr != nil {
		problem(w, pr)
		return
	}
	writeJSON(w, res)
}

// execute runs a parsed request's method calls (the API endpoint and the
// WebSocket share it); a problem refuses the whole request.
func (s *Server) execute(r *http.Request, p *store.Principal, req *jmap.Request) (*jmap.Response, *jmap.Problem) {
	for _, u := range req.Using {
		if !slices.Contains(knownCapabilities, u) {
			return nil, &jmap.Problem{Type: jmap.ProblemUnknownCapability, Status: http.StatusBadRequest,
				Detail: fmt.Sprintf("unknown capability %q", u)}
		}
	}
	created := req.CreatedIDs
	if created == nil {
		created = map[string]string{}
	}
	var out []jmap.Invocation
	for _, inv := range req.MethodCalls {
		c := &call{ctx: r.Context(), s: s, p: p, name: inv.Name, created: created, r: r}
		resp := s.invoke(c, req.Using, inv, out)
		out = append(out, resp...)
	}
	res := &jmap.Response{MethodResponses: out}
	if req.CreatedIDs != nil {
		res.CreatedIDs = created
	}
	res.SessionState = s.sessionState(r.Context(), p)
	if res.MethodResponses == nil {
		res.MethodResponses = []jmap.Invocation{}
	}
	return res, nil
}

func (s *Server) sessionState(ctx context.Context, p *store.Principal) string {
	st, err := s.o.Store.UserStore(ctx, p.Login)
	if err != nil {
		return ""
	}
	shared, err := (&call{ctx: ctx, s: s, p: p, acct: st}).sharedAccounts()
	if err != nil {
		return ""
	}
	return sessionStateOf(p.Login, st.ID, shared)
}

// invoke runs one method call and returns its responses.
func (s *Server) invoke(c *call, using []string, inv jmap.Invocation, done []jmap.Invocation) []jmap.Invocation {
	errResp := func(e *jmap.MethodError) []jmap.Invocation {
		b, _ := json.Marshal(e)
		return []jmap.Invocation{{Name: "error", Args: b, CallID: inv.CallID}}
	}
	m, ok := methods[inv.Name]
	if !ok {
		return errResp(jmap.Errorf(jmap.ErrUnknownMethod, "unknown method %q", inv.Name))
	}
	if !slices.Contains(using, m.capability) {
		// RFC 8620 §3.6.2: a method of a capability not in "using".
		return errResp(jmap.Errorf(jmap.ErrUnknownMethod, "%s needs %s in using", inv.Name, m.capability))
	}
	args, merr := jmap.ResolveArgs(inv.Args, done)
	if merr != nil {
		return errResp(merr)
	}
	c.cap = m.capability
	res, err := s.runMethod(c, m, args)
	if err != nil {
		return errResp(s.methodError(c, err))
	}
	var extra []jmap.Invocation
	if x, ok := res.(extraResponses); ok {
		res, extra = x.main, x.extra
	}
	b, err := json.Marshal(res)
	if err != nil {
		return errResp(s.methodError(c, fmt.Errorf("encode %s response: %w", inv.Name, err)))
	}
	out := []jmap.Invocation{{Name: inv.Name, Args: b, CallID: inv.CallID}}
	for _, x := range extra {
		x.CallID = inv.CallID
		out = append(out, x)
	}
	return out
}

func (s *Server) runMethod(c *call, m method, args json.RawMessage) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in %s: %v", c.name, v)
		}
	}()
	return m.fn(c, args)
}

// methodError maps an error to a method-level error: the one place
// where store sentinels become JMAP errors.
func (s *Server) methodError(c *call, err error) *jmap.MethodError {
	var me *jmap.MethodError
	switch {
	case errors.As(err, &me):
		return me
	case errors.Is(err, store.ErrPermission):
		return jmap.Errorf(jmap.ErrForbidden, "permission denied")
	case errors.Is(err, store.ErrInvalid):
		return jmap.Errorf(jmap.ErrInvalidArguments, "%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return jmap.Errorf(jmap.ErrServerUnavailable, "request canceled")
	}
	s.log.Error("JMAP method failed", "method", c.name, "user", c.p.Login, "err", err)
	return jmap.Errorf(jmap.ErrServerFail, "internal error")
}

// parseArgs decodes method arguments strictly: an unknown argument is
// invalidArguments (RFC 8620 §3.6.2).
func parseArgs(args json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jmap.Errorf(jmap.ErrInvalidArguments, "%v", err)
	}
	return nil
}

func echo(c *call, args json.RawMessage) (any, error) {
	return args, nil
}
