// Package mail holds the mail domain logic shared by the delivery and
// submission adapters: the delivery pipeline (spam verdict, Sieve,
// out-of-office, resource hook, delivery hooks), Sieve script and
// out-of-office settings, and the quota monitor.
//
// Storage layout (store properties of the user's private store):
//
//	sieve/script/<name>   the text of a Sieve script
//	sieve/active          the name of the active script ("" or absent: none)
//	oof/enabled           "1" when out-of-office is on
//	oof/subject, oof/message, oof/from, oof/until (RFC 3339; "" = open)
//
// Tenant properties "template/userwarning", "template/usersoft",
// "template/userhard" and "template/companywarning" override the quota
// warning templates.
//
// Invariants:
//   - Deliver reports success for a user only after every copy the
//     pipeline decided to keep is durably stored (store.AppendItem has
//     returned). Side effects (redirects, vacation and out-of-office
//     replies, the resource hook, delivery hooks) happen only after that,
//     so a temporary failure never leaves a reply or redirect behind for a
//     message the MTA will send again.
//   - A failing Sieve script never loses mail: the message is kept in the
//     Inbox (RFC 5228 §2.10.6).
//   - Automatic replies (vacation, out-of-office) go out with the null
//     envelope sender and Auto-Submitted: auto-replied (RFC 3834), never to
//     automatic mail, and at most once per sender per period
//     (store.RecordOnce).
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Outbound sends a message (redirects, automatic replies). from is the
// envelope sender ("" = null sender <>). The app wires it to the outbound
// queue.
type Outbound interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// ResourceHook handles iMIP messages (RFC 6047: invitations, replies,
// cancellations with a text/calendar part) delivered to a user: it updates
// the user's calendar, and resources with auto-accept answer. It is called
// after the message is stored; msg is the whole message.
type ResourceHook interface {
	MeetingRequest(ctx context.Context, u *store.User, env Envelope, msg []byte) error
}

// Envelope is the SMTP envelope of a delivery.
type Envelope struct {
	From string // reverse-path without brackets; "" = null sender
	// To is the recipient address this delivery is for (RCPT TO), used by
	// Sieve's envelope test; "" = the user's primary address.
	To string
}

// Recipient is one RCPT TO address and the users it resolved to.
type Recipient struct {
	Addr  string
	Users []*store.User
}

// Deliverer runs the delivery pipeline and stores incoming messages. The
// zero value of every field but Store is usable: no spam checks, no
// outbound (replies and redirects are logged and skipped), OOF with
// Kopano's defaults, no hooks.
type Deliverer struct {
	Store store.Backend
	Log   *slog.Logger
	// Outbound sends redirects and automatic replies; nil = log and skip.
	Outbound Outbound
	// Hostname names this server in generated messages (Message-ID).
	Hostname string
	Spam     SpamOptions
	OOF      OOFOptions
	Sieve    SieveOptions
	// Resource handles meeting requests to resources; nil = none.
	Resource ResourceHook
	Hooks    []Hook
	// MaxMessageBytes bounds a message read into memory when open does not
	// return a file; 0 = 64 MiB.
	MaxMessageBytes int64
	// Now returns the current time; nil = time.Now (tests).
	Now func() time.Time
	// Observe, when set, is told the results of every delivery (metrics);
	// it must not block.
	Observe func(ctx context.Context, results []Result)
	// ArchiveOnDelivery, when set and true, copies each message stored in
	// a user's store into the user's archive store too (if the user has
	// one), with Archiver; a failure to archive fails the delivery
	// temporarily and takes the stored copies back (soft-deleted), so
	// that the MTA's retry neither loses the archive copy nor doubles the
	// message.
	ArchiveOnDelivery func() bool
	Archiver          *Archiver
}

// Result is the outcome of delivering to one user.
type Result struct {
	User     *store.User
	FolderID int64 // where the first copy went (0 when none was stored)
	ItemID   int64
	UID      uint32
	Spam     bool // the spam verdict filed it in Junk
	// Err is nil, or a *RejectError (Sieve reject: refuse permanently for
	// this recipient), or wraps store.ErrOverQuota, or another (temporary)
	// error.
	Err error
}

