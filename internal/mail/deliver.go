// Package mail holds the mail domain logic shared by the delivery and
// submission adapters: local delivery now; Sieve, out-of-office, spam
// verdicts and quota warnings as they are built.
//
// Invariant: Deliver reports success for a user only after the message is
// durably stored in that user's store (store.AppendItem has returned).
package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/roost-mail/roost/internal/store"
)

// Deliverer stores incoming messages in users' Inboxes.
type Deliverer struct {
	Store store.Backend
	Log   *slog.Logger
}

// Result is the outcome of delivering to one user.
type Result struct {
	User     *store.User
	FolderID int64 // the Inbox
	ItemID   int64
	UID      uint32
	Err      error // nil, or wraps store.ErrOverQuota, or another (temporary) error
}

// Deliver stores the message that open returns (called once per user, so
// it must return a fresh reader each time) in the Inbox of every user,
// each user once however often it appears.
func (d *Deliverer) Deliver(ctx context.Context, users []*store.User, open func() (io.ReadCloser, error)) []Result {
	sys := store.SystemContext(ctx)
	seen := map[int64]bool{}
	var out []Result
	for _, u := range users {
		if seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		r := d.deliverOne(sys, u, open)
		if r.Err != nil && d.Log != nil {
			d.Log.Warn("delivery failed", "user", u.Login, "err", r.Err)
		}
		out = append(out, r)
	}
	return out
}

func (d *Deliverer) deliverOne(ctx context.Context, u *store.User, open func() (io.ReadCloser, error)) Result {
	res := Result{User: u}
	inbox, err := Inbox(ctx, d.Store, u.Login)
	if err != nil {
		res.Err = err
		return res
	}
	res.FolderID = inbox
	r, err := open()
	if err != nil {
		res.Err = fmt.Errorf("open message: %w", err)
		return res
	}
	defer r.Close()
	it, err := d.Store.AppendItem(ctx, inbox, store.NewItem{Content: r})
	if err != nil {
		res.Err = fmt.Errorf("deliver to %s: %w", u.Login, err)
		return res
	}
	if d.Log != nil {
		d.Log.Info("delivered", "user", u.Login, "tenant", u.Tenant, "folder", inbox, "uid", it.UID, "size", it.Size)
	}
	res.ItemID, res.UID = it.ID, it.UID
	return res
}

// Inbox returns the folder id of a user's Inbox (creating the store on
// first use).
func Inbox(ctx context.Context, b store.Backend, login string) (int64, error) {
	st, err := b.UserStore(ctx, login)
	if err != nil {
		return 0, err
	}
	fs, err := b.ListFolders(ctx, st.ID)
	if err != nil {
		return 0, err
	}
	for _, f := range fs {
		if f.Special == store.SpecialInbox {
			return f.ID, nil
		}
	}
	return 0, errors.New("store has no Inbox")
}
