package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Send queues a message the server sends by itself: Sieve redirects and
// vacation replies, out-of-office replies, iMIP invitations and replies.
// There are no sender checks (the caller composed the message); it is
// DKIM-signed for the envelope sender's domain when that domain has a
// key; every recipient, local or remote, goes through the durable queue,
// so a reply never runs inside the delivery that caused it. from "" is the
// null sender. It implements mail.Outbound.
func (q *Queue) Send(ctx context.Context, from string, to []string, msg []byte) error {
	if len(to) == 0 {
		return errors.New("send: no recipients")
	}
	if int64(len(msg)) > q.o.MaxMessageBytes {
		return fmt.Errorf("send: message of %d bytes over the limit of %d", len(msg), q.o.MaxMessageBytes)
	}
	signed, err := q.sign(ctx, msg, domainOf(from))
	if err != nil {
		q.log.Error("dkim", "domain", domainOf(from), "err", err)
		signed = msg
	}
	now := q.now()
	qm := store.QueuedMessage{From: from, Size: int64(len(signed)), Created: now, NextAttempt: now, Expires: now.Add(q.o.Lifetime)}
	seen := map[string]bool{}
	for _, r := range to {
		k := strings.ToLower(r)
		if r == "" || seen[k] {
			continue
		}
		seen[k] = true
		qm.Recipients = append(qm.Recipients, store.QueueRecipient{Addr: r, State: store.QueuePending})
	}
	saved, err := q.o.Store.Enqueue(store.SystemContext(ctx), qm, bytes.NewReader(signed))
	if err != nil {
		return fmt.Errorf("send: enqueue: %w", err)
	}
	q.log.Info("queued", "id", saved.ID, "from", from, "rcpts", len(qm.Recipients), "size", len(signed))
	q.kick()
	return nil
}