// RejectError is a refusal decided by the user's Sieve script (RFC 5429).
// LMTP answers 550 5.7.1 with the reason for that recipient.
type RejectError struct {
	Reason string
}

func (e *RejectError) Error() string { return "rejected by the recipient's filter: " + e.Reason }

func (d *Deliverer) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Deliver stores the message in the Inbox (or wherever the pipeline puts
// it) of every user, each user once however often it appears, without an
// SMTP envelope (pipe delivery): the envelope sender is taken from the
// message's Return-Path field, which the MTA adds at final delivery
// (RFC 5321 §4.4). open is called once.
func (d *Deliverer) Deliver(ctx context.Context, users []*store.User, open func() (io.ReadCloser, error)) []Result {
	rcpts := make([]Recipient, 0, len(users))
	for _, u := range users {
		rcpts = append(rcpts, Recipient{Users: []*store.User{u}})
	}
	return d.observe(ctx, d.deliver(ctx, nil, rcpts, open))
}

// DeliverMessage runs the pipeline for every user of rcpts (each user once,
// under the first address that named it). from is the envelope sender.
// open is called once. The results are in the order the users first
// appear.
func (d *Deliverer) DeliverMessage(ctx context.Context, from string, rcpts []Recipient, open func() (io.ReadCloser, error)) []Result {
	return d.observe(ctx, d.deliver(ctx, &from, rcpts, open))
}

func (d *Deliverer) observe(ctx context.Context, rs []Result) []Result {
	if d.Observe != nil {
		d.Observe(ctx, rs)
	}
	return rs
}

// returnPath returns the address of the first Return-Path field, "" for
// <> or none.
func returnPath(msg *message) string {
	v := strings.TrimSpace(msg.first("Return-Path"))
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	if strings.ContainsAny(v, " \t<>\"") || !strings.Contains(v, "@") {
		return ""
	}
	return v
}

func (d *Deliverer) deliver(ctx context.Context, fromp *string, rcpts []Recipient, open func() (io.ReadCloser, error)) []Result {
	sys := store.SystemContext(ctx)
	var out []Result
	var n int
	for _, r := range rcpts {
		n += len(r.Users)
	}
	if n == 0 {
		return nil
	}
	msg, err := d.load(open)
	if err != nil {
		seen := map[int64]bool{}
		for _, r := range rcpts {
			for _, u := range r.Users {
				if !seen[u.ID] {
					seen[u.ID] = true
					out = append(out, Result{User: u, Err: fmt.Errorf("read message: %w", err)})
				}
			}
		}
		return out
	}
	defer msg.close()
	var from string
	if fromp != nil {
		from = *fromp
	} else {
		from = returnPath(msg)
	}
	spam := d.spamVerdict(ctx, msg)
	type job struct {
		u   *store.User
		env Envelope
	}
	var jobs []job
	seen := map[int64]bool{}
	for _, r := range rcpts {
		for _, u := range r.Users {
			if seen[u.ID] {
				continue
			}
			seen[u.ID] = true
			env := Envelope{From: from, To: r.Addr}
			if env.To == "" {
				env.To = u.Email
			}
			jobs = append(jobs, job{u, env})
		}
	}
	// The users are served concurrently, so that the store commits their
	// copies together (one fsync for many recipients with SQLite's group
	// commit) and stores a large message once for all (hardening 9.17).
	// Each result is still final only once that user's copies are durable.
	out = make([]Result, len(jobs))
	one := func(i int, j job) {
		res := d.deliverOne(sys, j.u, j.env, msg, spam)
		var rej *RejectError
		switch {
		case errors.As(res.Err, &rej):
			d.log().Info("rejected by sieve", "user", j.u.Login, "tenant", j.u.Tenant, "reason", rej.Reason)
		case res.Err != nil:
			d.log().Warn("delivery failed", "user", j.u.Login, "tenant", j.u.Tenant, "err", res.Err)
		}
		out[i] = res
	}
	if len(jobs) == 1 {
		one(0, jobs[0])
		return out
	}
	sem := make(chan struct{}, maxParallelUsers)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				// This goroutine is outside the connection's own recover:
				// a panic fails this user's delivery, not the process.
				if p := recover(); p != nil {
					d.log().Error("delivery panicked", "user", j.u.Login, "panic", p, "stack", string(debug.Stack()))
					out[i] = Result{User: j.u, Err: fmt.Errorf("delivery panicked: %v", p)}
				}
			}()
			one(i, j)
		})
	}
	wg.Wait()
	return out
}

