package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Submit sends a message for the principal in ctx: it checks the sender
// rule (package doc), the sender's soft quota and the size; adds the
// tenant's disclaimer; signs with the From: domain's DKIM key; stores a
// copy in Sent; delivers to local recipients at once; and queues the rest.
// A refusal is an *Error.
func (q *Queue) Submit(ctx context.Context, m Submission) (Result, error) {
	var res Result
	if len(m.Recipients) == 0 {
		return res, reject(554, "5.5.1", "no valid recipients")
	}
	if len(m.Recipients) > q.o.MaxRecipients {
		return res, reject(452, "4.5.3", "too many recipients")
	}
	if m.Ret != "" && m.Ret != "FULL" && m.Ret != "HDRS" {
		return res, reject(501, "5.5.4", "RET must be FULL or HDRS")
	}
	s, err := q.sender(ctx)
	if err != nil {
		return res, err
	}
	if m.From == "" {
		return res, reject(553, "5.7.1", "the null sender is not allowed for submission")
	}
	if _, err := q.mayUse(ctx, s, m.From); err != nil {
		return res, err
	}
	if err := q.checkQuota(ctx, s); err != nil {
		return res, err
	}
	// Slack for the trace and header fields the adapter and we add to a
	// message the client sized within the limit.
	msg, err := readBounded(m.Content, q.o.MaxMessageBytes+16<<10)
	if err != nil {
		return res, err
	}
	hdr, body := splitHeader(msg)
	hdr, fromDomain, err := q.checkHeader(ctx, s, hdr)
	if err != nil {
		return res, err
	}
	msg = slices.Concat(hdr, body)
	msg = q.disclaimer(ctx, s.user.Tenant, msg)

	// Route before anything is stored, so that a refused recipient
	// leaves no trace.
	var local, remote []Recipient
	seen := map[string]bool{}
	for _, r := range m.Recipients {
		if k := strings.ToLower(r.Addr); seen[k] {
			continue // RCPT given twice: one copy
		} else {
			seen[k] = true
		}
		isLocal, err := q.route(ctx, r.Addr)
		if err != nil {
			return res, err
		}
		if isLocal {
			local = append(local, r)
		} else {
			remote = append(remote, r)
		}
	}

	signed, err := q.sign(ctx, msg, fromDomain)
	if err != nil {
		// An unusable key is an operator's problem; send unsigned rather
		// than not at all.
		q.log.Error("dkim", "domain", fromDomain, "err", err)
		signed = msg
	}

	sentSaved := false
	if m.SentCopy && q.o.ArchiveSent != nil && q.o.ArchiveOnSend != nil && q.o.ArchiveOnSend() {
		if err := q.archiveSent(ctx, s, msg); err != nil {
			return res, err
		}
		sentSaved = true
	}

	qm := store.QueuedMessage{Tenant: s.user.Tenant, Sender: s.user.Login, From: m.From,
		EnvID: m.EnvID, Ret: m.Ret, Size: int64(len(signed))}
	var reports []DSNRecipient
	if len(local) > 0 {
		addrs := make([]string, len(local))
		for i, r := range local {
			addrs[i] = r.Addr
		}
		errs := q.deliverLocal(ctx, m.From, addrs, signed)
		now := q.now()
		for i, r := range local {
			dr := DSNRecipient{Addr: r.Addr, ORcpt: r.ORcpt, LastAttempt: now}
			switch err := errs[i]; {
			case err == nil:
				res.Local++
				if wantsNotify(r.Notify, "SUCCESS") {
					dr.Action, dr.Status = ActionDelivered, "2.0.0"
					reports = append(reports, dr)
				}
			case permanentLocal(err):
				q.log.Info("local delivery failed", "rcpt", r.Addr, "err", err)
				if wantsNotify(r.Notify, "FAILURE") {
					dr.Action, dr.Diagnostic = ActionFailed, localDiagnostic(err)
					dr.Status = statusOf(dr.Diagnostic, ActionFailed)
					reports = append(reports, dr)
				}
			default:
				q.log.Warn("local delivery deferred", "rcpt", r.Addr, "err", err)
				qm.Recipients = append(qm.Recipients, store.QueueRecipient{Addr: r.Addr, Notify: r.Notify, ORcpt: r.ORcpt,
					State: store.QueuePending, Error: err.Error()})
			}
		}
	}
	for _, r := range remote {
		qm.Recipients = append(qm.Recipients, store.QueueRecipient{Addr: r.Addr, Notify: r.Notify, ORcpt: r.ORcpt, State: store.QueuePending})
	}
	if len(qm.Recipients) > 0 {
		now := q.now()
		qm.Created, qm.NextAttempt, qm.Expires = now, now, now.Add(q.o.Lifetime)
		saved, err := q.o.Store.Enqueue(store.SystemContext(ctx), qm, bytes.NewReader(signed))
		if err != nil {
			return res, fmt.Errorf("enqueue: %w", err)
		}
		res.QueueID, res.Queued = saved.ID, len(qm.Recipients)
		q.log.Info("queued", "id", saved.ID, "user", s.user.Login, "from", m.From, "rcpts", len(qm.Recipients), "size", len(signed))
		q.kick()
	}
	if m.SentCopy && !sentSaved {
		// Only now that the message is accepted, so that a client
		// retrying a refused message leaves one copy.
		if _, _, err := q.saveSent(ctx, s, msg); err != nil {
			q.log.Warn("sent copy", "user", s.user.Login, "err", err)
		}
	}
	if len(reports) > 0 {
		// Local outcomes that need a report now: permanent failures, and
		// successes for NOTIFY=SUCCESS.
		qm.Created = q.now()
		if err := q.report(ctx, &qm, reports, signed); err != nil {
			q.log.Error("dsn for local recipients", "err", err)
		}
	}
	return res, nil
}

