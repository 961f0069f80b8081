package queue

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Administration (`roost admin queue list|show|retry|delete`). The store
// enforces who may see and change which messages (system admins; tenant
// admins for their tenant), from the principal in ctx.

// List returns the queued messages, oldest first as the store keeps them.
func List(ctx context.Context, b store.Queue) ([]*store.QueuedMessage, error) {
	return b.ListQueue(ctx)
}

// Retry makes a message due now (the running spooler picks it up at its
// next look, at most Options.Poll later).
func Retry(ctx context.Context, b store.Queue, id int64) error { return b.RetryQueued(ctx, id) }

// Delete removes a message from the queue without a DSN.
func Delete(ctx context.Context, b store.Queue, id int64) error { return b.DeleteQueued(ctx, id) }

// Show returns a message's envelope and per-recipient state as text.
func Show(ctx context.Context, b store.Queue, id int64) (string, error) {
	m, err := b.GetQueued(ctx, id)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	FormatMessage(&sb, m)
	return sb.String(), nil
}

// FormatList writes one line per message.
func FormatList(w io.Writer, ms []*store.QueuedMessage) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFROM\tRCPTS\tPENDING\tSIZE\tATTEMPTS\tNEXT\tCREATED")
	for _, m := range ms {
		pending := 0
		for _, r := range m.Recipients {
			if r.State == store.QueuePending {
				pending++
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", m.ID, envFrom(m.From), len(m.Recipients), pending,
			m.Size, m.Attempts, fmtTime(m.NextAttempt), fmtTime(m.Created))
	}
	tw.Flush()
}

// FormatMessage writes a message's details.
func FormatMessage(w io.Writer, m *store.QueuedMessage) {
	fmt.Fprintf(w, "ID:          %d\n", m.ID)
	if m.Tenant != "" {
		fmt.Fprintf(w, "Tenant:      %s\n", m.Tenant)
	}
	if m.Sender != "" {
		fmt.Fprintf(w, "Submitted by: %s\n", m.Sender)
	}
	fmt.Fprintf(w, "From:        %s\n", envFrom(m.From))
	fmt.Fprintf(w, "Size:        %d\n", m.Size)
	if m.EnvID != "" || m.Ret != "" {
		fmt.Fprintf(w, "DSN:         ENVID=%s RET=%s\n", m.EnvID, m.Ret)
	}
	fmt.Fprintf(w, "Created:     %s\n", fmtTime(m.Created))
	fmt.Fprintf(w, "Attempts:    %d\n", m.Attempts)
	fmt.Fprintf(w, "Next:        %s\n", fmtTime(m.NextAttempt))
	fmt.Fprintf(w, "Expires:     %s\n", fmtTime(m.Expires))
	if m.LastError != "" {
		fmt.Fprintf(w, "Last error:  %s\n", m.LastError)
	}
	fmt.Fprintf(w, "Recipients:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range m.Recipients {
		extra := ""
		if r.Notify != "" {
			extra += " NOTIFY=" + r.Notify
		}
		if r.ORcpt != "" {
			extra += " ORCPT=" + r.ORcpt
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", r.Addr, r.State, r.Error, extra)
	}
	tw.Flush()
}

func envFrom(s string) string {
	if s == "" {
		return "<>"
	}
	return "<" + s + ">"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