// maxParallelUsers bounds the users of one delivery served at once.
const maxParallelUsers = 32

// load opens the message once. A file is used in place; anything else is
// read into memory, bounded.
func (d *Deliverer) load(open func() (io.ReadCloser, error)) (*message, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	if f, ok := rc.(*os.File); ok {
		st, err := f.Stat()
		if err == nil && st.Mode().IsRegular() {
			return newMessage(f, st.Size(), f.Close)
		}
	}
	defer rc.Close()
	limit := d.MaxMessageBytes
	if limit <= 0 {
		limit = 64 << 20
	}
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("message larger than %d bytes", limit)
	}
	return newMessage(bytes.NewReader(b), int64(len(b)), nil)
}

// storeOp is one copy to store.
type storeOp struct {
	folderID int64
	flags    []string
}

// plan is what the pipeline decided for one user, carried out by deliverOne.
type plan struct {
	stores    []storeOp
	redirects []string
	vacation  *vacationReply
	replied   bool // an automatic reply was decided (vacation): no OOF
}

func (d *Deliverer) deliverOne(ctx context.Context, u *store.User, env Envelope, msg *message, spam bool) Result {
	res := Result{User: u, Spam: spam}
	st, err := d.Store.UserStore(ctx, u.Login)
	if err != nil {
		res.Err = fmt.Errorf("open store of %s: %w", u.Login, err)
		return res
	}
	folders, err := d.Store.ListFolders(ctx, st.ID)
	if err != nil {
		res.Err = fmt.Errorf("list folders of %s: %w", u.Login, err)
		return res
	}
	fl := folderList(folders)
	inbox := fl.special(store.SpecialInbox)
	if inbox == nil {
		res.Err = fmt.Errorf("store of %s has no Inbox", u.Login)
		return res
	}

	var p plan
	var props map[string]string
	public, hookErr := d.publicTarget(ctx, u, env)
	switch {
	case hookErr != nil:
		res.Err = hookErr
		return res
	case public != 0:
		// Built-in hook: this recipient's mail goes to a public folder
		// instead of the private store (kopano-dagent -P).
		p.stores = []storeOp{{folderID: public}}
	case spam:
		junk := fl.special(store.SpecialJunk)
		if junk == nil {
			junk = inbox
		}
		p.stores = []storeOp{{folderID: junk.ID}}
	default:
		props, err = d.Store.StoreProps(ctx, st.ID)
		if err != nil {
			// Without the settings a reject or discard could be missed:
			// answer temporarily and let the MTA retry.
			res.Err = fmt.Errorf("read settings of %s: %w", u.Login, err)
			return res
		}
		p, err = d.runSieve(ctx, u, st, env, msg, fl, inbox, props)
		if err != nil {
			res.Err = err
			return res
		}
	}

	// Store every copy first: a 250 means durably stored.
	var stored []storedCopy
	for i, op := range p.stores {
		it, err := d.Store.AppendItem(ctx, op.folderID, store.NewItem{Content: msg.reader(), Flags: op.flags})
		if errors.Is(err, store.ErrInvalid) && len(op.flags) > 0 {
			// Flags set by a script must never cost the message.
			d.log().Warn("flags refused; storing without them", "user", u.Login, "flags", op.flags, "err", err)
			it, err = d.Store.AppendItem(ctx, op.folderID, store.NewItem{Content: msg.reader()})
		}
		if err != nil {
			if i == 0 {
				res.Err = fmt.Errorf("deliver to %s: %w", u.Login, err)
				return res
			}
			// A copy after the first failed: the message is delivered;
			// a retry would duplicate the first copy.
			d.log().Warn("storing an extra copy failed", "user", u.Login, "folder", op.folderID, "err", err)
			continue
		}
		if i == 0 {
			res.FolderID, res.ItemID, res.UID = op.folderID, it.ID, it.UID
		}
		if public == 0 {
			stored = append(stored, storedCopy{op.folderID, it.UID})
		}
		if spam && public == 0 {
			// Judged spam already: moving it within Junk or copying it
			// there again must not train it as spam.
			if err := MarkDeliveredSpam(ctx, d.Store, st.ID, it.ID); err != nil {
				d.log().Warn("marking delivered spam failed", "user", u.Login, "err", err)
			}
		}
		d.log().Info("delivered", "user", u.Login, "tenant", u.Tenant, "folder", op.folderID, "uid", it.UID, "size", it.Size, "spam", spam)
	}

	if err := d.archiveDelivered(ctx, u, stored); err != nil {
		res.Err = err
		return res
	}

	// Side effects, after storage.
	for _, to := range p.redirects {
		d.redirect(ctx, u, env, msg, to)
	}
	if p.vacation != nil {
		d.sendVacation(ctx, u, st, env, msg, p.vacation)
	}
	if len(p.stores) > 0 && public == 0 && !spam {
		if !p.replied {
			d.outOfOffice(ctx, u, st, env, msg, props)
		}
		d.resourceHook(ctx, u, env, msg)
	}
	if len(p.stores) > 0 || len(p.redirects) > 0 {
		d.runHooks(ctx, u, env, msg, res)
	}
	return res
}