// disclaimer applies the tenant's disclaimer, if any.
func (q *Queue) disclaimer(ctx context.Context, tenant string, msg []byte) []byte {
	if tenant == "" {
		return msg
	}
	props, err := q.o.Store.TenantProps(store.SystemContext(ctx), tenant)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			q.log.Error("tenant disclaimer", "tenant", tenant, "err", err)
		}
		return msg
	}
	out, _ := Disclaimer(msg, props[PropDisclaimerText], props[PropDisclaimerHTML])
	return out
}

// saveSent appends the message to the sender's Sent folder as \Seen.
func (q *Queue) saveSent(ctx context.Context, s *sender, msg []byte) (int64, uint32, error) {
	st, err := q.o.Store.UserStore(ctx, s.user.Login)
	if err != nil {
		return 0, 0, err
	}
	fs, err := q.o.Store.ListFolders(ctx, st.ID)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range fs {
		if f.Special == store.SpecialSent {
			it, err := q.o.Store.AppendItem(ctx, f.ID, store.NewItem{Content: bytes.NewReader(msg), Flags: []string{`\Seen`}})
			if err != nil {
				return 0, 0, err
			}
			return f.ID, it.UID, nil
		}
	}
	return 0, 0, errors.New("store has no Sent folder")
}

// archiveSent is archive on send: the Sent copy is stored and archived
// before the message goes anywhere. When the archive cannot be written the Sent copy is taken back
// (soft-deleted) and the submission fails temporarily, so that nothing is
// sent unarchived and the client's retry leaves one copy.
func (q *Queue) archiveSent(ctx context.Context, s *sender, msg []byte) error {
	folderID, uid, err := q.saveSent(ctx, s, msg)
	if err != nil {
		return &Error{Code: 451, Enhanced: "4.3.0", Msg: "the message could not be archived; try again later",
			Err: fmt.Errorf("sent copy for archive on send: %v", err)}
	}
	err = q.o.ArchiveSent(ctx, s.user.Login, folderID, uid)
	if err == nil {
		return nil
	}
	if _, derr := q.o.Store.DeleteItems(store.SystemContext(ctx), folderID, []uint32{uid}); derr != nil {
		q.log.Error("taking back an unarchived Sent copy failed", "user", s.user.Login, "err", derr)
	}
	return &Error{Code: 451, Enhanced: "4.3.0", Msg: "the message could not be archived; try again later",
		Err: fmt.Errorf("archive on send for %s: %v", s.user.Login, err)}
}

// deliverLocal calls Options.Local with the message in memory.
func (q *Queue) deliverLocal(ctx context.Context, from string, rcpts []string, msg []byte) []error {
	return q.deliverLocalOpen(ctx, from, rcpts, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(msg)), nil })
}

func permanentLocal(err error) bool {
	return errors.Is(err, store.ErrOverQuota) || errors.Is(err, store.ErrNotFound)
}

// localDiagnostic is the reply a local delivery error stands for.
func localDiagnostic(err error) string {
	switch {
	case errors.Is(err, store.ErrOverQuota):
		return "552 5.2.2 mailbox full"
	case errors.Is(err, store.ErrNotFound):
		return "550 5.1.1 no such user"
	}
	return "451 4.3.0 " + err.Error()
}

// wantsNotify reports whether a NOTIFY value asks for kind (SUCCESS,
// FAILURE, DELAY); the default (no NOTIFY) is FAILURE (RFC 3461 §4.1).
func wantsNotify(notify, kind string) bool {
	if notify == "" {
		return kind == "FAILURE"
	}
	return slices.Contains(strings.Split(strings.ToUpper(notify), ","), kind)
}
