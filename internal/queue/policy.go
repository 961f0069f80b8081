package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// sender is the authenticated user and what it may send as.
type sender struct {
	p    *store.Principal
	user *store.User
}

func (q *Queue) sender(ctx context.Context) (*sender, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if p.System || p.Login == "" {
		return nil, reject(550, "5.7.1", "only users submit mail")
	}
	u, err := q.o.Store.GetUser(store.SystemContext(ctx), p.Login)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", p.Login, err)
	}
	return &sender{p: p, user: u}, nil
}

// owns reports whether addr is one of u's own addresses.
func owns(u *store.User, addr string) bool {
	if strings.EqualFold(u.Email, addr) {
		return true
	}
	return slices.ContainsFunc(u.Aliases, func(a string) bool { return strings.EqualFold(a, addr) })
}

// mayUse checks addr against the sender rule (package doc) and returns the
// user that owns addr (s.user itself, or the one sent as).
func (q *Queue) mayUse(ctx context.Context, s *sender, addr string) (*store.User, error) {
	if owns(s.user, addr) {
		return s.user, nil
	}
	v, err := q.o.Store.UserByAddress(store.SystemContext(ctx), addr)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, reject(553, "5.7.1", "<%s> is not one of your addresses", addr)
	case err != nil:
		return nil, fmt.Errorf("look up %s: %w", addr, err)
	}
	if v.ID != s.user.ID && !slices.ContainsFunc(v.SendAs, func(l string) bool { return strings.EqualFold(l, s.user.Login) }) {
		return nil, reject(553, "5.7.1", "you may not send as <%s>", addr)
	}
	return v, nil
}

// CheckSender checks an envelope sender for the principal in ctx (at MAIL
// FROM, before the message is read).
func (q *Queue) CheckSender(ctx context.Context, from string) error {
	if from == "" {
		return reject(553, "5.7.1", "the null sender is not allowed for submission")
	}
	s, err := q.sender(ctx)
	if err != nil {
		return err
	}
	_, err = q.mayUse(ctx, s, from)
	return err
}

// CheckRecipient refuses an address in one of Roost's domains that nobody
// receives (at RCPT TO). Remote addresses pass.
func (q *Queue) CheckRecipient(ctx context.Context, rcpt string) error {
	_, err := q.route(ctx, rcpt)
	return err
}

// route tells a local recipient from a remote one. An address of a local
// domain that resolves to nobody is a permanent error.
func (q *Queue) route(ctx context.Context, addr string) (local bool, err error) {
	sys := store.SystemContext(ctx)
	_, err = q.o.Store.Recipients(sys, addr)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("resolve %s: %w", addr, err)
	}
	// A group whose members are contacts only is local too (delivery
	// sends it on to them).
	if cs, err := q.o.Store.RecipientContacts(sys, addr); err != nil {
		return false, fmt.Errorf("resolve %s: %w", addr, err)
	} else if len(cs) > 0 {
		return true, nil
	}
	doms, err := q.o.Store.ListDomains(sys)
	if err != nil {
		return false, fmt.Errorf("list domains: %w", err)
	}
	d := domainOf(addr)
	for _, x := range doms {
		if strings.EqualFold(x.Name, d) {
			return false, reject(550, "5.1.1", "<%s>: no such user here", addr)
		}
	}
	return false, nil
}

// checkQuota refuses a sender whose store is over its soft quota (Kopano:
// over the soft limit a user can no longer send).
func (q *Queue) checkQuota(ctx context.Context, s *sender) error {
	st, err := q.o.Store.UserStore(ctx, s.user.Login)
	if err != nil {
		return fmt.Errorf("open store of %s: %w", s.user.Login, err)
	}
	qs, err := q.o.Store.StoreQuota(ctx, st.ID)
	if err != nil {
		return fmt.Errorf("quota of %s: %w", s.user.Login, err)
	}
	if qs.Quota.Soft > 0 && qs.Size > qs.Quota.Soft {
		return reject(552, "5.2.2", "your mailbox uses %d bytes, over its limit of %d bytes for sending: delete or archive messages, then send again", qs.Size, qs.Quota.Soft)
	}
	return nil
}