func (d *Deliverer) resourceHook(ctx context.Context, u *store.User, env Envelope, msg *message) {
	if d.Resource == nil || !msg.hasCalendar() {
		return
	}
	b, err := msg.bytes()
	if err != nil {
		d.log().Warn("resource hook: read message", "user", u.Login, "err", err)
		return
	}
	if err := d.Resource.MeetingRequest(ctx, u, env, b); err != nil {
		d.log().Warn("resource hook failed", "user", u.Login, "err", err)
	}
}

// send hands a message to Outbound, or logs that there is none.
func (d *Deliverer) send(ctx context.Context, what, from string, to []string, b []byte) bool {
	if d.Outbound == nil {
		d.log().Info("no outbound configured: not sending "+what, "to", strings.Join(to, ","))
		return false
	}
	if err := d.Outbound.Send(ctx, from, to, b); err != nil {
		d.log().Warn("sending "+what+" failed", "to", strings.Join(to, ","), "err", err)
		return false
	}
	return true
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
		if f.Special == store.SpecialInbox && !f.Deleted {
			return f.ID, nil
		}
	}
	return 0, errors.New("store has no Inbox")
}

// storedCopy is a copy of a delivered message in the recipient's store.
type storedCopy struct {
	folderID int64
	uid      uint32
}

// archiveDelivered is archive on delivery (Kopano §6.6.1): every copy
// stored for u goes into u's archive store too. When that fails the
// copies are soft-deleted again and the error fails this recipient
// temporarily (451): the MTA retries, and the message is never kept
// unarchived. The error does not wrap store sentinels, so that no
// archive failure reads as a missing user or a full mailbox.
func (d *Deliverer) archiveDelivered(ctx context.Context, u *store.User, stored []storedCopy) error {
	if d.Archiver == nil || d.ArchiveOnDelivery == nil || !d.ArchiveOnDelivery() || len(stored) == 0 {
		return nil
	}
	var failed error
	for _, c := range stored {
		if err := d.Archiver.ArchiveNew(ctx, u.Login, c.folderID, []uint32{c.uid}); err != nil {
			failed = err
			break
		}
	}
	if failed == nil {
		return nil
	}
	d.log().Error("archive on delivery failed: delivery deferred", "user", u.Login, "err", failed)
	sys := store.SystemContext(ctx)
	for _, c := range stored {
		if _, err := d.Store.DeleteItems(sys, c.folderID, []uint32{c.uid}); err != nil {
			d.log().Error("taking back an unarchived delivery failed", "user", u.Login, "folder", c.folderID, "uid", c.uid, "err", err)
		}
	}
	return fmt.Errorf("archive on delivery for %s: %v", u.Login, failed)
}
